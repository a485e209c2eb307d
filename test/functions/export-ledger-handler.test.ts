/**
 * The export function: the daily schedule exports the open month (and on the first of a month the
 * month just closed too), on demand the months asked for; a schedule with nothing to export yet is
 * no failure, a bad request is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3MultipartSink } from '../../functions/adapters/byte-sinks.ts';
import { DynamoDbLedgerExportSource } from '../../functions/adapters/dynamodb-ledger-export.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { ParquetLedgerWriter } from '../../functions/adapters/parquet-ledger.ts';
import { ledgerObjectKey } from '../../functions/domain/ledger-export.ts';
import { makeExportLedgerHandler } from '../../functions/export-ledger/export-ledger.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase } from '../support/dynamodb.ts';
import { plainIncident } from '../support/incidents.ts';
import type { TestBucket } from '../support/s3.ts';
import { startTestBucket } from '../support/s3.ts';

let db: TestDatabase;
let s3: TestBucket;
let tables: { operations: string; ledger: string };

const scheduled = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };

function handlerAt(now: string, ledgerTables = tables) {
  return makeExportLedgerHandler({
    source: new DynamoDbLedgerExportSource(db.doc, {
      operationsTable: ledgerTables.operations,
      ledgerTable: ledgerTables.ledger,
    }),
    writerFor: (period) =>
      new ParquetLedgerWriter(new S3MultipartSink(s3.client, s3.bucket, ledgerObjectKey(period))),
    clock: { now: () => new Date(now) },
  });
}

beforeAll(async () => {
  db = await startTestDatabase();
  s3 = await startTestBucket('exports');
  tables = await db.tables();
  await new DynamoDbOperationsStore(db.doc, tables.operations).createIncident(plainIncident(1));
  await db.ledger(tables.ledger).append('INC-2026-0001', {
    log: 'effect',
    kind: 'refund',
    world: 'RML3',
    phase: 'Act',
    at: '2026-11-30T23:50:00.000Z',
    actor: 'casebook (Act)',
    idempotencyKey: 'refund',
    summary: 'refund',
    state: 'confirmed',
    amount: { minor: 500, currency: 'EUR' },
    detail: {},
  });
});
afterAll(async () => {
  await s3?.close();
  await db?.close();
});

describe('the export function', () => {
  it('exports the open month daily, and the month just closed on the first', async () => {
    const mid = await handlerAt('2026-11-22T01:15:00.000Z')(scheduled);
    expect(mid).toMatchObject({ periods: [{ period: '2026-11', rows: 1 }] });
    const first = await handlerAt('2026-12-01T01:15:00.000Z')(scheduled);
    expect(first).toMatchObject({
      periods: [
        { period: '2026-11', rows: 1 },
        { period: '2026-12', rows: 0 },
      ],
    });
    expect(await s3.keys()).toEqual([ledgerObjectKey('2026-11'), ledgerObjectKey('2026-12')]);
  });

  it('exports the months asked for on demand, and refuses a bad request', async () => {
    expect(await handlerAt('2027-03-01T00:00:00.000Z')({ period: '2026-11', to: '2027-01' })).toMatchObject({
      incidents: 1,
      rows: 1,
      periods: [{ period: '2026-11' }, { period: '2026-12' }, { period: '2027-01' }],
    });
    await expect(handlerAt('2027-03-01T00:00:00.000Z')({ period: '2026-13' })).rejects.toThrow(
      '--period 2026-13 is not a month',
    );
    await expect(handlerAt('2027-03-01T00:00:00.000Z')({ month: '2026-11' })).rejects.toThrow();
  });

  it('skips a scheduled run that has no incident to export yet, and writes nothing', async () => {
    const empty = await db.tables();
    const before = await s3.keys();
    const result = await handlerAt('2025-05-10T01:15:00.000Z', empty)(scheduled);
    expect(result).toEqual({ skipped: 'no incidents in 2025-05: none was detected before 2025-06-01' });
    expect(await s3.keys()).toEqual(before);
  });
});
