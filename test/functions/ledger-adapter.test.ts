import { PutCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimPartition, DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import { ledgerOrigin, verifyHeadSignature } from '../../functions/domain/checkpoint.ts';
import type {
  ChainItem,
  ChainItemV3,
  LedgerEntryDraft,
  LedgerEntryV2,
  LedgerEntryV3,
} from '../../functions/domain/ledger.ts';
import { entryLeaf, sealEntry, verifyChain } from '../../functions/domain/ledger.ts';
import { rootOf } from '../../functions/domain/merkle.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase } from '../support/dynamodb.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const draft = (key: string, extra: Partial<LedgerEntryDraft> = {}): LedgerEntryDraft => ({
  log: 'effect',
  kind: 'refund',
  world: 'RML3',
  phase: 'Act',
  at: '2026-11-22T10:00:00.000Z',
  actor: 'test',
  idempotencyKey: key,
  summary: `refund ${key}`,
  detail: { key, money: { minor: 1250, currency: 'EUR' }, list: [1, 'two', null, { deep: true }] },
  amount: { minor: 1250, currency: 'EUR' },
  obligation: 'tos',
  ...extra,
});

async function freshLedger(options: Partial<ConstructorParameters<typeof DynamoDbLedger>[2]> = {}) {
  const { ledger: table } = await db.tables();
  return { table, ledger: writer(table, options) };
}

/** A ledger instance of its own, as another Lambda container would be. */
const writer = (table: string, options: Partial<ConstructorParameters<typeof DynamoDbLedger>[2]> = {}) =>
  new DynamoDbLedger(db.doc, table, { sealer: db.sealer, headSigner: db.headSigner, ...options });

const verified = async (ledger: DynamoDbLedger, id: string) =>
  verifyChain(id, await ledger.readChain(id), db.chainKeys);

describe('DynamoDB ledger, format 3 (dynalite)', () => {
  it('appends in order, as batch items whose heads are signed, and reads entries that verify', async () => {
    const { ledger } = await freshLedger();
    for (const key of ['a', 'b', 'c']) await ledger.append('INC-2026-0001', draft(key));
    const entries = await ledger.read('INC-2026-0001');
    expect(entries.map((e) => [e.format, e.seq, e.idempotencyKey])).toEqual([
      [3, 1, 'a'],
      [3, 2, 'b'],
      [3, 3, 'c'],
    ]);
    const items = (await ledger.readChain('INC-2026-0001')) as ChainItemV3[];
    expect(items.map((i) => [i.seq, i.size, i.entries.length])).toEqual([
      [1, 1, 1],
      [2, 2, 1],
      [3, 3, 1],
    ]);
    // Each entry's hash is its leaf; the last root is the RFC 6962 root over all of them.
    expect(entries.map((e) => e.hash)).toEqual(entries.map((e) => entryLeaf(e).toString('hex')));
    expect(items[2]?.root).toBe(rootOf(entries.map((e) => entryLeaf(e))).toString('hex'));
    expect(await verified(ledger, 'INC-2026-0001')).toEqual([]);
    const head = await ledger.readHead('INC-2026-0001');
    expect(head).toMatchObject({ seq: 3, size: 3, hash: items[2]?.hash });
    expect(head?.head).toMatchObject({
      origin: ledgerOrigin('INC-2026-0001'),
      size: 3,
      root: items[2]?.root,
    });
    expect(head?.head && verifyHeadSignature(head.head, db.publicKey)).toBe(true);
  });

  it('commits concurrent appends on one instance in batches of at most 25, one put each', async () => {
    const { ledger } = await freshLedger();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => ledger.append('INC-2026-0009', draft(`k${i}`))),
    );
    expect(results.every((r) => r.created)).toBe(true);
    const items = (await ledger.readChain('INC-2026-0009')) as ChainItemV3[];
    expect(items.length).toBeLessThanOrEqual(4);
    expect(items.every((i) => i.entries.length <= 25)).toBe(true);
    const entries = await ledger.read('INC-2026-0009');
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    // Each caller gets its own entry back, as stored.
    expect(results.map((r) => r.entry.idempotencyKey)).toEqual(entries.map((e) => `k${e.seq - 1}`));
    expect(results.map((r) => r.entry.hash)).toEqual(entries.map((e) => e.hash));
    expect(await verified(ledger, 'INC-2026-0009')).toEqual([]);
  });

  it('keeps one entry per idempotency key, also when the same append races itself', async () => {
    const { ledger } = await freshLedger();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => ledger.append('INC-2026-0002', draft('same'))),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.entry.hash)).size).toBe(1);
    expect(await ledger.read('INC-2026-0002')).toHaveLength(1);
    expect((await ledger.append('INC-2026-0002', draft('same'))).created).toBe(false);
  });

  it('finds a key committed by another instance, read on a cold start and after a lost race', async () => {
    const { table } = await freshLedger();
    const one = writer(table);
    const first = await one.append('INC-2026-0010', draft('x'));
    await one.append('INC-2026-0010', draft('y'));
    const cold = writer(table);
    const again = await cold.append('INC-2026-0010', draft('x'));
    expect(again).toEqual({ created: false, entry: first.entry });
    // `two` knows the head before `one` writes z; its own z then loses the race and finds one's.
    const two = writer(table);
    await two.append('INC-2026-0010', draft('w'));
    const z = await one.append('INC-2026-0010', draft('z'));
    const raced = await two.append('INC-2026-0010', draft('z'));
    expect(raced).toEqual({ created: false, entry: z.entry });
    expect((await one.read('INC-2026-0010')).map((e) => e.idempotencyKey)).toEqual(['x', 'y', 'w', 'z']);
  });

  it('gives 32 concurrent writers on one incident a gap-free log with every entry exactly once', async () => {
    const { table } = await freshLedger();
    const writers = Array.from({ length: 32 }, () => writer(table));
    // Each key is appended by two writers at once, as a retried Lambda would.
    await Promise.all(
      writers.map(async (w, i) => {
        for (let n = 0; n < 4; n++) await w.append('INC-2026-0003', draft(`w${i >> 1}-${n}`));
      }),
    );
    const entries = await (writers[0] as DynamoDbLedger).read('INC-2026-0003');
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
    expect(new Set(entries.map((e) => e.idempotencyKey)).size).toBe(64);
    expect(await verified(writers[0] as DynamoDbLedger, 'INC-2026-0003')).toEqual([]);
  });

  it('appends after another writer moved the head it remembered', async () => {
    const { table } = await freshLedger();
    const one = writer(table);
    const two = writer(table);
    for (let n = 0; n < 6; n++) await (n % 2 ? one : two).append('INC-2026-0004', draft(`k${n}`));
    const entries = await one.read('INC-2026-0004');
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await verified(one, 'INC-2026-0004')).toEqual([]);
  });

  it('goes on from a format 2 chain as one tree, and still finds its keys (old claim items ignored)', async () => {
    const { table } = await freshLedger();
    const id = 'INC-2026-0005';
    const old: LedgerEntryV2[] = [];
    for (const key of ['p', 'q']) old.push(await sealEntry(id, old.at(-1), draft(key), db.sealer));
    for (const entry of old) await db.doc.send(new PutCommand({ TableName: table, Item: entry }));
    await db.doc.send(
      new PutCommand({
        TableName: table,
        Item: { incidentId: claimPartition(id, 'p'), seq: 1, claimOf: id, idempotencyKey: 'p', afterSeq: 0 },
      }),
    );
    const ledger = writer(table);
    expect(await ledger.append(id, draft('p'))).toEqual({ created: false, entry: old[0] });
    const r = await ledger.append(id, draft('r'));
    expect(r).toMatchObject({ created: true, entry: { format: 3, seq: 3 } });
    const items = await ledger.readChain(id);
    const item = items[2] as ChainItemV3;
    expect(item.prevHash).toBe(old[1]?.hash);
    const leaves = [...old.map((e) => entryLeaf(e)), entryLeaf(item.entries[0] as LedgerEntryV3)];
    expect(item.root).toBe(rootOf(leaves).toString('hex'));
    expect((await ledger.read(id)).map((e) => [e.format, e.idempotencyKey])).toEqual([
      [2, 'p'],
      [2, 'q'],
      [3, 'r'],
    ]);
    expect(await verifyChain(id, items, db.chainKeys)).toEqual([]);
    // A cold instance builds the same tree from the format 2 entries and goes on from it.
    await writer(table).append(id, draft('s'));
    expect(await verifyChain(id, await ledger.readChain(id), db.chainKeys)).toEqual([]);
  });

  it('refuses a draft that is not a valid entry before writing anything, and only that draft', async () => {
    const { table, ledger } = await freshLedger();
    const [bad, good] = await Promise.allSettled([
      ledger.append('INC-2026-0007', draft('bad', { amount: { minor: 10.5, currency: 'EUR' } })),
      ledger.append('INC-2026-0007', draft('good')),
    ]);
    expect(bad).toMatchObject({
      status: 'rejected',
      reason: expect.objectContaining({ message: expect.stringMatching(/minor/) }),
    });
    expect(good).toMatchObject({ status: 'fulfilled' });
    expect((await ledger.read('INC-2026-0007')).map((e) => e.idempotencyKey)).toEqual(['good']);
    expect(await db.count(table)).toBe(1);
  });

  it('splits a batch that would pass the item size bound, and never writes an item past it', async () => {
    const { table, ledger } = await freshLedger({ maxItemBytes: 6_000 });
    const big = (k: string) => draft(k, { detail: { note: 'x'.repeat(1_500) } });
    await Promise.all(Array.from({ length: 12 }, (_, i) => ledger.append('INC-2026-0011', big(`b${i}`))));
    const items = (await ledger.readChain('INC-2026-0011')) as ChainItemV3[];
    expect(items.length).toBeGreaterThanOrEqual(4);
    expect(items.every((i) => Buffer.byteLength(JSON.stringify(i.entries)) <= 6_000)).toBe(true);
    expect((await ledger.read('INC-2026-0011')).map((e) => e.seq)).toEqual(
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    expect(await verified(ledger, 'INC-2026-0011')).toEqual([]);
    expect(await db.count(table)).toBe(items.length);
  });

  it('says an append needs a head signer, and writes nothing without one', async () => {
    const { table } = await freshLedger();
    const unsigned = new DynamoDbLedger(db.doc, table, { sealer: db.sealer });
    await expect(unsigned.append('INC-2026-0012', draft('a'))).rejects.toThrow(/head signer/);
    expect(await db.count(table)).toBe(0);
  });

  it('only ever puts and reads: no update, delete or batch write reaches the table', async () => {
    const { ledger } = await freshLedger();
    const sent: string[] = [];
    const send = db.doc.send.bind(db.doc);
    db.doc.send = ((command: { constructor: { name: string } }, ...rest: unknown[]) => {
      sent.push(command.constructor.name);
      return (send as (...a: unknown[]) => unknown)(command, ...rest);
    }) as typeof db.doc.send;
    try {
      await Promise.all(
        Array.from({ length: 8 }, (_, i) => ledger.append('INC-2026-0008', draft(`k${i % 4}`))),
      );
      await ledger.read('INC-2026-0008');
      await ledger.readHead('INC-2026-0008');
      await ledger.readPage('INC-2026-0008', { limit: 2 });
    } finally {
      db.doc.send = send;
    }
    expect(new Set(sent)).toEqual(new Set(['PutCommand', 'QueryCommand']));
  });

  it('pages newest first across batch items, each entry once', async () => {
    const { ledger } = await freshLedger();
    await Promise.all(Array.from({ length: 30 }, (_, i) => ledger.append('INC-2026-0013', draft(`p${i}`))));
    const seen: number[] = [];
    let cursor: string | undefined;
    do {
      const page = await ledger.readPage('INC-2026-0013', { limit: 7, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(7);
      seen.push(...page.items.map((e) => e.seq));
      cursor = page.cursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => 30 - i));
  });

  it('any sequence of appends, repeats and corrections gives a log that verifies (property)', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), key: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('correct' as const), target: fc.nat() }),
    );
    const { table, ledger } = await freshLedger();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 15 }),
        fc.boolean(),
        async (ops, twoWriters) => {
          const id = `INC-2026-${String(1000 + runs++)}`;
          const other = twoWriters ? writer(table) : ledger;
          const run = async (o: (typeof ops)[number], i: number) => {
            const w = i % 2 ? other : ledger;
            if (o.kind === 'append') return w.append(id, draft(`k${o.key}`));
            const entries = (await w.read(id)) as LedgerEntryV3[];
            const target = entries[o.target % Math.max(entries.length, 1)];
            if (!target) return undefined;
            return w.append(
              id,
              draft(`correction-${i}`, {
                kind: 'correction',
                corrects: { id: target.id, seq: target.seq },
                amount: undefined,
              }),
            );
          };
          await Promise.all(ops.map(run));
          const entries = await ledger.read(id);
          const keys = entries.map((e) => e.idempotencyKey);
          expect(new Set(keys).size).toBe(keys.length);
          expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
          const items: ChainItem[] = await ledger.readChain(id);
          expect(await verifyChain(id, items, db.chainKeys)).toEqual([]);
        },
      ),
      { numRuns: Number(process.env.CASEBOOK_PROPERTY_RUNS ?? 25) },
    );
  });
});
