/**
 * Executions on disk: one append-only journal per execution under `<dataDir>/executions`, a JSON
 * line per record. The first line describes the execution (its definition included); every later
 * line is a history event and/or what replay needs (a task token, a retry's due time), keyed by
 * where in the definition it happened. Lines are written in batches and fsync'ed; whoever needs a
 * line on disk before going on (a task result before the engine sees it, a task's token before the
 * task is invoked) awaits `sync()`.
 */
import { createHash } from 'node:crypto';
import { type FileHandle, mkdir, open, readdir, readFile, rm, truncate } from 'node:fs/promises';
import path from 'node:path';
import type { HistoryEvent } from './history.ts';

/** The states an execution can be in. */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** What is known about an execution when it starts; the first line of its journal. */
export interface ExecutionMeta {
  /** Start order, so listings stay stable across restarts and same-millisecond starts. */
  seq: number;
  executionArn: string;
  stateMachineArn: string;
  stateMachineName: string;
  name: string;
  startDate: number;
  input: string;
  traceHeader?: string;
  roleArn: string;
  /** The definition the execution runs, as configured (DescribeStateMachineForExecution, replay). */
  definition: string;
}

/** One journal line after the first. `k` says where in the definition, `r` what happened there. */
export interface JournalLine {
  k?: string;
  r?: string;
  e?: HistoryEvent;
  d?: Record<string, unknown>;
}

/** The closing line's data. */
export interface Closing {
  status: Exclude<ExecutionStatus, 'RUNNING'>;
  output?: string;
  error?: string;
  cause?: string;
}

/** Everything the server knows about one execution. */
export interface ExecutionRecord extends ExecutionMeta {
  status: ExecutionStatus;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  events: HistoryEvent[];
}

/** An execution read back from disk. */
export interface LoadedExecution {
  record: ExecutionRecord;
  /** Every line after the first: what a RUNNING execution replays. */
  lines: JournalLine[];
}

const FORMAT_VERSION = 2;
const CLOSED = 'closed';

/** Appends to one execution's journal, batching lines and fsync'ing each batch. */
export class Journal {
  private readonly handle: Promise<FileHandle>;
  private readonly log: (line: string) => void;
  private readonly file: string;
  private pending: string[] = [];
  private appended = 0;
  private synced = 0;
  private chain: Promise<void> = Promise.resolve();
  private scheduled = false;
  private closed = false;
  private halted = false;
  private closing: Promise<void> | undefined;

  constructor(file: string, handle: Promise<FileHandle>, log: (line: string) => void) {
    this.file = file;
    this.handle = handle;
    this.log = log;
  }

  /** Queues a line; it reaches the disk with the next batch. */
  append(line: JournalLine): void {
    if (this.closed) return;
    this.pending.push(`${JSON.stringify(line)}\n`);
    this.appended++;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.sync().catch(() => {});
      });
    }
  }

  /** Resolves once every line appended so far is written and fsync'ed (never, once halted). */
  sync(): Promise<void> {
    if (this.halted) return new Promise(() => {});
    const target = this.appended;
    this.chain = this.chain.then(async () => {
      if (this.synced >= target || this.pending.length === 0 || this.halted) return;
      const batch = this.pending.join('');
      const upTo = this.appended;
      this.pending = [];
      try {
        const handle = await this.handle;
        await handle.write(batch);
        await handle.datasync();
        this.synced = upTo;
      } catch (error) {
        this.log(`sfn: could not write ${this.file}: ${(error as Error).message}`);
        throw error;
      }
    });
    return this.chain;
  }

  /** Drops what is pending and writes nothing more, as a killed process would. */
  halt(): void {
    if (this.halted) return;
    this.closed = true;
    this.halted = true;
    this.pending = [];
    void this.chain.finally(async () => (await this.handle).close()).catch(() => {});
  }

  /** Writes what is pending and closes the file. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.closed) return;
      await this.sync().catch(() => {});
      this.closed = true;
      await (await this.handle).close().catch(() => {});
    })();
    return this.closing;
  }
}

/** Executions as append-only journals under `<dataDir>/executions`. */
export class ExecutionStore {
  private readonly dir: string;
  private readonly log: (line: string) => void;
  private directorySync: Promise<void> | undefined;
  private directorySyncs: Promise<void> = Promise.resolve();

  constructor(dataDir: string, log: (line: string) => void) {
    this.dir = path.join(dataDir, 'executions');
    this.log = log;
  }

  private fileOf(executionArn: string): string {
    return path.join(this.dir, `${createHash('sha256').update(executionArn).digest('hex')}.jsonl`);
  }

  /** Reads every stored execution (unreadable files are logged and skipped). */
  async load(): Promise<LoadedExecution[]> {
    await mkdir(this.dir, { recursive: true });
    const loaded: LoadedExecution[] = [];
    for (const file of await readdir(this.dir)) {
      const full = path.join(this.dir, file);
      try {
        if (file.endsWith('.jsonl')) loaded.push(await this.read(full));
        else if (file.endsWith('.json')) loaded.push(await this.upgrade(full));
        else if (file.endsWith('.tmp')) await rm(full, { force: true });
      } catch (error) {
        this.log(`sfn: skipping unreadable execution file ${full}: ${(error as Error).message}`);
      }
    }
    return loaded.sort((a, b) => a.record.seq - b.record.seq);
  }

  /** Creates an execution's journal with its header (and `first` line) on disk, directory entry included. */
  async create(meta: ExecutionMeta, first?: JournalLine): Promise<Journal> {
    const file = this.fileOf(meta.executionArn);
    const handle = await open(file, 'wx');
    try {
      const header = `${JSON.stringify({ v: FORMAT_VERSION, execution: meta })}\n`;
      await handle.write(first ? `${header}${JSON.stringify(first)}\n` : header);
      await handle.datasync();
      await this.syncDirectory();
    } catch (error) {
      await handle.close();
      throw error;
    }
    return new Journal(file, Promise.resolve(handle), this.log);
  }

  /**
   * Makes new journals' directory entries durable. Executions started together share one fsync of the
   * directory: one that began after a file was created covers it.
   */
  private syncDirectory(): Promise<void> {
    if (!this.directorySync) {
      const next = this.directorySyncs.then(async () => {
        this.directorySync = undefined;
        const dir = await open(this.dir, 'r');
        await dir.sync().finally(() => dir.close());
      });
      this.directorySync = next;
      this.directorySyncs = next.catch(() => {});
    }
    return this.directorySync;
  }

  /** Reopens a loaded execution's journal for appending. */
  reopen(executionArn: string): Journal {
    const file = this.fileOf(executionArn);
    return new Journal(file, open(file, 'a'), this.log);
  }

  private async read(file: string): Promise<LoadedExecution> {
    const text = await readFile(file, 'utf8');
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) {
      // A line torn by a crash mid-write: it never reached the disk whole, so it never counted.
      await truncate(file, Buffer.byteLength(text.slice(0, end)));
    }
    const [first = '', ...rest] = text.slice(0, end).split('\n');
    const header: unknown = JSON.parse(first);
    if (!isHeader(header)) throw new Error('not an execution journal');
    const record: ExecutionRecord = { ...header.execution, status: 'RUNNING', events: [] };
    const lines: JournalLine[] = [];
    for (const raw of rest) {
      if (raw === '') continue;
      const line = JSON.parse(raw) as JournalLine;
      lines.push(line);
      if (line.e) record.events.push(line.e);
      if (line.r === CLOSED && line.d) applyClosing(record, line.d as unknown as Closing, line.e?.timestamp);
    }
    return { record, lines };
  }

  /** Converts a journal of the first format (one JSON file, rewritten whole) into an append-only one. */
  private async upgrade(file: string): Promise<LoadedExecution> {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { version?: number; execution?: LegacyRecord };
    const old = parsed.execution;
    if (parsed.version !== 1 || !old || !Array.isArray(old.events))
      throw new Error('not an execution record');
    const events = old.events;
    const last = events.at(-1);
    const meta: ExecutionMeta = {
      seq: old.seq,
      executionArn: old.executionArn,
      stateMachineArn: old.stateMachineArn,
      stateMachineName: old.stateMachineArn.split(':').at(-1) ?? '',
      name: old.name,
      startDate: old.startDate,
      input: old.input,
      ...(old.traceHeader ? { traceHeader: old.traceHeader } : {}),
      roleArn: old.roleArn,
      definition: '{}',
    };
    // The first format kept no replay data: an execution it left running cannot continue.
    const closing: Closing =
      old.status === 'RUNNING'
        ? {
            status: 'ABORTED',
            error: 'LocalServerUpgraded',
            cause: 'This execution was recorded by an older local server that could not continue executions.',
          }
        : { status: old.status, output: old.output, error: old.error, cause: old.cause };
    const lines: JournalLine[] = events.map((e) => ({ e }));
    const closed = lines.at(-1);
    if (old.status !== 'RUNNING' && closed) {
      // The last event of a closed execution is its closing event.
      closed.r = CLOSED;
      closed.d = { ...closing };
    } else {
      const at = Math.max(Date.now(), last?.timestamp ?? 0);
      const id = (last?.id ?? 0) + 1;
      const e: HistoryEvent = {
        id,
        previousEventId: 0,
        timestamp: at,
        type: 'ExecutionAborted',
        executionAbortedEventDetails: { error: closing.error, cause: closing.cause },
      };
      lines.push({ r: CLOSED, e, d: { ...closing } });
    }
    const journal = await this.create(meta);
    for (const line of lines) journal.append(line);
    await journal.close();
    await rm(file, { force: true });
    return this.read(this.fileOf(meta.executionArn));
  }
}

interface LegacyRecord {
  seq: number;
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: number;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  traceHeader?: string;
  roleArn: string;
  events: HistoryEvent[];
}

/** The journal line that closes an execution. */
export function closingLine(closing: Closing, event: HistoryEvent): JournalLine {
  return { r: CLOSED, e: event, d: { ...closing } };
}

/** Sets the status fields of a record from its closing. */
export function applyClosing(record: ExecutionRecord, closing: Closing, at: number | undefined): void {
  record.status = closing.status;
  record.stopDate = at ?? record.stopDate ?? Date.now();
  if (closing.output !== undefined) record.output = closing.output;
  if (closing.error !== undefined) record.error = closing.error;
  if (closing.cause !== undefined) record.cause = closing.cause;
}

function isHeader(value: unknown): value is { v: number; execution: ExecutionMeta } {
  if (typeof value !== 'object' || value === null || !('v' in value) || !('execution' in value)) return false;
  const execution = value.execution;
  return (
    value.v === FORMAT_VERSION &&
    typeof execution === 'object' &&
    execution !== null &&
    'executionArn' in execution &&
    typeof execution.executionArn === 'string' &&
    'definition' in execution &&
    typeof execution.definition === 'string'
  );
}
