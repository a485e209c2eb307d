/**
 * The state machine's task timeouts against its functions' own, both read from what CDK
 * synthesizes: the ASL as deployed (the stateless stack's asset), each `${…}` resolved through the
 * template's DefinitionSubstitutions to the Lambda function it names, and that function's
 * Timeout. A task must outlast its function's run, or a slow run is cut off by the state machine
 * while it still works and may be started again beside it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { synthCasebookApp } from './casebook-app.ts';

/** The least a task's timeout must exceed its function's: the invocation's own time. */
const MARGIN_SECONDS = 5;

const { app, stateless, statelessTemplate: template } = synthCasebookApp();

type State = Record<string, unknown> & {
  Type?: string;
  Resource?: string;
  Parameters?: { FunctionName?: string };
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Branches?: { States: Record<string, State> }[];
  ItemProcessor?: { States: Record<string, State> };
};

/** The ASL CDK deploys: the asset the state machine's DefinitionS3Location points at. */
function deployedDefinition(): { States: Record<string, State> } {
  const [resource] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const key = (resource?.Properties.DefinitionS3Location as { Key: string } | undefined)?.Key;
  const assembly = app.synth();
  const manifest = JSON.parse(
    readFileSync(path.join(assembly.directory, `${stateless.artifactId}.assets.json`), 'utf8'),
  ) as {
    files: Record<string, { source: { path: string }; destinations: Record<string, { objectKey: string }> }>;
  };
  const asset = Object.values(manifest.files).find((file) =>
    Object.values(file.destinations).some((d) => d.objectKey === key),
  );
  if (!asset) throw new Error(`no asset for ${key}`);
  return JSON.parse(readFileSync(path.join(assembly.directory, asset.source.path), 'utf8'));
}

function tasks(states: Record<string, State>): [string, State][] {
  return Object.entries(states).flatMap(([name, state]) => [
    ...(state.Type === 'Task' ? [[name, state] as [string, State]] : []),
    ...(state.Branches ?? []).flatMap((b) => tasks(b.States)),
    ...(state.ItemProcessor ? tasks(state.ItemProcessor.States) : []),
  ]);
}

/** Each substitution's Lambda function, by its Timeout in the template. */
function lambdaTimeouts(): Record<string, number> {
  const [machine] = Object.values(template.findResources('AWS::StepFunctions::StateMachine'));
  const substitutions = machine?.Properties.DefinitionSubstitutions as Record<
    string,
    { 'Fn::GetAtt': [string, string] }
  >;
  const functions = template.findResources('AWS::Lambda::Function');
  return Object.fromEntries(
    Object.entries(substitutions).map(([name, ref]) => [
      name,
      functions[ref['Fn::GetAtt'][0]]?.Properties.Timeout as number,
    ]),
  );
}

describe("the state machine's task timeouts, as synthesized", () => {
  const definition = deployedDefinition();
  const timeouts = lambdaTimeouts();
  const invoking = tasks(definition.States).map(([name, state]) => {
    const substitution = /^\$\{(\w+)\}$/.exec(state.Parameters?.FunctionName ?? '')?.[1] ?? '';
    return { name, state, substitution, lambda: timeouts[substitution] };
  });

  it('finds a Lambda function, with its Timeout, behind every task', () => {
    expect(invoking.length).toBeGreaterThan(10);
    expect(invoking.filter((t) => typeof t.lambda !== 'number').map((t) => t.name)).toEqual([]);
  });

  it(`gives every task at least ${MARGIN_SECONDS} s more than its function's Timeout`, () => {
    // A wait for people is timed by its deadline (TimeoutSecondsPath): the function only keeps
    // the task token and returns; the token, not the function, ends the task.
    const waits = invoking.filter((t) => t.state.TimeoutSecondsPath !== undefined);
    expect(waits.every((t) => t.state.Resource?.endsWith('.waitForTaskToken'))).toBe(true);
    const short = invoking
      .filter((t) => t.state.TimeoutSecondsPath === undefined)
      .filter((t) => !((t.state.TimeoutSeconds ?? 0) >= (t.lambda ?? 0) + MARGIN_SECONDS))
      .map((t) => `${t.name}: task ${t.state.TimeoutSeconds} s, ${t.substitution} ${t.lambda} s`);
    expect(short).toEqual([]);
  });
});
