/**
 * An incident's log as proofs are made from it: every entry as the table stores it (a format 3
 * entry without the leaf hash readers add), in log order, and the signed head each batch carries.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ChainItem } from '../domain/ledger.ts';
import type { ProvableLog } from '../domain/proof-file.ts';
import { DynamoDbLedger } from './dynamodb-ledger.ts';

/** Lays chain items out as a {@link ProvableLog}: a format 2 entry is a leaf as stored, a batch its entries. */
export function provableLogOf(incidentId: string, items: readonly ChainItem[]): ProvableLog {
  const entries: Record<string, unknown>[] = [];
  const heads: ProvableLog['heads'][number][] = [];
  for (const item of items) {
    if (item.format === 3) {
      entries.push(...(item.entries as unknown as Record<string, unknown>[]));
      heads.push(item.head);
    } else entries.push(item as unknown as Record<string, unknown>);
  }
  return { incidentId, entries, heads };
}

/** Reads an incident's chain items (one consistent Query) and lays them out for proofs. */
export async function readProvableLog(
  db: DynamoDBDocumentClient,
  table: string,
  incidentId: string,
): Promise<ProvableLog> {
  const items = await new DynamoDbLedger(db, table).readChain(incidentId);
  if (items.length === 0) throw new Error(`No ledger entries for ${incidentId}`);
  return provableLogOf(incidentId, items);
}
