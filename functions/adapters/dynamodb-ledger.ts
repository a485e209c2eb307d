/**
 * The Effect Ledger and Decision Log over DynamoDB. Exposes only `append` and reads; every write is
 * an insert (`attribute_not_exists`), nothing here updates or deletes (and IAM denies both).
 *
 * Appends are committed in batches (format 3): one conditional put of one chain item per batch of
 * 1–25 entries, at the log place after the head this instance knows. Concurrent `append` calls for
 * one incident on one instance queue up, and while a put is in flight the next ones gather into the
 * next batch, so a caller appending from many workers gets batches without asking for them.
 *
 * Idempotency needs no claim item: a batch is committed only at the true head + 1, and before
 * committing the writer has read every item up to that head. So it keeps, per incident, the hashes
 * of every committed idempotency key (each item's `keys`) and the head they are complete up to; a
 * key among them gets the committed entry back; a put that loses the race reads the items written
 * since, drops the keys they committed and tries again at the new head.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutCommand, paginateQuery, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { HeadSigner } from '../domain/checkpoint.ts';
import type {
  ChainItem,
  ChainTip,
  LedgerEntry,
  LedgerEntryDraft,
  LedgerHead,
  Sealer,
} from '../domain/ledger.ts';
import {
  batchItem,
  entriesOf,
  genesisTip,
  keyHash,
  ledgerDraftSchema,
  MAX_BATCH_ENTRIES,
  newEntryId,
  readEntry,
  tipAfter,
} from '../domain/ledger.ts';
import type { AppendOptions, ChangeMarks, Ledger, LedgerPageRequest, Page } from '../domain/ports.ts';
import { kmsClient } from './aws.ts';
import { dependencyError, isConditionalCheckFailed } from './aws-errors.ts';
import { DynamoDbChangeMarks } from './change-marks.ts';
import type { HeadSignerSource, LedgerKeySource } from './config.ts';
import { headSignerFor } from './head-signer.ts';
import { sealerFor } from './ledger-sealer.ts';

export interface DynamoDbLedgerOptions {
  /** Checks the seals of format 2 entries; nothing is sealed any more. */
  readonly sealer?: Sealer;
  /** Signs each batch's tree head; appending needs it, reading does not. */
  readonly headSigner?: HeadSigner;
  /**
   * Where each commit marks its incident changed (before the put, so no commit goes unmarked),
   * so the anchor reads only the incidents that changed; once per window per instance.
   */
  readonly changes?: Pick<ChangeMarks, 'markChanged'>;
  /** How long one batch may keep losing races before its appends give up (ms). @default 20000 */
  readonly appendDeadlineMs?: number;
  /**
   * The most bytes of entries (as JSON) one item holds: DynamoDB's item limit is 400 KB, and the
   * rest of the item (keys, right edge, head) stays under 10 KB. @default 350000
   */
  readonly maxItemBytes?: number;
}

/** What this instance knows of an incident's log: its head and every key committed up to it. */
interface KnownLog {
  /** The last item's seq (0: none). */
  seq: number;
  tip: ChainTip;
  /** Hash of each committed idempotency key → the seq of the item that holds it. */
  readonly keys: Map<string, number>;
}

/** One `append` call waiting for its batch. */
interface Waiting {
  readonly draft: LedgerEntryDraft;
  readonly keyHash: string;
  readonly id: string;
  readonly bytes: number;
  readonly resolve: (result: { created: boolean; entry: LedgerEntry }) => void;
  readonly reject: (error: unknown) => void;
}

const LOG_CACHE_LIMIT = 1000;

/** Partition of the claims format 2 writers made; never an incident id (those have no `#`). */
export function claimPartition(incidentId: string, idempotencyKey: string): string {
  return `${incidentId}#claim#${keyHash(idempotencyKey)}`;
}

/** Whether a ledger table item is an idempotency claim (written by format 2 writers) rather than a chain item. */
export function isClaimItem(item: Record<string, unknown>): boolean {
  return typeof item.claimOf === 'string';
}

export class DynamoDbLedger implements Ledger {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly headSigner: HeadSigner | undefined;
  private readonly changes: Pick<ChangeMarks, 'markChanged'> | undefined;
  private readonly deadlineMs: number;
  private readonly maxItemBytes: number;
  private readonly logs = new Map<string, KnownLog>();
  private readonly queues = new Map<string, Waiting[]>();

  constructor(client: DynamoDBDocumentClient, tableName: string, options: DynamoDbLedgerOptions = {}) {
    this.client = client;
    this.tableName = tableName;
    this.headSigner = options.headSigner;
    this.changes = options.changes;
    this.deadlineMs = options.appendDeadlineMs ?? 20_000;
    this.maxItemBytes = options.maxItemBytes ?? 350_000;
  }

  append(
    incidentId: string,
    draft: LedgerEntryDraft,
    options: AppendOptions = {},
  ): Promise<{ created: boolean; entry: LedgerEntry }> {
    if (options.newLog && !this.logs.has(incidentId)) {
      this.cache(incidentId, { seq: 0, tip: genesisTip(), keys: new Map() });
    }
    return new Promise((resolve, reject) => {
      if (!this.headSigner) {
        reject(new Error('Appending to the ledger needs a head signer (a signing key file or KMS key)'));
        return;
      }
      let parsed: LedgerEntryDraft;
      try {
        parsed = ledgerDraftSchema.parse(draft);
      } catch (error) {
        reject(error);
        return;
      }
      const waiting: Waiting = {
        draft: parsed,
        keyHash: keyHash(parsed.idempotencyKey),
        id: newEntryId(parsed),
        bytes: Buffer.byteLength(JSON.stringify(parsed)) + 200,
        resolve,
        reject,
      };
      const queue = this.queues.get(incidentId);
      if (queue) {
        queue.push(waiting);
        return;
      }
      this.queues.set(incidentId, [waiting]);
      void this.drain(incidentId);
    });
  }

  /** Commits the incident's queue batch by batch until it is empty. */
  private async drain(incidentId: string): Promise<void> {
    const queue = this.queues.get(incidentId) as Waiting[];
    // One turn of the event loop lets the appends of the same moment join the first batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (queue.length > 0) {
      let bytes = 0;
      let count = 0;
      while (count < queue.length && count < MAX_BATCH_ENTRIES) {
        bytes += (queue[count] as Waiting).bytes;
        if (count > 0 && bytes > this.maxItemBytes) break;
        count++;
      }
      await this.commit(incidentId, queue.splice(0, count));
    }
    this.queues.delete(incidentId);
  }

  /** Commits one batch: settles every waiting append, never throws. */
  private async commit(incidentId: string, batch: readonly Waiting[]): Promise<void> {
    const deadline = Date.now() + this.deadlineMs;
    let todo = batch;
    for (let attempt = 1; ; attempt++) {
      try {
        const log = attempt === 1 ? await this.known(incidentId) : await this.catchUp(incidentId);
        todo = await this.settleCommitted(incidentId, log, todo);
        if (todo.length === 0) return;
        // The same key twice in one batch: the first is written, the others get it back.
        const leaders = new Map<string, Waiting>();
        const followers: Waiting[] = [];
        for (const w of todo) {
          if (leaders.has(w.keyHash)) followers.push(w);
          else leaders.set(w.keyHash, w);
        }
        const writing = [...leaders.values()];
        const item = await batchItem(incidentId, log.tip, writing, this.headSigner as HeadSigner);
        if (Date.now() > deadline) throw lostRace(incidentId, attempt);
        await this.changes?.markChanged(incidentId);
        try {
          await this.client.send(
            new PutCommand({
              TableName: this.tableName,
              Item: item,
              ConditionExpression: 'attribute_not_exists(seq)',
            }),
          );
        } catch (error) {
          if (!isConditionalCheckFailed(error))
            throw dependencyError('Appending to the ledger failed', error);
          todo = [...writing, ...followers];
          await pause(attempt);
          continue;
        }
        this.absorb(log, item);
        const byKey = new Map(item.entries.map((e) => [keyHash(e.idempotencyKey), readEntry(e)]));
        for (const w of writing) w.resolve({ created: true, entry: byKey.get(w.keyHash) as LedgerEntry });
        for (const w of followers) w.resolve({ created: false, entry: byKey.get(w.keyHash) as LedgerEntry });
        return;
      } catch (error) {
        for (const w of todo) w.reject(error);
        return;
      }
    }
  }

  /** Answers the appends whose keys are committed already with the committed entries; returns the rest. */
  private async settleCommitted(
    incidentId: string,
    log: KnownLog,
    todo: readonly Waiting[],
  ): Promise<Waiting[]> {
    const rest: Waiting[] = [];
    const items = new Map<number, ChainItem | undefined>();
    for (const w of todo) {
      const seq = log.keys.get(w.keyHash);
      if (seq === undefined) {
        rest.push(w);
        continue;
      }
      if (!items.has(seq)) items.set(seq, await this.item(incidentId, seq));
      const entry = entriesOf(items.get(seq) ? [items.get(seq) as ChainItem] : []).find(
        (e) => e.idempotencyKey === w.draft.idempotencyKey,
      );
      if (entry) w.resolve({ created: false, entry });
      else
        w.reject(dependencyError('Appending to the ledger failed', new Error(`item ${seq} lost its entry`)));
    }
    return rest;
  }

  private async item(incidentId: string, seq: number): Promise<ChainItem | undefined> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'incidentId = :id AND seq = :seq',
        ExpressionAttributeValues: { ':id': incidentId, ':seq': seq },
        ConsistentRead: true,
      }),
    );
    return out.Items?.[0] as ChainItem | undefined;
  }

  /** What this instance knows of the log, read once on first use: the last item, then every key. */
  private async known(incidentId: string): Promise<KnownLog> {
    const cached = this.logs.get(incidentId);
    if (cached) {
      this.logs.delete(incidentId);
      this.logs.set(incidentId, cached);
      return cached;
    }
    try {
      const last = (await this.lastItems(incidentId, 1))[0];
      let log: KnownLog;
      if (!last) {
        log = { seq: 0, tip: genesisTip(), keys: new Map() };
      } else if (last.format === 3) {
        // The right edge of the tree is in the last item; of the others only their keys are read.
        log = { seq: last.seq, tip: tipAfter(last, undefined), keys: new Map() };
        const pages = paginateQuery(
          { client: this.client },
          {
            TableName: this.tableName,
            KeyConditionExpression: 'incidentId = :id AND seq <= :last',
            ExpressionAttributeValues: { ':id': incidentId, ':last': last.seq },
            ProjectionExpression: 'seq, #keys, idempotencyKey',
            ExpressionAttributeNames: { '#keys': 'keys' },
            ConsistentRead: true,
          },
        );
        for await (const page of pages) {
          for (const item of page.Items ?? []) rememberKeys(log.keys, item as KeysOnly);
        }
      } else {
        // A log still all in format 2: its leaves are the entries, read once to build the tree.
        log = { seq: 0, tip: genesisTip(), keys: new Map() };
        for (const item of await this.items(incidentId, 0, last.seq)) this.absorb(log, item);
      }
      this.cache(incidentId, log);
      return log;
    } catch (error) {
      throw dependencyError('Reading the ledger head failed', error);
    }
  }

  /** Brings what this instance knows up to the table's head: reads only the items after it. */
  private async catchUp(incidentId: string): Promise<KnownLog> {
    const log = await this.known(incidentId);
    try {
      for (const item of await this.items(incidentId, log.seq)) this.absorb(log, item);
    } catch (error) {
      throw dependencyError('Reading the ledger head failed', error);
    }
    return log;
  }

  private absorb(log: KnownLog, item: ChainItem): void {
    if (item.seq <= log.seq) return;
    log.tip = tipAfter(item, log.tip);
    log.seq = item.seq;
    rememberKeys(log.keys, item);
  }

  private cache(incidentId: string, log: KnownLog): void {
    this.logs.set(incidentId, log);
    if (this.logs.size > LOG_CACHE_LIMIT) this.logs.delete(this.logs.keys().next().value as string);
  }

  /** Items after seq `after` (up to `upTo`), read consistently in log order. */
  private async items(incidentId: string, after: number, upTo?: number): Promise<ChainItem[]> {
    const items: ChainItem[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression:
          upTo === undefined
            ? 'incidentId = :id AND seq > :after'
            : 'incidentId = :id AND seq BETWEEN :from AND :to',
        ExpressionAttributeValues:
          upTo === undefined
            ? { ':id': incidentId, ':after': after }
            : { ':id': incidentId, ':from': after + 1, ':to': upTo },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) items.push(...((page.Items ?? []) as ChainItem[]));
    return items;
  }

  private async lastItems(incidentId: string, limit: number, projection?: string): Promise<ChainItem[]> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'incidentId = :id',
        ExpressionAttributeValues: { ':id': incidentId },
        ...(projection
          ? {
              ProjectionExpression: projection,
              ExpressionAttributeNames: { '#hash': 'hash', '#size': 'size' },
            }
          : {}),
        ScanIndexForward: false,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []) as ChainItem[];
  }

  /** The chain items of an incident as stored, in log order: what an auditor verifies. */
  async readChain(incidentId: string): Promise<ChainItem[]> {
    try {
      return await this.items(incidentId, 0);
    } catch (error) {
      throw dependencyError('Reading the ledger failed', error);
    }
  }

  async read(incidentId: string): Promise<LedgerEntry[]> {
    return entriesOf(await this.readChain(incidentId));
  }

  /**
   * Newest entries first, at most `limit` of them; the cursor is the seq of the last entry given
   * (the next page holds the entries before it). An item is read whole, so a page may read up to 24
   * entries more than it gives, and never 25 whole batches for a page of 25 entries.
   */
  async readPage(incidentId: string, { limit, cursor }: LedgerPageRequest): Promise<Page<LedgerEntry>> {
    const before = cursor === undefined ? undefined : Number(cursor);
    if (before !== undefined && !Number.isSafeInteger(before))
      throw new Error(`Not a ledger cursor: ${cursor}`);
    const entries: LedgerEntry[] = [];
    let startKey: Record<string, unknown> | undefined;
    let itemsRead = 0;
    try {
      do {
        // An item holds 1 entry (formats 1 and 2) to 25 (a format 3 batch): the first call reads
        // one item, the next as many as the entries seen so far say the rest of the page needs.
        const perItem = itemsRead === 0 ? undefined : Math.max(1, entries.length / itemsRead);
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
            Limit: perItem === undefined ? 1 : Math.max(1, Math.ceil((limit - entries.length) / perItem)),
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        for (const item of (out.Items ?? []) as ChainItem[]) {
          itemsRead++;
          const newest = entriesOf([item]).reverse();
          entries.push(...newest.filter((e) => before === undefined || e.seq < before));
        }
        startKey = out.LastEvaluatedKey;
      } while (startKey && entries.length < limit);
    } catch (error) {
      throw dependencyError('Reading a page of the ledger failed', error);
    }
    const items = entries.slice(0, limit);
    const last = items.at(-1);
    return last && last.seq > 1 ? { items, cursor: String(last.seq) } : { items };
  }

  /**
   * The log's head, read consistently: the last item's seq and hash, the tree's size and, for a
   * format 3 item, its signed head; undefined for an empty log.
   */
  async readHead(incidentId: string): Promise<LedgerHead | undefined> {
    try {
      const [item] = (await this.lastItems(incidentId, 1, 'seq, #hash, #size, head')) as (ChainItem & {
        size?: number;
        head?: LedgerHead['head'];
      })[];
      if (!item) return undefined;
      return {
        seq: item.seq,
        hash: item.hash,
        size: item.size ?? item.seq,
        ...(item.head ? { head: item.head } : {}),
      };
    } catch (error) {
      throw dependencyError('Reading the ledger head failed', error);
    }
  }
}

interface KeysOnly {
  readonly seq: number;
  readonly keys?: readonly string[];
  readonly idempotencyKey?: string;
}

function rememberKeys(keys: Map<string, number>, item: KeysOnly): void {
  if (item.keys) for (const key of item.keys) keys.set(key, item.seq);
  else if (typeof item.idempotencyKey === 'string') keys.set(keyHash(item.idempotencyKey), item.seq);
}

function lostRace(incidentId: string, attempts: number) {
  return dependencyError(
    'Appending to the ledger failed',
    new Error(
      `still losing the race for the head of ${incidentId} after ${attempts} attempts; nothing was written`,
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
  config: {
    readonly ledgerTable: string;
    readonly ledgerKey: LedgerKeySource;
    readonly headSigner?: HeadSignerSource;
    /** Where appends put their change marks (the operational table). */
    readonly operationsTable?: string;
  },
): DynamoDbLedger {
  return new DynamoDbLedger(db, config.ledgerTable, {
    sealer: sealerFor(config.ledgerKey, kmsClient),
    ...(config.headSigner ? { headSigner: headSignerFor(config.headSigner, kmsClient) } : {}),
    ...(config.operationsTable ? { changes: new DynamoDbChangeMarks(db, config.operationsTable) } : {}),
  });
}
