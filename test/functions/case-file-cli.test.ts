/**
 * `casebook case-file ID` against tables named as on AWS (`--table`, or the variables the
 * functions read), here served by dynalite: the same YAML the API answers, and exit code 2 with a
 * sentence for an incident that does not exist.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { systemClock } from '../../functions/adapters/aws.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { DynamoDbWorkroom } from '../../functions/adapters/dynamodb-workroom.ts';
import { caseFileSchema } from '../../functions/domain/case-file.ts';
import { DEFAULT_DEADLINE_POLICY } from '../../functions/domain/deadlines.ts';
import { getCaseFile } from '../../functions/use-cases/read-incidents.ts';
import { LOCAL_CREDENTIALS } from '../../local/names.ts';
import { type CliResult, casebook as run } from '../support/cli.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase } from '../support/dynamodb.ts';
import { plainIncident } from '../support/incidents.ts';

let db: TestDatabase;
let tables: { operations: string; ledger: string };
let env: Record<string, string>;

beforeAll(async () => {
  db = await startTestDatabase();
  tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  await store.createIncident(plainIncident(1));
  await db.ledger(tables.ledger).append('INC-2026-0001', {
    log: 'effect',
    kind: 'refund',
    world: 'RML3',
    phase: 'Act',
    at: '2026-11-22T10:00:00.000Z',
    actor: 'casebook (Act)',
    idempotencyKey: 'k1',
    summary: 'refund',
    state: 'confirmed',
    amount: { minor: 2500, currency: 'EUR' },
    obligation: 'tos',
    detail: {},
  });
  // No ledger key anywhere: printing a case file only reads.
  // What a person pointing the CLI at AWS sets: a region, credentials, here the endpoint.
  env = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
  };
});
afterAll(() => db?.close());

const casebook = (...args: string[]): Promise<CliResult> => run(args, env);

describe('casebook case-file', () => {
  it('prints the case file the API answers, from the tables it is pointed at', async () => {
    const { code, stdout, stderr } = await casebook(
      'case-file',
      'INC-2026-0001',
      '--table',
      tables.ledger,
      '--operations-table',
      tables.operations,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const store = new DynamoDbOperationsStore(db.doc, tables.operations);
    expect(stdout).toBe(
      await getCaseFile(
        {
          incidents: store,
          ledger: db.ledger(tables.ledger),
          postmortems: new DynamoDbWorkroom(db.doc, tables.operations),
          policy: DEFAULT_DEADLINE_POLICY,
          clock: systemClock,
        },
        'INC-2026-0001',
      ),
    );
    expect(caseFileSchema.parse(parse(stdout)).actions.technical).toEqual([
      { type: 'refund', world: 'RML3', count: 1 },
    ]);
  });

  it('says so, with exit code 2, for an incident that does not exist or tables it was not given', async () => {
    const missing = await casebook(
      'case-file',
      'INC-2026-0404',
      '--table',
      tables.ledger,
      '--operations-table',
      tables.operations,
    );
    expect(missing).toMatchObject({ code: 2, stdout: '', stderr: 'casebook: No incident INC-2026-0404\n' });
    const noTable = await casebook('case-file', 'INC-2026-0001', '--table', tables.ledger);
    expect(noTable).toMatchObject({
      code: 2,
      stderr: 'casebook: case-file needs --operations-table on AWS\n',
    });
  });
});
