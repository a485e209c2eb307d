import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Sender } from '../../functions/adapters/byte-sinks.ts';
import { FileSink, MIN_PART_BYTES, S3MultipartSink } from '../../functions/adapters/byte-sinks.ts';
import { writeLedgerParquet } from '../../functions/adapters/parquet-ledger.ts';
import type { LedgerRow } from '../../functions/domain/ledger-export.ts';
import { LEDGER_COLUMNS, ledgerObjectKey } from '../../functions/domain/ledger-export.ts';
import { duckQuery } from '../support/duckdb.ts';
import type { TestBucket } from '../support/s3.ts';
import { startTestBucket } from '../support/s3.ts';

const base: LedgerRow = {
  incident_id: 'INC-2026-0007',
  incident_number: 7,
  incident_title: 'Refunds twice',
  seq: 1,
  entry_id: '01JD0000000000000000000000',
  entry_hash: 'ab'.repeat(32),
  kind: 'refund',
  root_kind: 'refund',
  corrects_id: null,
  state: 'confirmed',
  amount_minor: 1250,
  currency: 'EUR',
  fee_minor: 30,
  fee_currency: 'EUR',
  obligation: 'tos',
  product_area: 'billing',
  gl_code: '6100',
  world: 'RML3',
  phase: 'Act',
  at: '2026-11-30T23:30:00.123Z',
  effective_at: '2026-11-29T08:00:00.000Z',
  counterparty: `cp_${'0'.repeat(32)}`,
  effect_id: 'e-1',
  provider_ref: 're_1',
  labour_role: null,
  labour_minutes: null,
};

/** Rows that do not compress: each carries fresh random text, so bytes grow with rows. */
function* noisyRows(count: number): Generator<LedgerRow> {
  for (let i = 1; i <= count; i++) {
    yield {
      ...base,
      seq: i,
      entry_hash: randomBytes(32).toString('hex'),
      incident_title: randomBytes(120).toString('base64'),
      amount_minor: i,
    };
  }
}

async function* failingAfter(rows: Iterable<LedgerRow>, count: number): AsyncGenerator<LedgerRow> {
  let n = 0;
  for (const row of rows) {
    if (n++ === count) throw new Error('the ledger read failed');
    yield row;
  }
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'casebook-parquet-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('writeLedgerParquet', () => {
  it('writes ledger/v1 as DuckDB reads it: the columns in order, their types, nulls and the schema version', async () => {
    const path = join(dir, 'ledger.parquet');
    const rows: LedgerRow[] = [
      base,
      {
        ...base,
        seq: 2,
        entry_id: 'seq:2',
        kind: 'ops_labour',
        root_kind: 'ops_labour',
        state: null,
        amount_minor: null,
        currency: null,
        fee_minor: null,
        fee_currency: null,
        obligation: null,
        effective_at: null,
        incident_number: null,
        labour_role: 'SRE',
        labour_minutes: 95,
      },
    ];
    const result = await writeLedgerParquet(rows, new FileSink(path), { rowGroupRows: 1 });
    expect(result.rows).toBe(2);
    expect(readFileSync(path).byteLength).toBe(result.bytes);

    const described = await duckQuery(`DESCRIBE SELECT * FROM '${path}'`);
    expect(described.map((c) => [c.column_name, c.column_type])).toEqual(
      LEDGER_COLUMNS.map((c) => [
        c.name,
        c.type === 'STRING' ? 'VARCHAR' : c.type === 'INT64' ? 'BIGINT' : 'TIMESTAMP',
      ]),
    );
    const read = await duckQuery(
      `SELECT seq, amount_minor, labour_minutes, strftime("at", '%Y-%m-%dT%H:%M:%S.%g') AS at_text,
              effective_at, incident_number, state, labour_role FROM '${path}' ORDER BY seq`,
    );
    expect(read).toEqual([
      {
        seq: '1',
        amount_minor: '1250',
        labour_minutes: null,
        at_text: '2026-11-30T23:30:00.123',
        effective_at: '2026-11-29 08:00:00',
        incident_number: '7',
        state: 'confirmed',
        labour_role: null,
      },
      {
        seq: '2',
        amount_minor: null,
        labour_minutes: '95',
        at_text: '2026-11-30T23:30:00.123',
        effective_at: null,
        incident_number: null,
        state: null,
        labour_role: 'SRE',
      },
    ]);
    const groups = await duckQuery(
      `SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${path}')`,
    );
    expect(groups).toEqual([{ n: '2' }]);
    const meta = await duckQuery(
      `SELECT key::VARCHAR AS k, value::VARCHAR AS v FROM parquet_kv_metadata('${path}')`,
    );
    expect(meta).toEqual([{ k: 'casebook.schema', v: 'ledger/v1' }]);
  });

  it('writes an empty period as a file with the schema and no rows', async () => {
    const path = join(dir, 'empty.parquet');
    expect(await writeLedgerParquet([], new FileSink(path))).toMatchObject({ rows: 0 });
    expect(await duckQuery(`SELECT count(*) AS n FROM '${path}'`)).toEqual([{ n: '0' }]);
  });

  it('leaves neither a partial file nor a changed old one when the rows fail midway', async () => {
    const path = join(dir, 'kept.parquet');
    writeFileSync(path, 'the export of yesterday');
    await expect(
      writeLedgerParquet(failingAfter(noisyRows(50), 30), new FileSink(path), { rowGroupRows: 10 }),
    ).rejects.toThrow('the ledger read failed');
    expect(readFileSync(path, 'utf8')).toBe('the export of yesterday');
    expect(readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
  });
});

describe('the S3 multipart sink (s3rver)', () => {
  let s3: TestBucket;
  /** Every command the sink sent, with the size of each part uploaded. */
  let sent: { name: string; bytes?: number; status?: number }[];
  let sender: S3Sender;
  beforeAll(async () => {
    s3 = await startTestBucket('exports');
    sender = {
      send: (async (command: { constructor: { name: string }; input: { Body?: Uint8Array } }) => {
        const record: { name: string; bytes?: number; status?: number } = {
          name: command.constructor.name,
          ...(command.input.Body ? { bytes: command.input.Body.byteLength } : {}),
        };
        sent.push(record);
        try {
          return await s3.client.send(command as never);
        } catch (error) {
          record.status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          throw error;
        }
      }) as S3Sender['send'],
    };
  });
  afterAll(() => s3.close());

  it('uploads parts of at least 5 MiB but the last, and the object reads back whole', async () => {
    sent = [];
    const key = ledgerObjectKey('2026-11');
    const sink = new S3MultipartSink(sender, s3.bucket, key, { partBytes: MIN_PART_BYTES });
    const result = await writeLedgerParquet(noisyRows(60_000), sink, { rowGroupRows: 5_000 });
    const parts = sent.filter((c) => c.name === 'UploadPartCommand').map((c) => c.bytes ?? 0);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const bytes of parts.slice(0, -1)) expect(bytes).toBeGreaterThanOrEqual(MIN_PART_BYTES);
    expect(parts.reduce((a, b) => a + b, 0)).toBe(result.bytes);
    expect(sent.map((c) => c.name).at(-1)).toBe('CompleteMultipartUploadCommand');

    const out = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
    const path = join(dir, 'downloaded.parquet');
    writeFileSync(
      path,
      await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    expect(await duckQuery(`SELECT count(*) AS n, sum(amount_minor) AS total FROM '${path}'`)).toEqual([
      { n: '60000', total: String((60_000 * 60_001) / 2) },
    ]);
  }, 60_000);

  it('refuses parts under 5 MiB', () => {
    expect(() => new S3MultipartSink(sender, s3.bucket, 'x', { partBytes: MIN_PART_BYTES - 1 })).toThrow(
      RangeError,
    );
  });

  it('aborts a failed export: the object of the last export stays as it was, no new one appears', async () => {
    sent = [];
    const key = ledgerObjectKey('2026-10');
    await s3.client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: 'last export' }));
    const sink = new S3MultipartSink(sender, s3.bucket, key, { partBytes: MIN_PART_BYTES });
    await expect(
      writeLedgerParquet(failingAfter(noisyRows(40_000), 35_000), sink, { rowGroupRows: 5_000 }),
    ).rejects.toThrow('the ledger read failed');
    // Parts were uploaded before the failure, and the upload was aborted (s3rver answers 405).
    expect(sent.filter((c) => c.name === 'UploadPartCommand').length).toBeGreaterThanOrEqual(1);
    expect(sent.at(-1)).toMatchObject({ name: 'AbortMultipartUploadCommand', status: 405 });
    expect(await s3.read(key)).toBe('last export');
    expect((await s3.keys()).filter((k) => k.startsWith('ledger/'))).toEqual([
      ledgerObjectKey('2026-10'),
      ledgerObjectKey('2026-11'),
    ]);
  }, 60_000);
});
