/** A page of the ledger, newest first, through the same port every reader of the ledger uses. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerEntryDraft } from '../../functions/domain/ledger.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase } from '../support/dynamodb.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const draft = (key: string, log: LedgerEntryDraft['log'] = 'effect'): LedgerEntryDraft =>
  ({
    log,
    kind: log === 'effect' ? 'notice' : 'approval',
    world: 'RML3',
    phase: 'Act',
    at: '2026-11-22T10:00:00.000Z',
    actor: 'test',
    idempotencyKey: key,
    summary: `entry ${key}`,
    detail: { key },
  }) as LedgerEntryDraft;

describe('Ledger.readPage', () => {
  it('gives the newest entries first, a page at a time, and the whole ledger across the pages', async () => {
    const { ledger: table } = await db.tables();
    const ledger = db.ledger(table);
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    for (const [i, key] of keys.entries()) {
      await ledger.append('INC-2026-0001', draft(key, i === 3 ? 'decision' : 'effect'));
    }
    await ledger.append('INC-2026-0002', draft('other'));

    const first = await ledger.readPage('INC-2026-0001', { limit: 3 });
    expect(first.items.map((e) => e.idempotencyKey)).toEqual(['g', 'f', 'e']);
    expect(first.cursor).toBeDefined();
    const seen = [...first.items];
    let cursor = first.cursor;
    while (cursor) {
      const page = await ledger.readPage('INC-2026-0001', { limit: 3, cursor });
      seen.push(...page.items);
      cursor = page.cursor;
    }
    expect(seen.map((e) => e.idempotencyKey)).toEqual([...keys].reverse());
    expect(seen.map((e) => e.seq)).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect((await ledger.readPage('INC-2026-0003', { limit: 3 })).items).toEqual([]);
  });
});
