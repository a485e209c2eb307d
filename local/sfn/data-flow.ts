/**
 * A state's data flow — InputPath, Parameters, ResultSelector, ResultPath, OutputPath, Choice rules,
 * intrinsic functions, JSONPath — evaluated by aws-local-stepfunctions, one state at a time.
 *
 * The server drives transitions, retries, timers and history itself (so it can persist and replay
 * them); the engine only ever runs a one-state machine that finishes at once. That keeps the
 * engine's ASL semantics without handing it a timer or a promise that may outlive the process.
 */
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { JsonValue } from './history.ts';

type Json = Record<string, unknown>;

/** The resource of the engine's stand-in Task states; the engine never calls it (an override answers). */
const STAND_IN = 'arn:aws:lambda:us-east-1:000000000000:function:local-data-flow';

/**
 * The engine rebuilds `$$.Execution` on every run (its Input becomes the one-state machine's input and
 * its StartTime the moment of the call), so paths into it are pointed at a copy it leaves alone.
 */
const EXECUTION_ALIAS = 'LocalExecution';
const EXECUTION_PATH = /\$\$\.Execution(?![A-Za-z0-9_])/g;

/** The context object (`$$`) as one evaluation sees it. */
export interface ContextObject {
  Execution: {
    Id: string;
    Input: JsonValue;
    Name: string;
    RoleArn: string;
    StartTime: string;
    RedriveCount: number;
  };
  StateMachine: { Id: string; Name: string };
  State: { EnteredTime: string; Name: string; RetryCount: number };
  Task?: { Token: string };
  Map?: { Item: { Index: number; Value: JsonValue } };
}

/** An error a state reports, named as ASL names it (`States.Runtime`, `States.ResultPathMatchFailure`, …). */
export class DataFlowError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

// The engine's own errors it may throw from data processing; anything else is a States.Runtime.
const ENGINE_ERRORS = new Set([
  'States.Runtime',
  'States.ResultPathMatchFailure',
  'States.NoChoiceMatched',
  'States.IntrinsicFailure',
]);

function aliasPath(path: string): string {
  // A function, not a replacement string: `$$` in a replacement string means a single `$`.
  return path.replace(EXECUTION_PATH, () => `$$.${EXECUTION_ALIAS}`);
}

/** Rewrites `$$.Execution…` in the paths of one state (not in its Branches, ItemProcessor or Result). */
function aliasExecutionPaths(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    const isPath = key.endsWith('.$') || key === 'Variable' || key.endsWith('Path');
    return isPath ? aliasPath(value) : value;
  }
  if (Array.isArray(value)) return value.map((item) => aliasExecutionPaths(item, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) =>
        ['Branches', 'ItemProcessor', 'Iterator', 'Result'].includes(k)
          ? [k, v]
          : [k, aliasExecutionPaths(v, k)],
      ),
    );
  }
  return value;
}

function engineContext(context: ContextObject): Record<string, unknown> {
  return { ...context, [EXECUTION_ALIAS]: context.Execution };
}

function pick(state: Json, fields: readonly string[]): Json {
  const out: Json = {};
  for (const field of fields) {
    if (!(field in state)) continue;
    // The engine writes ResultPath "$" as a field named "$"; "$" means "replace", which is its default.
    if (field === 'ResultPath' && state[field] === '$') continue;
    out[field] = state[field];
  }
  return out;
}

async function runOne(
  definition: StateMachineDefinition,
  input: JsonValue,
  context: ContextObject,
  handlers: Record<string, (input: JsonValue) => JsonValue>,
): Promise<JsonValue> {
  const machine = new StateMachine(definition, { validationOptions: { noValidate: true } });
  try {
    return await machine.run(input, {
      context: engineContext(context),
      overrides: { taskResourceLocalHandlers: handlers },
    }).result;
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const name = cause instanceof Error ? cause.name : '';
    const message = cause instanceof Error ? cause.message : String(cause);
    throw ENGINE_ERRORS.has(name)
      ? new DataFlowError(name, message === name ? '' : message)
      : new DataFlowError('States.Runtime', message);
  }
}

/** A Task-shaped stand-in whose "resource" is a synchronous function: the engine applies the given fields around it. */
function standIn(fields: Json): StateMachineDefinition {
  return {
    StartAt: 'S',
    States: { S: { Type: 'Task', Resource: STAND_IN, ...fields, End: true } },
  } as unknown as StateMachineDefinition;
}

/** The engine-backed data flow of one state of a definition. */
export class StateDataFlow {
  private readonly state: Json;
  private readonly programs = new Map<string, StateMachineDefinition>();

  constructor(state: Json) {
    this.state = aliasExecutionPaths(state) as Json;
  }

  private program(name: string, build: () => StateMachineDefinition): StateMachineDefinition {
    let program = this.programs.get(name);
    if (!program) {
      program = build();
      this.programs.set(name, program);
    }
    return program;
  }

  /** InputPath, then Parameters (a Map's Parameters are its ItemSelector, so only InputPath there). */
  effectiveInput(input: JsonValue, context: ContextObject): Promise<JsonValue> {
    const fields = this.state.Type === 'Map' ? ['InputPath'] : ['InputPath', 'Parameters'];
    const program = this.program('input', () => standIn(pick(this.state, fields)));
    return runOne(program, input, context, { S: (effective) => effective });
  }

  /** InputPath only: what Wait, TimeoutSecondsPath and HeartbeatSecondsPath read from. */
  inputPathOnly(input: JsonValue, context: ContextObject): Promise<JsonValue> {
    const program = this.program('input-path', () => standIn(pick(this.state, ['InputPath'])));
    return runOne(program, input, context, { S: (effective) => effective });
  }

  /** ResultSelector, ResultPath and OutputPath applied to a result, against the state's raw input. */
  applyResult(rawInput: JsonValue, result: JsonValue, context: ContextObject): Promise<JsonValue> {
    const program = this.program('result', () =>
      standIn(pick(this.state, ['ResultSelector', 'ResultPath', 'OutputPath'])),
    );
    return runOne(program, rawInput, context, { S: () => result });
  }

  /** A Pass, Succeed or Wait state's whole data flow (a Pass with `Result` answers that instead of its input). */
  passThrough(input: JsonValue, context: ContextObject): Promise<JsonValue> {
    const program = this.program('pass', () =>
      standIn(pick(this.state, ['InputPath', 'Parameters', 'ResultPath', 'OutputPath'])),
    );
    const hasResult = 'Result' in this.state;
    const result = this.state.Result as JsonValue;
    return runOne(program, input, context, { S: (effective) => (hasResult ? result : effective) });
  }

  /** OutputPath only (a Wait state's output is its effective input through OutputPath). */
  outputPath(value: JsonValue, context: ContextObject): Promise<JsonValue> {
    const program = this.program('output-path', () => standIn(pick(this.state, ['OutputPath'])));
    return runOne(program, value, context, { S: (effective) => effective });
  }

  /** The input of one Map iteration: ItemSelector (or the legacy Parameters) with `$$.Map.Item` set. */
  itemInput(effectiveInput: JsonValue, context: ContextObject): Promise<JsonValue> {
    const selector = this.state.ItemSelector ?? this.state.Parameters;
    if (selector === undefined) return Promise.resolve(context.Map?.Item.Value ?? null);
    const program = this.program('item', () => standIn({ Parameters: selector }));
    return runOne(program, effectiveInput, context, { S: (item) => item });
  }

  /** A catcher's ResultPath applied to the error output, against the state's raw input. */
  catchOutput(rawInput: JsonValue, errorOutput: JsonValue, resultPath: unknown): Promise<JsonValue> {
    const key = `catch:${JSON.stringify(resultPath ?? '$')}`;
    const program = this.program(key, () => standIn(pick({ ResultPath: resultPath }, ['ResultPath'])));
    return runOne(program, rawInput, EMPTY_CONTEXT, { S: () => errorOutput });
  }

  /** Evaluates a Choice state: the state it chooses and its output. */
  async choose(input: JsonValue, context: ContextObject): Promise<{ next: string; output: JsonValue }> {
    const choices = Array.isArray(this.state.Choices) ? (this.state.Choices as Json[]) : [];
    const program = this.program('choice', () => {
      const states: Json = {
        S: {
          ...this.state,
          Choices: choices.map((choice, i) => ({ ...choice, Next: `#${i}` })),
          ...(this.state.Default === undefined ? {} : { Default: '#default' }),
        },
      };
      for (const target of [...choices.map((_, i) => `#${i}`), '#default']) {
        states[target] = { Type: 'Task', Resource: STAND_IN, End: true };
      }
      return { StartAt: 'S', States: states } as unknown as StateMachineDefinition;
    });
    let chosen: { next: string; output: JsonValue } | undefined;
    const handlers: Record<string, (input: JsonValue) => JsonValue> = {
      '#default': (output) => {
        chosen = { next: String(this.state.Default), output };
        return null;
      },
    };
    choices.forEach((choice, i) => {
      handlers[`#${i}`] = (output) => {
        chosen = { next: String(choice.Next), output };
        return null;
      };
    });
    await runOne(program, input, context, handlers);
    if (!chosen) throw new DataFlowError('States.Runtime', 'The Choice state chose no state.');
    return chosen;
  }

  /** Evaluates a reference path (SecondsPath, ItemsPath, TimeoutSecondsPath, ErrorPath, …) on a value. */
  query(path: string, value: JsonValue, context: ContextObject): Promise<JsonValue> {
    const aliased = aliasPath(path);
    const program = this.program(`query:${aliased}`, () => standIn({ Parameters: { 'value.$': aliased } }));
    return runOne(program, value, context, { S: (picked) => picked }).then(
      (picked) => (picked as { value: JsonValue }).value,
    );
  }
}

const EMPTY_CONTEXT: ContextObject = {
  Execution: { Id: '', Input: null, Name: '', RoleArn: '', StartTime: '', RedriveCount: 0 },
  StateMachine: { Id: '', Name: '' },
  State: { EnteredTime: '', Name: '', RetryCount: 0 },
};
