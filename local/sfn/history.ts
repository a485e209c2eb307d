import type { StateMachine } from 'aws-local-stepfunctions';
import { epochSeconds } from './protocol.ts';

/** A JSON value as the engine passes it around. */
export type JsonValue = Parameters<StateMachine['run']>[0];

/** One event of the engine's `eventLogs` stream. */
export type EngineEvent =
  ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** One GetExecutionHistory event as stored: AWS field names, `timestamp` in epoch milliseconds. */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

/** The `<kind>EventDetails` member of a history event, keyed by its AWS field name. */
export type EventDetails = Record<string, Record<string, unknown>>;

/** An AWS event type with its details, not yet numbered. */
export interface PendingEvent {
  type: string;
  details?: EventDetails;
  at?: number;
}

/** Appends AWS-shaped events with sequential ids and timestamps that never go backwards. */
export class History {
  readonly events: HistoryEvent[];

  constructor(events: HistoryEvent[]) {
    this.events = events;
  }

  append({ type, details, at = Date.now() }: PendingEvent): void {
    const last = this.events.at(-1);
    this.events.push({
      id: (last?.id ?? 0) + 1,
      previousEventId: last?.id ?? 0,
      timestamp: Math.max(at, last?.timestamp ?? 0),
      type,
      ...details,
    });
  }
}

/** Serialises a value the way history events carry data: as a JSON string. */
export function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

const NOT_TRUNCATED = { truncated: false };

/** `ExecutionStarted` with the input exactly as the caller sent it. */
export function executionStarted(input: string, roleArn: string, at: number): PendingEvent {
  return {
    type: 'ExecutionStarted',
    details: { executionStartedEventDetails: { input, inputDetails: NOT_TRUNCATED, roleArn } },
    at,
  };
}

/** The closing event of an execution. */
export function executionClosed(
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED',
  data: { output?: string; error?: string; cause?: string },
  at: number,
): PendingEvent {
  switch (status) {
    case 'SUCCEEDED':
      return {
        type: 'ExecutionSucceeded',
        details: { executionSucceededEventDetails: { output: data.output, outputDetails: NOT_TRUNCATED } },
        at,
      };
    case 'FAILED':
      return {
        type: 'ExecutionFailed',
        details: { executionFailedEventDetails: { error: data.error, cause: data.cause } },
        at,
      };
    case 'TIMED_OUT':
      return {
        type: 'ExecutionTimedOut',
        details: { executionTimedOutEventDetails: { error: data.error, cause: data.cause } },
        at,
      };
    case 'ABORTED':
      return {
        type: 'ExecutionAborted',
        details: { executionAbortedEventDetails: { error: data.error, cause: data.cause } },
        at,
      };
  }
}

/**
 * Maps the engine's state-level events onto AWS history events. Execution-level events and the
 * Task* events are produced elsewhere (the engine knows nothing of task tokens or Lambda shapes).
 */
export class EngineEventMapper {
  // A Parallel or Map that failed and was then caught exits without having succeeded.
  private readonly failed = new Set<string>();

  map(event: EngineEvent): PendingEvent[] {
    const at = event.timestamp;
    switch (event.type) {
      case 'StateEntered': {
        const { name, type, input } = event.state;
        this.failed.delete(stateKey(name, event.index));
        const entered: PendingEvent = {
          type: `${type}StateEntered`,
          details: { stateEnteredEventDetails: { name, input: json(input), inputDetails: NOT_TRUNCATED } },
          at,
        };
        if (type === 'Parallel') return [entered, { type: 'ParallelStateStarted', at }];
        if (type === 'Map')
          return [entered, { type: 'MapStateStarted', details: { mapStateStartedEventDetails: {} }, at }];
        return [entered];
      }
      case 'StateExited': {
        const { name, type, output } = event.state;
        const exited: PendingEvent = {
          type: `${type}StateExited`,
          details: { stateExitedEventDetails: { name, output: json(output), outputDetails: NOT_TRUNCATED } },
          at,
        };
        const caught = this.failed.delete(stateKey(name, event.index));
        if (!caught && type === 'Parallel') return [{ type: 'ParallelStateSucceeded', at }, exited];
        if (!caught && type === 'Map') return [{ type: 'MapStateSucceeded', at }, exited];
        return [exited];
      }
      case 'StateRetried':
        // A retried Parallel or Map runs again and may still succeed.
        this.failed.delete(stateKey(event.state.name, event.index));
        return [];
      case 'StateFailed': {
        const { name, type } = event.state;
        if (type !== 'Parallel' && type !== 'Map') return [];
        this.failed.add(stateKey(name, event.index));
        return [{ type: `${type}StateFailed`, at }];
      }
      case 'MapIterationStarted':
        return [mapIteration('Started', event.parentState.name, event.index, at)];
      case 'MapIterationSucceeded':
        return [mapIteration('Succeeded', event.parentState.name, event.index, at)];
      case 'MapIterationFailed':
        return [mapIteration('Failed', event.parentState.name, event.index, at)];
      default:
        // StateRetried/StateCaught have no AWS event of their own; AWS has no per-branch Parallel events.
        return [];
    }
  }
}

function stateKey(name: string, index: number | undefined): string {
  return `${name}\u0000${index ?? ''}`;
}

function mapIteration(phase: string, name: string, index: number, at: number): PendingEvent {
  return {
    type: `MapIteration${phase}`,
    details: { [`mapIteration${phase}EventDetails`]: { name, index } },
    at,
  };
}

const EXECUTION_DATA_FIELDS = ['input', 'inputDetails', 'output', 'outputDetails', 'parameters'];

/** A history event as the protocol returns it: epoch seconds, optionally without execution data. */
export function renderEvent(event: HistoryEvent, includeExecutionData: boolean): Record<string, unknown> {
  const rendered: Record<string, unknown> = { ...event, timestamp: epochSeconds(event.timestamp) };
  if (!includeExecutionData) {
    for (const [key, value] of Object.entries(rendered)) {
      if (!key.endsWith('EventDetails') || typeof value !== 'object' || value === null) continue;
      rendered[key] = Object.fromEntries(
        Object.entries(value).filter(([field]) => !EXECUTION_DATA_FIELDS.includes(field)),
      );
    }
  }
  return rendered;
}
