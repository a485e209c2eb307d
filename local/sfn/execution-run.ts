/**
 * One execution: the server walks the definition state by state, evaluates each state's data flow
 * with aws-local-stepfunctions (data-flow.ts), runs tasks, owns every timer, and writes AWS-shaped
 * history to the execution's journal as it goes.
 *
 * Every event is written under a key that names where it happened — the state's path through
 * Parallel branches and Map iterations, its visit number, the attempt — and a role (`entered`,
 * `scheduled`, `succeeded`, …). After a restart the run starts again from the first state with the
 * journal as its replay log (as Temporal replays workflow code): an event already recorded under the
 * same key and role is not written again, a recorded task result is served instead of calling the
 * task, a recorded token is waited on again, and a timer resumes from its recorded start. A replay
 * that disagrees with the record fails the execution rather than guessing.
 */

import { type ContextObject, DataFlowError } from './data-flow.ts';
import type { CompiledDefinition, CompiledState, Scope } from './definition.ts';
import {
  type EventDetails,
  type HistoryEvent,
  type JsonValue,
  json,
  NOT_TRUNCATED,
  present,
  stateEntered,
  stateExited,
} from './history.ts';
import {
  applyClosing,
  type Closing,
  closingLine,
  type ExecutionRecord,
  type Journal,
  type JournalLine,
} from './store.ts';
import { lambdaFailure, SUPPORTED_RESOURCES, type TaskServices } from './task-resources.ts';
import type { TaskOutcome, TaskTokens } from './task-tokens.ts';
import { sleepUntil, yieldToEventLoop } from './timers.ts';

/** A state machine the server runs. */
export interface PreparedMachine {
  name: string;
  arn: string;
  roleArn: string;
  /** The definition as configured, for DescribeStateMachine and for the executions it starts. */
  definition: string;
  creationDate: number;
  compiled: CompiledDefinition;
}

/** What a run needs from the server around it. */
export interface ExecutionRunDeps {
  region: string;
  stateMachineArn: string;
  tokens: TaskTokens;
  services: TaskServices;
  journal: Journal;
  log: (line: string) => void;
  /** AWS's quota: 25,000 events per execution history. */
  maxHistoryEvents: number;
  /** Called once the execution has closed and its closing line is on disk. */
  closed: (record: ExecutionRecord) => void;
}

/** Step Functions' quota on the input or output of a task, state or execution, in UTF-8 bytes. */
export const PAYLOAD_MAX_BYTES = 262_144;
/** AWS's longest execution (and so the longest any task may wait without its own timeout). */
const MAX_EXECUTION_MS = 365 * 24 * 60 * 60 * 1000;
/** The longest Wait AWS accepts: 2^31-1 seconds; longer fails the state with States.Runtime. */
const MAX_WAIT_SECONDS = 2_147_483_647;
/** The error a replay that disagrees with the journal fails its execution with. */
export const REPLAY_DIVERGED = 'LocalServer.ReplayDiverged';
const TRANSITIONS_BETWEEN_YIELDS = 32;

/** An error a state reported; `error` and `cause` are kept as AWS keeps them (null when not given). */
class StateFailure extends Error {
  readonly error: string | null;
  override readonly cause: string | null;
  /** The event the failure is recorded as (TaskFailed, FailStateEntered, …): later events point back to it. */
  readonly eventId: number;
  /** States.Runtime and an oversized state input or output: never retried, never caught. */
  readonly terminal: boolean;
  /** A heartbeat timeout (reported as States.Timeout, matched by States.HeartbeatTimeout too). */
  readonly heartbeat: boolean;

  constructor(
    error: string | null,
    cause: string | null,
    eventId: number,
    options: { terminal?: boolean; heartbeat?: boolean } = {},
  ) {
    super(`${error ?? '(no error)'}: ${cause ?? ''}`);
    this.name = 'StateFailure';
    this.error = error;
    this.cause = cause;
    this.eventId = eventId;
    this.terminal = options.terminal ?? false;
    this.heartbeat = options.heartbeat ?? false;
  }

  at(eventId: number): StateFailure {
    return new StateFailure(this.error, this.cause, eventId, this);
  }
}

/** The run (or a branch of it) was stopped; nothing more may be recorded on its behalf. */
class Cancelled extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'Cancelled';
  }
}

/** The replay does not match the journal. */
class Diverged extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Diverged';
  }
}

/** A state running in a thread, for the abort events of an enclosing Parallel or Map that fails. */
interface OpenState {
  state: CompiledState;
  key: string;
  /** A Parallel's branches or a Map's iterations while it runs. */
  children?: ChildThread[];
}

/** One sequence of states: the top level, a Parallel branch or a Map iteration. */
interface Thread {
  /** The event the next one follows (AWS's previousEventId). */
  last: number;
  signal: AbortSignal;
  open: OpenState | undefined;
}

interface ChildThread extends Thread {
  /** Map iterations: the key of the iteration, its index, and how far it got. */
  iteration?: { key: string; index: number; started: boolean; ended: boolean };
}

type StateOutcome = { output: JsonValue; next: string | undefined };

/** One execution, from its first state (or its journal) to its closing event. */
export class ExecutionRun {
  readonly record: ExecutionRecord;
  private readonly definition: CompiledDefinition;
  private readonly deps: ExecutionRunDeps;
  private readonly replay = new Map<string, JournalLine>();
  private readonly controller = new AbortController();
  private readonly executionInput: JsonValue;
  private readonly liveTokens = new Set<string>();
  private closed = false;

  constructor(
    record: ExecutionRecord,
    definition: CompiledDefinition,
    deps: ExecutionRunDeps,
    journalLines: readonly JournalLine[] = [],
  ) {
    this.record = record;
    this.definition = definition;
    this.deps = deps;
    for (const line of journalLines) if (line.k && line.r) this.replay.set(replayKey(line.k, line.r), line);
    // Tokens reserved for this execution at load are retired with it, even if replay never claims them.
    for (const token of ExecutionRun.waitingTokens(journalLines)) this.liveTokens.add(token);
    this.executionInput = JSON.parse(record.input) as JsonValue;
  }

  /** The task tokens of attempts that were waiting when the journal was written (reserved until replay claims them). */
  static waitingTokens(lines: readonly JournalLine[]): string[] {
    const settled = new Set<string>();
    for (const line of lines) {
      if (!line.k) continue;
      if (line.r === 'succeeded' || line.r === 'failed' || line.r === 'timed-out') settled.add(line.k);
      // An aborted Task state (its Parallel or Map failed) waits for nothing: key `<visit>`, attempts `<visit>@n`.
      if (line.r === 'aborted') settled.add(line.k);
    }
    return lines.flatMap((line) => {
      if (line.r !== 'scheduled' || !line.k || typeof line.d?.token !== 'string') return [];
      const visit = line.k.replace(/@\d+$/, '');
      return settled.has(line.k) || settled.has(visit) ? [] : [line.d.token];
    });
  }

  /** Runs the execution to its end (or until it is stopped). Never rejects. */
  start(): void {
    void this.run();
  }

  /** StopExecution: records ExecutionAborted (on disk before this resolves) and stops everything. */
  async stop(error: string | undefined, cause: string | undefined): Promise<void> {
    if (this.closed) return;
    await this.close({ status: 'ABORTED', error, cause }, 0);
  }

  /**
   * Stops the run without recording anything about it: the execution stays RUNNING on disk and
   * continues when a server starts on the journal again (a clean stop, or a simulated crash).
   */
  halt(): void {
    if (this.closed) return;
    this.closed = true;
    this.controller.abort(new Cancelled('the server stopped'));
    for (const token of this.liveTokens) this.deps.tokens.retire(token);
  }

  private async run(): Promise<void> {
    const root: Thread = { last: 0, signal: this.controller.signal, open: undefined };
    try {
      const timeoutSeconds = this.definition.timeoutSeconds;
      const deadline =
        this.record.startDate +
        Math.min(timeoutSeconds ? timeoutSeconds * 1000 : MAX_EXECUTION_MS, MAX_EXECUTION_MS);
      const timedOut = sleepUntil(deadline, this.controller.signal).then(() => 'timed-out' as const);
      timedOut.catch(() => {});
      const outcome = await Promise.race([
        this.runScope(this.definition.root, this.executionInput, '', root),
        timedOut,
      ]);
      if (outcome === 'timed-out') {
        await this.close({ status: 'TIMED_OUT', error: 'States.Timeout' }, root.last);
        return;
      }
      const output = json(outcome);
      if (Buffer.byteLength(output) > PAYLOAD_MAX_BYTES) {
        await this.close(
          { status: 'FAILED', error: 'States.DataLimitExceeded', cause: tooLarge('execution') },
          root.last,
        );
        return;
      }
      await this.close({ status: 'SUCCEEDED', output }, root.last);
    } catch (error) {
      if (this.closed) return;
      if (error instanceof StateFailure) {
        await this.close(failed(error.error, error.cause), error.eventId);
      } else if (error instanceof Diverged) {
        this.deps.log(`sfn: replay of ${this.record.executionArn} diverged: ${error.message}`);
        await this.close(failed(REPLAY_DIVERGED, error.message), root.last);
      } else {
        this.deps.log(
          `sfn: execution ${this.record.executionArn} failed inside the server: ${(error as Error).stack ?? String(error)}`,
        );
        await this.close(
          failed('States.Runtime', `The local server failed: ${(error as Error).message}`),
          root.last,
        );
      }
    }
  }

  // ---- events and the journal

  /**
   * Records an event under `key`/`role` in `thread`, unless the journal already has it (replay), in
   * which case the recorded event stands. Returns the event either way.
   */
  private emit(
    thread: Thread,
    key: string,
    role: string,
    type: string,
    details?: EventDetails,
    data?: Record<string, unknown>,
  ): HistoryEvent {
    const recorded = this.replay.get(replayKey(key, role));
    if (recorded?.e) {
      if (recorded.e.type !== type) {
        throw new Diverged(`at ${key} the journal has ${recorded.e.type} where the definition gives ${type}`);
      }
      thread.last = recorded.e.id;
      return recorded.e;
    }
    if (thread.signal.aborted || this.closed) throw new Cancelled('the thread was stopped');
    const event = this.append(thread.last, type, details);
    this.deps.journal.append({ k: key, r: role, e: event, ...(data ? { d: data } : {}) });
    thread.last = event.id;
    return event;
  }

  /** A line replay needs that is no history event (a retry's due time, a heartbeat). */
  private note(key: string, role: string, data: Record<string, unknown>): void {
    if (this.closed) return;
    this.deps.journal.append({ k: key, r: role, d: data });
  }

  private recorded(key: string, role: string): JournalLine | undefined {
    return this.replay.get(replayKey(key, role));
  }

  private append(previous: number, type: string, details?: EventDetails, closing = false): HistoryEvent {
    const events = this.record.events;
    // AWS fails an execution whose history reaches its quota; the last slot is for ExecutionFailed.
    if (!closing && events.length + 1 >= this.deps.maxHistoryEvents) {
      void this.close(
        failed(
          'States.Runtime',
          `The execution reached the maximum number of events in its history (${this.deps.maxHistoryEvents}).`,
        ),
        previous,
      );
      throw new Cancelled('the history is full');
    }
    const last = events.at(-1);
    const event: HistoryEvent = {
      id: (last?.id ?? 0) + 1,
      previousEventId: previous,
      timestamp: Math.max(Date.now(), last?.timestamp ?? 0),
      type,
      ...details,
    };
    events.push(event);
    return event;
  }

  private async close(closing: Closing, previous: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.controller.abort(new Cancelled('the execution closed'));
    for (const token of this.liveTokens) this.deps.tokens.retire(token);
    const details = closingDetails(closing);
    const event = this.append(
      closing.status === 'ABORTED' ? 0 : previous,
      details.type,
      details.details,
      true,
    );
    applyClosing(this.record, closing, event.timestamp);
    this.deps.journal.append(closingLine(closing, event));
    this.deps.log(
      `sfn: execution ${this.record.name} of ${this.record.stateMachineName} ${closing.status}` +
        (closing.error ? ` (${closing.error})` : ''),
    );
    await this.deps.journal.close();
    this.deps.closed(this.record);
  }

  // ---- states

  private async runScope(
    scope: Scope,
    input: JsonValue,
    scopeKey: string,
    thread: Thread,
  ): Promise<JsonValue> {
    const visits = new Map<string, number>();
    let name = scope.startAt;
    let value = input;
    for (let transitions = 1; ; transitions++) {
      // A Pass/Choice loop must not starve the HTTP server or the other executions.
      if (transitions % TRANSITIONS_BETWEEN_YIELDS === 0) await yieldToEventLoop();
      const state = scope.states.get(name);
      if (!state) throw new Diverged(`the definition has no state '${name}'`);
      const visit = (visits.get(name) ?? 0) + 1;
      visits.set(name, visit);
      const { output, next } = await this.runState(
        state,
        value,
        `${scopeKey}/${encodeURIComponent(name)}#${visit}`,
        thread,
      );
      if (next === undefined) return output;
      name = next;
      value = output;
    }
  }

  private async runState(
    state: CompiledState,
    input: JsonValue,
    key: string,
    thread: Thread,
  ): Promise<StateOutcome> {
    const exited = this.recorded(key, 'exited');
    const entered = this.emit(
      thread,
      key,
      'entered',
      `${state.type}StateEntered`,
      stateEntered(state.name, input),
    );
    const recordedInput = (entered.stateEnteredEventDetails as { input?: string } | undefined)?.input;
    if (recordedInput !== undefined && recordedInput !== json(input)) {
      throw new Diverged(
        `state '${state.name}' (${key}) was entered with ${recordedInput}, the replay gives ${json(input)}`,
      );
    }
    if (exited?.e) {
      thread.last = exited.e.id;
      const output = JSON.parse((exited.e.stateExitedEventDetails as { output: string }).output) as JsonValue;
      return { output, next: exited.d?.next as string | undefined };
    }
    thread.open = { state, key };
    let outcome: StateOutcome;
    try {
      outcome = await this.perform(state, input, key, thread, entered);
    } catch (error) {
      throw this.asStateFailure(error, state, entered);
    }
    if (Buffer.byteLength(json(outcome.output)) > PAYLOAD_MAX_BYTES) {
      throw new StateFailure('States.DataLimitExceeded', tooLarge(state.name), entered.id, {
        terminal: true,
      });
    }
    thread.open = undefined;
    if (state.type !== 'Fail') {
      const exitedEvent = this.emit(
        thread,
        key,
        'exited',
        `${state.type}StateExited`,
        stateExited(state.name, outcome.output),
        {
          next: outcome.next,
        },
      );
      thread.last = exitedEvent.id;
    }
    return outcome;
  }

  /** Data-flow errors become the state's failure, with AWS's wording for States.Runtime. */
  private asStateFailure(error: unknown, state: CompiledState, entered: HistoryEvent): unknown {
    if (!(error instanceof DataFlowError)) return error;
    const runtime = error.name === 'States.Runtime';
    const cause = runtime
      ? `An error occurred while executing the state '${state.name}' (entered at the event id #${entered.id}). ${error.message}`
      : error.message;
    return new StateFailure(error.name, cause, entered.id, { terminal: runtime });
  }

  private context(state: CompiledState, entered: HistoryEvent, retryCount: number): ContextObject {
    return {
      Execution: {
        Id: this.record.executionArn,
        Input: this.executionInput,
        Name: this.record.name,
        RoleArn: this.record.roleArn,
        StartTime: new Date(this.record.startDate).toISOString(),
        RedriveCount: 0,
      },
      StateMachine: { Id: this.deps.stateMachineArn, Name: this.record.stateMachineName },
      State: {
        EnteredTime: new Date(entered.timestamp).toISOString(),
        Name: state.name,
        RetryCount: retryCount,
      },
    };
  }

  private async perform(
    state: CompiledState,
    input: JsonValue,
    key: string,
    thread: Thread,
    entered: HistoryEvent,
  ): Promise<StateOutcome> {
    const context = this.context(state, entered, 0);
    switch (state.type) {
      case 'Pass':
        return { output: await state.flow.passThrough(input, context), next: state.next };
      case 'Succeed':
        return { output: await state.flow.passThrough(input, context), next: undefined };
      case 'Choice': {
        let chosen: { next: string; output: JsonValue };
        try {
          chosen = await state.flow.choose(input, context);
        } catch (error) {
          if (error instanceof DataFlowError && error.name === 'States.NoChoiceMatched') {
            throw new StateFailure('States.NoChoiceMatched', error.message || null, entered.id);
          }
          throw error;
        }
        return chosen;
      }
      case 'Fail':
        throw await this.failState(state, input, context, entered);
      case 'Wait':
        return { output: await this.waitState(state, input, context, entered, thread), next: state.next };
      case 'Task':
      case 'Parallel':
      case 'Map': {
        // One attempt of the state; a Retry runs another.
        const attempt =
          state.type === 'Task'
            ? this.taskAttempt
            : state.type === 'Parallel'
              ? this.parallelAttempt
              : this.mapAttempt;
        return this.retryable(state, input, key, thread, (n) =>
          attempt.call(this, state, input, `${key}@${n}`, thread, this.context(state, entered, n - 1)),
        );
      }
    }
  }

  private async failState(
    state: CompiledState,
    input: JsonValue,
    context: ContextObject,
    entered: HistoryEvent,
  ): Promise<StateFailure> {
    const def = state.definition;
    const text = async (literal: unknown, path: unknown): Promise<string | null> => {
      if (typeof literal === 'string') return literal;
      if (typeof path !== 'string') return null;
      const value = await state.flow.query(path, input, context);
      if (typeof value !== 'string') {
        throw new DataFlowError(
          'States.Runtime',
          `The value of '${path}' must be a string, not ${json(value)}.`,
        );
      }
      return value;
    };
    return new StateFailure(
      await text(def.Error, def.ErrorPath),
      await text(def.Cause, def.CausePath),
      entered.id,
    );
  }

  private async waitState(
    state: CompiledState,
    input: JsonValue,
    context: ContextObject,
    entered: HistoryEvent,
    thread: Thread,
  ): Promise<JsonValue> {
    const def = state.definition;
    const effective = await state.flow.inputPathOnly(input, context);
    let deadline: number;
    if (def.Seconds !== undefined || def.SecondsPath !== undefined) {
      const seconds =
        typeof def.SecondsPath === 'string'
          ? await state.flow.query(def.SecondsPath, effective, context)
          : def.Seconds;
      if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0) {
        throw new DataFlowError(
          'States.Runtime',
          `The Wait state needs a non-negative integer number of seconds, not ${json(seconds)}.`,
        );
      }
      if (seconds > MAX_WAIT_SECONDS)
        throw new DataFlowError('States.Runtime', 'Wait state delay is too long.');
      deadline = entered.timestamp + seconds * 1000;
    } else {
      const timestamp =
        typeof def.TimestampPath === 'string'
          ? await state.flow.query(def.TimestampPath, effective, context)
          : def.Timestamp;
      const at =
        typeof timestamp === 'string' && RFC3339.test(timestamp) ? Date.parse(timestamp) : Number.NaN;
      if (Number.isNaN(at)) {
        throw new DataFlowError(
          'States.Runtime',
          `The Wait state needs an RFC 3339 timestamp, not ${json(timestamp)}.`,
        );
      }
      if ((at - entered.timestamp) / 1000 > MAX_WAIT_SECONDS) {
        throw new DataFlowError('States.Runtime', 'Wait state delay is too long.');
      }
      deadline = at;
    }
    await sleepUntil(deadline, thread.signal);
    return state.flow.outputPath(effective, context);
  }

  // ---- Retry and Catch

  private async retryable(
    state: CompiledState,
    input: JsonValue,
    key: string,
    thread: Thread,
    attempt: (n: number) => Promise<JsonValue>,
  ): Promise<StateOutcome> {
    const used = state.retry.map(() => 0);
    for (let n = 1; ; n++) {
      let failure: StateFailure;
      try {
        return { output: await attempt(n), next: state.next };
      } catch (error) {
        if (error instanceof DataFlowError) {
          const runtime = error.name === 'States.Runtime';
          failure = new StateFailure(error.name, runtime ? null : error.message, thread.last, {
            terminal: runtime,
          });
          if (runtime) throw error;
        } else if (error instanceof StateFailure) {
          failure = error;
        } else {
          throw error;
        }
      }
      const index = state.retry.findIndex((retrier) => matches(retrier.errorEquals, failure, state.type));
      const retrier = state.retry[index];
      if (retrier && (used[index] ?? 0) < retrier.maxAttempts) {
        const attemptKey = `${key}@${n}`;
        const recordedDue = this.recorded(attemptKey, 'retry')?.d?.at as number | undefined;
        const due = recordedDue ?? backoffDue(retrier, used[index] ?? 0);
        if (recordedDue === undefined) this.note(attemptKey, 'retry', { at: due });
        used[index] = (used[index] ?? 0) + 1;
        thread.last = failure.eventId;
        await sleepUntil(due, thread.signal);
        continue;
      }
      if (state.type === 'Parallel' || state.type === 'Map') {
        thread.last = failure.eventId;
        failure = failure.at(this.emit(thread, key, 'state-failed', `${state.type}StateFailed`).id);
      }
      const catcher = state.catch.find((c) => matches(c.errorEquals, failure, state.type));
      if (!catcher) throw failure;
      thread.last = failure.eventId;
      const errorOutput = { Error: failure.error, Cause: failure.cause };
      return {
        output: await state.flow.catchOutput(input, errorOutput, catcher.resultPath),
        next: catcher.next,
      };
    }
  }

  // ---- Task

  private async taskAttempt(
    state: CompiledState,
    rawInput: JsonValue,
    key: string,
    thread: Thread,
    context: ContextObject,
  ): Promise<JsonValue> {
    const integration = state.integration;
    if (!integration) {
      throw new DataFlowError(
        'States.Runtime',
        `Task state '${state.name}' uses resource '${String(state.definition.Resource)}', which the local ` +
          `Step Functions server does not run (it runs: ${SUPPORTED_RESOURCES}).`,
      );
    }
    const scheduled = this.recorded(key, 'scheduled');
    let parameters: JsonValue;
    let token: string | undefined;
    let timeoutSeconds: number | undefined;
    let heartbeatSeconds: number | undefined;
    if (scheduled?.d) {
      parameters = scheduled.d.parameters as JsonValue;
      token = scheduled.d.token as string | undefined;
      timeoutSeconds = scheduled.d.timeoutSeconds as number | undefined;
      heartbeatSeconds = scheduled.d.heartbeatSeconds as number | undefined;
    } else {
      // Both paths read the state's input, before anything is invoked.
      timeoutSeconds = await this.seconds(state, 'TimeoutSeconds', rawInput, context);
      heartbeatSeconds = integration.callback
        ? await this.seconds(state, 'HeartbeatSeconds', rawInput, context)
        : undefined;
      if (integration.callback) {
        token = this.deps.tokens.mint();
        context.Task = { Token: token };
      }
      parameters = await state.flow.effectiveInput(rawInput, context);
      if (Buffer.byteLength(json(parameters)) > PAYLOAD_MAX_BYTES) {
        throw new StateFailure('States.DataLimitExceeded', tooLarge(state.name), thread.last, {
          terminal: true,
        });
      }
      integration.check(parameters);
    }
    const lambdaEvents = integration.events === 'lambda-function';
    const fields = { resourceType: integration.resourceType, resource: integration.resource };
    this.emit(
      thread,
      key,
      'scheduled',
      lambdaEvents ? 'LambdaFunctionScheduled' : 'TaskScheduled',
      lambdaEvents
        ? {
            lambdaFunctionScheduledEventDetails: present({
              resource: integration.resource,
              input: json(parameters),
              inputDetails: NOT_TRUNCATED,
              timeoutInSeconds: timeoutSeconds,
            }),
          }
        : {
            taskScheduledEventDetails: present({
              ...fields,
              region: this.deps.region,
              parameters: json(parameters),
              timeoutInSeconds: timeoutSeconds,
              heartbeatInSeconds: heartbeatSeconds,
            }),
          },
      { parameters, token, timeoutSeconds, heartbeatSeconds },
    );
    const started = this.emit(
      thread,
      key,
      'started',
      lambdaEvents ? 'LambdaFunctionStarted' : 'TaskStarted',
      lambdaEvents ? undefined : { taskStartedEventDetails: fields },
    );

    const result = await this.taskResult(state, key, thread, {
      parameters,
      token,
      startedAt: started.timestamp,
      timeoutSeconds,
      heartbeatSeconds,
    });
    return state.flow.applyResult(rawInput, result, context);
  }

  /** TimeoutSeconds/HeartbeatSeconds, or the positive integer their Path selects in the state's input. */
  private async seconds(
    state: CompiledState,
    field: 'TimeoutSeconds' | 'HeartbeatSeconds',
    rawInput: JsonValue,
    context: ContextObject,
  ): Promise<number | undefined> {
    const literal = state.definition[field];
    if (typeof literal === 'number') return literal;
    const path = state.definition[`${field}Path`];
    if (typeof path !== 'string') return undefined;
    const value = await state.flow.query(path, await state.flow.inputPathOnly(rawInput, context), context);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new DataFlowError(
        'States.Runtime',
        `${field}Path '${path}' must select a positive integer, not ${json(value)}.`,
      );
    }
    return value;
  }

  /**
   * The task's result: recorded in the journal, or obtained now — from the call (request-response) or
   * from SendTaskSuccess/SendTaskFailure (callback) — racing its timeout and heartbeat timeout. A
   * result is on disk before it is returned.
   */
  private async taskResult(
    state: CompiledState,
    key: string,
    thread: Thread,
    task: {
      parameters: JsonValue;
      token: string | undefined;
      startedAt: number;
      timeoutSeconds: number | undefined;
      heartbeatSeconds: number | undefined;
    },
  ): Promise<JsonValue> {
    const integration = state.integration;
    if (!integration) throw new Error('unreachable: a task without an integration');
    const lambdaEvents = integration.events === 'lambda-function';
    const fields = lambdaEvents
      ? {}
      : { resourceType: integration.resourceType, resource: integration.resource };
    const detailsKey = (kind: string) =>
      lambdaEvents ? `lambdaFunction${kind}EventDetails` : `task${kind}EventDetails`;
    const eventType = (kind: string) => (lambdaEvents ? `LambdaFunction${kind}` : `Task${kind}`);

    const settledLine =
      this.recorded(key, 'succeeded') ?? this.recorded(key, 'failed') ?? this.recorded(key, 'timed-out');
    if (settledLine?.e) return this.settledResult(settledLine, thread);

    // Not on disk yet: the task's token and schedule must be, before anything is called.
    await this.deps.journal.sync();
    const signal = thread.signal;
    if (signal.aborted || this.closed) throw signal.reason ?? new Cancelled('the execution stopped');
    const { promise, resolve, reject } = Promise.withResolvers<JsonValue>();
    const timers = new AbortController();
    let claimed = false;
    let finished = false;
    const finish = (settle: () => void) => {
      if (finished) return;
      finished = true;
      timers.abort();
      signal.removeEventListener('abort', onAbort);
      if (task.token) {
        this.deps.tokens.retire(task.token);
        this.liveTokens.delete(task.token);
      }
      settle();
    };
    const onAbort = () => finish(() => reject(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    // Only the first of result, failure, timeout and abort settles the attempt.
    const claim = (): boolean => {
      if (claimed || finished || signal.aborted) return false;
      claimed = true;
      timers.abort();
      if (task.token) this.deps.tokens.retire(task.token);
      return true;
    };
    const record = async (
      role: string,
      kind: string,
      details: Record<string, unknown>,
      data?: Record<string, unknown>,
    ) => {
      const event = this.emit(
        thread,
        key,
        role,
        eventType(kind),
        { [detailsKey(kind)]: present({ ...fields, ...details }) },
        data,
      );
      await this.deps.journal.sync();
      return event;
    };
    const recordFailure = async (
      error: string | null,
      cause: string | null,
      timeout?: 'task' | 'heartbeat',
    ) => {
      const event = timeout
        ? await record('timed-out', 'TimedOut', { error }, { heartbeat: timeout === 'heartbeat' })
        : await record('failed', 'Failed', { error, cause }, { error, cause });
      finish(() => reject(new StateFailure(error, cause, event.id, { heartbeat: timeout === 'heartbeat' })));
    };
    const succeed = async (output: JsonValue): Promise<boolean> => {
      if (!claim()) return false;
      if (Buffer.byteLength(json(output)) > PAYLOAD_MAX_BYTES) {
        const what = lambdaEvents ? integration.resource : integration.resourceType;
        await recordFailure('States.DataLimitExceeded', tooLarge(what));
      } else {
        await record('succeeded', 'Succeeded', { output: json(output), outputDetails: NOT_TRUNCATED });
        finish(() => resolve(output));
      }
      return true;
    };
    const fail = async (
      error: string | null,
      cause: string | null,
      timeout?: 'task' | 'heartbeat',
    ): Promise<boolean> => {
      if (!claim()) return false;
      await recordFailure(error, cause, timeout);
      return true;
    };
    const guard = (work: Promise<unknown>) => {
      work.catch((error: unknown) => finish(() => reject(error)));
    };

    // The task's timeout counts from TaskStarted, the heartbeat timeout from the latest heartbeat.
    const timeoutAt =
      task.startedAt + Math.min((task.timeoutSeconds ?? Number.POSITIVE_INFINITY) * 1000, MAX_EXECUTION_MS);
    sleepUntil(timeoutAt, timers.signal).then(
      () => guard(fail('States.Timeout', '', 'task')),
      () => {},
    );
    let beat = new AbortController();
    const armHeartbeat = (from: number) => {
      beat.abort();
      beat = new AbortController();
      if (task.heartbeatSeconds === undefined) return;
      sleepUntil(from + task.heartbeatSeconds * 1000, AbortSignal.any([timers.signal, beat.signal])).then(
        () => guard(fail('States.Timeout', '', 'heartbeat')),
        () => {},
      );
    };
    armHeartbeat((this.recorded(key, 'heartbeat')?.d?.at as number | undefined) ?? task.startedAt);

    if (task.token) {
      this.liveTokens.add(task.token);
      this.deps.tokens.claim(task.token, {
        deliver: (outcome: TaskOutcome) =>
          outcome.kind === 'success' ? succeed(outcome.output) : fail(outcome.error, outcome.cause),
        heartbeat: async () => {
          if (claimed || finished) return;
          const at = Date.now();
          this.note(key, 'heartbeat', { at });
          armHeartbeat(at);
          await this.deps.journal.sync();
        },
      });
    }

    // The call itself, unless the journal shows a callback task already submitted (it then only waits).
    if (!(integration.callback && this.recorded(key, 'submitted'))) {
      integration.invoke(task.parameters, this.deps.services).then(
        (answer) => {
          if (!integration.callback) {
            guard(succeed(answer));
            return;
          }
          if (claimed || finished) return;
          try {
            this.emit(thread, key, 'submitted', 'TaskSubmitted', {
              taskSubmittedEventDetails: { ...fields, output: json(answer), outputDetails: NOT_TRUNCATED },
            });
          } catch (error) {
            finish(() => reject(error));
          }
        },
        (thrown: unknown) => {
          const { error, cause } = lambdaFailure(thrown);
          guard(fail(error, cause));
        },
      );
    }
    return promise;
  }

  private settledResult(line: JournalLine, thread: Thread): JsonValue {
    const event = line.e as HistoryEvent;
    thread.last = event.id;
    if (line.r === 'succeeded') {
      const details = (event.taskSucceededEventDetails ?? event.lambdaFunctionSucceededEventDetails) as {
        output: string;
      };
      return JSON.parse(details.output) as JsonValue;
    }
    if (line.r === 'timed-out') {
      throw new StateFailure('States.Timeout', '', event.id, { heartbeat: line.d?.heartbeat === true });
    }
    throw new StateFailure(
      (line.d?.error as string | null) ?? null,
      (line.d?.cause as string | null) ?? null,
      event.id,
    );
  }

  // ---- Parallel and Map

  private async parallelAttempt(
    state: CompiledState,
    rawInput: JsonValue,
    key: string,
    thread: Thread,
    context: ContextObject,
  ): Promise<JsonValue> {
    const effective = await state.flow.effectiveInput(rawInput, context);
    const started = this.emit(thread, key, 'started', 'ParallelStateStarted');
    const results = await this.fanOut(
      state,
      thread,
      started.id,
      state.scopes.map((scope, i) => ({
        scope,
        key: `${key}/${i}`,
        input: () => Promise.resolve(effective),
      })),
      0,
    );
    const output = await state.flow.applyResult(rawInput, results, context);
    this.finishFanOut(thread, key, 'ParallelStateSucceeded');
    return output;
  }

  private async mapAttempt(
    state: CompiledState,
    rawInput: JsonValue,
    key: string,
    thread: Thread,
    context: ContextObject,
  ): Promise<JsonValue> {
    const def = state.definition;
    const effective = await state.flow.inputPathOnly(rawInput, context);
    const items =
      typeof def.ItemsPath === 'string'
        ? await state.flow.query(def.ItemsPath, effective, context)
        : effective;
    if (!Array.isArray(items)) {
      throw new DataFlowError(
        'States.Runtime',
        `The Map state's items must be an array, not ${json(items)}.`,
      );
    }
    const limit =
      typeof def.MaxConcurrencyPath === 'string'
        ? await state.flow.query(def.MaxConcurrencyPath, effective, context)
        : (def.MaxConcurrency ?? 0);
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) {
      throw new DataFlowError(
        'States.Runtime',
        `MaxConcurrency must be a non-negative integer, not ${json(limit)}.`,
      );
    }
    const started = this.emit(thread, key, 'started', 'MapStateStarted', {
      mapStateStartedEventDetails: { length: items.length },
    });
    const scope = state.scopes[0];
    if (!scope) throw new Error('unreachable: a Map without an item processor');
    const results = await this.fanOut(
      state,
      thread,
      started.id,
      items.map((value, index) => ({
        scope,
        key: `${key}/${index}`,
        index,
        input: async () => {
          const item = await state.flow.itemInput(effective, {
            ...context,
            Map: { Item: { Index: index, Value: value } },
          });
          if (Buffer.byteLength(json(item)) > PAYLOAD_MAX_BYTES) {
            throw new StateFailure('States.DataLimitExceeded', tooLarge(state.name), started.id, {
              terminal: true,
            });
          }
          return item;
        },
      })),
      limit,
    );
    const output = await state.flow.applyResult(rawInput, results, context);
    this.finishFanOut(thread, key, 'MapStateSucceeded');
    return output;
  }

  /** `…StateSucceeded`, which AWS points at the same event as the state's Exited event. */
  private finishFanOut(thread: Thread, key: string, type: string): void {
    const before = thread.last;
    this.emit(thread, key, 'succeeded', type);
    thread.last = before;
  }

  /**
   * Runs branches or iterations (at most `limit` at a time, 0 for no limit). The first to fail stops
   * the others, which are recorded as aborted, and its failure becomes the state's.
   */
  private async fanOut(
    state: CompiledState,
    thread: Thread,
    startedId: number,
    jobs: { scope: Scope; key: string; index?: number; input: () => Promise<JsonValue> }[],
    limit: number,
  ): Promise<JsonValue[]> {
    const stop = new AbortController();
    const signal = AbortSignal.any([thread.signal, stop.signal]);
    const children: ChildThread[] = jobs.map((job) => ({
      last: startedId,
      signal,
      open: undefined,
      ...(job.index === undefined
        ? {}
        : { iteration: { key: job.key, index: job.index, started: false, ended: false } }),
    }));
    if (thread.open) thread.open.children = children;
    const results: JsonValue[] = new Array(jobs.length).fill(null);
    let failure: unknown;
    let next = 0;
    const runJob = async (i: number): Promise<void> => {
      const job = jobs[i];
      const child = children[i];
      if (!job || !child) return;
      const iteration = child.iteration;
      if (iteration) {
        this.emit(child, job.key, 'iteration-started', 'MapIterationStarted', {
          mapIterationStartedEventDetails: { name: state.name, index: iteration.index },
        });
        iteration.started = true;
      }
      results[i] = await this.runScope(job.scope, await job.input(), job.key, child);
      if (iteration) {
        iteration.ended = true;
        this.emit(child, job.key, 'iteration-succeeded', 'MapIterationSucceeded', {
          mapIterationSucceededEventDetails: { name: state.name, index: iteration.index },
        });
      }
      thread.last = child.last;
    };
    const worker = async (): Promise<void> => {
      while (next < jobs.length && !signal.aborted) {
        const i = next++;
        try {
          await runJob(i);
        } catch (error) {
          if (failure !== undefined || signal.aborted) return;
          failure = error;
          if (error instanceof StateFailure) this.abortChildren(state, children, i, error.eventId);
          stop.abort(new Cancelled(`a ${state.type === 'Map' ? 'Map iteration' : 'branch'} failed`));
          return;
        }
      }
    };
    const workers = Math.min(jobs.length, limit > 0 ? limit : jobs.length);
    await Promise.all(Array.from({ length: workers }, () => worker()));
    if (thread.open) thread.open.children = undefined;
    if (failure !== undefined) throw failure;
    if (thread.signal.aborted) throw thread.signal.reason;
    return results;
  }

  /** Records what a failing branch or iteration takes down with it, in AWS's order. */
  private abortChildren(
    state: CompiledState,
    children: ChildThread[],
    failedIndex: number,
    failedEventId: number,
  ): void {
    children.forEach((child, i) => {
      const writer: Thread = { last: failedEventId, signal: this.controller.signal, open: undefined };
      const iteration = child.iteration;
      if (iteration?.started && !iteration.ended) {
        iteration.ended = true;
        const kind = i === failedIndex ? 'Failed' : 'Aborted';
        this.emit(writer, iteration.key, `iteration-${kind.toLowerCase()}`, `MapIteration${kind}`, {
          [`mapIteration${kind}EventDetails`]: { name: state.name, index: iteration.index },
        });
      }
      writer.last = failedEventId;
      this.abortOpen(child, writer);
    });
  }

  private abortOpen(child: Thread, writer: Thread): void {
    const open = child.open;
    if (!open) return;
    const failedAt = writer.last;
    switch (open.state.type) {
      case 'Task':
      case 'Wait':
        this.emit(writer, open.key, 'aborted', `${open.state.type}StateAborted`);
        break;
      case 'Parallel':
      case 'Map':
        for (const grandchild of open.children ?? []) {
          writer.last = failedAt;
          this.abortOpen(grandchild, writer);
        }
        writer.last = failedAt;
        this.emit(writer, open.key, 'aborted', `${open.state.type}StateAborted`);
        break;
      default:
        break;
    }
    writer.last = failedAt;
  }
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function replayKey(key: string, role: string): string {
  return `${key}\u0000${role}`;
}

function failed(error: string | null, cause: string | null): Closing {
  return { status: 'FAILED', ...(error ? { error } : {}), ...(cause ? { cause } : {}) };
}

function tooLarge(what: string): string {
  return `The state/task '${what}' returned a result with a size exceeding the maximum number of bytes service limit.`;
}

/** AWS's matching of an error against ErrorEquals (error-handling page of the Step Functions guide). */
function matches(errorEquals: readonly string[], failure: StateFailure, type: string): boolean {
  if (failure.terminal) return false;
  return errorEquals.some(
    (name) =>
      name === 'States.ALL' ||
      (failure.error !== null && name === failure.error) ||
      (name === 'States.TaskFailed' && type === 'Task' && failure.error !== 'States.Timeout') ||
      (name === 'States.HeartbeatTimeout' && failure.heartbeat),
  );
}

/** When the next attempt is due: IntervalSeconds × BackoffRate^n, capped by MaxDelaySeconds, with jitter. */
function backoffDue(
  retrier: {
    intervalSeconds: number;
    backoffRate: number;
    maxDelaySeconds: number | undefined;
    jitter: 'FULL' | 'NONE';
  },
  retriesSoFar: number,
): number {
  let seconds = retrier.intervalSeconds * retrier.backoffRate ** retriesSoFar;
  if (retrier.maxDelaySeconds !== undefined) seconds = Math.min(seconds, retrier.maxDelaySeconds);
  if (retrier.jitter === 'FULL') seconds = Math.random() * seconds;
  return Date.now() + Math.round(seconds * 1000);
}

function closingDetails(closing: Closing): { type: string; details: EventDetails } {
  switch (closing.status) {
    case 'SUCCEEDED':
      return {
        type: 'ExecutionSucceeded',
        details: { executionSucceededEventDetails: { output: closing.output, outputDetails: NOT_TRUNCATED } },
      };
    case 'FAILED':
      return {
        type: 'ExecutionFailed',
        details: { executionFailedEventDetails: present({ error: closing.error, cause: closing.cause }) },
      };
    case 'TIMED_OUT':
      return {
        type: 'ExecutionTimedOut',
        details: { executionTimedOutEventDetails: present({ error: closing.error, cause: closing.cause }) },
      };
    case 'ABORTED':
      return {
        type: 'ExecutionAborted',
        details: { executionAbortedEventDetails: present({ error: closing.error, cause: closing.cause }) },
      };
  }
}
