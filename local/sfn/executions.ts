import { type CompiledDefinition, compileDefinition } from './definition.ts';
import { ExecutionRun, type PreparedMachine } from './execution-run.ts';
import { type HistoryEvent, type JsonValue, NOT_TRUNCATED } from './history.ts';
import { executionArnOf, SfnApiError } from './protocol.ts';
import {
  closingLine,
  type ExecutionMeta,
  type ExecutionRecord,
  type ExecutionStore,
  type Journal,
} from './store.ts';
import type { TaskServices } from './task-resources.ts';
import { TaskTokens } from './task-tokens.ts';

/** What the registry needs from the server around it. */
export interface ExecutionsOptions {
  region: string;
  accountId: string;
  store: ExecutionStore;
  services: TaskServices;
  log: (line: string) => void;
  maxHistoryEvents: number;
}

/** Every execution the server knows about: all of them in memory and on disk, the running ones running. */
export class Executions {
  private readonly options: ExecutionsOptions;
  private readonly records = new Map<string, ExecutionRecord>();
  private readonly running = new Map<string, { run: ExecutionRun; journal: Journal }>();
  private readonly tokens = new TaskTokens();
  private nextSeq = 1;
  private closing = false;

  constructor(options: ExecutionsOptions) {
    this.options = options;
  }

  /**
   * Loads every stored execution and continues the ones that were running: each replays its own
   * definition against its journal. Tokens of tasks that were waiting are live again at once.
   */
  async load(): Promise<void> {
    const resumed: ExecutionRun[] = [];
    for (const { record, lines } of await this.options.store.load()) {
      this.records.set(record.executionArn, record);
      this.nextSeq = Math.max(this.nextSeq, record.seq + 1);
      for (const line of lines) {
        if (line.r === 'scheduled' && typeof line.d?.token === 'string') this.tokens.remember(line.d.token);
      }
      if (record.status !== 'RUNNING') continue;
      const journal = this.options.store.reopen(record.executionArn);
      let definition: CompiledDefinition;
      try {
        definition = this.compile(record.definition);
      } catch (error) {
        // Cannot happen for a definition the server started the execution with, unless the engine changed.
        await this.failUnresumable(record, journal, (error as Error).message);
        continue;
      }
      for (const token of ExecutionRun.waitingTokens(lines)) this.tokens.reserve(token);
      resumed.push(this.track(record, definition, journal, lines));
    }
    if (resumed.length > 0) this.options.log(`sfn: continuing ${resumed.length} running execution(s)`);
    for (const run of resumed) run.start();
  }

  /** Resolves once every execution that was continued has reached the tasks it waits for again. */
  resumed(): Promise<void> {
    return this.tokens.settled();
  }

  private compile(definition: string): CompiledDefinition {
    return compileDefinition(JSON.parse(definition) as object);
  }

  private async failUnresumable(record: ExecutionRecord, journal: Journal, why: string): Promise<void> {
    const last = record.events.at(-1);
    const event: HistoryEvent = {
      id: (last?.id ?? 0) + 1,
      previousEventId: last?.id ?? 0,
      timestamp: Math.max(Date.now(), last?.timestamp ?? 0),
      type: 'ExecutionFailed',
      executionFailedEventDetails: {
        error: 'States.Runtime',
        cause: `The execution cannot continue: ${why}`,
      },
    };
    record.events.push(event);
    Object.assign(record, { status: 'FAILED', stopDate: event.timestamp, error: 'States.Runtime' });
    journal.append(
      closingLine(
        { status: 'FAILED', error: 'States.Runtime', cause: `The execution cannot continue: ${why}` },
        event,
      ),
    );
    await journal.close();
  }

  private track(
    record: ExecutionRecord,
    definition: CompiledDefinition,
    journal: Journal,
    lines: Parameters<typeof ExecutionRun.waitingTokens>[0] = [],
  ): ExecutionRun {
    const run = new ExecutionRun(
      record,
      definition,
      {
        region: this.options.region,
        stateMachineArn: record.stateMachineArn,
        tokens: this.tokens,
        services: this.options.services,
        journal,
        log: this.options.log,
        maxHistoryEvents: this.options.maxHistoryEvents,
        closed: (closed) => this.running.delete(closed.executionArn),
      },
      lines,
    );
    this.running.set(record.executionArn, { run, journal });
    return run;
  }

  /**
   * Starts an execution, following AWS's rules for a reused name: the same input while it runs returns
   * the running execution again; anything else is ExecutionAlreadyExists. The execution is on disk
   * before this resolves.
   */
  async start(
    machine: PreparedMachine,
    name: string,
    input: string,
    traceHeader: string | undefined,
  ): Promise<ExecutionRecord> {
    if (this.closing) throw new SfnApiError('ServiceUnavailable', 'The local server is shutting down.', 503);
    const { region, accountId } = this.options;
    const executionArn = executionArnOf(region, accountId, machine.name, name);
    const existing = this.records.get(executionArn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === input) return existing;
      throw new SfnApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const meta: ExecutionMeta = {
      seq: this.nextSeq++,
      executionArn,
      stateMachineArn: machine.arn,
      stateMachineName: machine.name,
      name,
      startDate: Date.now(),
      input,
      ...(traceHeader === undefined ? {} : { traceHeader }),
      roleArn: machine.roleArn,
      definition: machine.definition,
    };
    const started: HistoryEvent = {
      id: 1,
      previousEventId: 0,
      timestamp: meta.startDate,
      type: 'ExecutionStarted',
      executionStartedEventDetails: { input, inputDetails: NOT_TRUNCATED, roleArn: machine.roleArn },
    };
    const record: ExecutionRecord = { ...meta, status: 'RUNNING', events: [started] };
    this.records.set(executionArn, record);
    let journal: Journal;
    try {
      journal = await this.options.store.create(meta, { r: 'started', e: started });
    } catch (error) {
      this.records.delete(executionArn);
      throw error;
    }
    this.options.log(`sfn: execution ${name} of ${machine.name} started`);
    this.track(record, machine.compiled, journal).start();
    return record;
  }

  /** The execution with this ARN, or ExecutionDoesNotExist. */
  get(executionArn: string): ExecutionRecord {
    const record = this.records.get(executionArn);
    if (!record)
      throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return record;
  }

  /** The executions of one state machine, newest first. */
  listFor(stateMachineArn: string): ExecutionRecord[] {
    return [...this.records.values()]
      .filter((record) => record.stateMachineArn === stateMachineArn)
      .sort((a, b) => b.seq - a.seq);
  }

  /** Aborts a running execution (recorded before this resolves); a closed one is left as it is. */
  async stop(executionArn: string, error: string | undefined, cause: string | undefined): Promise<number> {
    const record = this.get(executionArn);
    await this.running.get(executionArn)?.run.stop(error, cause);
    return record.stopDate ?? Date.now();
  }

  /** SendTaskSuccess: resolves once the result is recorded. */
  sendTaskSuccess(token: string, output: JsonValue): Promise<void> {
    return this.tokens.complete(token, { kind: 'success', output });
  }

  /** SendTaskFailure: resolves once the failure is recorded. */
  sendTaskFailure(token: string, error: string | undefined, cause: string | undefined): Promise<void> {
    return this.tokens.complete(token, { kind: 'failure', error: error ?? null, cause: cause ?? null });
  }

  /** Throws what AWS answers for a token that is not live. */
  assertTaskToken(token: string): Promise<void> {
    return this.tokens.assertLive(token);
  }

  /** SendTaskHeartbeat: restarts the task's heartbeat timeout, or throws what AWS answers for the token. */
  heartbeat(token: string): Promise<void> {
    return this.tokens.heartbeat(token);
  }

  /**
   * Stops every execution without recording anything about it, and writes out what is pending: running
   * executions stay RUNNING and continue when the server starts again on the same data directory.
   */
  async close(): Promise<void> {
    this.closing = true;
    const running = [...this.running.values()];
    for (const { run } of running) run.halt();
    await Promise.all(running.map(({ journal }) => journal.close()));
  }

  /** Stops at once and writes nothing more, as `kill -9` would: for tests of what survives a crash. */
  kill(): void {
    this.closing = true;
    for (const { run, journal } of this.running.values()) {
      journal.halt();
      run.halt();
    }
  }
}
