/**
 * Property: for small generated state machines (Pass, Choice loops, Wait, Task with Retry and Catch,
 * callback tasks, Parallel, Map, Fail) and a crash at a generated point — the k-th task invocation,
 * after it did its work and before it returned, or a moment into the run — the server never crashes,
 * every execution ends (or keeps waiting) as the definition says, a killed-and-restarted run ends
 * exactly as an uninterrupted one, and no task whose result was on disk at the crash runs again.
 *
 * SFN_PROPERTY_RUNS raises the number of generated cases (default 4, to keep `npm test` quick; 60 run in about 100 s);
 * SFN_PROPERTY_SEED replays the cases of a reported seed.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type StepFunctionsServer, startStepFunctionsServer } from '../../local/sfn/server.ts';
import { INVOKE, INVOKE_WITH_CALLBACK } from '../support/sfn.ts';

const RUNS = Number(process.env.SFN_PROPERTY_RUNS ?? 4);

// ---- generated machines

type Step =
  | { kind: 'pass' }
  | { kind: 'task'; fails: number; retry: boolean; catch: boolean }
  | { kind: 'ask' }
  | { kind: 'wait'; seconds: 0 | 1 }
  | { kind: 'loop'; times: number; body: Step[] }
  | { kind: 'parallel'; branches: Step[][] }
  | { kind: 'map'; items: 1 | 2 | 3; concurrency: number; body: Step[] };

interface Program {
  steps: Step[];
  /** How the top level ends: Succeed, a Fail state, or a Wait that outlasts the test (the run keeps waiting). */
  end: 'succeed' | 'fail' | 'hold';
}

const leaf: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<Step>({ kind: 'pass' }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('task' as const),
      fails: fc.constantFrom(0, 0, 1, 3),
      retry: fc.boolean(),
      catch: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.constant<Step>({ kind: 'ask' }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('wait' as const), seconds: fc.constantFrom<0 | 1>(0, 0, 0, 1) }),
  },
);

const steps: (depth: number) => fc.Arbitrary<Step[]> = (depth) =>
  fc.array(
    depth === 0
      ? leaf
      : fc.oneof(
          { weight: 5, arbitrary: leaf },
          {
            weight: 1,
            arbitrary: fc.record({
              kind: fc.constant('loop' as const),
              times: fc.integer({ min: 1, max: 3 }),
              body: steps(depth - 1),
            }),
          },
          {
            weight: 1,
            arbitrary: fc.record({
              kind: fc.constant('parallel' as const),
              branches: fc.array(steps(depth - 1), { minLength: 1, maxLength: 3 }),
            }),
          },
          {
            weight: 1,
            arbitrary: fc.record({
              kind: fc.constant('map' as const),
              items: fc.constantFrom<1 | 2 | 3>(1, 2, 3),
              concurrency: fc.integer({ min: 0, max: 2 }),
              body: steps(depth - 1),
            }),
          },
        ),
    { minLength: 1, maxLength: 4 },
  );

const programs: fc.Arbitrary<Program> = fc.record({
  steps: steps(2),
  end: fc.constantFrom<Program['end']>('succeed', 'succeed', 'succeed', 'fail', 'hold'),
});

/**
 * Builds the ASL of a program; every state name is unique in the machine, as AWS requires. Every
 * step runs (loops at least once), so whether the execution fails is known from the definition: it
 * does when a task fails more often than its Retry allows and has no Catch.
 */
function definitionOf(program: Program): { definition: object; failsWith: string | undefined } {
  let counter = 0;
  let uncaught = false;
  const scope = (
    list: Step[],
    end: 'succeed' | 'fail' | 'hold' | 'end',
  ): { StartAt: string; States: Record<string, unknown> } => {
    const states: Record<string, unknown> = {};
    const names = list.map((step) => `${step.kind}-${++counter}`);
    const last = end === 'end' ? undefined : `${end}-${++counter}`;
    if (last) {
      states[last] =
        end === 'succeed'
          ? { Type: 'Succeed' }
          : end === 'fail'
            ? { Type: 'Fail', Error: 'Generated.Failure', Cause: 'the definition ends here' }
            : { Type: 'Wait', Seconds: 100_000, End: true };
    }
    list.forEach((step, i) => {
      const name = names[i] as string;
      const next = names[i + 1] ?? last;
      const flow = next ? { Next: next } : { End: true };
      switch (step.kind) {
        case 'pass':
          states[name] = { Type: 'Pass', Result: { at: name }, ResultPath: `$.${name}`, ...flow };
          break;
        case 'wait':
          states[name] = { Type: 'Wait', Seconds: step.seconds, ...flow };
          break;
        case 'task':
          if (step.fails > (step.retry ? 2 : 0) && !(step.catch && next)) uncaught = true;
          states[name] = {
            Type: 'Task',
            Resource: INVOKE,
            Parameters: {
              FunctionName: 'work',
              Payload: { task: name, fails: step.fails, 'retry.$': '$$.State.RetryCount', 'input.$': '$' },
            },
            ResultSelector: { 'v.$': '$.Payload.v' },
            ResultPath: `$.${name}`,
            ...(step.retry
              ? {
                  Retry: [
                    {
                      ErrorEquals: ['Work.Failed'],
                      IntervalSeconds: 1,
                      MaxAttempts: 2,
                      MaxDelaySeconds: 1,
                      JitterStrategy: 'FULL',
                    },
                  ],
                }
              : {}),
            ...(step.catch && next
              ? { Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: `$.${name}`, Next: next }] }
              : {}),
            ...flow,
          };
          break;
        case 'ask':
          states[name] = {
            Type: 'Task',
            Resource: INVOKE_WITH_CALLBACK,
            Parameters: {
              FunctionName: 'ask',
              Payload: { task: name, 'token.$': '$$.Task.Token', 'input.$': '$' },
            },
            ResultPath: `$.${name}`,
            ...flow,
          };
          break;
        case 'loop': {
          const check = `${name}-check`;
          const inc = `${name}-inc`;
          const body = scopeInline(step.body, inc);
          states[name] = { Type: 'Pass', Result: { v: 0 }, ResultPath: `$.${name}`, Next: check };
          states[check] = {
            Type: 'Choice',
            Choices: [{ Variable: `$.${name}.v`, NumericLessThan: step.times, Next: body.startAt }],
            Default: `${name}-done`,
          };
          states[`${name}-done`] = { Type: 'Pass', ...flow };
          Object.assign(states, body.states);
          states[inc] = {
            Type: 'Pass',
            Parameters: { 'v.$': `States.MathAdd($.${name}.v, 1)` },
            ResultPath: `$.${name}`,
            Next: check,
          };
          break;
        }
        case 'parallel':
          states[name] = {
            Type: 'Parallel',
            Branches: step.branches.map((branch) => scope(branch, 'end')),
            ResultPath: `$.${name}`,
            ...flow,
          };
          break;
        case 'map':
          states[name] = {
            Type: 'Map',
            ItemsPath: `$.lists.l${step.items}`,
            MaxConcurrency: step.concurrency,
            // Where the iteration is (its Map index, and its parent's input with the counters of the
            // loops around it) keeps every call of the run distinct.
            ItemSelector: {
              'v.$': '$$.Map.Item.Value',
              'lists.$': '$.lists',
              'path.$': "States.Format('{}/{}', $.path, $$.Map.Item.Index)",
              'parent.$': '$',
            },
            ItemProcessor: scope(step.body, 'end'),
            ResultPath: `$.${name}`,
            ...flow,
          };
          break;
      }
    });
    return { StartAt: names[0] ?? (last as string), States: states };
  };
  // A loop body: its states, ending by going on to `then`.
  const scopeInline = (list: Step[], then: string): { startAt: string; states: Record<string, unknown> } => {
    const built = scope(list, 'end');
    for (const state of Object.values(built.States) as Record<string, unknown>[]) {
      if (state.End === true) {
        delete state.End;
        state.Next = then;
      }
      if (Array.isArray(state.Catch))
        for (const c of state.Catch as Record<string, unknown>[]) c.Next ??= then;
    }
    return { startAt: built.StartAt, states: built.States };
  };
  const definition = scope(program.steps, program.end);
  return {
    definition,
    failsWith: uncaught ? 'Work.Failed' : program.end === 'fail' ? 'Generated.Failure' : undefined,
  };
}

// ---- running them

const INPUT = { path: 'root', lists: { l1: ['a'], l2: ['a', 'b'], l3: ['a', 'b', 'c'] } };

/** A call's identity: the function and its payload without the token (which differs per run). */
function identity(name: string, payload: Record<string, unknown>): string {
  const { token: _, ...rest } = payload;
  return `${name}:${JSON.stringify(rest)}`;
}

class Functions {
  readonly calls: string[] = [];
  readonly tokens = new Map<string, string>();
  killAt: { invocation: number; kill: () => void } | undefined;

  readonly invoke = async (name: string, payload: unknown): Promise<unknown> => {
    const input = payload as Record<string, unknown>;
    this.calls.push(identity(name, input));
    if (name === 'ask') this.tokens.set(String(input.token), String(input.task));
    if (this.killAt && this.calls.length === this.killAt.invocation) {
      // The call did its work; the process dies before its answer reaches the server.
      this.killAt.kill();
      return new Promise(() => {});
    }
    if (name === 'work' && Number(input.retry) < Number(input.fails)) {
      throw Object.assign(new Error(`${input.task} failed`), {
        name: 'Work.Failed',
        stack: `Work.Failed: ${input.task}`,
      });
    }
    return { v: `${input.task}@${input.retry ?? 0}` };
  };
}

interface Outcome {
  status: string;
  output?: string;
  error?: string;
  cause?: string;
}

async function serve(
  dataDir: string,
  definition: object,
  functions: Functions,
): Promise<{ server: StepFunctionsServer; sfn: SFNClient }> {
  const server = await startStepFunctionsServer({
    port: 0,
    region: 'us-east-1',
    accountId: '000000000000',
    dataDir,
    stateMachines: [{ name: 'generated', definition }],
    invokeFunction: functions.invoke,
  });
  const sfn = new SFNClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  return { server, sfn };
}

const ARN = 'arn:aws:states:us-east-1:000000000000:execution:generated:run';

/**
 * Answers callback tasks until the execution closes or keeps waiting in its final hold; returns how
 * it ended. Answers that fail (the server died meanwhile) are tried again later.
 */
async function drive(
  sfn: SFNClient,
  functions: Functions,
  answered: Set<string>,
  until: () => boolean,
): Promise<Outcome | 'stopped'> {
  const deadline = Date.now() + 40_000;
  while (Date.now() < deadline) {
    if (until()) return 'stopped';
    try {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn: ARN }));
      if (described.status !== 'RUNNING') {
        return {
          status: described.status ?? '',
          output: described.output,
          error: described.error,
          cause: described.cause,
        };
      }
      const events =
        (
          await sfn.send(
            new GetExecutionHistoryCommand({ executionArn: ARN, maxResults: 1000, reverseOrder: true }),
          )
        ).events ?? [];
      if (
        events.some(
          (e) => e.type === 'WaitStateEntered' && e.stateEnteredEventDetails?.name?.startsWith('hold-'),
        )
      ) {
        return { status: 'WAITING' };
      }
      for (const [token, task] of functions.tokens) {
        if (answered.has(token)) continue;
        try {
          await sfn.send(
            new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ answer: task }) }),
          );
          answered.add(token);
        } catch (error) {
          // A token the server no longer knows was answered before the crash and recorded.
          if ((error as Error).name === 'TaskTimedOut') answered.add(token);
          else if (!until()) throw error;
        }
      }
    } catch (error) {
      // The server was killed under the call.
      if (until()) return 'stopped';
      throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
  throw new Error('the execution neither ended nor settled into its final wait');
}

/** The identities of the calls whose results the journal holds (what must not run again). */
async function recordedCalls(dataDir: string): Promise<Set<string>> {
  const dir = path.join(dataDir, 'executions');
  const recorded = new Set<string>();
  for (const file of await readdir(dir)) {
    const lines = (await readFile(path.join(dir, file), 'utf8')).split('\n').filter(Boolean).slice(1);
    const parsed = lines.flatMap((line) => {
      try {
        return [
          JSON.parse(line) as {
            k?: string;
            r?: string;
            d?: { parameters?: { FunctionName?: string; Payload?: Record<string, unknown> } };
          },
        ];
      } catch {
        return [];
      }
    });
    const settled = new Set(
      parsed
        .filter((l) => ['submitted', 'succeeded', 'failed', 'timed-out'].includes(l.r ?? ''))
        .map((l) => l.k),
    );
    for (const line of parsed) {
      const call = line.d?.parameters;
      if (line.r === 'scheduled' && settled.has(line.k) && call?.Payload)
        recorded.add(identity(String(call.FunctionName), call.Payload));
    }
  }
  return recorded;
}

async function runCase(definition: object, kill: { invocation: number } | { afterMs: number }) {
  const dirs: string[] = [];
  const tempDir = async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sfn-property-'));
    dirs.push(dir);
    return dir;
  };
  try {
    // Uninterrupted.
    const reference = new Functions();
    const a = await serve(await tempDir(), definition, reference);
    await a.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: a.server.stateMachineArn('generated'),
        name: 'run',
        input: JSON.stringify(INPUT),
      }),
    );
    const expected = await drive(a.sfn, reference, new Set(), () => false);
    a.sfn.destroy();
    await a.server.close();

    // Killed, then restarted on the same data directory.
    const dataDir = await tempDir();
    const functions = new Functions();
    let killed = false;
    const first = await serve(dataDir, definition, functions);
    const killNow = () => {
      if (killed) return;
      killed = true;
      first.server.kill();
    };
    if ('invocation' in kill) functions.killAt = { invocation: kill.invocation, kill: killNow };
    const answered = new Set<string>();
    await first.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: first.server.stateMachineArn('generated'),
        name: 'run',
        input: JSON.stringify(INPUT),
      }),
    );
    const timer = 'afterMs' in kill ? setTimeout(killNow, kill.afterMs) : undefined;
    const early = await drive(first.sfn, functions, answered, () => killed);
    clearTimeout(timer);
    killNow();
    first.sfn.destroy();
    const recorded = await recordedCalls(dataDir);
    const before = functions.calls.length;
    functions.killAt = undefined;

    const second = await serve(dataDir, definition, functions);
    const actual = await drive(second.sfn, functions, answered, () => false);
    const described = await second.sfn.send(new DescribeExecutionCommand({ executionArn: ARN }));
    second.sfn.destroy();
    await second.server.close();

    return {
      expected,
      actual,
      early,
      described,
      reference: reference.calls,
      calls: functions.calls,
      before,
      recorded,
    };
  } finally {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
}

describe('the local Step Functions server, generated machines and crashes', () => {
  it('ends a killed-and-restarted run exactly as an uninterrupted one, running nothing recorded twice', async () => {
    await fc.assert(
      fc.asyncProperty(
        programs,
        fc.oneof(
          fc.record({ invocation: fc.integer({ min: 1, max: 12 }) }),
          fc.record({ afterMs: fc.integer({ min: 0, max: 1500 }) }),
        ),
        async (program, kill) => {
          const { definition, failsWith } = definitionOf(program);
          const r = await runCase(definition, kill);
          const seen = JSON.stringify(r.expected);
          // Ends (or keeps waiting) as the definition says…
          if (failsWith) expect(r.expected, seen).toMatchObject({ status: 'FAILED', error: failsWith });
          else
            expect(r.expected, seen).toMatchObject({
              status: program.end === 'hold' ? 'WAITING' : 'SUCCEEDED',
            });
          if (r.expected !== 'stopped' && r.expected.status === 'WAITING')
            expect(r.described.status).toBe('RUNNING');
          if (failsWith) {
            // …and as the uninterrupted run did. Which of two failing branches fails first (its cause,
            // and the calls its siblings made before they were aborted) is a race on AWS too.
            expect(r.actual).toMatchObject({ status: 'FAILED', error: failsWith });
          } else {
            expect(r.actual).toEqual(r.expected);
            expect(new Set(r.calls)).toEqual(new Set(r.reference));
          }
          // No call whose result was on disk at the crash ran again.
          expect(r.calls.slice(r.before).filter((call) => r.recorded.has(call))).toEqual([]);
        },
      ),
      {
        numRuns: RUNS,
        endOnFailure: true,
        ...(process.env.SFN_PROPERTY_SEED ? { seed: Number(process.env.SFN_PROPERTY_SEED) } : {}),
      },
    );
  }, 300_000);
});
