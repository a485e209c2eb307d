import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FileHeadSigner } from '../../functions/adapters/head-signer.ts';
import type { LedgerNow, PeriodClose, StoredClose } from '../../functions/domain/period-close.ts';
import {
  CloseInputError,
  checkClosable,
  closeHash,
  closeObjectKey,
  closeSignedText,
  closeTotals,
  makeClose,
  signClose,
  verifyCloses,
} from '../../functions/domain/period-close.ts';

function keyPair() {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    signer: new FileHeadSigner(pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()),
    publicKey: pair.publicKey,
  };
}
const { signer, publicKey } = keyPair();

const heads = { 'inc-1': { size: 3, seq: 2, hash: 'h-1-2' }, 'inc-2': { size: 1, seq: 0, hash: 'h-2-0' } };
const ledger: LedgerNow = {
  hashAt: (incident, seq) =>
    (({ 'inc-1:2': 'h-1-2', 'inc-2:0': 'h-2-0' }) as Record<string, string>)[`${incident}:${seq}`],
};

async function chain(periods: readonly string[], by = signer): Promise<PeriodClose[]> {
  const out: PeriodClose[] = [];
  for (const period of periods) {
    out.push(
      await sign(by, {
        period,
        closedAt: '2026-12-01T00:00:00.000Z',
        totals: [{ category: 'refunds', obligation: null, currency: 'EUR', amountMinor: 1200, entries: 2 }],
        heads,
        labourRates: [{ role: 'SRE', minor: 12000, currency: 'EUR' }],
        exchangeRates: null,
        previous: out.at(-1)?.hash ?? null,
      }),
    );
  }
  return out;
}

const sign = (by: FileHeadSigner, body: Parameters<typeof makeClose>[0]) => signClose(by, makeClose(body));

const stored = (closes: readonly PeriodClose[]): StoredClose[] =>
  closes.map((c) => ({ period: c.period, body: JSON.parse(JSON.stringify(c)) }));

describe('a close record', () => {
  it('lives under closes/ and its hash covers every field but itself', async () => {
    const [close] = await chain(['2026-01']);
    expect(closeObjectKey('2026-01')).toBe('closes/2026-01.json');
    expect(close?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(closeHash({ ...(close as PeriodClose), previous: 'x' })).not.toBe(close?.hash);
  });

  it('does not depend on key order or the order the SQL answered rows in', async () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(
          [
            { category: 'refunds', obligation: 'contract', currency: 'EUR', amount_minor: 10, entries: 1 },
            { category: 'refunds', obligation: null, currency: 'USD', amount_minor: '20', entries: 2 },
            {
              category: 'ops_labour',
              obligation: null,
              currency: 'EUR',
              amount_minor: 30n.toString(),
              entries: 3,
            },
          ],
          { minLength: 3 },
        ),
        (rows) => {
          expect(closeTotals(rows)).toEqual(closeTotals([...rows].reverse()));
        },
      ),
    );
    const [close] = await chain(['2026-01']);
    const reordered = Object.fromEntries(
      Object.entries(close as PeriodClose).reverse(),
    ) as unknown as PeriodClose;
    expect(closeHash(reordered)).toBe(close?.hash);
  });
});

describe('what may be closed', () => {
  const now = new Date('2026-03-10T00:00:00Z');
  it('refuses a malformed month, a month not over, and one within the lag', async () => {
    expect(() => checkClosable('2026-13', now, 5, undefined)).toThrow(/not a month/);
    expect(() => checkClosable('2026-03', now, 5, undefined)).toThrow(/not over yet/);
    expect(() => checkClosable('2026-02', now, 15, undefined)).toThrow(
      /still open for appends until 2026-03-16T00:00:00.000Z/,
    );
    expect(() => checkClosable('2026-02', now, 5, undefined)).not.toThrow();
  });
  it('refuses March before February, naming February', async () => {
    expect(() => checkClosable('2026-03', new Date('2026-05-01Z'), 0, { period: '2026-01' })).toThrow(
      CloseInputError,
    );
    expect(() => checkClosable('2026-03', new Date('2026-05-01Z'), 0, { period: '2026-01' })).toThrow(
      /close 2026-02 first/,
    );
    expect(() => checkClosable('2026-02', new Date('2026-05-01Z'), 0, { period: '2026-01' })).not.toThrow();
  });
});

describe('verifying the closes', () => {
  it('finds nothing wrong with an intact chain', async () => {
    expect(verifyCloses(stored(await chain(['2025-12', '2026-01', '2026-02'])), ledger, ['2025-12'])).toEqual(
      [],
    );
  });

  it('names an edited close, and the link of the next one', async () => {
    const s = stored(await chain(['2026-01', '2026-02', '2026-03']));
    const body = s[1]?.body as { totals: { amountMinor: number }[] };
    body.totals = [{ ...(body.totals[0] as { amountMinor: number }), amountMinor: 1 }];
    const problems = verifyCloses(s, ledger);
    expect(problems.map((p) => [p.period, p.kind])).toEqual([
      ['2026-02', 'edited'],
      ['2026-03', 'broken-link'],
    ]);
  });

  it('names a deleted close in the middle as a gap and the last one by its claim', async () => {
    const s = stored(await chain(['2026-01', '2026-02', '2026-03']));
    const middle = verifyCloses([s[0], s[2]] as StoredClose[], ledger);
    expect(middle.map((p) => [p.period, p.kind])).toEqual([['2026-02', 'gap']]);
    const last = verifyCloses(s.slice(0, 2), ledger, ['2026-01', '2026-02', '2026-03']);
    expect(last.map((p) => [p.period, p.kind])).toEqual([['2026-03', 'deleted']]);
  });

  it('names a close whose previous hash was rewritten', async () => {
    const closes = await chain(['2026-01', '2026-02']);
    const forged = await sign(signer, { ...(closes[1] as PeriodClose), previous: 'f'.repeat(64) });
    const problems = verifyCloses(stored([closes[0] as PeriodClose, forged]), ledger);
    expect(problems.map((p) => p.kind)).toEqual(['broken-link']);
  });

  it('names heads at close that the ledger no longer matches', async () => {
    const changed: LedgerNow = { hashAt: (i, seq) => (i === 'inc-1' ? 'other' : ledger.hashAt(i, seq)) };
    const gone: LedgerNow = { hashAt: (i, seq) => (i === 'inc-2' ? undefined : ledger.hashAt(i, seq)) };
    const s = stored(await chain(['2026-01']));
    expect(verifyCloses(s, changed).map((p) => p.message)).toEqual([
      "incident inc-1's entry 2 no longer hashes as the close of 2026-01 sealed it",
    ]);
    expect(verifyCloses(s, gone).map((p) => p.message)).toEqual([
      'incident inc-2 no longer has entry 0 that the close of 2026-01 sealed',
    ]);
  });

  it('passes closes signed with the key, and names one rewritten end to end without it', async () => {
    const closes = await chain(['2026-01', '2026-02', '2026-03']);
    expect(verifyCloses(stored(closes), ledger, [], publicKey)).toEqual([]);
    // Whoever can write the bucket edits February and recomputes its hash and March's link: the
    // hashes agree again, and only the signatures tell.
    const attacker = keyPair().signer;
    const [jan, feb] = closes as [PeriodClose, PeriodClose, PeriodClose];
    const forgedFeb = await sign(attacker, {
      ...feb,
      totals: [{ category: 'refunds', obligation: null, currency: 'EUR', amountMinor: 1, entries: 2 }],
    });
    const forgedMar = await sign(attacker, { ...(closes[2] as PeriodClose), previous: forgedFeb.hash });
    const problems = verifyCloses(stored([jan, forgedFeb, forgedMar]), ledger, [], publicKey);
    expect(problems.map((p) => [p.period, p.kind])).toEqual([
      ['2026-02', 'bad-signature'],
      ['2026-03', 'bad-signature'],
    ]);
    expect(problems[0]?.message).toBe(
      'the close of 2026-02 is not signed by the ledger signing key: someone wrote it without the key',
    );
  });

  it('names a close with no signature, and one whose signature belongs to another month', async () => {
    const [jan, feb] = (await chain(['2026-01', '2026-02'])) as [PeriodClose, PeriodClose];
    const { signature: _, ...unsigned } = jan;
    const moved = { ...feb, signature: jan.signature };
    const problems = verifyCloses(stored([unsigned as PeriodClose, moved]), ledger, [], publicKey);
    expect(problems.map((p) => [p.period, p.kind])).toEqual([
      ['2026-01', 'unsigned'],
      ['2026-02', 'bad-signature'],
    ]);
  });

  it('signs its schema, month and hash, one a line', async () => {
    const [close] = (await chain(['2026-01'])) as [PeriodClose];
    expect(closeSignedText(close)).toBe(`casebook/close/v1\n2026-01\n${close.hash}\n`);
    expect(close.signature.keyId).toMatch(/^[0-9a-f]{8}$/);
  });

  it('calls a body that is not a close unreadable', async () => {
    expect(verifyCloses([{ period: '2026-01', body: { hello: 1 } }], ledger).map((p) => p.kind)).toEqual([
      'unreadable',
    ]);
  });
});
