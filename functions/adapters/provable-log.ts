/**
 * An incident's log as proofs are made from it: every entry as stored, in log order, and the signed
 * head each batch carries. Read straight from the ledger table (one consistent Query), so a proof
 * is made from what the table holds, not from what a reader makes of it.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { paginateQuery } from '@aws-sdk/lib-dynamodb';
import type { SignedHead } from '../domain/checkpoint.ts';
import type { ProvableLog } from '../domain/proof-file.ts';
import { dependencyError } from './aws-errors.ts';

/** Reads an incident's chain items and lays them out as a {@link ProvableLog}. */
export async function readProvableLog(
  db: DynamoDBDocumentClient,
  table: string,
  incidentId: string,
): Promise<ProvableLog> {
  const items: Record<string, unknown>[] = [];
  try {
    const pages = paginateQuery(
      { client: db },
      {
        TableName: table,
        KeyConditionExpression: 'incidentId = :id',
        ExpressionAttributeValues: { ':id': incidentId },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []));
  } catch (error) {
    throw dependencyError(`Reading the ledger of ${incidentId} failed`, error);
  }
  if (items.length === 0) throw new Error(`No ledger entries for ${incidentId}`);
  const entries: Record<string, unknown>[] = [];
  const heads: SignedHead[] = [];
  for (const item of items) {
    if (item.format === 3) {
      entries.push(...(item.entries as Record<string, unknown>[]));
      heads.push(item.head as SignedHead);
    } else entries.push(item);
  }
  return { incidentId, entries, heads };
}
