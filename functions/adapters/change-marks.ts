/**
 * Change marks in the operational table: `CHANGED#<window>` / `<incident id>`, put before each
 * ledger commit and read by the anchor, one Query per window. A writer puts each mark once per
 * window (it remembers the ones it put), so Act's thousands of commits to one incident cost one
 * put every fifteen minutes.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { CHANGE_WINDOW_SECONDS, windowOf } from '../domain/anchor.ts';
import type { ChangeMarks, Clock } from '../domain/ports.ts';
import { dependencyError } from './aws-errors.ts';
import { keys } from './operations-keys.ts';

export class DynamoDbChangeMarks implements ChangeMarks {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly clock: Clock;
  private readonly seconds: number;
  /** The marks this writer put in the current window (older windows are forgotten). */
  private marked = { window: -1, incidents: new Set<string>() };

  constructor(
    client: DynamoDBDocumentClient,
    tableName: string,
    options: { readonly clock?: Clock; readonly windowSeconds?: number } = {},
  ) {
    this.client = client;
    this.tableName = tableName;
    this.clock = options.clock ?? { now: () => new Date() };
    this.seconds = options.windowSeconds ?? CHANGE_WINDOW_SECONDS;
  }

  async markChanged(incidentId: string): Promise<void> {
    const now = this.clock.now();
    const window = windowOf(now, this.seconds);
    if (this.marked.window !== window) this.marked = { window, incidents: new Set() };
    if (this.marked.incidents.has(incidentId)) return;
    try {
      // A plain put: marking twice (another writer, a retry) changes nothing.
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...keys.changed(window, incidentId),
            entity: 'changed',
            incidentId,
            markedAt: now.toISOString(),
          },
        }),
      );
    } catch (error) {
      throw dependencyError('Marking the ledger change failed', error);
    }
    this.marked.incidents.add(incidentId);
  }

  async changedIn(window: number): Promise<string[]> {
    const ids: string[] = [];
    try {
      for await (const page of paginateQuery(
        { client: this.client },
        {
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': keys.changedPartition(window) },
          ProjectionExpression: 'sk',
          ConsistentRead: true,
        },
      )) {
        for (const item of page.Items ?? []) ids.push(String(item.sk));
      }
    } catch (error) {
      throw dependencyError('Reading the ledger change marks failed', error);
    }
    return ids;
  }
}
