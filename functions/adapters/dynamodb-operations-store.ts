/**
 * The operational table over DynamoDB: incidents, correlation keys, the incident numbers taken,
 * timelines and approvals (keys in `operations-keys.ts`; each item read back through its schema
 * in `operations-items.ts`). No task token is kept with an approval: the round's one wait keeps
 * its token with the other waits (`dynamodb-waits.ts`).
 *
 * An incident is written whole once, when it opens; after that only the fields a use case
 * changes are written, by {@link DynamoDbOperationsStore.updateIncident}, never the whole item
 * again. The use cases that change an incident (entering a phase, closing, halting, naming the
 * next execution, recording customers, proposing a plan) each read it, decide, and hand back what
 * they read with what they change, so one port method serves them all and none of them handles a
 * version. The store guards the write with an optimistic `revision` attribute (the incident type
 * does not carry it): it reads the item, refuses with a ConcurrentChangeError when a field being changed
 * no longer holds what the caller read (another writer changed it, to another value), and writes
 * only the changed fields on condition that the revision is still the one it just read —
 * re-checking from the start when another write slipped in between. So of two writers who read
 * the same incident, the second neither erases the first's change nor overwrites a field the
 * first changed without knowing it. The refused writer's request answers 409; a refused
 * lifecycle step fails, and the incident halts where a person can resume it.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Approval, ApprovalStatus, BackupRequest, SeatName } from '../domain/approval.ts';
import { CasebookError, ConcurrentChangeError, ERROR_NAMES, InvalidInputError } from '../domain/errors.ts';
import type { Incident, TimelineEvent } from '../domain/incident.ts';
import { isIncidentId } from '../domain/incident.ts';
import { canonicalJson } from '../domain/json.ts';
import { LIMITS } from '../domain/limits.ts';
import type {
  ApprovalKey,
  ApprovalStore,
  Correlation,
  CorrelationSignal,
  IncidentChange,
  IncidentStore,
  SignalNoted,
  SignalRefused,
} from '../domain/ports.ts';
import { isUtcInstant } from '../domain/time.ts';
import { isConditionalCheckFailed } from './aws-errors.ts';
import { getItem, putIfAbsent, queryAll, updateIf } from './dynamo-items.ts';
import { fromItem } from './operations-items.ts';
import { ALL_INCIDENTS, keys, listingKey, parseListingKey } from './operations-keys.ts';

/** Writes of one change that may lose to other writers of the same incident before giving up. */
const UPDATE_ATTEMPTS = 5;

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
  const listed = parseListingKey(key as Record<string, unknown>);
  if (!listed || !isIncidentId(listed.id) || !isUtcInstant(listed.detectedAt)) throw refused;
  return listingKey(listed.id, listed.detectedAt);
}

/** What a correlation item holds besides its key. */
function correlationFields(correlation: Correlation): Record<string, unknown> {
  return {
    incidentId: correlation.incidentId,
    // A String Set: DynamoDB rejects an empty one, so an alert without occurrences stores none.
    occurrences: correlation.occurrences.length > 0 ? new Set(correlation.occurrences) : undefined,
    open: correlation.open,
    resolved: correlation.resolved?.length ? new Set(correlation.resolved) : undefined,
    repeats: correlation.repeats,
    status: correlation.status,
    claimedAt: correlation.claimedAt,
    started: correlation.started,
    cross: correlation.cross,
    owner: correlation.owner,
    joined: correlation.joined?.length ? new Set(correlation.joined) : undefined,
    via: correlation.via,
  };
}

/** Who held a key, from the item a refused write answered with (raw attribute values). */
function heldBy(error: unknown): { held?: Pick<Correlation, 'incidentId' | 'open'> } {
  const item = (error as { Item?: Record<string, AttributeValue> }).Item;
  const incidentId = item?.incidentId?.S;
  return incidentId === undefined ? {} : { held: { incidentId, open: item?.open?.BOOL === true } };
}

/** Statuses after which an incident's correlation keys no longer take its repeats the short way. */
const ENDED = new Set(['CLOSED', 'CANCELLED']);

/** Equal as stored: the same JSON whatever the key order. */
function sameValue(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** `read` with `change` applied, a field set to `undefined` removed. */
function applied(read: Incident, change: IncidentChange): Incident {
  const next: Record<string, unknown> = { ...read, ...change };
  for (const [field, value] of Object.entries(change)) if (value === undefined) delete next[field];
  return fromItem.incident(next);
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
    const counter = await getItem(this.client, this.tableName, keys.counter(year));
    return Number(counter?.n ?? 0);
  }

  async lastIncidentNumberAndKey(
    year: number,
    correlationKey: string,
  ): Promise<{ last: number; held?: Correlation }> {
    const counter = keys.counter(year);
    const key = keys.correlation(correlationKey);
    const out = await this.client.send(
      new BatchGetCommand({
        RequestItems: { [this.tableName]: { Keys: [counter, key], ConsistentRead: true } },
      }),
    );
    // Keys DynamoDB left unread (throttled): the counter is read alone, the key is not known.
    if (Object.keys(out.UnprocessedKeys ?? {}).length > 0) {
      return { last: await this.lastIncidentNumber(year) };
    }
    const items = out.Responses?.[this.tableName] ?? [];
    const found = (k: { pk: string; sk: string }) => items.find((i) => i.pk === k.pk && i.sk === k.sk);
    const held = found(key);
    return { last: Number(found(counter)?.n ?? 0), ...(held ? { held: fromItem.correlation(held) } : {}) };
  }

  async recordIncidentNumber(year: number, sequence: number): Promise<void> {
    // False when a higher number is recorded already: nothing to do.
    await updateIf(
      this.client,
      this.tableName,
      keys.counter(year),
      { n: sequence },
      { expression: '#c_n < :c_n', names: { '#c_n': 'n' }, values: { ':c_n': sequence } },
      { createIfAbsent: true },
    );
  }

  async findCorrelation(correlationKey: string): Promise<Correlation | undefined> {
    const item = await getItem(this.client, this.tableName, keys.correlation(correlationKey));
    return item ? fromItem.correlation(item) : undefined;
  }

  async claimCorrelation(
    correlationKey: string,
    incidentId: string,
    replacing: string | undefined,
    occurrences: readonly string[],
    at?: string,
    links: Pick<Correlation, 'cross' | 'owner'> = {},
  ): Promise<{ claimed: true } | { claimed: false; incidentId: string }> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...keys.correlation(correlationKey),
            entity: 'correlation',
            ...correlationFields({
              incidentId,
              occurrences,
              open: true,
              ...(at ? { claimedAt: at } : {}),
              ...links,
            }),
          },
          ConditionExpression: replacing
            ? 'attribute_not_exists(pk) OR incidentId = :replacing'
            : 'attribute_not_exists(pk)',
          ...(replacing ? { ExpressionAttributeValues: { ':replacing': replacing } } : {}),
          // The refusal names the holder: no read after it.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { claimed: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const held = heldBy(error).held ?? (await this.findCorrelation(correlationKey));
      if (!held) throw new Error(`Correlation ${correlationKey} is held but unreadable`);
      return { claimed: false, incidentId: held.incidentId };
    }
  }

  async releaseCorrelation(
    correlationKey: string,
    incidentId: string,
    previous: Correlation | undefined,
  ): Promise<void> {
    // Either way only if it is still ours: someone else's claim by now (a redelivery took it over)
    // is theirs to finish.
    const onlyIfMine = { expression: 'incidentId = :c_mine', values: { ':c_mine': incidentId } };
    if (previous) {
      await updateIf(
        this.client,
        this.tableName,
        keys.correlation(correlationKey),
        correlationFields(previous),
        onlyIfMine,
      );
      return;
    }
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: keys.correlation(correlationKey),
          ConditionExpression: onlyIfMine.expression,
          ExpressionAttributeValues: onlyIfMine.values,
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }

  async addOccurrences(correlationKey: string, occurrences: readonly string[]): Promise<void> {
    if (occurrences.length === 0) return;
    // A set union (ADD), so concurrent folds of one group each add theirs.
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: keys.correlation(correlationKey),
        UpdateExpression: 'ADD occurrences :seen',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':seen': new Set(occurrences) },
      }),
    );
  }

  async noteSignal(signal: CorrelationSignal): Promise<SignalNoted | SignalRefused> {
    const names: Record<string, string> = {
      '#open': 'open',
      '#status': 'status',
      '#repeats': 'repeats',
      '#occ': 'occurrences',
    };
    const values: Record<string, unknown> = {
      ':true': true,
      ':status': signal.status,
      ':one': 1,
      ':max': LIMITS.occurrencesKept,
    };
    const sets = ['#status = :status'];
    const adds = ['#repeats :one'];
    if (signal.occurrences.length > 0) {
      adds.push('#occ :occ');
      values[':occ'] = new Set(signal.occurrences);
    }
    if (signal.resolved.length > 0) {
      names['#resolved'] = 'resolved';
      adds.push('#resolved :resolved');
      values[':resolved'] = new Set(signal.resolved);
    }
    // Open, and remembering fewer occurrences than it may: as alternatives joined by OR, each a
    // conjunction, written without parentheses (AND binds tighter than OR in DynamoDB's grammar).
    // Nested parentheses cost dynalite's parser a backtrack per level, on every request: with
    // them, parsing this condition took longer than all the rest of a repeat.
    const openAndBounded = [
      '#open = :true AND attribute_not_exists(#occ)',
      '#open = :true AND size(#occ) < :max',
    ];
    let condition = openAndBounded.join(' OR ');
    if (signal.proposed) {
      // A free key becomes this delivery's claim in the same write: nobody reads before claiming.
      names['#incidentId'] = 'incidentId';
      names['#claimedAt'] = 'claimedAt';
      names['#entity'] = 'entity';
      values[':proposed'] = signal.proposed;
      values[':at'] = signal.at;
      values[':entity'] = 'correlation';
      // The condition leaves the key absent or open, so the open flag and entity are set as they are.
      sets.push(
        '#incidentId = if_not_exists(#incidentId, :proposed)',
        '#open = :true',
        '#claimedAt = if_not_exists(#claimedAt, :at)',
        '#entity = :entity',
      );
      for (const [field, value] of Object.entries(signal.claim ?? {})) {
        if (value === undefined) continue;
        names[`#${field}`] = field;
        values[`:${field}`] = value;
        sets.push(`#${field} = if_not_exists(#${field}, :${field})`);
      }
      const owner = signal.claim?.owner;
      // A cross-source key joins another source's report of the trouble; two groups from one
      // source are two troubles by that source's own grouping.
      if (owner) values[':ownSource'] = `${owner.slice(0, owner.indexOf(':') + 1)}`;
      const otherSource = owner ? ' AND NOT begins_with(#owner, :ownSource)' : '';
      condition = ['attribute_not_exists(pk)', ...openAndBounded.map((open) => `${open}${otherSource}`)].join(
        ' OR ',
      );
    }
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.correlation(signal.correlationKey),
          UpdateExpression: `SET ${sets.join(', ')} ADD ${adds.join(', ')}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_OLD',
          // A refused claim of a cross-source key says who holds it: its caller need not read it again.
          ...(signal.claim?.owner ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {}),
        }),
      );
      if (!out.Attributes?.incidentId) return { claimed: true };
      return { claimed: false, before: fromItem.correlation(out.Attributes) };
    } catch (error) {
      if (isConditionalCheckFailed(error)) return { refused: true, ...heldBy(error) };
      throw error;
    }
  }

  async moveClaim(correlationKey: string, from: string, to: string, via?: string): Promise<boolean> {
    const moved = await updateIf(
      this.client,
      this.tableName,
      keys.correlation(correlationKey),
      // A joined key's repeats fold the short way: the incident's own source starts its lifecycle.
      via ? { incidentId: to, via, started: true } : { incidentId: to },
      { expression: 'incidentId = :c_from', values: { ':c_from': from } },
    );
    if (moved && via) {
      // The cross-source key lists who joined, so that closing the incident ends their keys too.
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: keys.correlation(via),
          UpdateExpression: 'ADD joined :joined',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':joined': new Set([correlationKey]) },
        }),
      );
    }
    return moved;
  }

  /** Ends every key of an incident: its own, its cross-source key and the keys that joined it. */
  private async endCorrelation(incident: Incident): Promise<void> {
    const own = await this.findCorrelation(incident.correlationKey);
    await this.markCorrelation(incident.correlationKey, incident.id, 'ended');
    if (!own?.cross) return;
    const cross = await this.findCorrelation(own.cross);
    if (cross?.incidentId !== incident.id) return;
    await this.markCorrelation(own.cross, incident.id, 'ended');
    for (const joined of cross.joined ?? []) await this.markCorrelation(joined, incident.id, 'ended');
  }

  async markCorrelation(
    correlationKey: string,
    incidentId: string,
    mark: 'started' | 'start-failed' | 'ended' | 'adopted',
  ): Promise<void> {
    const fields = {
      started: { started: true },
      'start-failed': { claimedAt: undefined },
      ended: { open: false },
      adopted: { open: true, started: true },
    }[mark];
    await updateIf(this.client, this.tableName, keys.correlation(correlationKey), fields, {
      expression: 'incidentId = :c_mine',
      values: { ':c_mine': incidentId },
    });
  }

  async createIncident(incident: Incident): Promise<boolean> {
    return putIfAbsent(this.client, this.tableName, {
      ...keys.incident(incident.id),
      ...keys.byCreation(incident.detectedAt, incident.id),
      entity: 'incident',
      ...incident,
    });
  }

  async getIncident(id: string): Promise<Incident | undefined> {
    const item = await getItem(this.client, this.tableName, keys.incident(id));
    return item ? fromItem.incident(item) : undefined;
  }

  async updateIncident(read: Incident, change: IncidentChange): Promise<Incident> {
    const key = keys.incident(read.id);
    // Every writer sets updatedAt; it says when the incident last changed, not what.
    const guarded = (Object.keys(change) as (keyof IncidentChange)[]).filter((f) => f !== 'updatedAt');
    for (let attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
      const item = await getItem(this.client, this.tableName, key);
      if (!item) throw new CasebookError(ERROR_NAMES.incidentNotFound, `No incident ${read.id}`);
      const current = fromItem.incident(item);
      const changedMeanwhile = guarded.filter(
        (f) => !sameValue(current[f], read[f]) && !sameValue(current[f], change[f]),
      );
      if (changedMeanwhile.length > 0) {
        throw new ConcurrentChangeError(
          `${read.id} changed since it was read (${changedMeanwhile.join(', ')}); read it again and retry`,
        );
      }
      // A change already made (a retried step) is not made again: the incident stays as it is.
      if (guarded.every((f) => sameValue(current[f], change[f]))) return current;
      const revision = typeof item.revision === 'number' ? item.revision : undefined;
      const written = await updateIf(
        this.client,
        this.tableName,
        key,
        { ...change, revision: (revision ?? 0) + 1 },
        revision === undefined
          ? { expression: 'attribute_not_exists(#c_revision)', names: { '#c_revision': 'revision' } }
          : {
              expression: '#c_revision = :c_revision',
              names: { '#c_revision': 'revision' },
              values: { ':c_revision': revision },
            },
      );
      if (written) {
        // Repeats of an ended incident's alerts take the long way, which checks the occurrences.
        if (change.status && ENDED.has(change.status) && !ENDED.has(current.status)) {
          await this.endCorrelation(current);
        }
        return applied(read, change);
      }
    }
    throw new ConcurrentChangeError(`${read.id} kept changing while this change was written; retry`);
  }

  async listIncidents(limit: number, cursor?: string): Promise<{ items: Incident[]; cursor?: string }> {
    const start = decodeCursor(cursor);
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: 'byCreation',
        KeyConditionExpression: 'gsi1pk = :all',
        ExpressionAttributeValues: { ':all': ALL_INCIDENTS },
        ScanIndexForward: false,
        Limit: limit,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const next = encodeCursor(out.LastEvaluatedKey);
    return { items: (out.Items ?? []).map(fromItem.incident), ...(next ? { cursor: next } : {}) };
  }

  async addTimelineEvent(incidentId: string, event: TimelineEvent): Promise<boolean> {
    return putIfAbsent(this.client, this.tableName, {
      ...keys.event(incidentId, event.key),
      entity: 'event',
      ...event,
    });
  }

  async listTimeline(incidentId: string): Promise<TimelineEvent[]> {
    const items = await queryAll(
      this.client,
      this.tableName,
      keys.incidentPartition(incidentId),
      keys.eventPrefix,
    );
    return items
      .map(fromItem.event)
      .sort((a, b) => (a.at === b.at ? a.key.localeCompare(b.key) : a.at.localeCompare(b.at)));
  }

  async createApproval(approval: Approval): Promise<{ created: boolean; approval: Approval }> {
    const created = await putIfAbsent(this.client, this.tableName, {
      ...this.approvalKey(approval),
      entity: 'approval',
      ...approval,
    });
    if (created) return { created: true, approval };
    const existing = await this.getApproval(approval);
    if (!existing) throw new Error('Approval exists but is unreadable');
    return { created: false, approval: existing };
  }

  async markEmailed(ref: ApprovalKey, seat: SeatName, linkSecretHash: string, at: string): Promise<void> {
    if (seat === 'primary') {
      await this.updateApproval(ref, { emailedAt: at, linkSecretHash });
      return;
    }
    // Only the deadline's step writes a backup, and only the backup's own link's hash changes here.
    const backup = (await this.getApproval(ref))?.backup;
    if (!backup) throw new Error(`No backup asked on ${ref.incidentId} round ${ref.round} ${ref.role}`);
    await this.updateApproval(ref, { backup: { ...backup, emailedAt: at, linkSecretHash } });
  }

  async askBackup(ref: ApprovalKey, backup: BackupRequest): Promise<Approval | undefined> {
    await updateIf(
      this.client,
      this.tableName,
      this.approvalKey(ref),
      { backup },
      {
        expression: 'attribute_not_exists(#c_backup) AND #c_status = :c_pending',
        names: { '#c_backup': 'backup', '#c_status': 'status' },
        values: { ':c_pending': 'PENDING' },
      },
    );
    return this.getApproval(ref);
  }

  async getApproval(ref: ApprovalKey): Promise<Approval | undefined> {
    const item = await getItem(this.client, this.tableName, this.approvalKey(ref));
    return item ? fromItem.approval(item) : undefined;
  }

  async listApprovals(incidentId: string, round: number): Promise<Approval[]> {
    const items = await queryAll(
      this.client,
      this.tableName,
      keys.incidentPartition(incidentId),
      keys.approvalPrefix(round),
    );
    return items.map(fromItem.approval);
  }

  async settleApproval(
    ref: ApprovalKey,
    status: Exclude<ApprovalStatus, 'PENDING'>,
    fields: Pick<Approval, 'decision' | 'withdrawnReason'>,
  ): Promise<boolean> {
    return updateIf(
      this.client,
      this.tableName,
      this.approvalKey(ref),
      {
        status,
        ...(fields.decision ? { decision: fields.decision } : {}),
        ...(fields.withdrawnReason ? { withdrawnReason: fields.withdrawnReason } : {}),
      },
      {
        expression: '#c_status = :c_pending',
        names: { '#c_status': 'status' },
        values: { ':c_pending': 'PENDING' },
      },
    );
  }

  private approvalKey(ref: ApprovalKey) {
    return keys.approval(ref.incidentId, ref.round, ref.role);
  }

  /** Sets fields of an approval that must exist. */
  private async updateApproval(ref: ApprovalKey, fields: Record<string, unknown>): Promise<void> {
    if (!(await updateIf(this.client, this.tableName, this.approvalKey(ref), fields))) {
      throw new Error(`No approval ${ref.incidentId} round ${ref.round} ${ref.role}`);
    }
  }
}
