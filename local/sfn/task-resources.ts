import { randomUUID } from 'node:crypto';
import type { JsonValue } from './history.ts';

/** How the server runs a Task state, decided by its `Resource`. */
export type TaskKind = 'lambda-invoke' | 'lambda-invoke-callback' | 'lambda-function' | 'unsupported';

/** What the server needs to know about one Task state of a definition. */
export interface TaskStateInfo {
  name: string;
  resource: string;
  kind: TaskKind;
  /** Names of the Parallel and Map states that contain this state, outermost first. */
  ancestors: readonly string[];
  /** As written in the definition; undefined when the definition leaves it to the default. */
  timeoutSeconds: number | undefined;
  /** Not enforced locally (the engine has no heartbeats); kept to warn about it. */
  heartbeatSeconds: number | undefined;
}

/**
 * Node timers overflow past 2^31-1 ms (and then fire at once), so every duration handed to the engine
 * is capped at this many seconds (~24.8 days).
 */
export const MAX_TIMER_SECONDS = 2_147_483;

/** The Resources the server can run, for messages about the ones it cannot. */
export const SUPPORTED_RESOURCES =
  'arn:aws:states:::lambda:invoke, arn:aws:states:::lambda:invoke.waitForTaskToken, Lambda function ARNs';

/** Classifies a Task `Resource`. */
export function classifyResource(resource: string): TaskKind {
  if (/^arn:aws[a-z-]*:states:::lambda:invoke$/.test(resource)) return 'lambda-invoke';
  if (/^arn:aws[a-z-]*:states:::lambda:invoke\.waitForTaskToken$/.test(resource))
    return 'lambda-invoke-callback';
  if (/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[^:]+(:[^:]+)?$/.test(resource))
    return 'lambda-function';
  return 'unsupported';
}

/** The `resource` field of Task* history events, as AWS writes it (`invoke`, `invoke.waitForTaskToken`). */
export function resourceNameOf(resource: string): string {
  return resource.replace(/^arn:aws[a-z-]*:states:::lambda:/, '');
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Copies a definition into the form the engine runs, and lists its Task states.
 *
 * The engine defaults a Task's TimeoutSeconds to 60 s where AWS has effectively none, and its timers
 * overflow on long durations; both are fixed here on the copy so the caller's definition is untouched.
 */
export function prepareDefinition(definition: object): {
  definition: Json;
  tasks: Map<string, TaskStateInfo>;
} {
  const copy = structuredClone(definition) as Json;
  const tasks = new Map<string, TaskStateInfo>();
  if (typeof copy.TimeoutSeconds === 'number')
    copy.TimeoutSeconds = Math.min(copy.TimeoutSeconds, MAX_TIMER_SECONDS);
  walkStates(copy, [], tasks);
  return { definition: copy, tasks };
}

function walkStates(machine: Json, ancestors: readonly string[], tasks: Map<string, TaskStateInfo>): void {
  if (!isRecord(machine.States)) return;
  for (const [name, state] of Object.entries(machine.States)) {
    if (!isRecord(state)) continue;
    switch (state.Type) {
      case 'Task': {
        const timeoutSeconds = typeof state.TimeoutSeconds === 'number' ? state.TimeoutSeconds : undefined;
        if (state.TimeoutSeconds === undefined && state.TimeoutSecondsPath === undefined) {
          state.TimeoutSeconds = MAX_TIMER_SECONDS;
        } else if (typeof state.TimeoutSeconds === 'number') {
          state.TimeoutSeconds = Math.min(state.TimeoutSeconds, MAX_TIMER_SECONDS);
        }
        const resource = typeof state.Resource === 'string' ? state.Resource : '';
        const existing = tasks.get(name);
        // The engine keys task overrides by state name, so two different tasks under one name cannot both run.
        if (existing && existing.resource !== resource) {
          throw new Error(`Task state name '${name}' is used twice with different resources`);
        }
        tasks.set(name, {
          name,
          resource,
          kind: classifyResource(resource),
          ancestors,
          timeoutSeconds,
          heartbeatSeconds: typeof state.HeartbeatSeconds === 'number' ? state.HeartbeatSeconds : undefined,
        });
        break;
      }
      case 'Wait':
        if (typeof state.Seconds === 'number') state.Seconds = Math.min(state.Seconds, MAX_TIMER_SECONDS);
        break;
      case 'Parallel':
        if (Array.isArray(state.Branches)) {
          for (const branch of state.Branches) {
            if (isRecord(branch)) walkStates(branch, [...ancestors, name], tasks);
          }
        }
        break;
      case 'Map': {
        const processor = state.ItemProcessor ?? state.Iterator;
        if (isRecord(processor)) walkStates(processor, [...ancestors, name], tasks);
        break;
      }
    }
  }
}

/** Replaces every occurrence of `placeholder` inside the strings of a JSON value. */
export function replaceInStrings(value: JsonValue, placeholder: string, replacement: string): JsonValue {
  if (typeof value === 'string') return value.replaceAll(placeholder, replacement);
  if (Array.isArray(value)) return value.map((item) => replaceInStrings(item, placeholder, replacement));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, replaceInStrings(item, placeholder, replacement)]),
    );
  }
  return value;
}

/** Round-trips a handler's result through JSON, as the Lambda service does (`undefined` becomes `null`). */
export function toJsonValue(value: unknown): JsonValue {
  return JSON.parse(JSON.stringify(value ?? null)) as JsonValue;
}

/** The result of `arn:aws:states:::lambda:invoke`, shaped like AWS's Lambda Invoke response. */
export function lambdaInvokeResult(payload: JsonValue): JsonValue {
  const requestId = randomUUID();
  const date = new Date().toUTCString();
  return {
    ExecutedVersion: '$LATEST',
    Payload: payload,
    SdkHttpMetadata: {
      AllHttpHeaders: {
        'X-Amz-Executed-Version': ['$LATEST'],
        'x-amzn-RequestId': [requestId],
        'Content-Type': ['application/json'],
        Date: [date],
      },
      HttpHeaders: {
        'X-Amz-Executed-Version': '$LATEST',
        'x-amzn-RequestId': requestId,
        'Content-Type': 'application/json',
        Date: date,
      },
      HttpStatusCode: 200,
    },
    SdkResponseMetadata: { RequestId: requestId },
    StatusCode: 200,
  };
}

/** A function error as Step Functions reports it: error = errorType, cause = the Lambda error JSON. */
export function lambdaFailure(thrown: unknown): { error: string; cause: string } {
  const error = thrown instanceof Error ? thrown : undefined;
  const errorType = error?.name || 'Error';
  const errorMessage = error ? error.message : String(thrown);
  const trace = error?.stack?.split('\n') ?? [];
  return { error: errorType, cause: JSON.stringify({ errorMessage, errorType, trace }) };
}

/**
 * An error the engine matches by name in Retry and Catch; the engine reports `message` as the Cause.
 * A fatal one is neither retried nor caught, which is how a task that can no longer complete unwinds.
 */
export function stateError(name: string, cause: string | undefined, fatal = false): Error {
  const error = new Error(cause ?? '');
  error.name = name;
  if (fatal) {
    // The engine reads these two getters off its own RuntimeError; a plain Error answers them the same way.
    Object.defineProperties(error, { isRetryable: { value: false }, isCatchable: { value: false } });
  }
  return error;
}
