import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import type { LedgerEntryDraft } from '../../functions/domain/ledger.ts';
import { verifyChain } from '../../functions/domain/ledger.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase } from '../support/dynamodb.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const draft = (key: string): LedgerEntryDraft => ({
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
  costLine: 'tos',
});

describe('DynamoDB ledger (dynalite)', () => {
  it('appends in order and reads back entries whose hashes still verify', async () => {
    const { ledger: table } = await db.tables();
    const ledger = new DynamoDbLedger(db.doc, table);
    for (const key of ['a', 'b', 'c']) await ledger.append('INC-2026-0001', draft(key));
    const entries = await ledger.read('INC-2026-0001');
    expect(entries.map((e) => [e.seq, e.idempotencyKey])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ]);
    expect(verifyChain('INC-2026-0001', entries)).toEqual([]);
  });

  it('keeps one entry per idempotency key, also when the same append races itself', async () => {
    const { ledger: table } = await db.tables();
    const ledger = new DynamoDbLedger(db.doc, table);
    const results = await Promise.all(
      Array.from({ length: 6 }, () => ledger.append('INC-2026-0002', draft('same'))),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.entry.hash)).size).toBe(1);
    expect(await db.count(table)).toBe(1);
  });

  it('gives concurrent appends of different keys distinct sequence numbers and one valid chain', async () => {
    const { ledger: table } = await db.tables();
    const ledger = new DynamoDbLedger(db.doc, table);
    const keys = Array.from({ length: 6 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((k) => ledger.append('INC-2026-0003', draft(k))));
    const entries = await ledger.read('INC-2026-0003');
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(entries.map((e) => e.idempotencyKey).sort()).toEqual(keys);
    expect(verifyChain('INC-2026-0003', entries)).toEqual([]);
  });

  it('keeps incidents apart', async () => {
    const { ledger: table } = await db.tables();
    const ledger = new DynamoDbLedger(db.doc, table);
    await ledger.append('INC-2026-0004', draft('x'));
    await ledger.append('INC-2026-0005', draft('x'));
    expect((await ledger.read('INC-2026-0004')).map((e) => e.seq)).toEqual([1]);
    expect((await ledger.read('INC-2026-0005')).map((e) => e.seq)).toEqual([1]);
  });
});
