/**
 * A state machine definition compiled for the local server: validated once by aws-local-stepfunctions
 * (its asl-validator), checked for what the server cannot run, and turned into a tree of scopes —
 * the top level, each Parallel branch, each Map's ItemProcessor — whose states carry their data flow.
 */
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { StateDataFlow } from './data-flow.ts';
import { integrationFor, type TaskIntegration } from './task-resources.ts';

type Json = Record<string, unknown>;

/** The state types of the Amazon States Language. */
export type StateType = 'Task' | 'Parallel' | 'Map' | 'Pass' | 'Wait' | 'Choice' | 'Succeed' | 'Fail';

/** One retrier of a Retry field, with AWS's defaults filled in. */
export interface Retrier {
  errorEquals: readonly string[];
  intervalSeconds: number;
  maxAttempts: number;
  backoffRate: number;
  maxDelaySeconds: number | undefined;
  jitter: 'FULL' | 'NONE';
}

/** One catcher of a Catch field. */
export interface Catcher {
  errorEquals: readonly string[];
  next: string;
  resultPath: unknown;
}

/** A state, ready to run. */
export interface CompiledState {
  name: string;
  type: StateType;
  /** The state's definition as written. */
  definition: Json;
  next: string | undefined;
  end: boolean;
  retry: readonly Retrier[];
  catch: readonly Catcher[];
  flow: StateDataFlow;
  /** Task states: how the resource is run; undefined when the server has no integration for it. */
  integration: TaskIntegration | undefined;
  /** Parallel branches, or a Map's item processor (one scope). */
  scopes: readonly Scope[];
}

/** A sequence of states: the top level, a Parallel branch or a Map item processor. */
export interface Scope {
  startAt: string;
  states: ReadonlyMap<string, CompiledState>;
}

/** A definition ready to run. */
export interface CompiledDefinition {
  root: Scope;
  /** Top-level TimeoutSeconds, if given. */
  timeoutSeconds: number | undefined;
  /** Task states whose resource the server cannot run (executions fail when they reach one). */
  unsupportedTasks: readonly { name: string; resource: string }[];
}

const UNSUPPORTED_FIELDS: Readonly<Record<string, string>> = {
  QueryLanguage: 'JSONata (QueryLanguage)',
  Assign: 'variables (Assign)',
  Arguments: 'JSONata Arguments',
  Output: 'JSONata Output',
  ItemReader: 'Distributed Map (ItemReader)',
  ItemBatcher: 'Distributed Map (ItemBatcher)',
  ResultWriter: 'Distributed Map (ResultWriter)',
  ToleratedFailureCount: 'Distributed Map (ToleratedFailureCount)',
  ToleratedFailurePercentage: 'Distributed Map (ToleratedFailurePercentage)',
  ToleratedFailureCountPath: 'Distributed Map (ToleratedFailureCountPath)',
  ToleratedFailurePercentagePath: 'Distributed Map (ToleratedFailurePercentagePath)',
};

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// asl-validator compiles its schemas on every call (hundreds of milliseconds); a definition is the same
// definition however often a server (or a test) starts with it.
const compiled = new Map<string, CompiledDefinition>();

/** Compiles a definition, or throws an Error saying why the local server cannot run it. */
export function compileDefinition(definition: object): CompiledDefinition {
  const text = JSON.stringify(definition);
  let done = compiled.get(text);
  if (!done) {
    done = compile(definition);
    compiled.set(text, done);
  }
  return done;
}

function compile(definition: object): CompiledDefinition {
  try {
    // The constructor validates the definition (asl-validator: schema, paths, ARNs) — on a copy,
    // because the validator writes a QueryLanguage into every state it checks.
    new StateMachine(structuredClone(definition) as unknown as StateMachineDefinition);
  } catch (error) {
    throw new Error((error as Error).message, { cause: error });
  }
  const problems: string[] = [];
  const unsupportedTasks: { name: string; resource: string }[] = [];
  const root = compileScope(definition as Json, problems, unsupportedTasks);
  if ('QueryLanguage' in definition && (definition as Json).QueryLanguage !== 'JSONPath') {
    problems.push(`the state machine uses ${UNSUPPORTED_FIELDS.QueryLanguage}`);
  }
  if (problems.length > 0) throw new Error(`The local server cannot run it: ${problems.join('; ')}`);
  const timeout = (definition as Json).TimeoutSeconds;
  return { root, timeoutSeconds: typeof timeout === 'number' ? timeout : undefined, unsupportedTasks };
}

function compileScope(
  machine: Json,
  problems: string[],
  unsupportedTasks: { name: string; resource: string }[],
): Scope {
  const states = new Map<string, CompiledState>();
  const raw = isRecord(machine.States) ? machine.States : {};
  for (const [name, definition] of Object.entries(raw)) {
    if (!isRecord(definition)) continue;
    for (const [field, what] of Object.entries(UNSUPPORTED_FIELDS)) {
      if (field in definition && !(field === 'QueryLanguage' && definition[field] === 'JSONPath')) {
        problems.push(`state '${name}' uses ${what}`);
      }
    }
    const type = definition.Type as StateType;
    const processor = isRecord(definition.ItemProcessor) ? definition.ItemProcessor : definition.Iterator;
    if (type === 'Map' && isRecord(processor) && isRecord(processor.ProcessorConfig)) {
      if (processor.ProcessorConfig.Mode === 'DISTRIBUTED')
        problems.push(`state '${name}' is a Distributed Map`);
    }
    const scopes: Scope[] = [];
    if (type === 'Parallel' && Array.isArray(definition.Branches)) {
      for (const branch of definition.Branches) {
        if (isRecord(branch)) scopes.push(compileScope(branch, problems, unsupportedTasks));
      }
    }
    if (type === 'Map' && isRecord(processor))
      scopes.push(compileScope(processor, problems, unsupportedTasks));
    let integration: TaskIntegration | undefined;
    if (type === 'Task') {
      const resource = typeof definition.Resource === 'string' ? definition.Resource : '';
      integration = integrationFor(resource);
      if (!integration) unsupportedTasks.push({ name, resource });
    }
    states.set(name, {
      name,
      type,
      definition,
      next: typeof definition.Next === 'string' ? definition.Next : undefined,
      end: definition.End === true || type === 'Succeed' || type === 'Fail',
      retry: Array.isArray(definition.Retry) ? definition.Retry.filter(isRecord).map(retrier) : [],
      catch: Array.isArray(definition.Catch) ? definition.Catch.filter(isRecord).map(catcher) : [],
      flow: new StateDataFlow(definition),
      integration,
      scopes,
    });
  }
  return { startAt: String(machine.StartAt), states };
}

function retrier(raw: Json): Retrier {
  return {
    errorEquals: Array.isArray(raw.ErrorEquals) ? raw.ErrorEquals.map(String) : [],
    intervalSeconds: typeof raw.IntervalSeconds === 'number' ? raw.IntervalSeconds : 1,
    maxAttempts: typeof raw.MaxAttempts === 'number' ? raw.MaxAttempts : 3,
    backoffRate: typeof raw.BackoffRate === 'number' ? raw.BackoffRate : 2,
    maxDelaySeconds: typeof raw.MaxDelaySeconds === 'number' ? raw.MaxDelaySeconds : undefined,
    jitter: raw.JitterStrategy === 'FULL' ? 'FULL' : 'NONE',
  };
}

function catcher(raw: Json): Catcher {
  return {
    errorEquals: Array.isArray(raw.ErrorEquals) ? raw.ErrorEquals.map(String) : [],
    next: String(raw.Next),
    resultPath: raw.ResultPath,
  };
}
