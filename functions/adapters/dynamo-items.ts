/**
 * The few ways Casebook writes and reads operational items, each written once: read one item,
 * put-if-absent, a conditional update, and every item of a key prefix. Turning an item back into
 * a domain value is `operations-items.ts`'s.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, PutCommand, paginateQuery, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed } from './aws-errors.ts';

type Key = { readonly pk: string; readonly sk: string };

/** A condition on an item's attributes; its names and values must not start with `#f` / `:f`. */
export interface Condition {
  readonly expression: string;
  readonly values?: Record<string, unknown>;
  readonly names?: Record<string, string>;
}

/** The item under `key`, read consistently (only the `attributes` named, when given). */
export async function getItem(
  client: DynamoDBDocumentClient,
  tableName: string,
  key: Key,
  attributes?: readonly string[],
): Promise<Record<string, unknown> | undefined> {
  const projection = attributes
    ? {
        ProjectionExpression: attributes.map((_, i) => `#p${i}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(attributes.map((name, i) => [`#p${i}`, name])),
      }
    : {};
  const out = await client.send(
    new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true, ...projection }),
  );
  return out.Item;
}

/**
 * Puts `item` unless an item with its key exists — or, given `orIf`, exists and still meets it
 * (a claim taken over from its holder); true when this call wrote it.
 */
export async function putIfAbsent(
  client: DynamoDBDocumentClient,
  tableName: string,
  item: Record<string, unknown>,
  orIf?: Condition,
): Promise<boolean> {
  try {
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: item,
        ConditionExpression: orIf
          ? `attribute_not_exists(pk) OR (${orIf.expression})`
          : 'attribute_not_exists(pk)',
        ...expressionAttributes(orIf?.names ?? {}, orIf?.values ?? {}),
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/**
 * Sets `fields` on an existing item when `condition` holds; false when the item is missing or the
 * condition does not hold, so two racing writers cannot both win. `undefined` fields are removed.
 * With `createIfAbsent`, a missing item is created with `fields` instead (the condition then only
 * guards an existing one).
 */
export async function updateIf(
  client: DynamoDBDocumentClient,
  tableName: string,
  key: Key,
  fields: Record<string, unknown>,
  condition?: Condition,
  options: { readonly createIfAbsent?: boolean } = {},
): Promise<boolean> {
  const names: Record<string, string> = { ...(condition?.names ?? {}) };
  const values: Record<string, unknown> = { ...(condition?.values ?? {}) };
  const sets: string[] = [];
  const removes: string[] = [];
  Object.entries(fields).forEach(([name, value], i) => {
    names[`#f${i}`] = name;
    if (value === undefined) removes.push(`#f${i}`);
    else {
      values[`:f${i}`] = value;
      sets.push(`#f${i} = :f${i}`);
    }
  });
  const expression = [
    sets.length ? `SET ${sets.join(', ')}` : '',
    removes.length ? `REMOVE ${removes.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  const guard = options.createIfAbsent
    ? condition && `attribute_not_exists(pk) OR (${condition.expression})`
    : condition
      ? `attribute_exists(pk) AND (${condition.expression})`
      : 'attribute_exists(pk)';
  try {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: expression,
        ...(guard ? { ConditionExpression: guard } : {}),
        ...expressionAttributes(names, values),
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Every item of a partition whose sort key starts with `prefix`, in sort-key order, read consistently. */
export async function queryAll(
  client: DynamoDBDocumentClient,
  tableName: string,
  pk: string,
  prefix: string,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  const pages = paginateQuery(
    { client },
    {
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': pk, ':prefix': prefix },
      ConsistentRead: true,
    },
  );
  for await (const page of pages) items.push(...(page.Items ?? []));
  return items;
}

/** DynamoDB refuses empty name and value maps: only the non-empty ones. */
function expressionAttributes(names: Record<string, string>, values: Record<string, unknown>) {
  return {
    ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
    ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
  };
}
