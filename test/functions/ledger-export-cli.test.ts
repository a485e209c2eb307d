/**
 * `casebook ledger export` run as a finance person runs it against AWS (here dynalite and s3rver,
 * named by the variables the CLI reads): Parquet to the exports bucket, CSV to standard output or
 * a file, Parquet to a directory; and bad input answered in one line with exit status 2.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { ledgerObjectKey } from '../../functions/domain/ledger-export.ts';
import { ENV } from '../../functions/env-names.ts';
import { CLI, type CliResult, casebook as run, userEnvironment } from '../support/cli.ts';
import { duckQuery } from '../support/duckdb.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase } from '../support/dynamodb.ts';
import { plainIncident } from '../support/incidents.ts';
import type { TestBucket } from '../support/s3.ts';
import { startTestBucket } from '../support/s3.ts';

let db: TestDatabase;
let s3: TestBucket;
let env: Record<string, string>;
let dir: string;

beforeAll(async () => {
  db = await startTestDatabase();
  s3 = await startTestBucket('finance-exports');
  dir = mkdtempSync(join(tmpdir(), 'casebook-export-cli-'));
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  const ledger = db.ledger(tables.ledger);
  for (const n of [1, 2]) {
    await store.createIncident(plainIncident(n));
    await ledger.append(`INC-2026-000${n}`, {
      log: 'effect',
      kind: 'refund',
      world: 'RML3',
      phase: 'Act',
      at: `2026-11-2${n}T10:00:00.000Z`,
      actor: 'casebook (Act)',
      idempotencyKey: `refund-${n}`,
      summary: 'refund',
      state: 'confirmed',
      amount: { minor: 1000 * n, currency: 'EUR' },
      obligation: 'tos',
      detail: {},
    });
  }
  const endpoint = (await s3.client.config.endpoint?.()) as { hostname: string; port?: number };
  // What a person pointing the CLI at AWS sets: the names, a region, credentials; here the endpoints.
  env = {
    [ENV.ledgerTable]: tables.ledger,
    [ENV.operationsTable]: tables.operations,
    [ENV.exportBucket]: s3.bucket,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    AWS_ENDPOINT_URL_S3: `http://${endpoint.hostname}:${endpoint.port}`,
  };
});
afterAll(async () => {
  await s3?.close();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

const casebook = (...args: string[]): Promise<CliResult> => run(['ledger', 'export', ...args], env);

describe('casebook ledger export', () => {
  it.skipIf(!existsSync('/usr/bin/script'))('shows a progress bar when stderr is a terminal', async () => {
    const file = join(dir, 'tty.csv');
    // script(1) gives the CLI a pseudo-terminal, as a person's shell does.
    const command = [
      process.execPath,
      CLI,
      'ledger',
      'export',
      '--period',
      '2026-11',
      '--format',
      'csv',
      '--out',
      file,
    ].join(' ');
    const { stdout } = await promisify(execFile)('/usr/bin/script', ['-qec', command, '/dev/null'], {
      env: userEnvironment(env),
    });
    expect(stdout).toContain(`[${'#'.repeat(30)}] 2/2 incidents, 2 rows`);
    expect(stdout).toContain('Exported 2 ledger entries of 2 incident(s).');
    expect(readFileSync(file, 'utf8').split('\r\n')[0]).toMatch(/^incident_id,/);
  });

  it('writes the month to the exports bucket as the scheduled export does, and says where', async () => {
    const { code, stderr, stdout } = await casebook('--period', '2026-11');
    expect(stderr).toContain(`2026-11: 2 rows → s3://${s3.bucket}/${ledgerObjectKey('2026-11')}`);
    expect(stderr).toContain('Exported 2 ledger entries of 2 incident(s).');
    // Not a terminal: no progress bar.
    expect(stderr).not.toContain('[#');
    expect(stdout).toBe('');
    expect(code).toBe(0);
    const out = await s3.client.send(
      new GetObjectCommand({ Bucket: s3.bucket, Key: ledgerObjectKey('2026-11') }),
    );
    const path = join(dir, 'nov.parquet');
    writeFileSync(
      path,
      await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    expect(await duckQuery(`SELECT incident_id, amount_minor FROM '${path}' ORDER BY incident_id`)).toEqual([
      { incident_id: 'INC-2026-0001', amount_minor: '1000' },
      { incident_id: 'INC-2026-0002', amount_minor: '2000' },
    ]);
  });

  it('prints CSV to standard output, or writes it and Parquet where --out says', async () => {
    const csv = await casebook('--period', '2026-11', '--format', 'csv');
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trimEnd().split('\r\n');
    expect(lines[0]).toMatch(/^incident_id,incident_number,incident_title,seq,/);
    expect(lines.slice(1).map((l) => l.split(',').slice(0, 2))).toEqual([
      ['INC-2026-0001', '1'],
      ['INC-2026-0002', '2'],
    ]);

    const file = join(dir, 'nov.csv');
    expect(
      (await casebook('--period', '2026-10', '--to', '2026-11', '--format', 'csv', '--out', file)).code,
    ).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(csv.stdout);

    const tree = join(dir, 'tree');
    const parquet = await casebook('--period', '2026-10', '--to', '2026-11', '--out', tree);
    expect(parquet.code).toBe(0);
    expect(parquet.stderr).toContain(`2026-10: 0 rows → ${join(tree, 'period=2026-10', 'ledger.parquet')}`);
    expect(
      await duckQuery(
        `SELECT period, count(*) AS n FROM read_parquet('${tree}/*/ledger.parquet', hive_partitioning = true) GROUP BY period`,
      ),
    ).toEqual([{ period: '2026-11', n: '2' }]);
  });

  it('answers bad input in one line with exit status 2, and writes nothing', async () => {
    const before = await s3.keys();
    const cases: [string[], string][] = [
      [['--period', '2026-13'], '--period 2026-13 is not a month: write it YYYY-MM'],
      [['--period', '2026-11', '--to', '2026-1'], '--to 2026-1 is not a month: write it YYYY-MM'],
      [['--period', '2026-11', '--to', '2026-10'], '--period 2026-11 is after --to 2026-10'],
      [['--period', '2026-11', '--format', 'xlsx'], '--format xlsx is not parquet or csv'],
      [['--period', '2026-01'], 'no incidents in 2026-01: none was detected before 2026-02-01'],
      [
        ['--period', '2026-10', '--to', '2026-11', '--out', join(dir, 'x.parquet')],
        'is one file, for one month: give a directory to export 2 months',
      ],
    ];
    for (const [args, message] of cases) {
      const { code, stderr, stdout } = await casebook(...args);
      expect(stderr, args.join(' ')).toContain(message);
      expect(stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(stdout).toBe('');
      expect(code, args.join(' ')).toBe(2);
    }
    expect(await s3.keys()).toEqual(before);
  }, 60_000);
});
