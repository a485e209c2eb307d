import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { FileKeySealer, newKeyFile } from '../../functions/adapters/ledger-sealer.ts';
import { sha256Hex } from '../../functions/domain/json.ts';
import type {
  ChainItem,
  LedgerEntry,
  LedgerEntryDraft,
  LedgerEntryV1,
  LedgerEntryV2,
} from '../../functions/domain/ledger.ts';
import {
  effectState,
  entryHash,
  GENESIS_HASH,
  ledgerDraftSchema,
  pseudonym,
  sealEntry,
  verifyChain,
} from '../../functions/domain/ledger.ts';

const sealer = new FileKeySealer(newKeyFile('k1'));
const INC = 'INC-2026-0001';

const draft = (n: number, extra: Partial<LedgerEntryDraft> = {}): LedgerEntryDraft => ({
  log: 'effect',
  kind: 'refund',
  world: 'RML3',
  phase: 'Act',
  at: `2026-11-22T10:00:0${n % 10}.000Z`,
  actor: 'casebook (Act)',
  idempotencyKey: `key-${n}`,
  summary: `entry ${n}`,
  amount: { minor: 1299 * n, currency: 'EUR' },
  obligation: 'tos',
  detail: { n, nested: { b: 2, a: 1 } },
  ...extra,
});

async function chain(length: number, signer = sealer): Promise<LedgerEntryV2[]> {
  const entries: LedgerEntryV2[] = [];
  for (let n = 1; n <= length; n++) entries.push(await sealEntry(INC, entries.at(-1), draft(n), signer));
  return entries;
}

/** What someone with write access to the table but not the key can do: recompute a hash. */
function rehashed(entry: LedgerEntryV2, change: Partial<LedgerEntryV2>): LedgerEntryV2 {
  const next = { ...entry, ...change };
  return { ...next, hash: entryHash(next) };
}

const problems = async (entries: readonly ChainItem[], anchored?: Parameters<typeof verifyChain>[3]) =>
  (await verifyChain(INC, entries, sealer, anchored)).map((p) => [p.seq, p.problem]);

describe('the format 2 ledger entry', () => {
  it('links each entry to the one before, from the genesis hash, and carries an id, a format and a seal', async () => {
    const entries = await chain(3);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(entries[0]?.prevHash).toBe(GENESIS_HASH);
    expect(entries[1]?.prevHash).toBe(entries[0]?.hash);
    expect(entries.every((e) => e.format === 2 && /^[0-9A-HJKMNP-TV-Z]{26}$/.test(e.id))).toBe(true);
    expect(entries[0]?.seal.keyId).toBe('local:k1');
    expect(await verifyChain(INC, entries, sealer)).toEqual([]);
  });

  it('hashes RFC 8785 canonical JSON of everything but the hash and the seal', async () => {
    const [entry] = await chain(1);
    if (!entry) throw new Error('no entry');
    const { hash, seal: _seal, ...body } = entry;
    expect(hash).toBe(sha256Hex(canonicalize(body) as string));
    const reordered = Object.fromEntries(Object.entries(entry).reverse()) as unknown as LedgerEntryV2;
    expect(entryHash(reordered)).toBe(hash);
  });

  it('rejects a draft that is not an entry: unknown kind, fractional money, a bad currency, a customer named in clear', () => {
    const bad = [
      { ...draft(1), kind: 'customer_notice' },
      { ...draft(1), amount: { minor: 12.5, currency: 'EUR' } },
      { ...draft(1), amount: { minor: 1250, currency: 'EURO' } },
      { ...draft(1), counterparty: 'ada@example.com' },
    ];
    for (const d of bad) expect(ledgerDraftSchema.safeParse(d).success).toBe(false);
    expect(
      ledgerDraftSchema.safeParse({ ...draft(1), counterparty: pseudonym(Buffer.alloc(32, 7), 'cus_42') })
        .success,
    ).toBe(true);
  });

  it('names a customer by a keyed pseudonym: stable for one key, unlinkable without it', () => {
    const key = Buffer.alloc(32, 1);
    expect(pseudonym(key, 'cus_42')).toBe(pseudonym(key, 'cus_42'));
    expect(pseudonym(key, 'cus_42')).not.toBe(pseudonym(key, 'cus_43'));
    expect(pseudonym(Buffer.alloc(32, 2), 'cus_42')).not.toBe(pseudonym(key, 'cus_42'));
    expect(pseudonym(key, 'cus_42')).toMatch(/^cp_[0-9a-f]{32}$/);
  });
});

describe('verifying a chain', () => {
  it('finds an entry edited in place', async () => {
    const entries = await chain(3);
    const edited = entries.map((e) => (e.seq === 2 ? { ...e, amount: { minor: 1, currency: 'EUR' } } : e));
    expect(await problems(edited)).toEqual([[2, 'edited']]);
  });

  it('finds an entry rewritten with its hash recomputed, and the later ones re-hashed after it', async () => {
    const entries = await chain(4);
    const forged: LedgerEntryV2[] = [entries[0] as LedgerEntryV2];
    for (const e of entries.slice(1)) {
      const prev = forged.at(-1) as LedgerEntryV2;
      forged.push(
        rehashed(e, { prevHash: prev.hash, ...(e.seq === 2 ? { summary: 'nothing happened' } : {}) }),
      );
    }
    expect(await problems(forged)).toEqual([
      [2, 'forged'],
      [3, 'forged'],
      [4, 'forged'],
    ]);
  });

  it('finds a forged entry appended with a correctly recomputed hash', async () => {
    const entries = await chain(2);
    const other = new FileKeySealer(newKeyFile('k1'));
    const forged = await sealEntry(INC, entries[1], draft(3), other);
    expect(await problems([...entries, forged])).toEqual([[3, 'forged']]);
  });

  it('finds an entry deleted from the middle, and a last one only against an anchored head', async () => {
    const entries = await chain(4);
    expect(await problems(entries.filter((e) => e.seq !== 2))).toEqual([[2, 'deleted']]);
    const last = entries[3] as LedgerEntryV2;
    const anchored = { seq: last.seq, hash: last.hash, anchoredAt: '2026-11-22T11:00:00.000Z' };
    expect(await problems(entries.slice(0, 3))).toEqual([]);
    expect(await problems(entries.slice(0, 3), anchored)).toEqual([[4, 'truncated']]);
    expect(await problems([], anchored)).toEqual([[0, 'missing-chain']]);
  });

  it('finds two entries whose places were swapped', async () => {
    const [a, b, c, d] = await chain(4);
    if (!a || !b || !c || !d) throw new Error('short chain');
    const swapped = [a, { ...c, seq: 2 }, { ...b, seq: 3 }, d];
    expect(await problems(swapped)).toEqual([
      [2, 'reordered'],
      [3, 'reordered'],
      [4, 'broken-link'],
    ]);
  });

  it('finds an entry inserted in the middle with the rest moved one place up', async () => {
    const entries = await chain(3);
    const inserted = rehashed(entries[1] as LedgerEntryV2, {
      id: '01JINSERTED000000000000000',
      summary: 'an entry nobody wrote',
    });
    const moved = entries.slice(1).map((e) => ({ ...e, seq: e.seq + 1 }));
    expect(await problems([entries[0] as LedgerEntryV2, inserted, ...moved])).toEqual([
      [2, 'inserted'],
      [3, 'reordered'],
      [4, 'reordered'],
    ]);
  });

  it('keeps verifying entries written in format 1, and refuses a format 1 entry after sealed ones', async () => {
    const legacy = JSON.parse(
      readFileSync(join(import.meta.dirname, '../fixtures/ledger/format1-chain.json'), 'utf8'),
    ) as LedgerEntryV1[];
    expect(await verifyChain(INC, legacy, sealer)).toEqual([]);
    expect(legacy.map(effectState)).toEqual([undefined, undefined, 'intent', 'confirmed']);
    const edited = legacy.map((e) => (e.seq === 3 ? { ...e, summary: 'Customer notice: never mind' } : e));
    expect(await problems(edited)).toEqual([[3, 'edited']]);
    const head = legacy.at(-1) as LedgerEntryV1;
    const sealed = await sealEntry(INC, head, draft(5), sealer);
    expect(await verifyChain(INC, [...legacy, sealed], sealer)).toEqual([]);
    const { hash: _h, ...v1Body } = legacy[0] as LedgerEntryV1;
    const downgrade = { ...v1Body, seq: 6, prevHash: sealed.hash } as LedgerEntryV1;
    const downgraded = {
      ...downgrade,
      hash: entryHash({ ...downgrade, hash: '' } as LedgerEntry),
    } as LedgerEntryV1;
    expect(await problems([...legacy, sealed, downgraded])).toEqual([[6, 'unsealed']]);
  });

  it('verifies entries sealed with a key that was rotated out, as long as the key file keeps it', async () => {
    const file = newKeyFile('old');
    const before = new FileKeySealer(file);
    const old = await chain(2, before);
    const rotated = new FileKeySealer({ current: 'new', keys: { ...file.keys, ...newKeyFile('new').keys } });
    const next = await sealEntry(INC, old[1], draft(3), rotated);
    expect(next.seal.keyId).toBe('local:new');
    expect(await verifyChain(INC, [...old, next], rotated)).toEqual([]);
    expect(
      (await verifyChain(INC, [...old, next], new FileKeySealer(newKeyFile('new')))).map((p) => p.problem),
    ).toEqual(['forged', 'forged', 'forged']);
  });
});
