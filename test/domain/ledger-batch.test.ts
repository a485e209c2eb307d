/**
 * Format 3 of the ledger: batches of entries as leaves of one RFC 6962 tree per incident, each
 * batch's head signed; and every way a writer of the table could tamper with it, named.
 */
import { generateKeyPairSync } from 'node:crypto';
import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { FileHeadSigner } from '../../functions/adapters/head-signer.ts';
import { FileKeySealer, newKeyFile } from '../../functions/adapters/ledger-sealer.ts';
import { ledgerOrigin, verifyHeadSignature } from '../../functions/domain/checkpoint.ts';
import type {
  ChainItem,
  ChainItemV3,
  ChainTip,
  LedgerEntryDraft,
  LedgerEntryV2,
} from '../../functions/domain/ledger.ts';
import {
  batchItem,
  entriesOf,
  entryLeaf,
  GENESIS_HASH,
  genesisTip,
  itemHash,
  keyHash,
  newEntryId,
  sealEntry,
  tipAfter,
  verifyChain,
} from '../../functions/domain/ledger.ts';
import { leafHash, MerkleFrontier, rootOf } from '../../functions/domain/merkle.ts';

const INC = 'INC-2026-0001';

function keyPair() {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    signer: new FileHeadSigner(pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string),
    publicKey: pair.publicKey,
  };
}
const casebook = keyPair();
const attacker = keyPair();
const sealer = new FileKeySealer(newKeyFile('k1'));
const keys = { sealer, publicKey: casebook.publicKey };

const draft = (n: number): LedgerEntryDraft => ({
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
});

/** Batch items of the given sizes after `tip`, signed by `signer`. */
async function batches(
  sizes: readonly number[],
  tip: ChainTip = genesisTip(),
  signer = casebook.signer,
  incidentId = INC,
): Promise<ChainItemV3[]> {
  const items: ChainItemV3[] = [];
  let n = tip.frontier.size;
  for (const size of sizes) {
    const drafts = Array.from({ length: size }, () => {
      n++;
      return { draft: draft(n), id: newEntryId(draft(n)) };
    });
    const item = await batchItem(incidentId, tip, drafts, signer);
    items.push(item);
    tip = tipAfter(item, tip);
  }
  return items;
}

const problems = async (items: readonly ChainItem[], anchored?: Parameters<typeof verifyChain>[3]) =>
  (await verifyChain(INC, items, keys, anchored)).map((p) => [p.seq, p.problem]);

/** What a writer of the table who holds no key can do: rebuild an item's hashes around a change. */
function rebuilt(item: ChainItemV3, before: ChainTip): ChainItemV3 {
  const leaves = item.entries.map((e) => entryLeaf(e));
  const frontier = before.frontier.clone();
  for (const leaf of leaves) frontier.append(leaf);
  const body = {
    ...item,
    batchRoot: rootOf(leaves).toString('hex'),
    frontier: frontier.toJSON(),
    root: frontier.root().toString('hex'),
    keys: item.entries.map((e) => keyHash(e.idempotencyKey)),
  };
  return { ...body, hash: itemHash(body) };
}

describe('the format 3 chain item', () => {
  it('holds its entries as leaves of the tree, the tree after them, a link and a signed head', async () => {
    const [first, second] = await batches([3, 2]);
    if (!first || !second) throw new Error('no items');
    expect(first).toMatchObject({ format: 3, seq: 1, size: 3, prevHash: GENESIS_HASH });
    expect(second).toMatchObject({ seq: 4, size: 5, prevHash: first.hash });
    expect(second.entries.map((e) => [e.format, e.seq, e.incidentId])).toEqual([
      [3, 4, INC],
      [3, 5, INC],
    ]);
    // A leaf is SHA-256(0x00 ‖ RFC 8785 JSON of the entry as stored).
    const entry = second.entries[0];
    expect(entryLeaf(entry as never)).toEqual(leafHash(Buffer.from(canonicalize(entry) as string, 'utf8')));
    const leaves = [...first.entries, ...second.entries].map((e) => entryLeaf(e));
    expect(second.batchRoot).toBe(rootOf(leaves.slice(3)).toString('hex'));
    expect(second.root).toBe(rootOf(leaves).toString('hex'));
    expect(second.frontier).toEqual(MerkleFrontier.of(leaves).toJSON());
    expect(second.keys).toEqual(['key-4', 'key-5'].map(keyHash));
    expect(second.hash).toBe(itemHash(second));
    expect(second.head).toMatchObject({ origin: ledgerOrigin(INC), size: 5, root: second.root });
    expect(verifyHeadSignature(second.head, casebook.publicKey)).toBe(true);
    expect(verifyHeadSignature(second.head, attacker.publicKey)).toBe(false);
    // Readers get each entry with its leaf hash as its hash.
    expect(entriesOf([first, second]).map((e) => e.hash)).toEqual(leaves.map((l) => l.toString('hex')));
    expect(await problems([first, second])).toEqual([]);
  });

  it('refuses a batch of no entries or of more than 25', async () => {
    await expect(batchItem(INC, genesisTip(), [], casebook.signer)).rejects.toThrow(/1–25/);
    const many = Array.from({ length: 26 }, (_, i) => ({ draft: draft(i), id: newEntryId(draft(i)) }));
    await expect(batchItem(INC, genesisTip(), many, casebook.signer)).rejects.toThrow(/1–25/);
  });

  it('needs the public key to verify format 3 items', async () => {
    const items = await batches([1]);
    await expect(verifyChain(INC, items, sealer)).rejects.toThrow(/public key/);
  });

  it('goes on from format 2 entries as one tree and verifies across both formats', async () => {
    const old: LedgerEntryV2[] = [];
    for (let n = 1; n <= 3; n++) old.push(await sealEntry(INC, old.at(-1), draft(n), sealer));
    let tip: ChainTip = genesisTip();
    for (const e of old) tip = tipAfter(e, tip);
    const items = await batches([2, 1], tip);
    expect(items[0]).toMatchObject({ seq: 4, size: 5, prevHash: old[2]?.hash });
    const leaves = [
      ...old.map((e) => entryLeaf(e)),
      ...items.flatMap((i) => i.entries.map((e) => entryLeaf(e))),
    ];
    expect(items[1]?.root).toBe(rootOf(leaves).toString('hex'));
    expect(await problems([...old, ...items])).toEqual([]);
    // Nothing writes format 2 after format 3: one put in later is an insertion.
    const late = await sealEntry(INC, { seq: 6, hash: items[1]?.hash as string }, draft(7), sealer);
    expect(await problems([...old, ...items, late])).toEqual([[7, 'inserted']]);
  });
});

describe('verifying format 3: each kind of tampering named', () => {
  it('an entry edited in place', async () => {
    const items = await batches([3, 2, 4]);
    const second = items[1] as ChainItemV3;
    const edited = {
      ...second,
      entries: second.entries.map((e, i) => (i === 1 ? { ...e, amount: { minor: 1, currency: 'EUR' } } : e)),
    };
    expect(await problems([items[0] as ChainItem, edited, items[2] as ChainItem])).toEqual([[4, 'edited']]);
  });

  it('an entry edited and every hash of its item rebuilt without the key (the head no longer signs it)', async () => {
    const items = await batches([3, 2, 4]);
    const before = tipAfter(items[0] as ChainItemV3, genesisTip());
    const second = items[1] as ChainItemV3;
    const forged = rebuilt(
      { ...second, entries: second.entries.map((e) => ({ ...e, summary: 'a refund nobody got' })) },
      before,
    );
    // The next item no longer links to it, and its tree does not extend the forged one.
    expect(await problems([items[0] as ChainItem, forged, items[2] as ChainItem])).toEqual([
      [4, 'forged'],
      [6, 'broken-link'],
    ]);
  });

  it('an item re-signed with a key that is not the ledger’s', async () => {
    const items = await batches([3, 2]);
    const [resigned] = await batches([2], tipAfter(items[0] as ChainItemV3, genesisTip()), attacker.signer);
    expect(await problems([items[0] as ChainItem, resigned as ChainItem])).toEqual([[4, 'forged']]);
  });

  it('the idempotency keys of the last item changed (its hash rebuilt)', async () => {
    const items = await batches([3, 2]);
    const last = items[1] as ChainItemV3;
    const body = { ...last, keys: [keyHash('other'), ...last.keys.slice(1)] };
    expect(await problems([items[0] as ChainItem, { ...body, hash: itemHash(body) }])).toEqual([
      [4, 'edited'],
    ]);
  });

  it('the entries taken out of an item, or emptied', async () => {
    const items = await batches([3, 2]);
    const last = items[1] as ChainItemV3;
    const { entries: _taken, ...without } = last;
    expect(await problems([items[0] as ChainItem, without as ChainItemV3])).toEqual([[4, 'edited']]);
    expect(await problems([items[0] as ChainItem, { ...last, entries: [] }])).toEqual([[4, 'edited']]);
  });

  it('an item deleted from the middle, and the last one deleted', async () => {
    const items = await batches([3, 2, 4, 1]);
    expect(await problems([items[0], items[2], items[3]] as ChainItem[])).toEqual([[4, 'deleted']]);
    const last = items[3] as ChainItemV3;
    expect(await problems(items.slice(0, 3), { seq: last.seq, hash: last.hash, anchoredAt: 'then' })).toEqual(
      [[10, 'truncated']],
    );
    expect(
      await problems(items.slice(0, 3), { size: last.size, root: last.root, anchoredAt: 'then' }),
    ).toEqual([[10, 'truncated']]);
    expect(await problems(items, { size: last.size, root: last.root, anchoredAt: 'then' })).toEqual([]);
    expect(
      await problems(items, { size: 5, root: (items[1] as ChainItemV3).root, anchoredAt: 'then' }),
    ).toEqual([]);
    expect(await problems([], { size: last.size, root: last.root, anchoredAt: 'then' })).toEqual([
      [0, 'missing-chain'],
    ]);
  });

  it('an item inserted, the later ones moved up', async () => {
    const items = await batches([3, 2, 4]);
    const [inserted] = await batches([1], tipAfter(items[0] as ChainItemV3, genesisTip()), attacker.signer);
    const moved = items.slice(1).map((item) => ({
      ...item,
      seq: item.seq + 1,
      entries: item.entries.map((e) => ({ ...e, seq: e.seq + 1 })),
    }));
    expect(await problems([items[0] as ChainItem, inserted as ChainItem, ...moved])).toEqual([
      [4, 'inserted'],
      [5, 'reordered'],
      [7, 'reordered'],
    ]);
  });

  it('two items swapped', async () => {
    const items = await batches([3, 2, 2, 1]);
    const [a, b, c, d] = items as [ChainItemV3, ChainItemV3, ChainItemV3, ChainItemV3];
    const shift = (item: ChainItemV3, seq: number) => ({
      ...item,
      seq,
      entries: item.entries.map((e, i) => ({ ...e, seq: seq + i })),
    });
    expect(await problems([a, shift(c, 4), shift(b, 6), d])).toEqual([
      [4, 'reordered'],
      [6, 'reordered'],
      [8, 'broken-link'],
    ]);
  });

  it('an item of another incident', async () => {
    const items = await batches([2]);
    const [other] = await batches(
      [1],
      tipAfter(items[0] as ChainItemV3, genesisTip()),
      casebook.signer,
      'INC-2026-0002',
    );
    expect((await problems([items[0] as ChainItem, other as ChainItem])).map((p) => p[1])).toContain(
      'wrong-incident',
    );
  });
});
