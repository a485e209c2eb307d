import { ExecutionRun, type PreparedMachine } from './execution-run.ts';
import { executionStarted, History, type JsonValue } from './history.ts';
import { executionArnOf, SfnApiError } from './protocol.ts';
import type { ExecutionRecord, ExecutionStore } from './store.ts';
import { TaskTokens } from './task-tokens.ts';

/** The error recorded on executions that the local server could not finish. */
export const LOCAL_SERVER_STOPPED = 'LocalServerStopped';

const STOPPED_WHILE_RUNNING =
  'The local Step Functions server stopped while this execution was running. Local executions live in ' +
  'memory only, so it could not continue after the restart.';
const CLOSED_WHILE_RUNNING = 'The local Step Functions server was closed while this execution was running.';

/** What the registry needs from the server around it. */
export interface ExecutionsOptions {
  region: string;
  accountId: string;
  store: ExecutionStore;
  invokeFunction: (functionNameOrArn: string, payload: unknown) => Promise<unknown>;
  log: (line: string) => void;
}

/** Every execution the server knows about: running ones in memory, all of them persisted. */
export class Executions {
  private readonly options: ExecutionsOptions;
  private readonly records = new Map<string, ExecutionRecord>();
  private readonly running = new Map<string, ExecutionRun>();
  private readonly tokens = new TaskTokens();
  private nextSeq = 1;
  private closing = false;

  constructor(options: ExecutionsOptions) {
    this.options = options;
  }

  /** Loads persisted executions; the ones that were running when the server stopped become ABORTED. */
  async load(): Promise<void> {
    const now = Date.now();
    for (const record of await this.options.store.load()) {
      this.records.set(record.executionArn, record);
      this.tokens.remember(record.taskTokenFingerprints);
      this.nextSeq = Math.max(this.nextSeq, record.seq + 1);
      if (record.status === 'RUNNING') {
        record.status = 'ABORTED';
        record.stopDate = now;
        record.error = LOCAL_SERVER_STOPPED;
        record.cause = STOPPED_WHILE_RUNNING;
        new History(record.events).append({
          type: 'ExecutionAborted',
          details: { executionAbortedEventDetails: { error: record.error, cause: record.cause } },
          at: now,
        });
        this.options.store.save(record);
      }
    }
  }

  /**
   * Starts an execution, following AWS's rules for a reused name: the same input while it runs returns
   * the running execution again; anything else is ExecutionAlreadyExists.
   */
  start(
    machine: PreparedMachine,
    name: string,
    input: string,
    parsedInput: JsonValue,
    traceHeader: string | undefined,
  ): ExecutionRecord {
    if (this.closing) throw new SfnApiError('ServiceUnavailable', 'The local server is shutting down.', 503);
    const { region, accountId } = this.options;
    const executionArn = executionArnOf(region, accountId, machine.name, name);
    const existing = this.records.get(executionArn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === input) return existing;
      throw new SfnApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const startDate = Date.now();
    const record: ExecutionRecord = {
      seq: this.nextSeq++,
      executionArn,
      stateMachineArn: machine.arn,
      name,
      status: 'RUNNING',
      startDate,
      input,
      traceHeader,
      roleArn: machine.roleArn,
      events: [],
      taskTokenFingerprints: [],
    };
    new History(record.events).append(executionStarted(input, machine.roleArn, startDate));
    this.records.set(executionArn, record);
    const run = new ExecutionRun(record, machine, {
      region,
      tokens: this.tokens,
      invokeFunction: this.options.invokeFunction,
      log: this.options.log,
      changed: (changed, closed) => {
        this.options.store.save(changed);
        if (closed) this.running.delete(changed.executionArn);
      },
    });
    this.running.set(executionArn, run);
    this.options.store.save(record);
    this.options.log(`sfn: execution ${name} of ${machine.name} started`);
    run.start(parsedInput);
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

  /** Aborts a running execution; a closed one is left as it is. Returns its stop date. */
  async stop(executionArn: string, error: string | undefined, cause: string | undefined): Promise<number> {
    const record = this.get(executionArn);
    await this.running.get(executionArn)?.stop(error, cause);
    return record.stopDate ?? Date.now();
  }

  sendTaskSuccess(token: string, output: JsonValue): void {
    this.tokens.complete(token, { kind: 'success', output });
  }

  sendTaskFailure(token: string, error: string | undefined, cause: string | undefined): void {
    this.tokens.complete(token, { kind: 'failure', error, cause });
  }

  /** Throws what AWS answers for a token that is not live (also all SendTaskHeartbeat has to do). */
  assertTaskToken(token: string): void {
    this.tokens.assertLive(token);
  }

  /** Aborts every running execution (recorded as stopped by the server) and writes everything out. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      [...this.running.values()].map((run) => run.stop(LOCAL_SERVER_STOPPED, CLOSED_WHILE_RUNNING)),
    );
    await this.options.store.flush();
  }
}
