/**
 * `kill -9` of the local Step Functions server at the points where it hurts, with the server in a
 * process of its own: right after a task did its work and before its result was recorded, between
 * two effects of a Map, during a Wait and during a Retry backoff. After a restart on the same data
 * directory the execution ends as it would have without the crash; a task runs again only where its
 * result was not recorded (which is why every handler the ASL invokes is idempotent: see
 * test/functions/idempotency.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalStateMachine } from '../../local/sfn/server.ts';
import { eventually, INVOKE, type SfnProcess, spawnSfn } from '../support/sfn.ts';

const effect = (payload: unknown, extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: INVOKE,
  Parameters: { FunctionName: 'effect', Payload: payload },
  ResultSelector: { 'done.$': '$.Payload' },
  ...extra,
});

const MACHINES: Record<string, LocalStateMachine> = {
  twoEffects: {
    name: 'two-effects',
    definition: {
      StartAt: 'Send the first',
      States: {
        'Send the first': effect({ n: 1 }, { ResultPath: '$.first', Next: 'Send the second' }),
        'Send the second': effect({ n: 2 }, { ResultPath: '$.second', End: true }),
      },
    },
  },
  eachEffect: {
    name: 'each-effect',
    definition: {
      StartAt: 'Carry out each',
      States: {
        'Carry out each': {
          Type: 'Map',
          ItemsPath: '$.effects',
          MaxConcurrency: 1,
          ItemProcessor: {
            StartAt: 'Carry out',
            States: { 'Carry out': effect({ 'effect.$': '$' }, { OutputPath: '$.done', End: true }) },
          },
          End: true,
        },
      },
    },
  },
  waitBetween: {
    name: 'wait-between',
    definition: {
      StartAt: 'Before',
      States: {
        Before: effect({ step: 'before' }, { ResultPath: null, Next: 'Pause' }),
        Pause: { Type: 'Wait', Seconds: 2, Next: 'After' },
        After: effect({ step: 'after' }, { ResultPath: null, End: true }),
      },
    },
  },
  retryBackoff: {
    name: 'retry-backoff',
    definition: {
      StartAt: 'Try',
      States: {
        Try: {
          Type: 'Task',
          Resource: INVOKE,
          Parameters: { FunctionName: 'flaky', Payload: { attempt: 'same' } },
          Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 2, MaxAttempts: 1 }],
          OutputPath: '$.Payload',
          End: true,
        },
      },
    },
  },
};

const running: SfnProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) {
    p.sfn.destroy();
    await p.kill();
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Scenario {
  start(die?: string): Promise<SfnProcess>;
  effects(): { name: string; payload: unknown }[];
}

function scenario(machine: LocalStateMachine): Scenario {
  const dir = mkdtempSync(path.join(tmpdir(), 'sfn-crash-'));
  dirs.push(dir);
  const machines = path.join(dir, 'machines.json');
  writeFileSync(machines, JSON.stringify([machine]));
  const log = path.join(dir, 'effects.log');
  return {
    start: async (die) => {
      const p = await spawnSfn(path.join(dir, 'data'), machines, log, die);
      running.push(p);
      return p;
    },
    effects: () => {
      try {
        return readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line));
      } catch {
        return [];
      }
    },
  };
}

const arnOf = (machine: LocalStateMachine, name: string) =>
  `arn:aws:states:us-east-1:000000000000:execution:${machine.name}:${name}`;

async function startExecution(p: SfnProcess, machine: LocalStateMachine, name: string, input: unknown = {}) {
  await p.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: `arn:aws:states:us-east-1:000000000000:stateMachine:${machine.name}`,
      name,
      input: JSON.stringify(input),
    }),
  );
  return arnOf(machine, name);
}

function finished(p: SfnProcess, executionArn: string): Promise<DescribeExecutionCommandOutput> {
  return eventually(
    async () => {
      const d = await p.sfn.send(new DescribeExecutionCommand({ executionArn }));
      return d.status === 'RUNNING' ? undefined : d;
    },
    'the execution to finish',
    20_000,
  );
}

async function history(p: SfnProcess, executionArn: string): Promise<HistoryEvent[]> {
  return (await p.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events ?? [];
}

async function whenRecorded(p: SfnProcess, executionArn: string, type: string): Promise<HistoryEvent> {
  return eventually(async () => (await history(p, executionArn)).find((e) => e.type === type), type);
}

const at = (events: HistoryEvent[], type: string, nth = 0) =>
  events.filter((e) => e.type === type)[nth]?.timestamp?.getTime() ?? Number.NaN;

describe('kill -9 of the local Step Functions server', () => {
  it('right after a task did its work, before its result was recorded: that task runs again, nothing else', async () => {
    const s = scenario(MACHINES.twoEffects as LocalStateMachine);
    const first = await s.start('after:1');
    const arn = await startExecution(first, MACHINES.twoEffects as LocalStateMachine, 'two-1');
    await first.exited;

    const second = await s.start();
    const done = await finished(second, arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '')).toEqual({ first: { done: { n: 1 } }, second: { done: { n: 2 } } });
    // The first effect twice (its result was lost with the process), with the same input; the second once.
    expect(s.effects().map((e) => e.payload)).toEqual([{ n: 1 }, { n: 1 }, { n: 2 }]);
    const types = (await history(second, arn)).map((e) => e.type);
    expect(types.filter((t) => t === 'TaskSucceeded')).toHaveLength(2);
    expect(types.filter((t) => t === 'TaskScheduled')).toHaveLength(2);
  });

  it('between two effects of a Map: the recorded one is not repeated, the rest run once', async () => {
    const machine = MACHINES.eachEffect as LocalStateMachine;
    const s = scenario(machine);
    const first = await s.start('before:2');
    const arn = await startExecution(first, machine, 'each-1', { effects: ['refund', 'notice', 'credit'] });
    await first.exited;

    const second = await s.start();
    const done = await finished(second, arn);
    expect(JSON.parse(done.output ?? '')).toEqual([
      { effect: 'refund' },
      { effect: 'notice' },
      { effect: 'credit' },
    ]);
    expect(s.effects().map((e) => e.payload)).toEqual([
      { effect: 'refund' },
      { effect: 'notice' },
      { effect: 'credit' },
    ]);
  });

  it('during a Wait: the wait ends when it would have, and nothing before it runs again', async () => {
    const machine = MACHINES.waitBetween as LocalStateMachine;
    const s = scenario(machine);
    const first = await s.start();
    const arn = await startExecution(first, machine, 'wait-1');
    await whenRecorded(first, arn, 'WaitStateEntered');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await first.kill();
    await new Promise((resolve) => setTimeout(resolve, 500));

    const second = await s.start();
    await finished(second, arn);
    const events = await history(second, arn);
    const waited = at(events, 'WaitStateExited') - at(events, 'WaitStateEntered');
    expect(waited).toBeGreaterThanOrEqual(2000);
    expect(waited).toBeLessThan(2000 + 1500);
    expect(s.effects().map((e) => e.payload)).toEqual([{ step: 'before' }, { step: 'after' }]);
  });

  it('during a Retry backoff: the retry comes when it was due, and the failed attempt is not run again', async () => {
    const machine = MACHINES.retryBackoff as LocalStateMachine;
    const s = scenario(machine);
    const first = await s.start();
    const arn = await startExecution(first, machine, 'retry-1');
    await whenRecorded(first, arn, 'TaskFailed');
    // A backoff started afresh after the restart would retry more than 3.5 s after the failure.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await first.kill();

    const second = await s.start();
    const done = await finished(second, arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(s.effects()).toHaveLength(2);
    const events = await history(second, arn);
    const backoff = at(events, 'TaskScheduled', 1) - at(events, 'TaskFailed');
    expect(backoff).toBeGreaterThanOrEqual(2000);
    expect(backoff).toBeLessThan(2000 + 1500);
  });
});
