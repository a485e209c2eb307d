import type { AddressInfo } from 'node:net';
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDynamo } from '../../local/dynamodb.ts';

const TABLE = 'refusals';
const server = localDynamo();
let client: DynamoDBClient;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await client.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    }),
  );
});
afterAll(async () => {
  client.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const HELD = {
  pk: { S: 'held' },
  owner: { S: 'alertmanager:abc' },
  open: { BOOL: true },
  repeats: { N: '3' },
  seen: { SS: ['a', 'b'] },
};

/** The exception `send` refuses with (fails the test when it is accepted or fails otherwise). */
async function refusal(send: () => Promise<unknown>): Promise<ConditionalCheckFailedException> {
  try {
    await send();
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return error;
    throw error;
  }
  throw new Error('the write was accepted');
}

describe('the local DynamoDB answers a refused write as DynamoDB does', () => {
  beforeAll(async () => {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: HELD }));
  });

  it('with the item as it stood, on an UpdateItem asking ALL_OLD on condition failure', async () => {
    const refused = await refusal(() =>
      client.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: { pk: { S: 'held' } },
          UpdateExpression: 'SET #open = :f ADD repeats :one',
          ConditionExpression: 'attribute_not_exists(pk) OR NOT begins_with(#owner, :own)',
          ExpressionAttributeNames: { '#open': 'open', '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':f': { BOOL: false },
            ':one': { N: '1' },
            ':own': { S: 'alertmanager:' },
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    expect(refused.Item).toEqual(HELD);
    // The refused write changed nothing.
    expect(
      (await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'held' } } }))).Item,
    ).toEqual(HELD);
  });

  it('with the item on a PutItem and a DeleteItem too', async () => {
    const condition = { ConditionExpression: 'attribute_not_exists(pk)' };
    const put = await refusal(() =>
      client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { pk: { S: 'held' } },
          ...condition,
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    expect(put.Item).toEqual(HELD);
    const del = await refusal(() =>
      client.send(
        new DeleteItemCommand({
          TableName: TABLE,
          Key: { pk: { S: 'held' } },
          ConditionExpression: 'repeats > :n',
          ExpressionAttributeValues: { ':n': { N: '5' } },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      ),
    );
    expect(del.Item).toEqual(HELD);
  });

  it('without the item when it was not asked for, asked NONE, or there was no item', async () => {
    const update = (key: string, extra: object) =>
      client.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: { pk: { S: key } },
          UpdateExpression: 'SET #open = :f',
          ConditionExpression: 'attribute_exists(pk) AND #open = :f',
          ExpressionAttributeNames: { '#open': 'open' },
          ExpressionAttributeValues: { ':f': { BOOL: false } },
          ...extra,
        }),
      );
    expect((await refusal(() => update('held', {}))).Item).toBeUndefined();
    expect(
      (await refusal(() => update('held', { ReturnValuesOnConditionCheckFailure: 'NONE' }))).Item,
    ).toBeUndefined();
    expect(
      (await refusal(() => update('nobody', { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' }))).Item,
    ).toBeUndefined();
  });

  it('accepts a write that meets its condition with the parameter given, as DynamoDB does', async () => {
    const out = await client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { pk: { S: 'fresh' }, n: { N: '1' } },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    expect(out.$metadata.httpStatusCode).toBe(200);
    expect(
      (await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'fresh' } } }))).Item,
    ).toEqual({ pk: { S: 'fresh' }, n: { N: '1' } });
  });

  it('refuses a value other than ALL_OLD or NONE, as DynamoDB validates it', async () => {
    await expect(
      client.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { pk: { S: 'other' } },
          ReturnValuesOnConditionCheckFailure: 'ALL_NEW' as 'ALL_OLD',
        }),
      ),
    ).rejects.toThrow(/ReturnValuesOnConditionCheckFailure|ALL_OLD|enum|constraint/i);
  });
});
