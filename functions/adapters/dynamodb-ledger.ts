/**
 * The Effect Ledger and Decision Log over DynamoDB. Exposes only `append` and `read`: entries are
 * put with `attribute_not_exists`, so an existing entry is never overwritten, and nothing here
 * can update or delete (IAM denies it too).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import type { LedgerEntry, LedgerEntryDraft } from '../domain/ledger.ts';
import { planAppend } from '../domain/ledger.ts';
import type { Ledger } from '../domain/ports.ts';
import { dependencyError, isConditionalCheckFailed } from './aws-errors.ts';

/** How often an append re-reads the chain after losing a race for the next seq. */
const MAX_APPEND_ATTEMPTS = 8;

export class DynamoDbLedger implements Ledger {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async append(
    incidentId: string,
    draft: LedgerEntryDraft,
  ): Promise<{ created: boolean; entry: LedgerEntry }> {
    // Strongly consistent read of the whole chain, then a conditional put of seq+1: a concurrent
    // writer that took seq+1 first makes the put fail, and we re-read (its entry may be ours).
    for (let attempt = 1; attempt <= MAX_APPEND_ATTEMPTS; attempt++) {
      const plan = planAppend(incidentId, await this.read(incidentId), draft);
      if (!plan.created) return plan;
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: plan.entry,
            ConditionExpression: 'attribute_not_exists(seq)',
          }),
        );
        return plan;
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw dependencyError('Appending to the ledger failed', error);
      }
    }
    throw dependencyError(
      'Appending to the ledger failed',
      new Error(`lost ${MAX_APPEND_ATTEMPTS} races for the next seq`),
    );
  }

  async read(incidentId: string): Promise<LedgerEntry[]> {
    const entries: LedgerEntry[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'incidentId = :id',
        ExpressionAttributeValues: { ':id': incidentId },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) entries.push(...((page.Items ?? []) as LedgerEntry[]));
    return entries;
  }
}
