import { PutCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimPartition, DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import type { LedgerEntryDraft, LedgerEntryV2 } from '../../functions/domain/ledger.ts';
import { verifyChain } from '../../functions/domain/ledger.ts';
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
  return { table, ledger: new DynamoDbLedger(db.doc, table, { sealer: db.sealer, ...options }) };
}

describe('DynamoDB ledger (dynalite)', () => {
  it('appends in order and reads back entries whose hashes and seals still verify', async () => {
    const { ledger } = await freshLedger();
    for (const key of ['a', 'b', 'c']) await ledger.append('INC-2026-0001', draft(key));
    const entries = await ledger.read('INC-2026-0001');
    expect(entries.map((e) => [e.seq, e.idempotencyKey])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    expect(await verifyChain('INC-2026-0001', entries, db.sealer)).toEqual([]);
    expect(await ledger.readHead('INC-2026-0001')).toEqual({ seq: 3, hash: entries[2]?.hash });
  });

  it('keeps one entry per idempotency key, also when the same append races itself', async () => {
    const { ledger } = await freshLedger();
    const results = await Promise.all(
      Array.from({ length: 6 }, () => ledger.append('INC-2026-0002', draft('same'))),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.entry.hash)).size).toBe(1);
    expect(await ledger.read('INC-2026-0002')).toHaveLength(1);
  });

  it('gives 32 concurrent writers on one incident a gap-free chain with every entry exactly once', async () => {
    const { table } = await freshLedger();
    // Each writer its own instance, as 32 Lambda containers would be: no head is shared.
    const writers = Array.from(
      { length: 32 },
      () => new DynamoDbLedger(db.doc, table, { sealer: db.sealer }),
    );
    await Promise.all(
      writers.map(async (w, i) => {
        for (let n = 0; n < 4; n++) await w.append('INC-2026-0003', draft(`w${i}-${n}`));
      }),
    );
    const entries = await (writers[0] as DynamoDbLedger).read('INC-2026-0003');
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 128 }, (_, i) => i + 1));
    expect(new Set(entries.map((e) => e.idempotencyKey)).size).toBe(128);
    expect(await verifyChain('INC-2026-0003', entries, db.sealer)).toEqual([]);
  });

  it('appends after another writer moved the head it remembered', async () => {
    const { table } = await freshLedger();
    const one = new DynamoDbLedger(db.doc, table, { sealer: db.sealer });
    const two = new DynamoDbLedger(db.doc, table, { sealer: db.sealer });
    for (let n = 0; n < 6; n++) await (n % 2 ? one : two).append('INC-2026-0004', draft(`k${n}`));
    const entries = await one.read('INC-2026-0004');
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await verifyChain('INC-2026-0004', entries, db.sealer)).toEqual([]);
  });

  it('finishes the append of a writer that died between its claim and its entry, once the claim lease is over', async () => {
    const { table, ledger } = await freshLedger({ claimLeaseMs: 200, appendDeadlineMs: 5_000 });
    await ledger.append('INC-2026-0005', draft('first'));
    // The dead writer's claim: no entry follows it.
    await db.doc.send(
      new PutCommand({
        TableName: table,
        Item: {
          incidentId: claimPartition('INC-2026-0005', 'orphan'),
          seq: 1,
          claimOf: 'INC-2026-0005',
          idempotencyKey: 'orphan',
          afterSeq: 1,
          claimedAt: Date.now(),
        },
      }),
    );
    const { created, entry } = await ledger.append('INC-2026-0005', draft('orphan'));
    expect(created).toBe(true);
    expect(entry.seq).toBe(2);
    expect((await ledger.append('INC-2026-0005', draft('orphan'))).created).toBe(false);
    expect((await ledger.read('INC-2026-0005')).map((e) => e.idempotencyKey)).toEqual(['first', 'orphan']);
  });

  it('gives up with a retryable error, writing nothing, while a live claim of the same key has no entry yet', async () => {
    const { table, ledger } = await freshLedger({ claimLeaseMs: 60_000, appendDeadlineMs: 300 });
    await db.doc.send(
      new PutCommand({
        TableName: table,
        Item: {
          incidentId: claimPartition('INC-2026-0006', 'busy'),
          seq: 1,
          claimOf: 'INC-2026-0006',
          idempotencyKey: 'busy',
          afterSeq: 0,
          claimedAt: Date.now(),
        },
      }),
    );
    await expect(ledger.append('INC-2026-0006', draft('busy'))).rejects.toMatchObject({
      name: 'Casebook.DependencyUnavailable',
      message: expect.stringContaining('under way elsewhere'),
    });
    expect(await ledger.read('INC-2026-0006')).toEqual([]);
  });

  it('refuses a draft that is not a valid entry before writing anything', async () => {
    const { table, ledger } = await freshLedger();
    await expect(
      ledger.append('INC-2026-0007', draft('bad', { amount: { minor: 10.5, currency: 'EUR' } })),
    ).rejects.toThrow(/minor/);
    // The claim is written first; the entry never is.
    expect(await ledger.read('INC-2026-0007')).toEqual([]);
    expect(await db.count(table)).toBe(1);
  });

  it('only ever puts and reads: no update or delete reaches the table', async () => {
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
    } finally {
      db.doc.send = send;
    }
    expect(new Set(sent)).toEqual(new Set(['PutCommand', 'QueryCommand']));
  });

  it('any sequence of appends, repeats and corrections gives a chain that verifies (property)', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), key: fc.integer({ min: 0, max: 12 }) }),
      fc.record({ kind: fc.constant('correct' as const), target: fc.nat() }),
    );
    const { ledger } = await freshLedger();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 15 }),
        fc.boolean(),
        async (ops, concurrent) => {
          const id = `INC-2026-${String(1000 + runs++)}`;
          const run = async (o: (typeof ops)[number], i: number) => {
            if (o.kind === 'append') return ledger.append(id, draft(`k${o.key}`));
            const entries = (await ledger.read(id)) as LedgerEntryV2[];
            const target = entries[o.target % Math.max(entries.length, 1)];
            if (!target) return undefined;
            return ledger.append(
              id,
              draft(`correction-${i}`, {
                kind: 'correction',
                corrects: { id: target.id, seq: target.seq },
                amount: undefined,
              }),
            );
          };
          if (concurrent) await Promise.all(ops.map(run));
          else for (const [i, o] of ops.entries()) await run(o, i);
          const entries = await ledger.read(id);
          const keys = entries.map((e) => e.idempotencyKey);
          expect(new Set(keys).size).toBe(keys.length);
          expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
          expect(await verifyChain(id, entries, db.sealer)).toEqual([]);
        },
      ),
      { numRuns: Number(process.env.CASEBOOK_PROPERTY_RUNS ?? 25) },
    );
  });
});
