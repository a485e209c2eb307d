/**
 * README's finance walk-through against `npm start`, as a person runs it: the fixture ledger in the
 * stack's own tables (sealed with its key, heads signed with its key), `casebook ledger export`
 * writes the months to the stack's exports bucket, and `casebook pnl` reads them back from there —
 * both in processes of their own with only the data directory and the moved ports — and prints
 * the figures the fixture is known to total.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { FileHeadSigner } from '../../functions/adapters/head-signer.ts';
import { FileKeySealer } from '../../functions/adapters/ledger-sealer.ts';
import { LOCAL_CREDENTIALS, LOCAL_TABLES, ledgerKeyFile, ledgerSigningKeyFile } from '../../local/names.ts';
import type { LocalPorts } from '../../local/stack.ts';
import { casebook } from '../support/cli.ts';
import { FIXTURE_LABOUR_RATES, FIXTURE_PNL_CSV, seedFixtureLedger } from '../support/finance-fixture.ts';
import type { StackProcess } from '../support/local-stack.ts';
import { freePorts, spawnStack, tempDataDir } from '../support/local-stack.ts';

let stack: StackProcess;
let ports: LocalPorts;
let user: Record<string, string>;

beforeAll(async () => {
  ports = await freePorts();
  const dataDir = tempDataDir();
  stack = await spawnStack(dataDir, ports);
  user = {
    CASEBOOK_DATA_DIR: dataDir,
    CASEBOOK_DYNAMODB_PORT: String(ports.dynamodb),
    CASEBOOK_S3_PORT: String(ports.s3),
  };
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: `http://127.0.0.1:${ports.dynamodb}`,
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
    }),
  );
  const store = new DynamoDbOperationsStore(doc, LOCAL_TABLES.operations);
  const ledger = new DynamoDbLedger(doc, LOCAL_TABLES.ledger, {
    sealer: FileKeySealer.fromFile(ledgerKeyFile(dataDir)),
    headSigner: FileHeadSigner.fromFile(ledgerSigningKeyFile(dataDir)),
  });
  await seedFixtureLedger(store, ledger);
}, 180_000);
afterAll(() => stack?.kill());

describe('the finance walk-through against a running npm start', () => {
  it('exports November and December to the stack’s bucket, then prints their P&L from it', async () => {
    const exported = await casebook(['ledger', 'export', '--period', '2026-11', '--to', '2026-12'], user);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toContain('s3://casebook-ledger-exports/ledger/v1/period=2026-12/ledger.parquet');

    const pnl = await casebook(['pnl', '--from', '2026-11', '--to', '2026-12', '--format', 'csv'], {
      ...user,
      CASEBOOK_LABOUR_RATES: JSON.stringify(FIXTURE_LABOUR_RATES),
    });
    expect(pnl.stderr).toBe('');
    expect(pnl.code).toBe(0);
    expect(pnl.stdout).toBe(FIXTURE_PNL_CSV);
  });
});
