/**
 * What the ingest handler's tests share: per test file a database, a payload bucket and a Step
 * Functions client that answers StartExecution; per test the handler over fresh tables.
 */
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { S3PayloadArchive } from '../../functions/adapters/s3-payload-archive.ts';
import { StepFunctionsWorkflow } from '../../functions/adapters/sfn-workflow.ts';
import { webhookTokenVerifier } from '../../functions/adapters/webhook-token.ts';
import type { IngestDeps } from '../../functions/ingest-alert/ingest-alert.ts';
import { makeIngestHandler } from '../../functions/ingest-alert/ingest-alert.ts';
import type { TestDatabase } from './dynamodb.ts';
import { startTestDatabase, testClock } from './dynamodb.ts';
import type { TestBucket } from './s3.ts';
import { startTestBucket } from './s3.ts';
import { STATE_MACHINE_ARN, WEBHOOK_TOKEN } from './webhooks.ts';

/** The database, bucket and Step Functions stub of a test file. */
export interface IngestWorld {
  readonly db: TestDatabase;
  readonly s3: TestBucket;
  readonly sfn: ReturnType<typeof mockClient>;
  /** The names of the executions started since the test began, as DescribeExecution finds them. */
  started(): string[];
  /** Makes the next `n` StartExecution calls fail as a caller killed before its answer sees it. */
  failStarts(n: number): void;
}

/**
 * Starts the file's database and bucket before its tests, and answers StartExecution and
 * DescribeExecution as Step Functions does: an execution started by name exists afterwards.
 */
export function ingestWorld(): IngestWorld {
  let db: TestDatabase | undefined;
  let s3: TestBucket | undefined;
  const sfn = mockClient(SFNClient);
  beforeAll(async () => {
    db = await startTestDatabase();
    s3 = await startTestBucket();
  });
  afterAll(async () => {
    await db?.close();
    await s3?.close();
  });
  const executions = new Set<string>();
  let failing = 0;
  beforeEach(() => {
    sfn.reset();
    executions.clear();
    failing = 0;
    sfn.on(StartExecutionCommand).callsFake((input: { name?: string }) => {
      if (failing > 0) {
        failing--;
        throw Object.assign(new Error('killed'), { name: 'TimeoutError' });
      }
      executions.add(String(input.name));
      return { executionArn: `arn:x:${input.name}`, startDate: new Date() };
    });
    sfn.on(DescribeExecutionCommand).callsFake((input: { executionArn?: string }) => {
      const name = String(input.executionArn).split(':').pop() ?? '';
      if (executions.has(name)) return { status: 'RUNNING' };
      throw Object.assign(new Error(`Execution Does Not Exist: '${input.executionArn}'`), {
        name: 'ExecutionDoesNotExist',
      });
    });
  });
  const started = <T>(value: T | undefined): T => {
    if (!value) throw new Error('ingestWorld() is used before its beforeAll ran');
    return value;
  };
  return {
    get db() {
      return started(db);
    },
    get s3() {
      return started(s3);
    },
    sfn,
    started: () => [...executions],
    failStarts: (n) => {
      failing = n;
    },
  };
}

/** The ingest handler over fresh tables, with what a test changes in its dependencies. */
export async function ingestHandler(
  world: IngestWorld,
  overrides: Partial<IngestDeps> & { readonly tables?: Awaited<ReturnType<TestDatabase['tables']>> } = {},
) {
  const { tables = await world.db.tables(), ...deps } = overrides;
  const store = new DynamoDbOperationsStore(world.db.doc, tables.operations);
  const handler = makeIngestHandler({
    incidents: store,
    ledger: world.db.ledger(tables.ledger),
    workflow: new StepFunctionsWorkflow(new SFNClient({ region: 'us-east-1' }), STATE_MACHINE_ARN),
    payloads: new S3PayloadArchive(world.s3.client, world.s3.bucket),
    clock: testClock(),
    verifyToken: webhookTokenVerifier({ kind: 'value', value: WEBHOOK_TOKEN }),
    ...deps,
  });
  /** Every item the handler wrote to either table. */
  const written = async () =>
    (await world.db.count(tables.operations)) + (await world.db.count(tables.ledger));
  return { handler, tables, store, written };
}
