/**
 * `npm start` on free ports with the fixture ledger seeded into its tables, and the variables a
 * finance user's CLI runs with against it: where the finance commands are tested end to end.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { FileHeadSigner } from '../../functions/adapters/head-signer.ts';
import { FileKeySealer } from '../../functions/adapters/ledger-sealer.ts';
import { LOCAL_CREDENTIALS, LOCAL_TABLES, ledgerKeyFile, ledgerSigningKeyFile } from '../../local/names.ts';
import type { LocalPorts } from '../../local/stack.ts';
import type { SeededFixture } from './finance-fixture.ts';
import { seedFixtureLedger } from './finance-fixture.ts';
import type { StackProcess } from './local-stack.ts';
import { freePorts, spawnStack, tempDataDir } from './local-stack.ts';

export interface FinanceStack {
  readonly stack: StackProcess;
  readonly ports: LocalPorts;
  /** The environment a user sets for `casebook` against this stack. */
  readonly user: Record<string, string>;
  readonly doc: DynamoDBDocumentClient;
  /** The stack's ledger, sealed and signed with its own keys. */
  readonly ledger: DynamoDbLedger;
  readonly seeded: SeededFixture;
}

export async function seededFinanceStack(): Promise<FinanceStack> {
  const ports = await freePorts();
  const dataDir = tempDataDir();
  const stack = await spawnStack(dataDir, ports);
  const user = {
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
  const ledger = new DynamoDbLedger(doc, LOCAL_TABLES.ledger, {
    sealer: FileKeySealer.fromFile(ledgerKeyFile(dataDir)),
    headSigner: FileHeadSigner.fromFile(ledgerSigningKeyFile(dataDir)),
  });
  const seeded = await seedFixtureLedger(new DynamoDbOperationsStore(doc, LOCAL_TABLES.operations), ledger);
  return { stack, ports, user, doc, ledger, seeded };
}
