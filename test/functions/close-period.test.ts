import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FileHeadSigner } from '../../functions/adapters/head-signer.ts';
import type {
  CloseClaims,
  CloseStore,
  PeriodClose,
  StoredClose,
} from '../../functions/domain/period-close.ts';
import { CloseInputError, closeSignatureValid } from '../../functions/domain/period-close.ts';
import type { CloseFigures, ClosePeriodDeps } from '../../functions/use-cases/close-period.ts';
import { closePeriod } from '../../functions/use-cases/close-period.ts';

const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = new FileHeadSigner(pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());

/** The table's conditional put and the bucket, in memory: the claim is the only lock. */
function world() {
  const claimed = new Map<string, PeriodClose>();
  const kept = new Map<string, PeriodClose>();
  const claims: CloseClaims = {
    async claim(close) {
      const first = claimed.get(close.period);
      if (first) return { won: false, close: first };
      claimed.set(close.period, close);
      return { won: true };
    },
    async latest() {
      return [...claimed.values()].sort((a, b) => (a.period < b.period ? 1 : -1))[0];
    },
    async periods() {
      return [...claimed.keys()].sort();
    },
    async get(period) {
      return claimed.get(period);
    },
  };
  const closes: CloseStore = {
    async get(period) {
      return kept.get(period);
    },
    async list(): Promise<StoredClose[]> {
      return [...kept.values()].map((c) => ({ period: c.period, body: c }));
    },
    async put(close) {
      kept.set(close.period, close);
    },
  };
  let figures: CloseFigures = {
    rows: [{ category: 'refunds', obligation: null, currency: 'EUR', amount_minor: 500, entries: 1 }],
    heads: { 'inc-1': { size: 1, seq: 0, hash: 'a' } },
  };
  let now = new Date('2026-04-10T00:00:00Z');
  const deps: ClosePeriodDeps = {
    claims,
    closes,
    figures: async () => figures,
    now: () => now,
    lagDays: 5,
    labourRates: [{ role: 'SRE', rate: { minor: 12000, currency: 'EUR' } }],
    signer,
  };
  return {
    deps,
    kept,
    setFigures: (f: CloseFigures) => {
      figures = f;
    },
    setNow: (d: Date) => {
      now = d;
    },
  };
}

describe('closing a month', () => {
  it('keeps the close under its month and links the next one to it', async () => {
    const w = world();
    const feb = await closePeriod(w.deps, '2026-02');
    expect(feb.closedNow).toBe(true);
    expect(feb.close.previous).toBeNull();
    expect(feb.close.totals).toEqual([
      { category: 'refunds', obligation: null, currency: 'EUR', amountMinor: 500, entries: 1 },
    ]);
    expect(feb.close.labourRates).toEqual([{ role: 'SRE', minor: 12000, currency: 'EUR' }]);
    const mar = await closePeriod(w.deps, '2026-03');
    expect(mar.close.previous).toBe(feb.close.hash);
    expect([...w.kept.keys()]).toEqual(['2026-02', '2026-03']);
  });

  it('signs the close with the head signer and keeps the exchange rates it was given', async () => {
    const w = world();
    const rates = { currency: 'EUR', rates: { USD: '0.92', EUR: '1' } };
    const { close } = await closePeriod({ ...w.deps, exchangeRates: rates }, '2026-02');
    expect(close.exchangeRates).toEqual(rates);
    expect(closeSignatureValid(close, close.signature, pair.publicKey)).toBe(true);
    expect(w.kept.get('2026-02')?.signature).toEqual(close.signature);
    const plain = await closePeriod(world().deps, '2026-02');
    expect(plain.close.exchangeRates).toBeNull();
  });

  it('answers the first close when closed twice, whatever changed since', async () => {
    const w = world();
    const first = await closePeriod(w.deps, '2026-02');
    w.setFigures({ rows: [], heads: {} });
    w.setNow(new Date('2026-05-01T00:00:00Z'));
    const again = await closePeriod(w.deps, '2026-02');
    expect(again.closedNow).toBe(false);
    expect(again.close).toEqual(first.close);
  });

  it('refuses March before February, naming February', async () => {
    const w = world();
    await closePeriod(w.deps, '2026-01');
    await expect(closePeriod(w.deps, '2026-03')).rejects.toThrow(/close 2026-02 first/);
    await expect(closePeriod(w.deps, '2026-03')).rejects.toBeInstanceOf(CloseInputError);
  });

  it('refuses a month before the first close instead of starting a second chain', async () => {
    const w = world();
    await closePeriod(w.deps, '2026-02');
    await expect(closePeriod(w.deps, '2026-01')).rejects.toThrow(
      '2026-01 was never closed and comes before the last close, 2026-02',
    );
    expect([...w.kept.keys()]).toEqual(['2026-02']);
  });

  it('refuses a month still open for appends within the lag', async () => {
    const w = world();
    w.setNow(new Date('2026-03-03T00:00:00Z'));
    await expect(closePeriod(w.deps, '2026-02')).rejects.toThrow(/still open for appends/);
    expect(w.kept.size).toBe(0);
  });
});
