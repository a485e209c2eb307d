import { randomUUID } from 'node:crypto';
import type { StateMachine } from 'aws-local-stepfunctions';
import {
  type EngineEvent,
  EngineEventMapper,
  type EventDetails,
  executionClosed,
  History,
  type JsonValue,
  json,
  type PendingEvent,
} from './history.ts';
import type { ExecutionRecord } from './store.ts';
import {
  lambdaFailure,
  lambdaInvokeResult,
  replaceInStrings,
  resourceNameOf,
  SUPPORTED_RESOURCES,
  stateError,
  type TaskStateInfo,
  toJsonValue,
} from './task-resources.ts';
import type { TaskOutcome, TaskTokens } from './task-tokens.ts';

/** A state machine ready to run: its validated engine and its Task states. */
export interface PreparedMachine {
  name: string;
  arn: string;
  roleArn: string;
  /** The definition as configured, for DescribeStateMachine. */
  definition: string;
  creationDate: number;
  engine: StateMachine;
  tasks: Map<string, TaskStateInfo>;
}

/** What a run needs from the server around it. */
export interface ExecutionRunDeps {
  region: string;
  tokens: TaskTokens;
  invokeFunction: (functionNameOrArn: string, payload: unknown) => Promise<unknown>;
  log: (line: string) => void;
  /** Called after every change of the record; `closed` once the execution has ended. */
  changed: (record: ExecutionRecord, closed: boolean) => void;
}

type Closing =
  | { status: 'SUCCEEDED'; output: JsonValue }
  | { status: 'FAILED' | 'TIMED_OUT' | 'ABORTED'; error?: string; cause?: string };

/** One call of a Task state's override, i.e. one attempt of that task. */
interface TaskAttempt {
  task: TaskStateInfo;
  /** Set once the engine's StateEntered/StateRetried for this attempt has been seen; events wait until then. */
  anchored: boolean;
  /** The Map iteration the attempt runs in, from the engine's events. */
  index: number | undefined;
  buffered: PendingEvent[];
  /** No more events or results once the attempt has completed or was abandoned. */
  done: boolean;
  token: string | undefined;
  abandon: (reason: string) => void;
}

// How long StopExecution waits for the engine to report the abort before recording it itself.
const ABORT_GRACE_MS = 1000;

/**
 * One execution running on the engine. It installs an override for every Task state, mints task
 * tokens, and turns the engine's event log (plus the Task* events of its own overrides) into AWS history.
 *
 * The engine reports its events asynchronously while the overrides run synchronously with the state
 * they belong to, so each attempt's Task* events are held back until the engine's own event for the
 * attempt (StateEntered or StateRetried, matched by order per state name) has been written.
 */
export class ExecutionRun {
  readonly record: ExecutionRecord;
  readonly finished: Promise<void>;
  private readonly machine: PreparedMachine;
  private readonly deps: ExecutionRunDeps;
  private readonly history: History;
  private readonly mapper = new EngineEventMapper();
  // `$$.Task.Token` resolves to this; each attempt swaps in a fresh token of its own.
  private readonly placeholder = `sfn-local-task-token-${randomUUID()}`;
  private readonly attempts = new Map<string, TaskAttempt[]>();
  private readonly anchoredCount = new Map<string, number>();
  private abortEngine: () => void = () => {};
  private stopRequest: { error?: string; cause?: string } | undefined;
  private closed = false;
  private resolveFinished: () => void = () => {};

  constructor(record: ExecutionRecord, machine: PreparedMachine, deps: ExecutionRunDeps) {
    this.record = record;
    this.machine = machine;
    this.deps = deps;
    this.history = new History(record.events);
    this.finished = new Promise((resolve) => {
      this.resolveFinished = resolve;
    });
  }

  /** Starts the engine on the parsed input. */
  start(input: JsonValue): void {
    const { record, machine } = this;
    const handlers = Object.fromEntries(
      [...machine.tasks.values()].map((task) => [
        task.name,
        (taskInput: JsonValue) => this.runTask(task, taskInput),
      ]),
    );
    const run = machine.engine.run(input, {
      overrides: { taskResourceLocalHandlers: handlers },
      context: {
        Execution: {
          Id: record.executionArn,
          Name: record.name,
          StartTime: new Date(record.startDate).toISOString(),
          RoleArn: record.roleArn,
        },
        StateMachine: { Id: machine.arn, Name: machine.name },
        Task: { Token: this.placeholder },
      },
    });
    this.abortEngine = run.abort;
    const outcome = run.result.then(
      (output): Closing => ({ status: 'SUCCEEDED', output }),
      (error: unknown): Closing => closingFromEngineError(error, this.stopRequest),
    );
    void this.follow(run.eventLogs, outcome);
  }

  /** Aborts the execution (StopExecution, or the server closing) and waits until it is recorded. */
  async stop(error: string | undefined, cause: string | undefined): Promise<void> {
    if (this.closed) return;
    this.stopRequest = { error, cause };
    // The engine reports ExecutionAborted through its event log, which closes the record.
    this.abortEngine();
    const grace = setTimeout(() => this.close({ status: 'ABORTED', error, cause }), ABORT_GRACE_MS);
    await this.finished;
    clearTimeout(grace);
  }

  private async follow(events: AsyncGenerator<EngineEvent>, outcome: Promise<Closing>): Promise<void> {
    try {
      for await (const event of events) {
        if (this.closed) break;
        this.onEngineEvent(event);
      }
    } catch (error) {
      this.deps.log(`sfn: event log of ${this.record.executionArn} broke: ${(error as Error).message}`);
    }
    // Normally a closing event arrived above; this covers an engine that ended without one.
    if (!this.closed) this.close(await outcome);
  }

  private onEngineEvent(event: EngineEvent): void {
    const closing = closingOf(event, this.stopRequest);
    if (closing) {
      this.close(closing);
      return;
    }
    switch (event.type) {
      case 'ExecutionStarted':
        // Written by StartExecution already, with the input exactly as sent.
        return;
      case 'StateEntered':
      case 'StateRetried':
        this.appendAll(this.mapper.map(event));
        if (event.state.type === 'Task') this.anchor(event.state.name, event.index);
        break;
      case 'StateFailed':
        if (event.state.type === 'Task' && event.Error === 'States.Timeout') {
          this.timeOut(event.state.name, event.index);
        } else if (event.state.type === 'Parallel' || event.state.type === 'Map') {
          this.abortInside(event.state.name, event.index);
        }
        this.appendAll(this.mapper.map(event));
        break;
      default:
        this.appendAll(this.mapper.map(event));
    }
    this.deps.changed(this.record, false);
  }

  private appendAll(events: PendingEvent[]): void {
    for (const event of events) this.history.append(event);
  }

  private anchor(stateName: string, index: number | undefined): void {
    const count = this.anchoredCount.get(stateName) ?? 0;
    const attempt = this.attempts.get(stateName)?.[count];
    // No attempt means the engine failed the state before calling the override (e.g. a bad path).
    if (!attempt) return;
    this.anchoredCount.set(stateName, count + 1);
    attempt.anchored = true;
    attempt.index = index;
    this.appendAll(attempt.buffered.splice(0));
  }

  private timeOut(stateName: string, index: number | undefined): void {
    const attempt = this.attempts
      .get(stateName)
      ?.find((a) => a.anchored && !a.done && (index === undefined || a.index === index));
    if (!attempt) return;
    const timedOut = { error: 'States.Timeout', cause: 'The task ran longer than its TimeoutSeconds.' };
    if (attempt.task.kind === 'lambda-function') {
      this.emit(attempt, 'LambdaFunctionTimedOut', { lambdaFunctionTimedOutEventDetails: timedOut });
    } else {
      this.emit(attempt, 'TaskTimedOut', {
        taskTimedOutEventDetails: { ...this.taskFields(attempt), ...timedOut },
      });
    }
    attempt.abandon('timed out');
  }

  // A failed Parallel or Map aborts its other branches or iterations; their tasks can no longer complete.
  private abortInside(stateName: string, index: number | undefined): void {
    for (const attempt of this.allAttempts()) {
      if (attempt.done || !attempt.task.ancestors.includes(stateName)) continue;
      if (index !== undefined && attempt.index !== undefined && attempt.index !== index) continue;
      this.emit(attempt, 'TaskStateAborted');
      attempt.abandon(`its enclosing state '${stateName}' failed`);
    }
  }

  private *allAttempts(): Iterable<TaskAttempt> {
    for (const list of this.attempts.values()) yield* list;
  }

  private close(closing: Closing): void {
    if (this.closed) return;
    const { record } = this;
    for (const attempt of this.allAttempts()) attempt.abandon('the execution ended');
    this.closed = true;
    const now = Date.now();
    record.status = closing.status;
    record.stopDate = now;
    if (closing.status === 'SUCCEEDED') {
      record.output = json(closing.output);
    } else {
      record.error = closing.error;
      record.cause = closing.cause;
    }
    this.history.append(executionClosed(closing.status, record, now));
    this.deps.log(
      `sfn: execution ${record.name} of ${this.machine.name} ${closing.status}` +
        (record.error ? ` (${record.error})` : ''),
    );
    this.deps.changed(record, true);
    this.resolveFinished();
  }

  private emit(attempt: TaskAttempt, type: string, details?: EventDetails): void {
    if (attempt.done || this.closed) return;
    const event = { type, details, at: Date.now() };
    if (attempt.anchored) {
      this.history.append(event);
      this.deps.changed(this.record, false);
    } else {
      attempt.buffered.push(event);
    }
  }

  private taskFields(attempt: TaskAttempt): { resourceType: string; resource: string } {
    return { resourceType: 'lambda', resource: resourceNameOf(attempt.task.resource) };
  }

  /** The override installed for every Task state. */
  private runTask(task: TaskStateInfo, input: JsonValue): Promise<JsonValue> {
    // After an abort the engine may still retry a state whose attempt was abandoned; nothing may run then.
    if (this.closed) return Promise.reject(stateError('States.Runtime', 'The execution has ended.', true));
    const { promise, resolve, reject } = Promise.withResolvers<JsonValue>();
    const attempt: TaskAttempt = {
      task,
      anchored: false,
      index: undefined,
      buffered: [],
      done: false,
      token: undefined,
      abandon: (reason) => {
        if (attempt.done) return;
        attempt.done = true;
        if (attempt.token) this.deps.tokens.retire(attempt.token);
        reject(stateError('States.Runtime', `Task '${task.name}' was abandoned: ${reason}.`, true));
      },
    };
    const list = this.attempts.get(task.name) ?? [];
    list.push(attempt);
    this.attempts.set(task.name, list);
    this.perform(attempt, input).then(
      (output) => {
        if (attempt.done) return;
        attempt.done = true;
        resolve(output);
      },
      (error: unknown) => {
        if (attempt.done) return;
        attempt.done = true;
        if (attempt.token) this.deps.tokens.retire(attempt.token);
        reject(error);
      },
    );
    return promise;
  }

  private async perform(attempt: TaskAttempt, input: JsonValue): Promise<JsonValue> {
    switch (attempt.task.kind) {
      case 'lambda-invoke':
        return this.lambdaInvoke(attempt, input);
      case 'lambda-invoke-callback':
        return this.lambdaInvokeWithCallback(attempt, input);
      case 'lambda-function':
        return this.lambdaFunction(attempt, input);
      case 'unsupported':
        throw stateError(
          'States.Runtime',
          `Task state '${attempt.task.name}' uses resource '${attempt.task.resource}', which the local ` +
            `Step Functions server does not run (it runs: ${SUPPORTED_RESOURCES}).`,
          true,
        );
    }
  }

  private scheduled(attempt: TaskAttempt, parameters: JsonValue): void {
    this.emit(attempt, 'TaskScheduled', {
      taskScheduledEventDetails: {
        ...this.taskFields(attempt),
        region: this.deps.region,
        parameters: json(parameters),
        timeoutInSeconds: attempt.task.timeoutSeconds,
      },
    });
    this.emit(attempt, 'TaskStarted', { taskStartedEventDetails: this.taskFields(attempt) });
  }

  private failed(attempt: TaskAttempt, error: string | undefined, cause: string | undefined): Error {
    this.emit(attempt, 'TaskFailed', {
      taskFailedEventDetails: { ...this.taskFields(attempt), error, cause },
    });
    return stateError(error ?? '', cause);
  }

  private async lambdaInvoke(attempt: TaskAttempt, parameters: JsonValue): Promise<JsonValue> {
    const target = lambdaTarget(parameters);
    this.scheduled(attempt, parameters);
    let output: JsonValue;
    try {
      output = lambdaInvokeResult(await this.invoke(target));
    } catch (thrown) {
      const { error, cause } = lambdaFailure(thrown);
      throw this.failed(attempt, error, cause);
    }
    this.emit(attempt, 'TaskSucceeded', {
      taskSucceededEventDetails: { ...this.taskFields(attempt), output: json(output), outputDetails: {} },
    });
    return output;
  }

  private async lambdaInvokeWithCallback(attempt: TaskAttempt, input: JsonValue): Promise<JsonValue> {
    const outcome = Promise.withResolvers<TaskOutcome>();
    const minted = this.deps.tokens.mint(outcome.resolve);
    attempt.token = minted.token;
    this.record.taskTokenFingerprints.push(minted.fingerprint);
    const parameters = replaceInStrings(input, this.placeholder, minted.token);
    const target = lambdaTarget(parameters);
    if (json(parameters) === json(input)) {
      this.deps.log(
        `sfn: task '${attempt.task.name}' waits for a task token but does not pass $$.Task.Token on`,
      );
    }
    // As on AWS, the parameters in the history carry the token: a local operator can complete the task from it.
    this.scheduled(attempt, parameters);
    let delivered = false;
    void outcome.promise.then(() => {
      delivered = true;
    });
    try {
      const submitted = lambdaInvokeResult(await this.invoke(target));
      this.emit(attempt, 'TaskSubmitted', {
        taskSubmittedEventDetails: {
          ...this.taskFields(attempt),
          output: json(submitted),
          outputDetails: {},
        },
      });
    } catch (thrown) {
      // A callback that already arrived while the function ran decides the task instead.
      if (!delivered) {
        const { error, cause } = lambdaFailure(thrown);
        throw this.failed(attempt, error, cause);
      }
    }
    const result = await outcome.promise;
    if (result.kind === 'failure') throw this.failed(attempt, result.error, result.cause);
    this.emit(attempt, 'TaskSucceeded', {
      taskSucceededEventDetails: {
        ...this.taskFields(attempt),
        output: json(result.output),
        outputDetails: {},
      },
    });
    return result.output;
  }

  private async lambdaFunction(attempt: TaskAttempt, input: JsonValue): Promise<JsonValue> {
    const resource = attempt.task.resource;
    this.emit(attempt, 'LambdaFunctionScheduled', {
      lambdaFunctionScheduledEventDetails: {
        resource,
        input: json(input),
        inputDetails: { truncated: false },
        timeoutInSeconds: attempt.task.timeoutSeconds,
      },
    });
    this.emit(attempt, 'LambdaFunctionStarted');
    let output: JsonValue;
    try {
      output = toJsonValue(await this.deps.invokeFunction(resource, input));
    } catch (thrown) {
      const { error, cause } = lambdaFailure(thrown);
      this.emit(attempt, 'LambdaFunctionFailed', { lambdaFunctionFailedEventDetails: { error, cause } });
      throw stateError(error, cause);
    }
    this.emit(attempt, 'LambdaFunctionSucceeded', {
      lambdaFunctionSucceededEventDetails: { output: json(output), outputDetails: { truncated: false } },
    });
    return output;
  }

  private async invoke(target: LambdaTarget): Promise<JsonValue> {
    return toJsonValue(await this.deps.invokeFunction(target.functionName, target.payload));
  }
}

interface LambdaTarget {
  functionName: string;
  payload: JsonValue;
}

// Checked before the function runs: a definition error is not a function error.
function lambdaTarget(parameters: JsonValue): LambdaTarget {
  const record =
    parameters !== null && typeof parameters === 'object' && !Array.isArray(parameters) ? parameters : {};
  if (typeof record.FunctionName !== 'string') {
    throw stateError('States.Runtime', 'lambda:invoke needs a string FunctionName in its Parameters.', true);
  }
  return { functionName: record.FunctionName, payload: record.Payload === undefined ? {} : record.Payload };
}

function closingOf(
  event: EngineEvent,
  stop: { error?: string; cause?: string } | undefined,
): Closing | undefined {
  switch (event.type) {
    case 'ExecutionSucceeded':
      return { status: 'SUCCEEDED', output: event.output };
    case 'ExecutionFailed':
      // SendTaskFailure may leave the error out; AWS then reports none rather than an empty one.
      return { status: 'FAILED', error: event.Error || undefined, cause: causeText(event.Cause) };
    case 'ExecutionAborted':
      return { status: 'ABORTED', ...stop };
    case 'ExecutionTimeout':
      return {
        status: 'TIMED_OUT',
        error: 'States.Timeout',
        cause: 'The execution ran longer than the TimeoutSeconds of its state machine.',
      };
    default:
      return undefined;
  }
}

function causeText(cause: unknown): string | undefined {
  if (cause === undefined || cause === null) return undefined;
  return typeof cause === 'string' ? cause : JSON.stringify(cause);
}

// Only consulted when the event log ended without a closing event.
function closingFromEngineError(
  error: unknown,
  stop: { error?: string; cause?: string } | undefined,
): Closing {
  const name = error instanceof Error ? error.name : '';
  if (name === 'ExecutionAbortedError') return { status: 'ABORTED', ...stop };
  if (name === 'ExecutionTimeoutError') return { status: 'TIMED_OUT', error: 'States.Timeout' };
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  return { status: 'FAILED', error: cause?.name ?? name, cause: cause?.message };
}
