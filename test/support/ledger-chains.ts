/** Sealed ledger chains for tests that read them (P&L, case files), written as the ledger writes them. */
import type { LedgerEntryDraft, LedgerEntryV2, Sealer } from '../../functions/domain/ledger.ts';
import { sealEntry } from '../../functions/domain/ledger.ts';

/** An entry of a chain: what differs from the defaults, and which earlier entry it corrects, by position. */
export type EntrySpec = Partial<LedgerEntryDraft> & { readonly correctsIndex?: number };

/** A sealed chain of `incidentId`, one entry per spec over `defaults(n)` for the n-th entry. */
export async function sealedChain(
  incidentId: string,
  specs: readonly EntrySpec[],
  sealer: Sealer,
  defaults: (n: number) => LedgerEntryDraft,
): Promise<LedgerEntryV2[]> {
  const entries: LedgerEntryV2[] = [];
  for (const [n, { correctsIndex, ...spec }] of specs.entries()) {
    const target = correctsIndex === undefined ? undefined : entries[correctsIndex];
    const draft: LedgerEntryDraft = {
      ...defaults(n),
      ...(target ? { corrects: { id: target.id, seq: target.seq } } : {}),
      ...spec,
    };
    entries.push(await sealEntry(incidentId, entries.at(-1), draft, sealer));
  }
  return entries;
}

/** The n-th entry of a test chain: a confirmed refund written at 10:00:n on 22 November, unless `extra` says otherwise. */
export function confirmedRefund(n: number, extra: Partial<LedgerEntryDraft> = {}): LedgerEntryDraft {
  return {
    log: 'effect',
    kind: 'refund',
    world: 'RML3',
    phase: 'Act',
    at: new Date(Date.UTC(2026, 10, 22, 10, 0, n)).toISOString(),
    actor: 'test',
    idempotencyKey: `k${n}`,
    summary: `entry ${n}`,
    state: 'confirmed',
    detail: {},
    ...extra,
  };
}
