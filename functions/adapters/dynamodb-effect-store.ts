/**
 * Affected customers and planned effects in the operational table, one item each (keys in
 * `operations-keys.ts`, read back through `operations-items.ts`). A list or plan version is written once, in batches, under an id unique to the
 * request that writes it, before the incident names it and anyone acts on it; after that an effect only moves on by a conditional update of its progress.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { EffectRecord } from '../domain/effects.ts';
import type { Customer, PlannedEffect } from '../domain/plan.ts';
import type { EffectStore, Page } from '../domain/ports.ts';
import { countEffect } from './casebook-metrics.ts';
import { getItem, updateIf } from './dynamo-items.ts';
import { fromItem } from './operations-items.ts';
import { keys } from './operations-keys.ts';

/** DynamoDB takes at most 25 puts per BatchWriteItem. */
const BATCH = 25;

/** Effects whose kind is remembered for their metrics; a bound, since a warm function serves many incidents. */
const KINDS_KEPT = 20_000;

export class DynamoDbEffectStore implements EffectStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  /** The kind of each effect read through this store, by incident, plan version and effect id. */
  private readonly kinds = new Map<string, string>();

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async putCustomers(
    incidentId: string,
    listVersionId: string,
    customers: readonly Customer[],
  ): Promise<void> {
    await this.writeAll(
      customers.map((c) => ({
        ...keys.customer(incidentId, listVersionId, c.customerRef),
        entity: 'customer',
        ...c,
      })),
    );
  }

  async listCustomers(
    incidentId: string,
    listVersionId: string,
    cursor?: string,
    limit = 500,
  ): Promise<Page<Customer>> {
    const page = await this.page(incidentId, keys.customerPrefix(listVersionId), cursor, limit);
    return { ...page, items: page.items.map(fromItem.customer) };
  }

  async getCustomer(
    incidentId: string,
    listVersionId: string,
    customerRef: string,
  ): Promise<Customer | undefined> {
    const item = await getItem(
      this.client,
      this.tableName,
      keys.customer(incidentId, listVersionId, customerRef),
    );
    return item ? fromItem.customer(item) : undefined;
  }

  async putEffects(
    incidentId: string,
    planVersionId: string,
    effects: readonly PlannedEffect[],
  ): Promise<void> {
    await this.writeAll(
      effects.map((e) => ({
        ...keys.effect(incidentId, planVersionId, e.effectId),
        entity: 'effect',
        ...e,
        progress: 'planned',
        attempt: 1,
      })),
    );
  }

  async listEffects(
    incidentId: string,
    planVersionId: string,
    cursor?: string,
    limit = 500,
  ): Promise<Page<EffectRecord>> {
    const page = await this.page(incidentId, keys.effectPrefix(planVersionId), cursor, limit);
    const items = page.items.map(fromItem.effect);
    for (const effect of items) this.rememberKind(incidentId, planVersionId, effect);
    return { ...page, items };
  }

  async getEffect(
    incidentId: string,
    planVersionId: string,
    effectId: string,
  ): Promise<EffectRecord | undefined> {
    const item = await getItem(this.client, this.tableName, keys.effect(incidentId, planVersionId, effectId));
    const effect = item ? fromItem.effect(item) : undefined;
    if (effect) this.rememberKind(incidentId, planVersionId, effect);
    return effect;
  }

  async advanceEffect(
    incidentId: string,
    planVersionId: string,
    effectId: string,
    from: Pick<EffectRecord, 'progress' | 'attempt'>,
    change: Partial<Omit<EffectRecord, keyof PlannedEffect>>,
  ): Promise<boolean> {
    const moved = await updateIf(
      this.client,
      this.tableName,
      keys.effect(incidentId, planVersionId, effectId),
      change,
      {
        expression: '#c_progress = :c_progress AND #c_attempt = :c_attempt',
        names: { '#c_progress': 'progress', '#c_attempt': 'attempt' },
        values: { ':c_progress': from.progress, ':c_attempt': from.attempt },
      },
    );
    if (moved && change.progress && change.progress !== from.progress) {
      countEffect(this.kinds.get(kindKey(incidentId, planVersionId, effectId)) ?? 'unknown', change.progress);
    }
    return moved;
  }

  private rememberKind(incidentId: string, planVersionId: string, effect: EffectRecord): void {
    if (this.kinds.size >= KINDS_KEPT) this.kinds.clear();
    this.kinds.set(kindKey(incidentId, planVersionId, effect.effectId), effect.kind);
  }

  /** Puts items of a version nobody has acted on yet, 25 at a time, retrying what DynamoDB left unprocessed. */
  private async writeAll(items: readonly Record<string, unknown>[]): Promise<void> {
    for (let i = 0; i < items.length; i += BATCH) {
      let requests = items.slice(i, i + BATCH).map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0)
          await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt) * Math.random()));
        const out = await this.client.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
        );
        requests = (out.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
      }
    }
  }

  private async page(
    incidentId: string,
    prefix: string,
    cursor: string | undefined,
    limit: number,
  ): Promise<Page<Record<string, unknown>>> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': keys.incidentPartition(incidentId), ':prefix': prefix },
        ConsistentRead: true,
        Limit: limit,
        ...(cursor
          ? { ExclusiveStartKey: { pk: keys.incidentPartition(incidentId), sk: `${prefix}${cursor}` } }
          : {}),
      }),
    );
    const last = out.LastEvaluatedKey?.sk as string | undefined;
    return { items: out.Items ?? [], ...(last ? { cursor: last.slice(prefix.length) } : {}) };
  }
}

function kindKey(incidentId: string, planVersionId: string, effectId: string): string {
  return `${incidentId}/${planVersionId}/${effectId}`;
}
