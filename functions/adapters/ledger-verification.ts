/** Reads a ledger table and verifies every incident's hash chain (the auditor's check). */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { paginateQuery, paginateScan } from '@aws-sdk/lib-dynamodb';
import type { ChainProblem, LedgerEntry } from '../domain/ledger.ts';
import { verifyChain } from '../domain/ledger.ts';

export interface IncidentVerification {
  readonly incidentId: string;
  readonly entries: number;
  readonly problems: readonly ChainProblem[];
}

/** Verifies one incident, or every incident in the table (a consistent scan). */
export async function verifyLedgerTable(
  client: DynamoDBDocumentClient,
  tableName: string,
  incidentId?: string,
): Promise<IncidentVerification[]> {
  const byIncident = new Map<string, LedgerEntry[]>();
  const pages = incidentId
    ? paginateQuery(
        { client },
        {
          TableName: tableName,
          KeyConditionExpression: 'incidentId = :id',
          ExpressionAttributeValues: { ':id': incidentId },
          ConsistentRead: true,
        },
      )
    : paginateScan({ client }, { TableName: tableName, ConsistentRead: true });
  for await (const page of pages) {
    for (const item of (page.Items ?? []) as LedgerEntry[]) {
      const list = byIncident.get(item.incidentId) ?? [];
      list.push(item);
      byIncident.set(item.incidentId, list);
    }
  }
  return [...byIncident.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, entries]) => ({
      incidentId: id,
      entries: entries.length,
      problems: verifyChain(id, entries),
    }));
}
