/**
 * `casebook pnl` over the fixture ledger's export (the export's own rows and Parquet writer), run
 * as a person runs it: exact figures in CSV and JSON, the same totals from DuckDB by hand and from
 * the incident's own P&L, the objects fetched from a bucket with the S3 SDK, and every bad input
 * answered with one line and exit status 2.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSink } from '../../functions/adapters/byte-sinks.ts';
import { DynamoDbLedgerExportSource } from '../../functions/adapters/dynamodb-ledger-export.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { FileHeadSigner } from '../../functions/adapters/head-signer.ts';
import { ParquetLedgerWriter } from '../../functions/adapters/parquet-ledger.ts';
import { CATEGORY_OF_KIND } from '../../functions/domain/finance-sql.ts';
import { ledgerObjectKey } from '../../functions/domain/ledger-export.ts';
import { makeClose, signClose } from '../../functions/domain/period-close.ts';
import { profitAndLoss } from '../../functions/domain/profit-and-loss.ts';
import { exportLedger } from '../../functions/use-cases/export-ledger.ts';
import { LOCAL_BUCKETS, LOCAL_CREDENTIALS, PORTS } from '../../local/names.ts';
import { casebook } from '../support/cli.ts';
import { startTestDatabase } from '../support/dynamodb.ts';
import {
  exportToDir,
  FIXTURE_LABOUR_RATES,
  FIXTURE_PNL_CSV,
  fixtureLedger,
  seedFixtureLedger,
} from '../support/finance-fixture.ts';
import type { TestBucket } from '../support/s3.ts';
import { startTestBucket } from '../support/s3.ts';

const dir = mkdtempSync(join(tmpdir(), 'pnl-cli-'));
const exports = join(dir, 'bucket');
const ratesFile = join(dir, 'rates.json');
const labour = { CASEBOOK_LABOUR_RATES: JSON.stringify(FIXTURE_LABOUR_RATES) };
let files: string[];
let ledger: Awaited<ReturnType<typeof fixtureLedger>>;
let bucket: TestBucket;

beforeAll(async () => {
  ledger = await fixtureLedger();
  files = await exportToDir(exports, ledger);
  writeFileSync(ratesFile, JSON.stringify({ USD: '0.9', GBP: '1.15' }));
  bucket = await startTestBucket('finance-exports');
});
afterAll(async () => {
  await bucket?.close();
  rmSync(dir, { recursive: true, force: true });
});

const pnl = (args: readonly string[], env: Record<string, string> = labour) =>
  casebook(['pnl', '--from', '2026-11', '--to', '2026-12', ...args], env);

describe('casebook pnl over the fixture ledger', () => {
  it('gives exact figures by category as CSV, each currency apart, labour without a rate on the unassigned line', async () => {
    const result = await pnl(['--format', 'csv', '--in', exports]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(FIXTURE_PNL_CSV);
  });

  it('gives exact figures by month and category as JSON in one currency, naming every rate used', async () => {
    const result = await pnl([
      '--format',
      'json',
      '--in',
      exports,
      '--group-by',
      'period,category',
      '--currency',
      'EUR',
      '--rates',
      ratesFile,
    ]);
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout);
    expect(report.reportingCurrency).toBe('EUR');
    expect(report.rates).toEqual([
      { currency: 'EUR', rate: '1' },
      { currency: 'GBP', rate: '1.15' },
      { currency: 'USD', rate: '0.9' },
    ]);
    expect(
      report.rows.map((r: Record<string, unknown>) => [
        r.period,
        r.category,
        r.currency,
        r.amountMinor,
        r.amount,
      ]),
    ).toEqual([
      // 25.00 EUR + 19.99 USD × 0.9 (17.991 → 17.99); the USD credit recorded in December moved in November.
      ['2026-11', 'refunds', 'EUR', 4299, '42.99'],
      ['2026-11', 'goodwill_credits', 'EUR', 2130, '21.30'],
      ['2026-11', 'ops_labour', 'EUR', 27000, '270.00'],
      ['2026-11', 'legal_fees', 'EUR', 50000, '500.00'],
      ['2026-12', 'refunds', 'EUR', 800, '8.00'],
      ['2026-12', 'ops_labour', 'EUR', 6000, '60.00'],
      ['2026-12', 'other_costs', 'EUR', 2300, '23.00'],
    ]);
    expect(report.totals).toEqual([{ currency: 'EUR', amountMinor: 92529, amount: '925.29' }]);
    expect(report.notYetSettled).toEqual([
      expect.objectContaining({
        incident: 'INC-2026-1',
        seq: 10,
        state: 'intent',
        amountMinor: 3000,
        currency: 'EUR',
      }),
    ]);
    expect(report.unassigned).toEqual({
      minutes: 30,
      items: [
        {
          incident: 'INC-2026-1',
          incidentTitle: 'Double charge',
          period: '2026-11',
          role: 'Comms',
          minutes: 30,
        },
      ],
    });
    expect(report.noTimeRecorded).toEqual([{ incident: 'INC-2026-3', incidentTitle: 'Courier fee' }]);
    expect(report.topIncidents.map((t: Record<string, unknown>) => [t.incident, t.amountMinor])).toEqual([
      ['INC-2026-1', 82799],
      ['INC-2026-2', 7430],
      ['INC-2026-3', 2300],
    ]);
  });

  it('equals DuckDB over the exported Parquet queried by hand, and each incident’s own P&L', async () => {
    const result = await pnl(['--format', 'json', '--in', exports, '--group-by', 'category']);
    const report = JSON.parse(result.stdout);
    const reported = Object.fromEntries(
      report.rows.map((r: Record<string, unknown>) => [`${r.category} ${r.currency}`, r.amountMinor]),
    );
    // The README's query by hand: rows that stand, confirmed, with an amount; time priced at 120.00/h.
    const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' });
    const connection = await instance.connect();
    const list = `[${files.map((f) => `'${f}'`).join(', ')}]`;
    const byHand = await connection.runAndReadAll(`
      WITH l AS (SELECT * FROM read_parquet(${list}))
      SELECT root_kind, currency, sum(amount_minor)::BIGINT AS minor FROM l
      WHERE state = 'confirmed' AND amount_minor IS NOT NULL
        AND entry_id NOT IN (SELECT corrects_id FROM l c WHERE c.corrects_id IS NOT NULL AND c.incident_id = l.incident_id)
      GROUP BY ALL
      UNION ALL
      SELECT 'ops_labour', 'EUR', floor((sum(labour_minutes) * 12000 + 30) / 60)::BIGINT FROM l
      WHERE labour_minutes IS NOT NULL AND amount_minor IS NULL AND lower(labour_role) = 'sre'
      GROUP BY incident_id, strftime(coalesce(effective_at, "at"), '%Y-%m')`);
    const hand: Record<string, number> = {};
    for (const [kind, currency, minor] of byHand.getRows()) {
      const key = `${CATEGORY_OF_KIND[kind as keyof typeof CATEGORY_OF_KIND]} ${currency}`;
      hand[key] = (hand[key] ?? 0) + Number(minor);
    }
    connection.closeSync();
    instance.closeSync();
    expect(reported).toEqual(hand);

    // The incident page's P&L (no labour from time there: it is derived at report time only).
    const own: Record<string, number> = {};
    for (const { entries } of ledger)
      for (const t of profitAndLoss(entries).totals) {
        const key = `${CATEGORY_OF_KIND[t.kind]} ${t.currency}`;
        own[key] = (own[key] ?? 0) + t.minor;
      }
    expect({ ...reported, 'ops_labour EUR': reported['ops_labour EUR'] - 27000 }).toEqual(own);
  });

  it('reads the real export the same: the fixture appended to a ledger (dynalite), exported by exportLedger', async () => {
    const database = await startTestDatabase();
    try {
      const tables = await database.tables();
      const store = new DynamoDbOperationsStore(database.doc, tables.operations);
      const ledgerTable = database.ledger(tables.ledger);
      await seedFixtureLedger(store, ledgerTable);
      const real = join(dir, 'real');
      const source = new DynamoDbLedgerExportSource(database.doc, {
        operationsTable: tables.operations,
        ledgerTable: tables.ledger,
      });
      const result = await exportLedger(
        {
          source,
          writerFor: (period) => {
            const file = join(real, ledgerObjectKey(period));
            mkdirSync(join(file, '..'), { recursive: true });
            return new ParquetLedgerWriter(new FileSink(file));
          },
        },
        { from: '2026-11', to: '2026-12' },
      );
      expect(result).toMatchObject({ incidents: 3, rows: 17 });
      const args = ['--format', 'csv', '--group-by', 'category,productArea'];
      const fromReal = await pnl([...args, '--in', real]);
      const fromFixture = await pnl([...args, '--in', exports]);
      expect(fromReal.stderr).toBe('');
      expect(fromReal.stdout).toBe(fromFixture.stdout);
      expect(fromReal.stdout).toContain('ops_labour,payments,EUR,270.00,27000,2,');
    } finally {
      await database.close();
    }
  });

  it('fetches the objects from the exports bucket with the S3 SDK when no --in is given', async () => {
    for (const file of files) {
      await bucket.client.send(
        new PutObjectCommand({
          Bucket: bucket.bucket,
          Key: relative(exports, file),
          Body: readFileSync(file),
        }),
      );
    }
    const endpoint = await bucket.client.config.endpoint?.();
    const env = {
      ...labour,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: `${endpoint?.protocol}//${endpoint?.hostname}:${endpoint?.port}`,
      CASEBOOK_EXPORT_BUCKET: bucket.bucket,
      // No closes under closes/ there: every month is open.
      CASEBOOK_ANCHOR_BUCKET: bucket.bucket,
    };
    const fromBucket = await pnl(['--format', 'csv'], env);
    const fromDir = await pnl(['--format', 'csv', '--in', exports]);
    expect(fromBucket.stderr).toBe('');
    expect(fromBucket.stdout).toBe(fromDir.stdout);
  });

  it("reads the local stack's exports bucket when no bucket is named (CASEBOOK_S3_PORT, its own credentials)", async () => {
    const local = await startTestBucket(LOCAL_BUCKETS.exports);
    try {
      for (const file of files) {
        await local.client.send(
          new PutObjectCommand({
            Bucket: local.bucket,
            Key: relative(exports, file),
            Body: readFileSync(file),
          }),
        );
      }
      const endpoint = await local.client.config.endpoint?.();
      const result = await pnl(['--format', 'csv'], {
        ...labour,
        [PORTS.s3.variable]: String(endpoint?.port),
        // Real credentials in the shell never reach the emulator.
        AWS_ACCESS_KEY_ID: 'AKIAREALKEY',
        AWS_SECRET_ACCESS_KEY: 'real-secret',
      });
      const fromDir = await pnl(['--format', 'csv', '--in', exports]);
      expect(result.stderr).toBe('');
      expect(result.stdout).toBe(fromDir.stdout);
    } finally {
      await local.close();
    }
  });

  it('writes the HTML report to --out: one file, the chart inline, no script', async () => {
    const out = join(dir, 'report.html');
    const result = await pnl(['--format', 'html', '--in', exports, '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`Wrote ${out}.\n`);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<svg');
    expect(html).not.toMatch(/<script|src=|href=|url\(/i);
  });
});

describe('casebook pnl refuses bad input with one line and exit status 2', () => {
  const v2 = join(dir, 'v2');
  beforeAll(() => {
    const folder = join(v2, 'ledger', 'v1', 'period=2026-11');
    rmSync(v2, { recursive: true, force: true });
    mkdirSync(folder, { recursive: true });
    parquetWriteFile({
      filename: join(folder, 'ledger.parquet'),
      kvMetadata: [{ key: 'casebook.schema', value: 'ledger/v2' }],
      columnData: [{ name: 'incident_id', data: ['INC-2026-1'], type: 'STRING' }],
    });
  });

  const cases: [string, () => readonly string[], RegExp, Record<string, string>?][] = [
    [
      'a malformed period',
      () => ['pnl', '--from', '2026-13', '--in', exports],
      /--from "2026-13" is not a month/,
    ],
    [
      '--from after --to',
      () => ['pnl', '--from', '2026-12', '--to', '2026-11', '--in', exports],
      /--from 2026-12 is after --to 2026-11/,
    ],
    [
      'an unknown currency',
      () => ['pnl', '--from', '2026-11', '--in', exports, '--currency', 'EURO', '--rates', ratesFile],
      /--currency EURO is not an ISO 4217 currency code/,
    ],
    [
      'a rate table missing a currency in use',
      () => [
        'pnl',
        '--from',
        '2026-11',
        '--to',
        '2026-12',
        '--in',
        exports,
        '--currency',
        'USD',
        '--rates',
        ratesFile,
      ],
      /the rate table has no rate for EUR \(in use in this report; reporting in USD\)/,
    ],
    [
      'an export with no incidents in range',
      () => ['pnl', '--from', '2027-01', '--in', exports],
      /the export has no incidents with entries in 2027-01/,
    ],
    [
      'an object of another schema version',
      () => ['pnl', '--from', '2026-11', '--in', v2],
      /ledger\.parquet is a ledger\/v2 export; this casebook reads ledger\/v1/,
    ],
    [
      'an unknown grouping',
      () => ['pnl', '--from', '2026-11', '--in', exports, '--group-by', 'customer'],
      /--group-by has customer: choose from category, productArea/,
    ],
    [
      'an unknown format',
      () => ['pnl', '--from', '2026-11', '--in', exports, '--format', 'xlsx'],
      /--format xlsx is not one of table, csv, json, html/,
    ],
    [
      'an --out that cannot be written',
      () => ['pnl', '--from', '2026-11', '--in', exports, '--out', join(dir, 'no-such-folder', 'r.csv')],
      /--out .*r\.csv cannot be written \(ENOENT\)/,
    ],
    [
      'labour rates that are wrong',
      () => ['pnl', '--from', '2026-11', '--in', exports],
      /CASEBOOK_LABOUR_RATES: labour rates: SRE.amount EUR has 2 decimal places/,
      { CASEBOOK_LABOUR_RATES: '{"SRE": {"amount": "1.001", "currency": "EUR"}}' },
    ],
  ];
  it.each(cases)('%s', async (_, args, message, env = labour) => {
    const result = await casebook(args(), env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^casebook pnl: /);
  });
});

describe('casebook pnl over a copy of the buckets with a closed month', () => {
  const copy = join(dir, 'with-closes');
  const keyFile = join(dir, 'ledger-signing.pub.pem');
  const owner = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signerOf = (pair: typeof owner) =>
    new FileHeadSigner(pair.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  const november = (refundsMinor: number) =>
    makeClose({
      period: '2026-11',
      // After every entry of the fixture, so none of them is an adjustment of the closed month.
      closedAt: '2099-01-01T00:00:00.000Z',
      totals: [
        { category: 'refunds', obligation: 'tos', currency: 'EUR', amountMinor: refundsMinor, entries: 1 },
      ],
      heads: {},
      labourRates: [],
      exchangeRates: null,
      previous: null,
    });
  const putClose = (close: unknown) => {
    mkdirSync(join(copy, 'closes'), { recursive: true });
    writeFileSync(join(copy, 'closes', '2026-11.json'), JSON.stringify(close));
  };
  const report = (...args: string[]) =>
    casebook(['pnl', '--period', '2026-11', '--format', 'csv', '--in', copy, ...args], labour);

  beforeAll(async () => {
    await exportToDir(copy, ledger);
    writeFileSync(keyFile, owner.publicKey.export({ format: 'pem', type: 'spki' }));
  });

  it("reports the month from its close when the ledger's signing key signed it", async () => {
    putClose(await signClose(signerOf(owner), november(-4242)));
    const result = await report('--public-key', keyFile);
    expect(result.code, result.stderr).toBe(0);
    expect(/^refunds,EUR,[-\d.]+,(-?\d+),/m.exec(result.stdout)?.[1]).toBe('-4242');
  });

  it('refuses a close nobody can check, one signed by another key, and an edited one', async () => {
    const signed = await signClose(signerOf(owner), november(-4242));
    putClose(signed);
    const unchecked = await report();
    expect(unchecked.code).toBe(2);
    expect(unchecked.stderr).toBe(
      'casebook pnl: closed months stand on signed closes and no key checks them: pass --public-key FILE (casebook ledger public-key prints it) or set CASEBOOK_LEDGER_SIGNING_KMS_KEY_ID\n',
    );

    // Whoever can write the bucket can recompute a close's hash, but not sign it with the key.
    const forgeries = [
      await signClose(signerOf(stranger), november(-1)),
      { ...november(-1), signature: signed.signature },
      (({ signature: _, ...unsigned }) => unsigned)(signed),
    ];
    for (const forged of forgeries) {
      putClose(forged);
      const refused = await report('--public-key', keyFile);
      expect(refused.code).toBe(2);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toBe(
        'casebook pnl: the close of 2026-11 does not verify: casebook period verify says what is wrong\n',
      );
    }

    const missing = await report('--public-key', join(dir, 'no-such.pem'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^casebook pnl: --public-key .*no-such\.pem cannot be read \(ENOENT\)\n$/);
  });
});
