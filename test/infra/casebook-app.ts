/**
 * Builds the Casebook CDK app the way `cdk synth` does (same cdk.json context) but without
 * bundling the functions, so Template tests stay fast; the synth test bundles for real.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { addCasebookStacks } from '../../lib/casebook-app.ts';
import { REPO_ROOT } from '../../lib/paths.ts';
import type { CasebookStatefulStack } from '../../lib/stateful-stack.ts';
import type { CasebookStatelessStack } from '../../lib/stateless-stack.ts';

/** The `context` block of cdk.json: feature flags and the example-domain settings. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8'),
).context;

/** The synthesized app, its two stacks and their templates. */
export interface CasebookApp {
  readonly app: App;
  readonly stateful: CasebookStatefulStack;
  readonly stateless: CasebookStatelessStack;
  readonly statefulTemplate: Template;
  readonly statelessTemplate: Template;
}

/** Builds the stacks as bin/casebook.ts does (without its checks: the nag tests add them), with cdk.json context plus `context` overrides. */
export function buildCasebookApp(
  context: Record<string, unknown> = {},
): Omit<CasebookApp, 'statefulTemplate' | 'statelessTemplate'> {
  const app = new App({
    context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context },
  });
  const { stateful, stateless } = addCasebookStacks(app);
  return { app, stateful, stateless };
}

/** Builds and synthesizes the app once per test file. */
export function synthCasebookApp(context: Record<string, unknown> = {}): CasebookApp {
  const built = buildCasebookApp(context);
  return {
    ...built,
    statefulTemplate: Template.fromStack(built.stateful),
    statelessTemplate: Template.fromStack(built.stateless),
  };
}
