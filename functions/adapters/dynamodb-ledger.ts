/**
 * The Effect Ledger and Decision Log over DynamoDB. Exposes only `append` and `read`; every write
 * is an insert (`attribute_not_exists`), nothing here updates or deletes (and IAM denies both).
 *
 * An append costs two puts, whatever the chain's length:
 *  1. a claim of the entry's idempotency key (put-if-absent), so a retried append of the same
 *     effect finds the claim and returns the entry instead of writing a second one;
 *  2. the entry at head + 1 (put-if-absent on `seq`), the head being the one this instance last
 *     wrote or read; a writer that lost the race reads the new head (one consistent Query,
 *     descending, Limit 1) and tries again after a jittered pause, until a deadline.
 * dynalite has no transactions, so the two puts are not atomic: a writer that died between them
 * leaves a claim without an entry. Its claim has a lease longer than an append may last (no entry
 * is put past an append's deadline); once the lease is over a retry takes the key over with a
 * claim of the next generation.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand, paginateQuery, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { sha256Hex } from '../domain/json.ts';
import type { ChainHead, LedgerEntry, LedgerEntryDraft, Sealer } from '../domain/ledger.ts';
import { sealEntry } from '../domain/ledger.ts';
import type { Ledger, LedgerPageRequest, Page } from '../domain/ports.ts';
import { kmsClient } from './aws.ts';
import { dependencyError, isConditionalCheckFailed } from './aws-errors.ts';
import type { LedgerKeySource } from './config.ts';
import { sealerFor } from './ledger-sealer.ts';

export interface DynamoDbLedgerOptions {
  readonly sealer: Sealer;
  /** How long one append may keep losing races before it gives up (ms). @default 20000 */
  readonly appendDeadlineMs?: number;
  /**
   * How long a claim without its entry blocks the key before a retry may take it over (ms): longer
   * than an append may last (its deadline), since no entry is put once that has passed.
   * @default appendDeadlineMs + 10000
   */
  readonly claimLeaseMs?: number;
}

/** An idempotency claim as stored: its own partition, one item per generation. */
interface ClaimItem {
  readonly incidentId: string;
  readonly seq: number;
  readonly claimOf: string;
  readonly idempotencyKey: string;
  /** The chain's head when the claim was made: the entry, once written, comes after it. */
  readonly afterSeq: number;
  readonly claimedAt: number;
}

const HEAD_CACHE_LIMIT = 1000;

/** Partition of the claims of one idempotency key; never an incident id (those have no `#`). */
export function claimPartition(incidentId: string, idempotencyKey: string): string {
  return `${incidentId}#claim#${sha256Hex(idempotencyKey)}`;
}

/** Whether a ledger table item is an idempotency claim rather than an entry. */
export function isClaimItem(item: Record<string, unknown>): boolean {
  return typeof item.claimOf === 'string';
}

export class DynamoDbLedger implements Ledger {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly sealer: Sealer;
  private readonly deadlineMs: number;
  private readonly leaseMs: number;
  /** The last head this instance wrote or read, per incident: usually the true head. */
  private readonly heads = new Map<string, ChainHead>();
  /**
   * This instance's appends to each incident, one after the other: its own concurrent callers
   * then never race each other for the next seq (other writers still may, and are retried).
   */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(client: DynamoDBDocumentClient, tableName: string, options: DynamoDbLedgerOptions) {
    this.client = client;
    this.tableName = tableName;
    this.sealer = options.sealer;
    this.deadlineMs = options.appendDeadlineMs ?? 20_000;
    this.leaseMs = options.claimLeaseMs ?? this.deadlineMs + 10_000;
  }

  append(incidentId: string, draft: LedgerEntryDraft): Promise<{ created: boolean; entry: LedgerEntry }> {
    const before = this.queues.get(incidentId) ?? Promise.resolve();
    const appended = before.catch(() => undefined).then(() => this.appendNow(incidentId, draft));
    this.queues.set(incidentId, appended);
    const forget = () => {
      if (this.queues.get(incidentId) === appended) this.queues.delete(incidentId);
    };
    appended.then(forget, forget);
    return appended;
  }

  private async appendNow(
    incidentId: string,
    draft: LedgerEntryDraft,
  ): Promise<{ created: boolean; entry: LedgerEntry }> {
    const deadline = Date.now() + this.deadlineMs;
    const claimed = await this.claim(incidentId, draft.idempotencyKey, deadline);
    if (claimed.existing) return { created: false, entry: claimed.existing };

    let head = this.heads.get(incidentId) ?? (await this.readHead(incidentId));
    for (let attempt = 1; ; attempt++) {
      const entry = await sealEntry(incidentId, head, draft, this.sealer);
      // Past its deadline an append puts nothing more: a retry may then take the claim over.
      if (Date.now() > deadline) throw lostRace(draft.idempotencyKey, attempt);
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: entry,
            ConditionExpression: 'attribute_not_exists(seq)',
          }),
        );
        this.remember(incidentId, entry);
        return { created: true, entry };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) throw dependencyError('Appending to the ledger failed', error);
      }
      await pause(attempt);
      head = await this.readHead(incidentId);
    }
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
    const last = entries.at(-1);
    if (last) this.remember(incidentId, last);
    return entries;
  }

  /**
   * Newest entries first, one Query of at most `limit` items; the cursor is the last seq it gave.
   * Kept apart from `read` so the storage format can change under it.
   */
  async readPage(incidentId: string, { limit, cursor }: LedgerPageRequest): Promise<Page<LedgerEntry>> {
    const before = cursor === undefined ? undefined : Number(cursor);
    if (before !== undefined && !Number.isSafeInteger(before))
      throw new Error(`Not a ledger cursor: ${cursor}`);
    try {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression:
            before === undefined ? 'incidentId = :id' : 'incidentId = :id AND seq < :before',
          ExpressionAttributeValues: {
            ':id': incidentId,
            ...(before === undefined ? {} : { ':before': before }),
          },
          ScanIndexForward: false,
          Limit: limit,
        }),
      );
      const items = (out.Items ?? []) as LedgerEntry[];
      const last = items.at(-1);
      return out.LastEvaluatedKey && last ? { items, cursor: String(last.seq) } : { items };
    } catch (error) {
      throw dependencyError('Reading a page of the ledger failed', error);
    }
  }

  /** The chain's last entry as its seq and hash, read consistently; undefined for an empty chain. */
  async readHead(incidentId: string): Promise<ChainHead | undefined> {
    try {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'incidentId = :id',
          ExpressionAttributeValues: { ':id': incidentId },
          ProjectionExpression: 'seq, #hash',
          ExpressionAttributeNames: { '#hash': 'hash' },
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
        }),
      );
      const item = out.Items?.[0] as ChainHead | undefined;
      if (item) this.remember(incidentId, item);
      return item ? { seq: item.seq, hash: item.hash } : undefined;
    } catch (error) {
      throw dependencyError('Reading the ledger head failed', error);
    }
  }

  /**
   * Claims the key for this append, or finds the entry an earlier append with the same key wrote.
   * A claim whose entry is not there yet is waited for while its lease runs, then taken over.
   */
  private async claim(
    incidentId: string,
    key: string,
    deadline: number,
  ): Promise<{ readonly existing?: LedgerEntry }> {
    const partition = claimPartition(incidentId, key);
    let generation = 1;
    for (let attempt = 1; ; attempt++) {
      const afterSeq =
        (this.heads.get(incidentId) ?? (generation > 1 ? await this.readHead(incidentId) : undefined))?.seq ??
        0;
      const item: ClaimItem = {
        incidentId: partition,
        seq: generation,
        claimOf: incidentId,
        idempotencyKey: key,
        afterSeq,
        claimedAt: Date.now(),
      };
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.tableName,
            Item: item,
            ConditionExpression: 'attribute_not_exists(seq)',
          }),
        );
        return {};
      } catch (error) {
        if (!isConditionalCheckFailed(error))
          throw dependencyError('Claiming a ledger idempotency key failed', error);
      }
      const latest = await this.latestClaim(partition);
      if (!latest) continue;
      const existing = await this.findEntry(incidentId, key, latest.afterSeq);
      if (existing) return { existing };
      if (Date.now() - latest.claimedAt > this.leaseMs) {
        generation = latest.seq + 1; // the claimant died between its two puts: take the key over
        continue;
      }
      if (Date.now() > deadline) {
        throw dependencyError(
          'Appending to the ledger failed',
          new Error(`an append of ${key} to ${incidentId} is under way elsewhere`),
        );
      }
      await pause(attempt);
      generation = latest.seq;
    }
  }

  private async latestClaim(partition: string): Promise<ClaimItem | undefined> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'incidentId = :p',
        ExpressionAttributeValues: { ':p': partition },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    return out.Items?.[0] as ClaimItem | undefined;
  }

  /** The entry with `key`, searched among the entries after `afterSeq` (where its claim put it). */
  private async findEntry(
    incidentId: string,
    key: string,
    afterSeq: number,
  ): Promise<LedgerEntry | undefined> {
    const pages = paginateQuery(
      { client: this.client, pageSize: 100 },
      {
        TableName: this.tableName,
        KeyConditionExpression: 'incidentId = :id AND seq > :after',
        ExpressionAttributeValues: { ':id': incidentId, ':after': afterSeq },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      const found = (page.Items as LedgerEntry[] | undefined)?.find((e) => e.idempotencyKey === key);
      if (found) return found;
    }
    return undefined;
  }

  private remember(incidentId: string, head: ChainHead): void {
    const known = this.heads.get(incidentId);
    if (known && known.seq >= head.seq) return;
    this.heads.delete(incidentId);
    this.heads.set(incidentId, { seq: head.seq, hash: head.hash });
    if (this.heads.size > HEAD_CACHE_LIMIT) this.heads.delete(this.heads.keys().next().value as string);
  }
}

function lostRace(key: string, attempts: number) {
  return dependencyError(
    'Appending to the ledger failed',
    new Error(
      `still losing the race for the next seq after ${attempts} attempts; the claim of ${key} stands for a retry`,
    ),
  );
}

/** Full-jitter backoff: 0–(5 ms × 2^attempt), capped at 200 ms. */
function pause(attempt: number): Promise<void> {
  const ceiling = Math.min(200, 5 * 2 ** Math.min(attempt, 6));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/** The ledger a configuration names, over a client built once per cold start. */
export function ledgerFromConfig(
  db: DynamoDBDocumentClient,
  config: { readonly ledgerTable: string; readonly ledgerKey: LedgerKeySource },
): DynamoDbLedger {
  return new DynamoDbLedger(db, config.ledgerTable, { sealer: sealerFor(config.ledgerKey, kmsClient) });
}
