import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../functions/catalog.ts';
import { ERROR_NAMES } from '../../functions/domain/errors.ts';
import { PHASES } from '../../functions/domain/vocabulary.ts';

const text = readFileSync(
  join(import.meta.dirname, '../../statemachines/incident-lifecycle.asl.json'),
  'utf8',
);
const asl = JSON.parse(text) as { States: Record<string, State> };

interface State {
  Type: string;
  Resource?: string;
  TimeoutSeconds?: number;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[] }[];
  Error?: string;
  Branches?: { States: Record<string, State> }[];
  ItemProcessor?: { States: Record<string, State> };
}

function allStates(states: Record<string, State>): [string, State][] {
  return Object.entries(states).flatMap(([name, s]) => [
    [name, s] as [string, State],
    ...(s.Branches ?? []).flatMap((b) => allStates(b.States)),
    ...(s.ItemProcessor ? allStates(s.ItemProcessor.States) : []),
  ]);
}

describe('the lifecycle ASL as a contract', () => {
  const states = allStates(asl.States);

  it('has the six phases as states, in order', () => {
    for (const phase of PHASES) expect(asl.States[phase], phase).toBeDefined();
  });

  it('uses only error names the code exports, and uses every lifecycle error the code defines', () => {
    const used = new Set(
      states.flatMap(([, s]) => [
        ...(s.Retry ?? []).flatMap((r) => r.ErrorEquals),
        ...(s.Catch ?? []).flatMap((c) => c.ErrorEquals),
        ...(s.Error ? [s.Error] : []),
      ]),
    );
    const ours = [...used].filter((e) => e.startsWith('Casebook.'));
    const exported = Object.values(ERROR_NAMES) as string[];
    for (const name of ours) expect(exported, name).toContain(name);
    for (const name of [
      ERROR_NAMES.planRejected,
      ERROR_NAMES.lifecycleFailed,
      ERROR_NAMES.dependencyUnavailable,
    ]) {
      expect(ours).toContain(name);
    }
  });

  it('refers to functions only through substitutions the catalog defines', () => {
    const placeholders = new Set([...text.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((m) => m[1]));
    const catalog = new Set(
      Object.values(FUNCTIONS).flatMap((f) => ('substitution' in f ? [f.substitution] : [])),
    );
    expect(placeholders).toEqual(catalog);
  });

  it('gives every Task a TimeoutSeconds, and the Decide approval tasks wait with .waitForTaskToken', () => {
    for (const [name, s] of states.filter(([, s]) => s.Type === 'Task')) {
      expect(s.TimeoutSeconds, name).toBeGreaterThan(0);
    }
    const approvals = states.filter(
      ([, s]) => s.Resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken',
    );
    expect(approvals.map(([name]) => name).sort()).toEqual([
      'Ask Business to approve the plan',
      'Ask Legal to approve the plan',
      'Ask SRE to approve the plan',
    ]);
  });

  it('is JSONPath only (the local engine has no JSONata)', () => {
    expect(text).not.toContain('JSONata');
    expect(text).not.toContain('{%');
  });
});
