import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../functions/catalog.ts';
import { ERROR_NAMES } from '../../functions/domain/errors.ts';
import { PHASES, type Phase } from '../../functions/domain/vocabulary.ts';
import { clockState, WAIT_STEPS, WAITS } from '../../functions/domain/waits.ts';
import { incidentLifecycleJson } from '../../statemachines/incident-lifecycle.ts';

const text = readFileSync(
  join(import.meta.dirname, '../../statemachines/incident-lifecycle.asl.json'),
  'utf8',
);
const asl = JSON.parse(text) as { StartAt: string; States: Record<string, State> };

interface State {
  Type: string;
  Next?: string;
  End?: boolean;
  Choices?: ChoiceRule[];
  Default?: string;
  Resource?: string;
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[] }[];
  Error?: string;
  Branches?: { States: Record<string, State> }[];
  ItemProcessor?: { States: Record<string, State> };
}

interface ChoiceRule {
  Variable?: string;
  Next?: string;
  StringEquals?: string;
  And?: ChoiceRule[];
}

const isPhase = (name: string): name is Phase => (PHASES as readonly string[]).includes(name);

/**
 * The phases met on the way from `from` when nothing fails and nobody is waited for — each
 * state's Next; at a Choice, the rule for an Act that is `done` or refunds that `passed` their
 * check, else its Default (the path of a new incident) — and the state the walk ends in. Catch edges lead away from the phases, so they
 * are not walked.
 */
function walkFrom(from: string): { phases: string[]; end: State } {
  const phases: string[] = [];
  const visited = new Set<string>();
  for (let name = from; ; ) {
    if (visited.has(name)) throw new Error(`the walk loops back to ${name}`);
    visited.add(name);
    const state: State | undefined = asl.States[name];
    if (!state) throw new Error(`an edge leads to ${name}, which is not a state`);
    if (isPhase(name)) phases.push(name);
    const next =
      state.Type === 'Choice'
        ? (state.Choices?.find((c) => c.StringEquals === 'done' || c.StringEquals === 'passed')?.Next ??
          state.Default)
        : state.Next;
    if (next === undefined) return { phases, end: state };
    name = next;
  }
}

/** The value a Choice rule compares `$.resumeFrom` with, however deeply it is nested. */
function comparedWith(rule: ChoiceRule): string | undefined {
  return rule.StringEquals ?? rule.And?.map(comparedWith).find((v) => v !== undefined);
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

  it('walks the six phases in order, from the start to a Succeed state', () => {
    const walk = walkFrom(asl.StartAt);
    expect(walk.phases).toEqual([...PHASES]);
    expect(walk.end.Type).toBe('Succeed');
  });

  it('resumes at the recorded phase and walks the rest of the phases in order', () => {
    const start = asl.States[asl.StartAt];
    expect(start?.Type).toBe('Choice');
    const rules = start?.Choices ?? [];
    // Every phase after Detect can be resumed; Detect is where a new incident starts.
    expect(rules.map((r) => r.Next)).toEqual(PHASES.slice(1));
    for (const rule of rules) {
      const phase = rule.Next ?? '';
      expect(comparedWith(rule), phase).toBe(phase);
      expect(walkFrom(phase).phases, phase).toEqual(PHASES.slice(PHASES.indexOf(phase as Phase)));
    }
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

  it('gives every Task a timeout; waits for people only with .waitForTaskToken, timed by the clock read before them', () => {
    // Every wait hands its token to hold-for-people and to nothing else.
    for (const [name, s] of states.filter(([, s]) => s.Resource?.endsWith('.waitForTaskToken'))) {
      expect(JSON.stringify(s), name).toContain(`\${HoldForPeopleFunctionArn}`);
    }
    const waits = states.filter(([, s]) => s.Resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken');
    // One wait per approval round, like every other wait for people: no Parallel branch per role.
    expect(states.filter(([, s]) => s.Type === 'Parallel')).toEqual([]);
    expect(waits.map(([name]) => name).sort()).toEqual([
      'Wait for a submitted plan',
      'Wait for containment',
      'Wait for people to settle the effects Act could not',
      'Wait for the approvers to decide',
      'Wait for the postmortem',
    ]);
    for (const [name, s] of states.filter(([, s]) => s.Type === 'Task')) {
      if (waits.some(([w]) => w === name)) {
        // A wait lasts until the next deadline, as the clock-reading step before it answered.
        expect(s.TimeoutSecondsPath, name).toBe('$.deadline.seconds');
        expect(s.TimeoutSeconds, name).toBeUndefined();
      } else expect(s.TimeoutSeconds, name).toBeGreaterThan(0);
    }
  });

  it('has each wait of waits.ts as its state, holding its step, and the clock read before it for the same step', () => {
    for (const step of WAIT_STEPS) {
      const wait = asl.States[WAITS[step].state] as State & { Parameters?: { Payload?: { step?: string } } };
      const clock = asl.States[clockState(step)] as State & { Parameters?: { Payload?: { step?: string } } };
      expect(wait?.Parameters?.Payload?.step, step).toBe(step);
      expect(clock?.Next, step).toBe(WAITS[step].state);
      expect(clock?.Parameters?.Payload?.step, step).toBe(step);
    }
  });

  it('checks the refunds after a plan is submitted and before Decide, retried, caught, timed above its Lambda', () => {
    const name = 'Check the refunds with the payments provider';
    expect(asl.States['Wait for a submitted plan']?.Next).toBe(name);
    const check = asl.States[name] as State & { Parameters?: { FunctionName?: string } };
    expect(check.Parameters?.FunctionName).toBe(`\${${FUNCTIONS.checkRefunds.substitution}}`);
    expect(check.TimeoutSeconds).toBeGreaterThanOrEqual(FUNCTIONS.checkRefunds.timeoutSeconds + 5);
    expect(check.Retry?.flatMap((r) => r.ErrorEquals)).toContain(ERROR_NAMES.dependencyUnavailable);
    expect(check.Catch?.flatMap((c) => c.ErrorEquals)).toEqual(
      expect.arrayContaining([ERROR_NAMES.cancelled, 'States.ALL']),
    );
    const choice = asl.States[check.Next ?? ''];
    expect(choice?.Choices).toEqual([
      { Variable: '$.check.outcome', StringEquals: 'passed', Next: 'Decide' },
    ]);
    // Anything but a pass goes back for a revised plan; no edge leads to the approvers' rejection path.
    expect(choice?.Default).toBe('Understand');
  });

  it('is the file statemachines/incident-lifecycle.ts generates (npm run asl)', () => {
    expect(text).toBe(incidentLifecycleJson());
  });

  it('is JSONPath only (the local engine has no JSONata)', () => {
    expect(text).not.toContain('JSONata');
    expect(text).not.toContain('{%');
  });
});
