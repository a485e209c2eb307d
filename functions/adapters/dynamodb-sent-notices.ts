/**
 * The notices SES took, one item per SES MessageId in the operational table: SES's events name
 * only the message, and this is how one finds the incident and the effect it carried.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import type { SentNotice, SentNotices } from '../domain/notice-events.ts';
import { getItem, putIfAbsent } from './dynamo-items.ts';
import { keys } from './operations-keys.ts';

const itemSchema = z.object({
  messageId: z.string(),
  incidentId: z.string(),
  planVersionId: z.string(),
  effectId: z.string(),
  attempt: z.number().int().positive(),
});

export class DynamoDbSentNotices implements SentNotices {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async remember(notice: SentNotice): Promise<void> {
    // SES never reuses a MessageId: an item already there is this very notice.
    await putIfAbsent(this.client, this.tableName, {
      ...keys.sentNotice(notice.messageId),
      entity: 'sent-notice',
      ...notice,
    });
  }

  async find(messageId: string): Promise<SentNotice | undefined> {
    const item = await getItem(this.client, this.tableName, keys.sentNotice(messageId));
    return item ? itemSchema.parse(item) : undefined;
  }
}
