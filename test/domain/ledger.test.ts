import { describe, expect, it } from 'vitest';
import type { LedgerEntry, LedgerEntryDraft } from '../../functions/domain/ledger.ts';
import {
  entryHash,
  GENESIS_HASH,
  planAppend,
  sealEntry,
  verifyChain,
} from '../../functions/domain/ledger.ts';

const draft = (n: number, extra: Partial<LedgerEntryDraft> = {}): LedgerEntryDraft => ({
  log: 'effect',
  kind: 'customer_notice',
  world: 'RML3',
  phase: 'Act',
  at: `2026-11-22T10:00:0${n}.000Z`,
  actor: 'test',
  idempotencyKey: `key-${n}`,
  summary: `entry ${n}`,
  detail: { n, nested: { b: 2, a: 1 } },
  ...extra,
});

function chain(length: number): LedgerEntry[] {
  const entries: LedgerEntry[] = [];
  for (let n = 1; n <= length; n++) entries.push(sealEntry('INC-2026-0001', entries.at(-1), draft(n)));
  return entries;
}

describe('hash-chained ledger', () => {
  it('links each entry to the one before, starting from the genesis hash', () => {
    const entries = chain(3);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(entries[0]?.prevHash).toBe(GENESIS_HASH);
    expect(entries[1]?.prevHash).toBe(entries[0]?.hash);
    expect(verifyChain('INC-2026-0001', entries)).toEqual([]);
  });

  it('hashes independently of key order', () => {
    const [entry] = chain(1);
    if (!entry) throw new Error('no entry');
    const reordered = Object.fromEntries(Object.entries(entry).reverse()) as unknown as LedgerEntry;
    const { hash, ...body } = reordered;
    expect(entryHash(body)).toBe(hash);
  });

  it('finds an edited entry', () => {
    const entries = chain(3);
    const edited = entries.map((e) => (e.seq === 2 ? { ...e, summary: 'nothing happened here' } : e));
    expect(verifyChain('INC-2026-0001', edited)).toEqual([
      { seq: 2, problem: 'edited', detail: 'content does not match its hash' },
    ]);
  });

  it('finds a removed entry and an inserted one', () => {
    const entries = chain(4);
    const removed = entries.filter((e) => e.seq !== 2);
    expect(verifyChain('INC-2026-0001', removed).map((p) => [p.seq, p.problem])).toEqual([
      [3, 'gap'],
      [3, 'broken-link'],
    ]);
    // A forged entry sealed on top of entry 1 and slotted in as seq 2 breaks the link of the real seq 2.
    const forged = sealEntry('INC-2026-0001', entries[0], draft(9));
    const inserted = [entries[0], forged, ...entries.slice(1).map((e) => ({ ...e }))] as LedgerEntry[];
    const problems = verifyChain('INC-2026-0001', inserted);
    expect(problems.some((p) => p.problem === 'gap' || p.problem === 'broken-link')).toBe(true);
  });

  it('returns the existing entry for a repeated idempotency key and seals a new one otherwise', () => {
    const entries = chain(2);
    const again = planAppend('INC-2026-0001', entries, draft(1, { summary: 'retried' }));
    expect(again).toEqual({ created: false, entry: entries[0] });
    const next = planAppend('INC-2026-0001', entries, draft(3));
    expect(next.created).toBe(true);
    expect(next.entry.seq).toBe(3);
    expect(next.entry.prevHash).toBe(entries[1]?.hash);
  });
});
