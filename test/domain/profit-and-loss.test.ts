import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FileKeySealer, newKeyFile } from '../../functions/adapters/ledger-sealer.ts';
import type { LedgerEntry, LedgerEntryV1, LedgerEntryV2 } from '../../functions/domain/ledger.ts';
import type { PnlTotal } from '../../functions/domain/profit-and-loss.ts';
import { profitAndLoss, standingEntries } from '../../functions/domain/profit-and-loss.ts';
import type { EntrySpec } from '../support/ledger-chains.ts';
import { confirmedRefund, sealedChain } from '../support/ledger-chains.ts';

const sealer = new FileKeySealer(newKeyFile('pnl'));
const INC = 'INC-2026-0001';

type Spec = EntrySpec;

/** A sealed chain of confirmed refunds unless a spec says otherwise. */
const chain = (specs: readonly Spec[]): Promise<LedgerEntryV2[]> =>
  sealedChain(INC, specs, sealer, confirmedRefund);

const eur = (minor: number) => ({ minor, currency: 'EUR' });
const rows = (entries: readonly LedgerEntry[]) =>
  profitAndLoss(entries).totals.map((t) => [t.kind, t.currency, t.obligation, t.count, t.amount]);

describe('the P&L of an incident', () => {
  it('sums confirmed money per kind, currency and line, and leaves out what moved no money', async () => {
    const entries = await chain([
      { kind: 'detection', state: undefined },
      { kind: 'refund', amount: eur(1250), obligation: 'tos' },
      { kind: 'refund', amount: eur(750), obligation: 'tos' },
      { kind: 'refund', amount: eur(999), obligation: 'tos', state: 'intent' },
      { kind: 'refund', amount: eur(999), obligation: 'tos', state: 'executed' },
      { kind: 'refund', amount: eur(999), obligation: 'tos', state: 'failed' },
      { kind: 'credit', amount: eur(500), obligation: 'brand' },
      // A refund confirmation notice carries the amount it speaks of; it pays nothing.
      { kind: 'notice', amount: eur(1250), obligation: 'tos' },
      { kind: 'charge', amount: eur(1250), obligation: 'tos' },
      { kind: 'ops_labour', amount: eur(20_000), obligation: 'brand' },
      { kind: 'legal_fee', amount: { minor: 150_000, currency: 'JPY' }, obligation: 'tos' },
      { kind: 'manual_operation', obligation: 'tos' },
    ]);
    expect(rows(entries)).toEqual([
      ['refund', 'EUR', 'tos', 2, '20.00'],
      ['credit', 'EUR', 'brand', 1, '5.00'],
      ['ops_labour', 'EUR', 'brand', 1, '200.00'],
      ['legal_fee', 'JPY', 'tos', 1, '150000'],
    ]);
    expect(profitAndLoss(entries).lines).toEqual([
      { obligation: 'brand', currency: 'EUR', minor: 20_500, amount: '205.00' },
      { obligation: 'tos', currency: 'EUR', minor: 2000, amount: '20.00' },
      { obligation: 'tos', currency: 'JPY', minor: 150_000, amount: '150000' },
    ]);
  });

  it('counts a correction with an amount instead of the amount it corrects, under the corrected kind', async () => {
    const entries = await chain([
      { kind: 'refund', amount: eur(5000), obligation: 'tos' },
      { kind: 'legal_fee', amount: eur(80_000), obligation: 'tos' },
      { kind: 'correction', amount: eur(3000), obligation: 'tos', correctsIndex: 0 },
      { kind: 'legal_fee', amount: eur(60_000), obligation: 'brand', correctsIndex: 1 },
    ]);
    expect(rows(entries)).toEqual([
      ['refund', 'EUR', 'tos', 1, '30.00'],
      ['legal_fee', 'EUR', 'brand', 1, '600.00'],
    ]);
  });

  it('leaves out an entry a correction without an amount voids', async () => {
    const entries = await chain([
      { kind: 'refund', amount: eur(5000), obligation: 'tos' },
      { kind: 'refund', amount: eur(700), obligation: 'tos' },
      { kind: 'correction', obligation: 'tos', correctsIndex: 0 },
    ]);
    expect(rows(entries)).toEqual([['refund', 'EUR', 'tos', 1, '7.00']]);
  });

  it('takes the latest word on an entry, along a chain of corrections and between two that name it', async () => {
    const entries = await chain([
      { kind: 'credit', amount: eur(1000), obligation: 'brand' },
      { kind: 'correction', amount: eur(800), obligation: 'brand', correctsIndex: 0 },
      { kind: 'correction', amount: eur(600), obligation: 'brand', correctsIndex: 1 },
      { kind: 'credit', amount: eur(5), obligation: 'brand' },
      { kind: 'correction', amount: eur(4), obligation: 'brand', correctsIndex: 3 },
      { kind: 'correction', amount: eur(3), obligation: 'brand', correctsIndex: 3 },
    ]);
    expect(rows(entries)).toEqual([['credit', 'EUR', 'brand', 2, '6.03']]);
    expect(standingEntries(entries).map((s) => [s.entry.seq, s.root.seq])).toEqual([
      [3, 1],
      [6, 4],
    ]);
  });

  it("does not move when Act voids an effect's intent (its correction carries the amount but is not confirmed)", async () => {
    const entries = await chain([
      { kind: 'refund', amount: eur(5000), obligation: 'tos' },
      { kind: 'refund', amount: eur(2500), obligation: 'tos', state: 'intent', effectId: 'P1-E2' },
      { kind: 'correction', amount: eur(2500), obligation: 'tos', state: undefined, correctsIndex: 1 },
    ]);
    expect(rows(entries)).toEqual([['refund', 'EUR', 'tos', 1, '50.00']]);
  });

  it('reads format 1 entries: completed is confirmed, costLine is the line, corrects is a seq', () => {
    const v1 = (seq: number, extra: Partial<LedgerEntryV1>): LedgerEntryV1 => ({
      incidentId: INC,
      seq,
      log: 'effect',
      kind: 'refund',
      world: 'RML3',
      phase: 'Act',
      at: '2026-01-01T00:00:00.000Z',
      actor: 'casebook',
      idempotencyKey: `v1-${seq}`,
      summary: 'old',
      detail: {},
      prevHash: '',
      hash: '',
      ...extra,
    });
    const entries = [
      v1(1, { status: 'completed', amount: eur(100), costLine: 'tos' }),
      v1(2, { status: 'completed', amount: eur(200), costLine: 'brand' }),
      v1(3, { kind: 'correction', status: 'completed', amount: eur(150), costLine: 'brand', corrects: 2 }),
      v1(4, { status: 'intended', amount: eur(999), costLine: 'tos' }),
    ];
    expect(rows(entries)).toEqual([
      ['refund', 'EUR', 'brand', 1, '1.50'],
      ['refund', 'EUR', 'tos', 1, '1.00'],
    ]);
  });

  it('leaves the Decision Log out', async () => {
    const entries = await chain([{ kind: 'refund', amount: eur(100), obligation: 'tos', log: 'decision' }]);
    expect(profitAndLoss(entries)).toEqual({ totals: [], lines: [] });
  });
});

// Properties: chains of money entries, then corrections, as people and Act append them.
const MONEY_KINDS = [
  'refund',
  'credit',
  'ops_labour',
  'legal_fee',
  'other_cost',
  'manual_operation',
] as const;
const CURRENCIES = ['EUR', 'JPY'] as const;

interface Base {
  readonly kind: (typeof MONEY_KINDS)[number];
  readonly currency: (typeof CURRENCIES)[number];
  readonly obligation: 'tos' | 'brand';
  readonly minor: number;
  readonly confirmed: boolean;
}
interface Correction {
  /** Picks one of the entries written before it, by position modulo their number. */
  readonly pick: number;
  readonly minor?: number;
  readonly obligation?: 'tos' | 'brand';
  readonly confirmed: boolean;
}

const base: fc.Arbitrary<Base> = fc.record({
  kind: fc.constantFrom(...MONEY_KINDS),
  currency: fc.constantFrom(...CURRENCIES),
  obligation: fc.constantFrom('tos' as const, 'brand' as const),
  minor: fc.integer({ min: 0, max: 10_000_000 }),
  confirmed: fc.boolean(),
});
const correction: fc.Arbitrary<Correction> = fc.record(
  {
    pick: fc.nat(),
    minor: fc.integer({ min: 0, max: 10_000_000 }),
    obligation: fc.constantFrom('tos' as const, 'brand' as const),
    confirmed: fc.boolean(),
  },
  { requiredKeys: ['pick', 'confirmed'] },
);

/** Format 2 specs of the money entries `bases`. */
function basesOf(bases: readonly Base[]): Spec[] {
  return bases.map((b) => ({
    kind: b.kind,
    amount: { minor: b.minor, currency: b.currency },
    obligation: b.obligation,
    state: b.confirmed ? 'confirmed' : 'intent',
  }));
}

/**
 * `specs` followed by `corrections`, each naming one of the entries written before it that
 * `eligible` allows, in the currency its corrections go back to (as the use case requires).
 */
function withCorrections(
  specs: readonly Spec[],
  corrections: readonly Correction[],
  eligible: (written: readonly Spec[], index: number) => boolean,
): Spec[] {
  const out = [...specs];
  for (const c of corrections) {
    const choices = out.map((_, i) => i).filter((i) => eligible(out, i));
    if (choices.length === 0) break;
    const target = choices[c.pick % choices.length] as number;
    const currency = (out[rootIndex(out, target)] as Spec & { amount: { currency: string } }).amount.currency;
    out.push({
      kind: 'correction',
      ...(c.minor !== undefined ? { amount: { minor: c.minor, currency } } : {}),
      ...(c.obligation ? { obligation: c.obligation } : {}),
      state: c.confirmed ? 'confirmed' : 'intent',
      correctsIndex: target,
    });
  }
  return out;
}

const any = () => true;

const byKey = (totals: readonly PnlTotal[]) =>
  Object.fromEntries(totals.map((t) => [`${t.kind}|${t.currency}|${t.obligation}`, [t.count, t.minor]]));

/** The root an entry's corrections go back to, by position. */
function rootIndex(specs: readonly Spec[], index: number): number {
  const named = specs[index]?.correctsIndex;
  return named === undefined ? index : rootIndex(specs, named);
}

describe('P&L properties', () => {
  it('equals a model where the latest correction of each entry is what counts for it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(base, { minLength: 1, maxLength: 8 }),
        fc.array(correction, { maxLength: 10 }),
        async (bases, corrections) => {
          const specs = withCorrections(basesOf(bases), corrections, any);
          const entries = await chain(specs);
          // The model: per root, its own amount until corrected, then its latest correction's.
          const current = new Map<number, Spec>();
          specs.forEach((spec, i) => {
            current.set(rootIndex(specs, i), spec);
          });
          const expected = new Map<string, [number, number]>();
          for (const [root, spec] of current) {
            const rootSpec = specs[root] as Spec;
            if (spec.state !== 'confirmed' || !spec.amount) continue;
            const key = `${rootSpec.kind}|${spec.amount.currency}|${spec.obligation ?? rootSpec.obligation}`;
            const [count, minor] = expected.get(key) ?? [0, 0];
            expected.set(key, [count + 1, minor + spec.amount.minor]);
          }
          expect(byKey(profitAndLoss(entries).totals)).toEqual(Object.fromEntries(expected));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('never changes the totals of the entries that appended corrections do not name', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(base, { minLength: 1, maxLength: 8 }),
        fc.array(correction, { maxLength: 4 }),
        fc.array(correction, { minLength: 1, maxLength: 6 }),
        fc.constantFrom(...MONEY_KINDS),
        async (bases, earlier, appended, touched) => {
          const before = withCorrections(basesOf(bases), earlier, any);
          // The appended corrections name only entries whose corrections go back to a `touched` one.
          const after = withCorrections(
            before,
            appended,
            (written, i) => written[rootIndex(written, i)]?.kind === touched,
          );
          const untouched = (entries: readonly LedgerEntry[]) =>
            byKey(profitAndLoss(entries).totals.filter((t) => t.kind !== touched));
          expect(untouched(await chain(after))).toEqual(untouched(await chain(before)));
        },
      ),
      { numRuns: 150 },
    );
  });
});
