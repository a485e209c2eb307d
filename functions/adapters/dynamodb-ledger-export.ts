/**
 * What the ledger export reads from DynamoDB: the incidents through the by-creation index (never a
 * Scan, no new index), and each incident's chain items by consistent Queries, page by page.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { paginateQuery } from '@aws-sdk/lib-dynamodb';
import type { ChainItem, LedgerEntry } from '../domain/ledger.ts';
import { entriesOf } from '../domain/ledger.ts';
import type { ExportedIncident, LedgerExportSource } from '../domain/ledger-export.ts';
import { dependencyError } from './aws-errors.ts';
import { isClaimItem } from './dynamodb-ledger.ts';
import { ALL_INCIDENTS } from './operations-keys.ts';

export class DynamoDbLedgerExportSource implements LedgerExportSource {
  private readonly client: DynamoDBDocumentClient;
  private readonly operationsTable: string;
  private readonly ledgerTable: string;

  constructor(client: DynamoDBDocumentClient, tables: { operationsTable: string; ledgerTable: string }) {
    this.client = client;
    this.operationsTable = tables.operationsTable;
    this.ledgerTable = tables.ledgerTable;
  }

  async incidentsDetectedBefore(before: string): Promise<ExportedIncident[]> {
    const incidents: ExportedIncident[] = [];
    try {
      const pages = paginateQuery(
        { client: this.client },
        {
          TableName: this.operationsTable,
          IndexName: 'byCreation',
          // The index's sort key is `<detectedAt>#<id>`: every key before the instant sorts before it.
          KeyConditionExpression: 'gsi1pk = :all AND gsi1sk < :before',
          ExpressionAttributeValues: { ':all': ALL_INCIDENTS, ':before': before },
          ProjectionExpression: '#id, #title, #area',
          ExpressionAttributeNames: { '#id': 'id', '#title': 'title', '#area': 'productArea' },
        },
      );
      for await (const page of pages) {
        for (const item of page.Items ?? []) {
          if (typeof item.id !== 'string') continue;
          incidents.push({
            id: item.id,
            ...(typeof item.title === 'string' ? { title: item.title } : {}),
            ...(typeof item.productArea === 'string' ? { productArea: item.productArea } : {}),
          });
        }
      }
    } catch (error) {
      throw dependencyError('Listing the incidents to export failed', error);
    }
    return incidents;
  }

  async *entryPages(incidentId: string): AsyncGenerator<readonly LedgerEntry[]> {
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.ledgerTable,
        KeyConditionExpression: 'incidentId = :id',
        ExpressionAttributeValues: { ':id': incidentId },
        ConsistentRead: true,
      },
    );
    try {
      for await (const page of pages) {
        const items = (page.Items ?? []).filter((item) => !isClaimItem(item)) as ChainItem[];
        yield entriesOf(items);
      }
    } catch (error) {
      throw dependencyError(`Reading the ledger of ${incidentId} failed`, error);
    }
  }
}
