/**
 * Affected customers and planned effects in the operational table, one item each (keys in
 * `operations-keys.ts`). A list or plan version is written once, in batches, before anyone acts
 * on it; after that an effect only moves on by a conditional update of its progress.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchWriteCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { EffectRecord } from '../domain/effects.ts';
import { moneySchema } from '../domain/money.ts';
import type { Customer, PlannedEffect } from '../domain/plan.ts';
import { NOTICE_TEMPLATES, PLAN_EFFECT_KINDS } from '../domain/plan.ts';
import type { EffectStore, Page } from '../domain/ports.ts';
import { ACTION_SAFETY, WORLDS } from '../domain/vocabulary.ts';
import { updateIf, withoutKeys } from './dynamo-items.ts';
import { keys } from './operations-keys.ts';

const customerSchema = z.object({
  customerRef: z.string(),
  email: z.string().optional(),
  name: z.string().optional(),
  amount: moneySchema.optional(),
  productArea: z.string().optional(),
  paymentRef: z.string().optional(),
});

const effectSchema = z.object({
  effectId: z.string(),
  planVersion: z.number(),
  kind: z.enum(PLAN_EFFECT_KINDS),
  customerRef: z.string(),
  counterparty: z.string(),
  world: z.enum(WORLDS),
  safety: z.enum(ACTION_SAFETY),
  obligation: z.enum(['tos', 'brand']),
  amount: moneySchema.optional(),
  paymentRef: z.string().optional(),
  productArea: z.string().optional(),
  template: z.enum(NOTICE_TEMPLATES).optional(),
  contentHash: z.string().optional(),
  progress: z.enum(['planned', 'intent', 'executed', 'confirmed', 'attention', 'voided']),
  attempt: z.number().int().positive(),
  providerRef: z.string().optional(),
  intentAt: z.string().optional(),
  attention: z
    .object({ reason: z.enum(['in-doubt', 'refused', 'manual']), detail: z.string(), since: z.string() })
    .optional(),
  updatedAt: z.string().optional(),
});

/** DynamoDB takes at most 25 puts per BatchWriteItem. */
const BATCH = 25;

export class DynamoDbEffectStore implements EffectStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async putCustomers(incidentId: string, listVersion: number, customers: readonly Customer[]): Promise<void> {
    await this.writeAll(
      customers.map((c) => ({
        ...keys.customer(incidentId, listVersion, c.customerRef),
        entity: 'customer',
        ...c,
      })),
    );
  }

  async listCustomers(
    incidentId: string,
    listVersion: number,
    cursor?: string,
    limit = 500,
  ): Promise<Page<Customer>> {
    const page = await this.page(incidentId, keys.customerPrefix(listVersion), cursor, limit);
    return { ...page, items: page.items.map((i) => customerSchema.parse(withoutKeys(i))) };
  }

  async getCustomer(
    incidentId: string,
    listVersion: number,
    customerRef: string,
  ): Promise<Customer | undefined> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.customer(incidentId, listVersion, customerRef),
        ConsistentRead: true,
      }),
    );
    return out.Item ? customerSchema.parse(withoutKeys(out.Item)) : undefined;
  }

  async putEffects(incidentId: string, effects: readonly PlannedEffect[]): Promise<void> {
    await this.writeAll(
      effects.map((e) => ({
        ...keys.effect(incidentId, e.effectId),
        entity: 'effect',
        ...e,
        progress: 'planned',
        attempt: 1,
      })),
    );
  }

  async listEffects(
    incidentId: string,
    planVersion: number,
    cursor?: string,
    limit = 500,
  ): Promise<Page<EffectRecord>> {
    const page = await this.page(incidentId, keys.effectPrefix(planVersion), cursor, limit);
    return { ...page, items: page.items.map((i) => effectSchema.parse(withoutKeys(i))) };
  }

  async getEffect(incidentId: string, effectId: string): Promise<EffectRecord | undefined> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: keys.effect(incidentId, effectId),
        ConsistentRead: true,
      }),
    );
    return out.Item ? effectSchema.parse(withoutKeys(out.Item)) : undefined;
  }

  async advanceEffect(
    incidentId: string,
    effectId: string,
    from: Pick<EffectRecord, 'progress' | 'attempt'>,
    change: Partial<Omit<EffectRecord, keyof PlannedEffect>>,
  ): Promise<boolean> {
    return updateIf(this.client, this.tableName, keys.effect(incidentId, effectId), change, {
      expression: '#c_progress = :c_progress AND #c_attempt = :c_attempt',
      names: { '#c_progress': 'progress', '#c_attempt': 'attempt' },
      values: { ':c_progress': from.progress, ':c_attempt': from.attempt },
    });
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
