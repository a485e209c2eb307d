/**
 * The operational table over DynamoDB: incidents, correlation keys, timelines and approvals
 * (single-table; key shapes in `tables.ts`). Task tokens are stored here and handed out only
 * through {@link DynamoDbOperationsStore.getTaskToken}.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Approval, ApprovalStatus } from '../domain/approval.ts';
import { InvalidInputError } from '../domain/errors.ts';
import type { Incident, TimelineEvent } from '../domain/incident.ts';
import { isIncidentId } from '../domain/incident.ts';
import { LIMITS } from '../domain/limits.ts';
import type { ApprovalKey, ApprovalStore, Correlation, IncidentStore } from '../domain/ports.ts';
import { isUtcInstant } from '../domain/time.ts';
import { isConditionalCheckFailed } from './aws-errors.ts';

const META = 'META';
const INCIDENTS = 'INCIDENTS';
const incidentPk = (id: string) => `INCIDENT#${id}`;
const correlationKeyOf = (key: string) => ({ pk: `CORRELATION#${key}`, sk: META });
const counterKey = (year: number) => ({ pk: 'COUNTER', sk: `incident#${year}` });
const approvalSk = (round: number, role?: string) =>
  `APPROVAL#${String(round).padStart(4, '0')}#${role ?? ''}`;
const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'taskToken', 'entity'] as const;

function strip<T>(item: Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...item };
  for (const attribute of KEY_ATTRIBUTES) delete out[attribute];
  return out as T;
}

function encodeCursor(key: unknown): string | undefined {
  return key ? Buffer.from(JSON.stringify(key)).toString('base64url') : undefined;
}

/**
 * The byCreation index key a listing cursor must decode to, checked against the key schema:
 * exactly its four attributes, each in the form Casebook writes, so no caller-made key (empty,
 * oversized, another entity's) reaches DynamoDB. Anything else is a caller's mistake, answered 400.
 */
function decodeCursor(cursor: string | undefined): Record<string, string> | undefined {
  if (cursor === undefined) return undefined;
  const refused = new InvalidInputError({ field: 'cursor', message: 'is not a cursor this API returned' });
  if (cursor.length > LIMITS.cursorChars || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw refused;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw refused;
  }
  // Canonical only: one key, one cursor.
  if (encodeCursor(key) !== cursor || key === null || typeof key !== 'object') throw refused;
  const k = key as Record<string, unknown>;
  const id = typeof k.pk === 'string' ? k.pk.slice(incidentPk('').length) : '';
  const [createdAt, createdId] = typeof k.gsi1sk === 'string' ? k.gsi1sk.split('#') : [];
  const valid =
    Object.keys(k).sort().join() === 'gsi1pk,gsi1sk,pk,sk' &&
    k.gsi1pk === INCIDENTS &&
    k.sk === META &&
    isIncidentId(id) &&
    k.pk === incidentPk(id) &&
    createdId === id &&
    isUtcInstant(createdAt ?? '') &&
    k.gsi1sk === `${createdAt}#${id}`;
  if (!valid) throw refused;
  return k as Record<string, string>;
}

function correlationItem(correlationKey: string, correlation: Correlation): Record<string, unknown> {
  return {
    ...correlationKeyOf(correlationKey),
    entity: 'correlation',
    incidentId: correlation.incidentId,
    // A String Set: DynamoDB rejects an empty one, so an alert without occurrences stores none.
    ...(correlation.occurrences.length > 0 ? { occurrences: new Set(correlation.occurrences) } : {}),
  };
}

/** {@link IncidentStore} and {@link ApprovalStore} on one DynamoDB table. */
export class DynamoDbOperationsStore implements IncidentStore, ApprovalStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(client: DynamoDBDocumentClient, tableName: string) {
    this.client = client;
    this.tableName = tableName;
  }

  async lastIncidentNumber(year: number): Promise<number> {
    const out = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: counterKey(year), ConsistentRead: true }),
    );
    return Number(out.Item?.n ?? 0);
  }

  async recordIncidentNumber(year: number, sequence: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: counterKey(year),
          UpdateExpression: 'SET #n = :n',
          ConditionExpression: 'attribute_not_exists(#n) OR #n < :n',
          ExpressionAttributeNames: { '#n': 'n' },
          ExpressionAttributeValues: { ':n': sequence },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async findCorrelation(correlationKey: string): Promise<Correlation | undefined> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: correlationKeyOf(correlationKey),
        ConsistentRead: true,
      }),
    );
    if (!out.Item) return undefined;
    const seen = out.Item.occurrences as Set<string> | undefined;
    return { incidentId: out.Item.incidentId as string, occurrences: seen ? [...seen].sort() : [] };
  }

  async claimCorrelation(
    correlationKey: string,
    incidentId: string,
    replacing: string | undefined,
    occurrences: readonly string[],
  ): Promise<{ claimed: true } | { claimed: false; incidentId: string }> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: correlationItem(correlationKey, { incidentId, occurrences }),
          ConditionExpression: replacing
            ? 'attribute_not_exists(pk) OR incidentId = :replacing'
            : 'attribute_not_exists(pk)',
          ...(replacing ? { ExpressionAttributeValues: { ':replacing': replacing } } : {}),
        }),
      );
      return { claimed: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const holder = await this.findCorrelation(correlationKey);
      if (!holder) throw new Error(`Correlation ${correlationKey} is held but unreadable`, { cause: error });
      return { claimed: false, incidentId: holder.incidentId };
    }
  }

  async releaseCorrelation(
    correlationKey: string,
    incidentId: string,
    previous: Correlation | undefined,
  ): Promise<void> {
    const onlyIfMine = {
      TableName: this.tableName,
      ConditionExpression: 'incidentId = :mine',
      ExpressionAttributeValues: { ':mine': incidentId },
    };
    try {
      if (previous) {
        await this.client.send(
          new PutCommand({ ...onlyIfMine, Item: correlationItem(correlationKey, previous) }),
        );
      } else {
        await this.client.send(new DeleteCommand({ ...onlyIfMine, Key: correlationKeyOf(correlationKey) }));
      }
    } catch (error) {
      // Someone else's claim by now (a redelivery took it over): theirs to finish.
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async addOccurrences(correlationKey: string, occurrences: readonly string[]): Promise<void> {
    if (occurrences.length === 0) return;
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: correlationKeyOf(correlationKey),
        UpdateExpression: 'ADD occurrences :seen',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':seen': new Set(occurrences) },
      }),
    );
  }

  async createIncident(incident: Incident): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: this.incidentItem(incident),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async getIncident(id: string): Promise<Incident | undefined> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: incidentPk(id), sk: META },
        ConsistentRead: true,
      }),
    );
    return out.Item ? strip<Incident>(out.Item) : undefined;
  }

  async saveIncident(incident: Incident): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: this.incidentItem(incident),
        ConditionExpression: 'attribute_exists(pk)',
      }),
    );
  }

  async listIncidents(limit: number, cursor?: string): Promise<{ items: Incident[]; cursor?: string }> {
    const start = decodeCursor(cursor);
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'byCreation',
        KeyConditionExpression: 'gsi1pk = :all',
        ExpressionAttributeValues: { ':all': INCIDENTS },
        ScanIndexForward: false,
        Limit: limit,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const next = encodeCursor(out.LastEvaluatedKey);
    return { items: (out.Items ?? []).map((i) => strip<Incident>(i)), ...(next ? { cursor: next } : {}) };
  }

  async addTimelineEvent(incidentId: string, event: TimelineEvent): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: incidentPk(incidentId), sk: `EVENT#${event.key}`, entity: 'event', ...event },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async listTimeline(incidentId: string): Promise<TimelineEvent[]> {
    const items = await this.queryAll(incidentPk(incidentId), 'EVENT#');
    return items
      .map((i) => strip<TimelineEvent>(i))
      .sort((a, b) => (a.at === b.at ? a.key.localeCompare(b.key) : a.at.localeCompare(b.at)));
  }

  async createApproval(
    approval: Approval,
    taskToken: string,
  ): Promise<{ created: boolean; approval: Approval }> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            pk: incidentPk(approval.incidentId),
            sk: approvalSk(approval.round, approval.role),
            entity: 'approval',
            ...approval,
            taskToken,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { created: true, approval };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const existing = await this.getApproval(approval);
      if (!existing) throw new Error('Approval exists but is unreadable', { cause: error });
      return { created: false, approval: existing };
    }
  }

  async refreshTaskToken(ref: ApprovalKey, taskToken: string): Promise<void> {
    await this.update(ref, 'SET taskToken = :t', { ':t': taskToken });
  }

  async markEmailed(ref: ApprovalKey, linkSecretHash: string, at: string): Promise<void> {
    await this.update(ref, 'SET emailedAt = :at, linkSecretHash = :h', { ':at': at, ':h': linkSecretHash });
  }

  async recordWorkflowAnswer(
    ref: ApprovalKey,
    answer: NonNullable<Approval['workflowAnswer']>,
  ): Promise<void> {
    await this.update(ref, 'SET workflowAnswer = :a', { ':a': answer });
  }

  async getApproval(ref: ApprovalKey): Promise<Approval | undefined> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: incidentPk(ref.incidentId), sk: approvalSk(ref.round, ref.role) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? strip<Approval>(out.Item) : undefined;
  }

  async listApprovals(incidentId: string, round: number): Promise<Approval[]> {
    const items = await this.queryAll(incidentPk(incidentId), approvalSk(round));
    return items.map((i) => strip<Approval>(i));
  }

  async getTaskToken(ref: ApprovalKey): Promise<string | undefined> {
    const out = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: incidentPk(ref.incidentId), sk: approvalSk(ref.round, ref.role) },
        ProjectionExpression: 'taskToken',
        ConsistentRead: true,
      }),
    );
    return out.Item?.taskToken as string | undefined;
  }

  async settleApproval(
    ref: ApprovalKey,
    status: Exclude<ApprovalStatus, 'PENDING'>,
    fields: Pick<Approval, 'decision' | 'withdrawnReason'>,
  ): Promise<boolean> {
    const sets = ['#status = :status'];
    const values: Record<string, unknown> = { ':status': status, ':pending': 'PENDING' };
    if (fields.decision) {
      sets.push('decision = :decision');
      values[':decision'] = fields.decision;
    }
    if (fields.withdrawnReason) {
      sets.push('withdrawnReason = :reason');
      values[':reason'] = fields.withdrawnReason;
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: incidentPk(ref.incidentId), sk: approvalSk(ref.round, ref.role) },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  private incidentItem(incident: Incident): Record<string, unknown> {
    return {
      pk: incidentPk(incident.id),
      sk: META,
      entity: 'incident',
      gsi1pk: INCIDENTS,
      gsi1sk: `${incident.detectedAt}#${incident.id}`,
      ...incident,
    };
  }

  private async update(ref: ApprovalKey, expression: string, values: Record<string, unknown>): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: incidentPk(ref.incidentId), sk: approvalSk(ref.round, ref.role) },
        UpdateExpression: expression,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: values,
      }),
    );
  }

  private async queryAll(pk: string, skPrefix: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': pk, ':prefix': skPrefix },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) items.push(...(page.Items ?? []));
    return items;
  }
}
