import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSink, S3MultipartSink } from '../../functions/adapters/byte-sinks.ts';
import { DynamoDbLedgerExportSource } from '../../functions/adapters/dynamodb-ledger-export.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { CsvLedgerWriter, ParquetLedgerWriter } from '../../functions/adapters/parquet-ledger.ts';
import { classify } from '../../functions/domain/alert.ts';
import type { Incident } from '../../functions/domain/incident.ts';
import { formatIncidentId, openIncident } from '../../functions/domain/incident.ts';
import type { LedgerEntryDraft } from '../../functions/domain/ledger.ts';
import type { LedgerExportSource } from '../../functions/domain/ledger-export.ts';
import { ledgerObjectKey } from '../../functions/domain/ledger-export.ts';
import { exportLedger } from '../../functions/use-cases/export-ledger.ts';
import { duckQuery } from '../support/duckdb.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase } from '../support/dynamodb.ts';
import { plainAlert } from '../support/incidents.ts';
import type { TestBucket } from '../support/s3.ts';
import { startTestBucket } from '../support/s3.ts';

let db: TestDatabase;
let s3: TestBucket;
let source: LedgerExportSource;
let dir: string;
const ids: Record<string, string> = {};

const incident = (n: number, detectedAt: string, productArea?: string): Incident => ({
  ...openIncident(formatIncidentId(2026, n), plainAlert(n), classify({}), detectedAt),
  ...(productArea ? { productArea } : {}),
});

const draft = (at: string, key: string, fields: Partial<LedgerEntryDraft>): LedgerEntryDraft => ({
  log: 'effect',
  kind: 'refund',
  world: 'RML3',
  phase: 'Act',
  at,
  actor: 'test',
  idempotencyKey: key,
  summary: key,
  detail: {},
  ...fields,
});

beforeAll(async () => {
  db = await startTestDatabase();
  s3 = await startTestBucket('exports');
  dir = mkdtempSync(join(tmpdir(), 'casebook-export-'));
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  const ledger = db.ledger(tables.ledger);
  const one = incident(1, '2026-10-30T08:00:00.000Z', 'billing');
  const two = incident(2, '2026-11-15T08:00:00.000Z');
  const three = incident(3, '2026-12-02T08:00:00.000Z');
  for (const i of [one, two, three]) await store.createIncident(i);
  await ledger.append(
    one.id,
    draft('2026-10-30T08:00:00.000Z', 'detect', { kind: 'detection', phase: 'Detect' }),
  );
  const refund = await ledger.append(
    one.id,
    draft('2026-10-31T12:00:00.000Z', 'refund', {
      state: 'confirmed',
      amount: { minor: 1000, currency: 'EUR' },
      obligation: 'tos',
    }),
  );
  ids.refund = (refund.entry as { id: string }).id;
  await ledger.append(
    one.id,
    draft('2026-10-31T12:01:00.000Z', 'approve', {
      log: 'decision',
      kind: 'approval',
      role: 'ic',
      decision: 'approve',
    }),
  );
  // Recorded late, in November, for October's refund: it lands in November's file.
  const fix = await ledger.append(
    one.id,
    draft('2026-11-02T09:00:00.000Z', 'void', {
      kind: 'correction',
      state: 'confirmed',
      corrects: { id: ids.refund, seq: refund.entry.seq },
      effectiveAt: '2026-10-31T12:00:00.000Z',
    }),
  );
  ids.void = (fix.entry as { id: string }).id;
  await ledger.append(
    one.id,
    draft('2026-11-03T10:00:00.000Z', 'time', {
      kind: 'ops_labour',
      phase: 'Learn',
      detail: { role: 'SRE', minutes: 90 },
    }),
  );
  await ledger.append(
    two.id,
    draft('2026-11-16T10:00:00.000Z', 'credit', {
      kind: 'credit',
      state: 'intent',
      amount: { minor: 500, currency: 'USD' },
    }),
  );
  await ledger.append(three.id, draft('2026-12-02T08:00:00.000Z', 'detect3', { kind: 'detection' }));
  source = new DynamoDbLedgerExportSource(db.doc, {
    operationsTable: tables.operations,
    ledgerTable: tables.ledger,
  });
});

afterAll(async () => {
  await s3.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function download(key: string, name: string): Promise<string> {
  const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  const path = join(dir, name);
  writeFileSync(
    path,
    await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
  return path;
}

const toBucket = (period: string) =>
  new ParquetLedgerWriter(new S3MultipartSink(s3.client, s3.bucket, ledgerObjectKey(period)));

describe('exportLedger (dynalite, s3rver, DuckDB)', () => {
  it('writes one object per period by the month of `at`; a late correction lands in its own month and still names the row it voids', async () => {
    const progress: number[][] = [];
    const result = await exportLedger(
      { source, writerFor: toBucket, onProgress: (done, total, rows) => progress.push([done, total, rows]) },
      { from: '2026-10', to: '2026-11' },
    );
    expect(result).toMatchObject({
      incidents: 2,
      rows: 5,
      periods: [
        { period: '2026-10', rows: 2 },
        { period: '2026-11', rows: 3 },
      ],
    });
    expect(progress).toEqual([
      [1, 2, 4],
      [2, 2, 5],
    ]);
    const october = await download(ledgerObjectKey('2026-10'), 'oct.parquet');
    const november = await download(ledgerObjectKey('2026-11'), 'nov.parquet');
    expect(
      await duckQuery(`SELECT incident_id, seq, kind, product_area FROM '${october}' ORDER BY seq`),
    ).toEqual([
      { incident_id: 'INC-2026-0001', seq: '1', kind: 'detection', product_area: 'billing' },
      { incident_id: 'INC-2026-0001', seq: '2', kind: 'refund', product_area: 'billing' },
    ]);
    expect(
      await duckQuery(
        `SELECT incident_id, kind, root_kind, corrects_id, obligation, state, labour_role, labour_minutes
         FROM '${november}' ORDER BY incident_id, seq`,
      ),
    ).toEqual([
      {
        incident_id: 'INC-2026-0001',
        kind: 'correction',
        root_kind: 'refund',
        corrects_id: ids.refund,
        obligation: 'tos',
        state: 'confirmed',
        labour_role: null,
        labour_minutes: null,
      },
      {
        incident_id: 'INC-2026-0001',
        kind: 'ops_labour',
        root_kind: 'ops_labour',
        corrects_id: null,
        obligation: null,
        state: null,
        labour_role: 'SRE',
        labour_minutes: '90',
      },
      {
        incident_id: 'INC-2026-0002',
        kind: 'credit',
        root_kind: 'credit',
        corrects_id: null,
        obligation: null,
        state: 'intent',
        labour_role: null,
        labour_minutes: null,
      },
    ]);
    // Across both months, the refund no longer stands: the void (amount-less) has the last word.
    const standing = await duckQuery(
      `WITH l AS (SELECT * FROM read_parquet(['${october}', '${november}']))
       SELECT incident_id, kind FROM l WHERE NOT EXISTS
         (SELECT 1 FROM l c WHERE c.incident_id = l.incident_id AND c.corrects_id = l.entry_id)
       AND amount_minor IS NOT NULL`,
    );
    expect(standing).toEqual([{ incident_id: 'INC-2026-0002', kind: 'credit' }]);
  });

  it('writes a month with no entries as an empty file, and refuses a range no incident reaches', async () => {
    const result = await exportLedger({ source, writerFor: toBucket }, { from: '2027-01' });
    expect(result).toMatchObject({ incidents: 3, rows: 0, periods: [{ period: '2027-01', rows: 0 }] });
    const path = await download(ledgerObjectKey('2027-01'), 'jan.parquet');
    expect(await duckQuery(`SELECT count(*) AS n FROM '${path}'`)).toEqual([{ n: '0' }]);

    const before = await s3.keys();
    await expect(
      exportLedger({ source, writerFor: toBucket }, { from: '2026-01', to: '2026-09' }),
    ).rejects.toThrow('no incidents in 2026-01 to 2026-09: none was detected before 2026-10-01');
    await expect(
      exportLedger({ source, writerFor: toBucket }, { from: '2026-11', to: '2026-10' }),
    ).rejects.toThrow('--period 2026-11 is after --to 2026-10');
    await expect(exportLedger({ source, writerFor: toBucket }, { from: '2026-13' })).rejects.toThrow(
      '--period 2026-13 is not a month',
    );
    expect(await s3.keys()).toEqual(before);
  });

  it('leaves no object of any period behind when reading fails midway', async () => {
    const failing: LedgerExportSource = {
      incidentsDetectedBefore: (before) => source.incidentsDetectedBefore(before),
      async *entryPages(id) {
        if (id === 'INC-2026-0002') throw new Error('DynamoDB went away');
        yield* source.entryPages(id);
      },
    };
    const before = await s3.keys();
    await expect(
      exportLedger({ source: failing, writerFor: toBucket }, { from: '2026-12', to: '2027-02' }),
    ).rejects.toThrow('DynamoDB went away');
    expect(await s3.keys()).toEqual(before);
    expect(before).not.toContain(ledgerObjectKey('2026-12'));
  });

  it('writes a whole range as one CSV when the periods share a writer', async () => {
    const path = join(dir, 'range.csv');
    const writer = new CsvLedgerWriter(new FileSink(path));
    const result = await exportLedger(
      { source, writerFor: () => writer },
      { from: '2026-10', to: '2026-12' },
    );
    expect(result.rows).toBe(6);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\r\n');
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatch(/^incident_id,incident_number,incident_title,seq,entry_id,/);
    expect(lines.map((l) => l.split(',')[0])).toEqual([
      'incident_id',
      'INC-2026-0001',
      'INC-2026-0001',
      'INC-2026-0001',
      'INC-2026-0001',
      'INC-2026-0002',
      'INC-2026-0003',
    ]);
    expect(result.periods.map((p) => p.rows)).toEqual([2, 3, 1]);
  });
});
