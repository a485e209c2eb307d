/**
 * The stand-in's memory: an append-only JSON-lines journal, one line per committed request,
 * fsynced before the answer leaves, and replayed on start. A line holds everything one request
 * changed (objects and its idempotency record), so a crash keeps all of it or none of it.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

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

  /** Appends one commit and waits until it is on disk. */
  append(commit: Commit): void {
    if (!this.file) return;
    if (this.fd === undefined) {
      this.fd = openSync(this.file, 'a', 0o600);
      // A torn tail has no newline; end it, or the next commit would be glued onto it and lost too.
      if (existsSync(this.file) && !endsWithNewline(this.file)) writeSync(this.fd, '\n');
    }
    // One write of one line: a crash leaves the whole line or a torn tail that replay skips.
    writeSync(this.fd, `${JSON.stringify({ v: FORMAT_VERSION, commit })}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

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
