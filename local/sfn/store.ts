import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { HistoryEvent } from './history.ts';

/** The states an execution can be in. */
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** Everything the server knows about one execution; this is what is written to disk. */
export interface ExecutionRecord {
  /** Start order, so listings stay stable across restarts and same-millisecond starts. */
  seq: number;
  executionArn: string;
  stateMachineArn: string;
  name: string;
  status: ExecutionStatus;
  startDate: number;
  stopDate?: number;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  traceHeader?: string;
  roleArn: string;
  events: HistoryEvent[];
  /** Fingerprints of the task tokens the execution issued, never the tokens themselves. */
  taskTokenFingerprints: string[];
}

const FORMAT_VERSION = 1;
// Writes are batched: a busy execution changes many times per millisecond.
const WRITE_DELAY_MS = 20;

/** Executions as JSON files under `<dataDir>/executions`, each replaced atomically (temp file + rename). */
export class ExecutionStore {
  private readonly dir: string;
  private readonly log: (line: string) => void;
  private readonly dirty = new Map<string, ExecutionRecord>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private tempCounter = 0;

  constructor(dataDir: string, log: (line: string) => void) {
    this.dir = path.join(dataDir, 'executions');
    this.log = log;
  }

  /** Creates the directory and reads every stored execution (unreadable files are logged and skipped). */
  async load(): Promise<ExecutionRecord[]> {
    await mkdir(this.dir, { recursive: true });
    const records: ExecutionRecord[] = [];
    for (const file of await readdir(this.dir)) {
      const full = path.join(this.dir, file);
      if (file.endsWith('.tmp')) {
        // Left over from a write interrupted before its rename; the previous version is still in place.
        await rm(full, { force: true });
        continue;
      }
      if (!file.endsWith('.json')) continue;
      try {
        const parsed: unknown = JSON.parse(await readFile(full, 'utf8'));
        if (!isStoredExecution(parsed)) throw new Error('not an execution record');
        records.push(parsed.execution);
      } catch (error) {
        this.log(`sfn: skipping unreadable execution file ${full}: ${(error as Error).message}`);
      }
    }
    return records.sort((a, b) => a.seq - b.seq);
  }

  /** Schedules `record` to be written (soon, batched with other changes). */
  save(record: ExecutionRecord): void {
    this.dirty.set(record.executionArn, record);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, WRITE_DELAY_MS);
  }

  /** Writes everything scheduled so far and waits for it. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.drain();
    await this.writing;
  }

  private drain(): void {
    const batch = [...this.dirty.values()];
    this.dirty.clear();
    if (batch.length === 0) return;
    // One chain of writes, so two versions of a file are never written at the same time.
    this.writing = this.writing.then(async () => {
      for (const record of batch) {
        try {
          await this.write(record);
        } catch (error) {
          this.log(`sfn: could not persist ${record.executionArn}: ${(error as Error).message}`);
        }
      }
    });
  }

  private async write(record: ExecutionRecord): Promise<void> {
    const file = path.join(
      this.dir,
      `${createHash('sha256').update(record.executionArn).digest('hex')}.json`,
    );
    const temp = `${file}.${process.pid}.${this.tempCounter++}.tmp`;
    await writeFile(temp, JSON.stringify({ version: FORMAT_VERSION, execution: record }));
    await rename(temp, file);
  }
}

function isStoredExecution(value: unknown): value is { version: number; execution: ExecutionRecord } {
  if (typeof value !== 'object' || value === null || !('version' in value) || !('execution' in value))
    return false;
  const execution = value.execution;
  return (
    value.version === FORMAT_VERSION &&
    typeof execution === 'object' &&
    execution !== null &&
    'executionArn' in execution &&
    typeof execution.executionArn === 'string' &&
    'events' in execution &&
    Array.isArray(execution.events) &&
    'taskTokenFingerprints' in execution &&
    Array.isArray(execution.taskTokenFingerprints)
  );
}
