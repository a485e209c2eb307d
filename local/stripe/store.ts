/**
 * The stand-in's memory: an append-only JSON-lines journal, one line per committed request,
 * on disk (fsynced) before any answer leaves, and replayed on start. A line holds everything one
 * request changed (objects and its idempotency record), so a crash keeps all of it or none of it.
 * Lines committed while a write is under way go to disk together in the next write (group
 * commit): one fsync answers many requests, and the event loop never waits on the disk.
 */
import {
  closeSync,
  existsSync,
  fsync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  write,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** A Stripe API object as the stand-in answers it (`id`, `object`, `created`, …). */
export type StripeObject = Record<string, unknown> & { id: string; object: string; created: number };

/** What the stand-in knows about an object and Stripe would not show: how a refund will end. */
export interface Hidden {
  /** The test card behind a charge (`visa`, `refundFail`, …). */
  readonly card?: string;
  /** A customer's balance per currency (Stripe shows only the one in the customer's currency). */
  readonly balances?: Readonly<Record<string, number>>;
  /** A refund's next status and when it takes it (epoch ms). */
  readonly settle?: { readonly at: number; readonly to: 'succeeded' | 'failed' };
}

export interface Entity {
  readonly object: StripeObject;
  readonly hidden?: Hidden;
}

/** An answer kept for an Idempotency-Key. */
export interface IdempotencyRecord {
  readonly key: string;
  /** `POST /v1/refunds`: a key reused on another endpoint is refused with its own message. */
  readonly endpoint: string;
  /** Canonical parameters of the first request. */
  readonly params: string;
  readonly status: number;
  readonly body: string;
  readonly requestId: string;
  /** Epoch ms; Stripe forgets keys after 24 hours. */
  readonly at: number;
}

export interface Commit {
  readonly entities: readonly Entity[];
  readonly idempotency?: IdempotencyRecord;
}

const FORMAT_VERSION = 1;

/** The journal under `dir`, or nothing on disk when `dir` is undefined (tests that need no restart). */
export class Journal {
  private readonly file: string | undefined;
  private fd: number | undefined;
  /** Lines committed and not yet handed to a write. */
  private queued: string[] = [];
  /** Lines committed so far, and how many of them are on disk. */
  private committed = 0;
  private onDisk = 0;
  /** The writes under way, one after the other. */
  private flushing: Promise<void> | undefined;
  /** Who waits for the disk to hold the first `upTo` lines. */
  private waiters: { upTo: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  /** Why the journal takes no more commits: a write or an fsync failed. */
  private broken: Error | undefined;

  constructor(dir: string | undefined) {
    this.file = dir ? join(dir, 'journal.jsonl') : undefined;
    if (dir) mkdirSync(dir, { recursive: true });
  }

  /** Every commit written so far; a torn last line (a crash mid-write) is skipped and reported. */
  replay(log: (line: string) => void): Commit[] {
    if (!this.file || !existsSync(this.file)) return [];
    const lines = readFileSync(this.file, 'utf8').split('\n');
    const commits: Commit[] = [];
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        const parsed = JSON.parse(line) as { v: number; commit: Commit };
        if (parsed.v !== FORMAT_VERSION) throw new Error(`format version ${parsed.v}`);
        commits.push(parsed.commit);
      } catch (error) {
        log(`stripe: skipping unreadable journal line ${i + 1}: ${(error as Error).message}`);
      }
    });
    return commits;
  }

  /**
   * Commits one request's changes: the next write takes them to disk. Throws, committing nothing,
   * once a write has failed.
   */
  append(commit: Commit): void {
    if (!this.file) return;
    if (this.broken) throw this.broken;
    this.queued.push(`${JSON.stringify({ v: FORMAT_VERSION, commit })}\n`);
    this.committed++;
    this.flushing ??= this.flush();
  }

  /**
   * Resolves once every commit made so far is on disk — what an answer waits for, since it may
   * tell of any of them; rejects if a write fails first.
   */
  durable(): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.onDisk >= this.committed) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ upTo: this.committed, resolve, reject }));
  }

  /** Writes what is queued, one write and one fsync at a time, until nothing is left. */
  private async flush(): Promise<void> {
    try {
      if (this.fd === undefined) {
        this.fd = openSync(this.file as string, 'a', 0o600);
        // A torn tail has no newline; end it, or the next commit would be glued onto it and lost too.
        if (!endsWithNewline(this.file as string)) writeSync(this.fd, '\n');
      }
      while (this.queued.length > 0) {
        const lines = this.queued;
        this.queued = [];
        // A crash mid-write leaves whole lines and at most one torn tail, which replay skips; no
        // request whose line was not yet on disk has been answered.
        const bytes = Buffer.from(lines.join(''));
        for (let offset = 0; offset < bytes.length; )
          offset += (await writeAsync(this.fd, bytes, offset, bytes.length - offset)).bytesWritten;
        await fsyncAsync(this.fd);
        this.onDisk += lines.length;
        const done = this.waiters.filter((w) => w.upTo <= this.onDisk);
        this.waiters = this.waiters.filter((w) => w.upTo > this.onDisk);
        for (const w of done) w.resolve();
      }
    } catch (error) {
      this.broken = new Error(`the journal could not be written: ${(error as Error).message}`);
      for (const w of this.waiters) w.reject(this.broken);
      this.waiters = [];
    } finally {
      this.flushing = undefined;
    }
  }

  /** Waits for the writes under way, then closes the file. */
  async close(): Promise<void> {
    await this.flushing;
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

const writeAsync = promisify(write);
const fsyncAsync = promisify(fsync);

function endsWithNewline(file: string): boolean {
  const { size } = statSync(file);
  if (size === 0) return true;
  const last = Buffer.alloc(1);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, last, 0, 1, size - 1);
  } finally {
    closeSync(fd);
  }
  return last[0] === 0x0a;
}
