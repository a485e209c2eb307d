/** Creates Casebook's DynamoDB tables in an emulator from the schemas the CDK app also uses. */
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { TableSchema } from '../functions/adapters/tables.ts';
import { LEDGER_TABLE, OPERATIONS_TABLE } from '../functions/adapters/tables.ts';
import { LOCAL_TABLES } from './names.ts';

/** Creates Casebook's tables in a DynamoDB endpoint (dynalite) unless they exist. */
export async function createTables(
  endpoint: string,
  names: { operations: string; ledger: string } = LOCAL_TABLES,
): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const existing = new Set((await client.send(new ListTablesCommand({}))).TableNames ?? []);
  const create = async (name: string, schema: TableSchema) => {
    if (existing.has(name)) return;
    const attributes = new Map<string, 'S' | 'N'>();
    for (const k of [
      schema.partitionKey,
      schema.sortKey,
      ...schema.globalSecondaryIndexes.flatMap((g) => [g.partitionKey, g.sortKey]),
    ]) {
      attributes.set(k.name, k.type);
    }
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
          AttributeName,
          AttributeType,
        })),
        KeySchema: [
          { AttributeName: schema.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: schema.sortKey.name, KeyType: 'RANGE' },
        ],
        ...(schema.globalSecondaryIndexes.length > 0
          ? {
              GlobalSecondaryIndexes: schema.globalSecondaryIndexes.map((g) => ({
                IndexName: g.indexName,
                KeySchema: [
                  { AttributeName: g.partitionKey.name, KeyType: 'HASH' },
                  { AttributeName: g.sortKey.name, KeyType: 'RANGE' },
                ],
                Projection: { ProjectionType: 'ALL' },
              })),
            }
          : {}),
      }),
    );
  };
  await create(names.operations, OPERATIONS_TABLE);
  await create(names.ledger, LEDGER_TABLE);
  // dynalite answers CreateTable while the table is still CREATING, and refuses requests to it
  // until it is ACTIVE: a busy machine would otherwise see ResourceNotFoundException.
  for (const name of [names.operations, names.ledger]) {
    await waitUntilTableExists(
      { client, maxWaitTime: 30, minDelay: 0.05, maxDelay: 0.2 },
      { TableName: name },
    );
  }
  client.destroy();
}
