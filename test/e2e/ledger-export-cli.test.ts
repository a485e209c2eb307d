/**
 * `casebook ledger export` against `npm start`, in local mode, as a finance person runs it: an
 * alert opens an incident, finance records a legal fee by hand, and the month's Parquet object in
 * the stack's exports bucket holds both entries as `ledger/v1` rows that DuckDB reads.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerObjectKey } from '../../functions/domain/ledger-export.ts';
import type { LocalPorts, LocalStack } from '../../local/stack.ts';
import { LOCAL_CREDENTIALS } from '../../local/stack.ts';
import { casebook } from '../support/cli.ts';
import { freePorts, getCase, postAlert, start, tempDataDir, waitFor } from '../support/local-stack.ts';
import { legalFee } from '../support/manual-entries.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

let stack: LocalStack;
let ports: LocalPorts;
let dataDir: string;
let dir: string;
let incidentId: string;
let period: string;

beforeAll(async () => {
  ports = await freePorts();
  dataDir = tempDataDir();
  dir = mkdtempSync(join(tmpdir(), 'casebook-export-e2e-'));
  stack = await start(dataDir, ports);
  const res = await postAlert(stack, sample);
  expect(res.status).toBe(201);
  incidentId = ((await res.json()) as { incidentId: string }).incidentId;
  const fee = await fetch(`${stack.endpoints.api}/incidents/${incidentId}/ledger`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': 'fee-1' },
    body: JSON.stringify(legalFee),
  });
  expect(fee.status).toBe(201);
  const recorded = await waitFor('the fee on the case', async () => {
    const c = await getCase(stack, incidentId);
    return c.ledger.some((e) => e.kind === 'legal_fee') ? c : undefined;
  });
  period = (recorded.incident as unknown as { detectedAt: string }).detectedAt.slice(0, 7);
}, 120_000);
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

const user = () => ({
  CASEBOOK_DATA_DIR: dataDir,
  CASEBOOK_DYNAMODB_PORT: String(ports.dynamodb),
  CASEBOOK_S3_PORT: String(ports.s3),
});

describe('casebook ledger export against a running npm start', () => {
  it('writes the month into the local exports bucket, where DuckDB reads the rows', async () => {
    const { code, stdout, stderr } = await casebook(['ledger', 'export', '--period', period], user());
    expect(stderr).toContain(`→ s3://${stack.bucket}/${ledgerObjectKey(period)}`);
    expect(stdout).toBe('');
    expect(code).toBe(0);

    const s3 = new S3Client({
      endpoint: stack.endpoints.s3,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
    });
    const out = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: ledgerObjectKey(period) }));
    const path = join(dir, 'month.parquet');
    writeFileSync(
      path,
      await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    s3.destroy();
    const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' });
    const connection = await instance.connect();
    const rows = (
      await connection.runAndReadAll(
        `SELECT incident_id, kind, state, amount_minor, currency, obligation, product_area
         FROM '${path}' WHERE kind IN ('detection', 'legal_fee') ORDER BY seq`,
      )
    ).getRowObjectsJson();
    connection.closeSync();
    instance.closeSync();
    expect(rows).toEqual([
      expect.objectContaining({ incident_id: incidentId, kind: 'detection', amount_minor: null }),
      {
        incident_id: incidentId,
        kind: 'legal_fee',
        state: 'confirmed',
        amount_minor: '125000',
        currency: 'EUR',
        obligation: 'tos',
        product_area: 'payments',
      },
    ]);
  });
});
