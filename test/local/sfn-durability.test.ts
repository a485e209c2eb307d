/**
 * Executions survive the server: a restart (clean, or a crash as `kill -9` leaves the data directory)
 * continues every RUNNING execution from its journal — same ARN, same name, same task tokens, tasks
 * already recorded not run again, timers resumed with the time left — and leaves closed executions
 * as they were. AWS never loses a running Standard execution to a service restart
 * (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-standard-vs-express.html: Standard
 * workflows are "exactly-once" and run for up to a year).
 */
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  DescribeStateMachineForExecutionCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import type { LocalStateMachine } from '../../local/sfn/server.ts';
import {
  eventually,
  INVOKE,
  INVOKE_WITH_CALLBACK,
  rejection,
  sfnHarnesses,
  typesOf,
} from '../support/sfn.ts';

const startServer = sfnHarnesses();

const ask = (extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: INVOKE_WITH_CALLBACK,
  Parameters: { FunctionName: 'notify', Payload: { 'token.$': '$$.Task.Token', 'who.$': '$.who' } },
  ...extra,
});

const MACHINES: LocalStateMachine[] = [
  {
    name: 'approval',
    definition: { StartAt: 'Ask', States: { Ask: ask({ ResultPath: '$.decision', End: true }) } },
  },
  {
    name: 'send-then-ask',
    definition: {
      StartAt: 'Send',
      States: {
        Send: {
          Type: 'Task',
          Resource: INVOKE,
          Parameters: { FunctionName: 'send', 'Payload.$': '$' },
          ResultSelector: { 'sent.$': '$.Payload' },
          ResultPath: '$.send',
          Next: 'Ask',
        },
        Ask: ask({ ResultPath: '$.decision', End: true }),
      },
    },
  },
  {
    name: 'pause',
    definition: { StartAt: 'Pause', States: { Pause: { Type: 'Wait', Seconds: 3, End: true } } },
  },
  {
    name: 'retry',
    definition: {
      StartAt: 'Try',
      States: {
        Try: {
          Type: 'Task',
          Resource: INVOKE,
          Parameters: { FunctionName: 'flaky', 'Payload.$': '$' },
          Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 2, MaxAttempts: 2 }],
          OutputPath: '$.Payload',
          End: true,
        },
      },
    },
  },
  {
    name: 'fan-out',
    definition: {
      StartAt: 'Each',
      States: {
        Each: {
          Type: 'Map',
          ItemsPath: '$.people',
          ItemSelector: { 'who.$': '$$.Map.Item.Value' },
          ItemProcessor: { StartAt: 'Ask', States: { Ask: ask({ End: true }) } },
          End: true,
        },
      },
    },
  },
  {
    name: 'heartbeat',
    definition: { StartAt: 'Ask', States: { Ask: ask({ HeartbeatSeconds: 1, End: true }) } },
  },
  {
    name: 'deadline',
    definition: {
      TimeoutSeconds: 1,
      StartAt: 'Pause',
      States: { Pause: { Type: 'Wait', Seconds: 5, End: true } },
    },
  },
  {
    name: 'quick',
    definition: { StartAt: 'Done', States: { Done: { Type: 'Pass', Result: { ok: true }, End: true } } },
  },
];

// As configured, before any server saw the definitions (the server must not change them).
const CONFIGURED: LocalStateMachine[] = structuredClone(MACHINES);

/** Fake functions; `crash` is called inside `send` after its effect, as a process dying there would. */
class Functions {
  readonly calls: { name: string; payload: Record<string, unknown> }[] = [];
  crash: (() => void) | undefined;
  private flakes = 0;

  readonly invoke = async (name: string, payload: unknown): Promise<unknown> => {
    const input = payload as Record<string, unknown>;
    this.calls.push({ name, payload: input });
    if (name === 'send' && this.crash) {
      const crash = this.crash;
      this.crash = undefined;
      crash();
      return new Promise(() => {});
    }
    if (name === 'flaky' && this.flakes++ === 0) throw Object.assign(new Error('not yet'), { name: 'Flaky' });
    return { to: input.who ?? null };
  };

  count(name: string): number {
    return this.calls.filter((c) => c.name === name).length;
  }

  token(who: string): Promise<string> {
    return eventually(
      () => this.calls.find((c) => c.name === 'notify' && c.payload.who === who)?.payload.token as string,
      `a token for ${who}`,
    );
  }
}

async function harness(functions = new Functions()) {
  const h = await startServer({ stateMachines: MACHINES, invokeFunction: functions.invoke });
  return { h, functions };
}

/** Waits until the history shows `type` (as many times as given). */
async function untilRecorded(
  h: Awaited<ReturnType<typeof harness>>['h'],
  arn: string,
  type: string,
  times = 1,
) {
  await eventually(
    async () => ((await h.history(arn)).filter((e) => e.type === type).length >= times ? true : undefined),
    `${type} in the history`,
  );
}

describe('local Step Functions server across restarts', () => {
  it('continues a waiting callback task after a crash: same ARN, same token, the task not invoked again', async () => {
    const { h, functions } = await harness();
    const arn = await h.start('approval', 'approve-ada', { who: 'ada' });
    const token = await functions.token('ada');
    await untilRecorded(h, arn, 'TaskSubmitted');

    const after = await h.restart('kill');
    await after.server.resumed();
    const described = await after.describe(arn);
    expect(described).toMatchObject({ executionArn: arn, name: 'approve-ada', status: 'RUNNING' });
    await after.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"approved":true}' }));
    const done = await after.untilClosed(arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '')).toEqual({ who: 'ada', decision: { approved: true } });
    expect(functions.count('notify')).toBe(1);
    // One history, continued: every event once, ids in order.
    const events = await after.history(arn);
    expect(typesOf(events)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('answers a SendTaskSuccess that arrives while the restarted server is still replaying', async () => {
    const { h, functions } = await harness();
    const arn = await h.start('approval', 'approve-early', { who: 'grace' });
    const token = await functions.token('grace');
    await untilRecorded(h, arn, 'TaskSubmitted');
    const after = await h.restart('close');
    // No waiting for resumed(): the token is live from the moment the server listens.
    await after.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '"yes"' }));
    expect((await after.untilClosed(arn)).status).toBe('SUCCEEDED');
  });

  it('invokes again a task whose result was not recorded, and only that task', async () => {
    const functions = new Functions();
    const { h } = await harness(functions);
    functions.crash = () => h.server.kill();
    const arn = await h.start('send-then-ask', 'send-1', { who: 'lin' });
    await eventually(() => (functions.count('send') === 1 ? true : undefined), 'the send');

    const after = await h.restart('kill');
    const token = await functions.token('lin');
    // The send ran again (its result was never recorded), with the same input; nothing else twice.
    expect(functions.calls.filter((c) => c.name === 'send').map((c) => c.payload)).toEqual([
      { who: 'lin' },
      { who: 'lin' },
    ]);
    await after.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '"ok"' }));
    const done = await after.untilClosed(arn);
    expect(JSON.parse(done.output ?? '')).toEqual({
      who: 'lin',
      send: { sent: { to: 'lin' } },
      decision: 'ok',
    });
    expect(functions.count('notify')).toBe(1);
    expect(typesOf(await after.history(arn)).filter((t) => t === 'TaskScheduled')).toHaveLength(2);
  });

  it('resumes a Wait with the time that is left', async () => {
    const { h } = await harness();
    const arn = await h.start('pause', 'pause-1');
    await untilRecorded(h, arn, 'WaitStateEntered');
    await new Promise((resolve) => setTimeout(resolve, 800));
    const after = await h.restart('kill');
    await new Promise((resolve) => setTimeout(resolve, 700));
    await after.untilClosed(arn);
    const events = await after.history(arn);
    const entered = events.find((e) => e.type === 'WaitStateEntered')?.timestamp?.getTime() ?? 0;
    const exited = events.find((e) => e.type === 'WaitStateExited')?.timestamp?.getTime() ?? 0;
    // Three seconds from entering the Wait, not three seconds from the restart (which would be ≥ 4.5 s).
    expect(exited - entered).toBeGreaterThanOrEqual(3000);
    expect(exited - entered).toBeLessThan(4000);
  });

  it('resumes a Retry backoff with the time that is left, without running the failed attempt again', async () => {
    const { h, functions } = await harness();
    const arn = await h.start('retry', 'retry-1', { n: 1 });
    await untilRecorded(h, arn, 'TaskFailed');
    // Killed 1.2 s into the 2 s backoff: a backoff started afresh would retry 3.2 s after the failure.
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const after = await h.restart('kill');
    const done = await after.untilClosed(arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(functions.count('flaky')).toBe(2);
    const events = await after.history(arn);
    const failed = events.find((e) => e.type === 'TaskFailed')?.timestamp?.getTime() ?? 0;
    const rescheduled = events.filter((e) => e.type === 'TaskScheduled')[1]?.timestamp?.getTime() ?? 0;
    expect(rescheduled - failed).toBeGreaterThanOrEqual(2000);
    expect(rescheduled - failed).toBeLessThan(2900);
  });

  it('continues a Map whose iterations wait, each with its own token', async () => {
    const { h, functions } = await harness();
    const arn = await h.start('fan-out', 'fan-1', { people: ['ada', 'grace', 'lin'] });
    const first = await functions.token('ada');
    const tokens = [first, await functions.token('grace'), await functions.token('lin')];
    await untilRecorded(h, arn, 'TaskSubmitted', 3);
    await h.sfn.send(new SendTaskSuccessCommand({ taskToken: first, output: '"ada said yes"' }));
    await untilRecorded(h, arn, 'MapIterationSucceeded');

    const after = await h.restart('kill');
    const spent = await rejection(
      after.sfn.send(new SendTaskSuccessCommand({ taskToken: first, output: '"again"' })),
    );
    expect(spent.name).toBe('TaskTimedOut');
    await after.sfn.send(new SendTaskSuccessCommand({ taskToken: tokens[2], output: '"lin said yes"' }));
    await after.sfn.send(new SendTaskSuccessCommand({ taskToken: tokens[1], output: '"grace said yes"' }));
    const done = await after.untilClosed(arn);
    expect(JSON.parse(done.output ?? '')).toEqual(['ada said yes', 'grace said yes', 'lin said yes']);
    expect(functions.count('notify')).toBe(3);
  });

  it('keeps a heartbeat recorded before the restart', async () => {
    const { h, functions } = await harness();
    const arn = await h.start('heartbeat', 'beat-1', { who: 'sam' });
    const token = await functions.token('sam');
    await untilRecorded(h, arn, 'TaskSubmitted');
    await new Promise((resolve) => setTimeout(resolve, 600));
    await h.sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    const after = await h.restart('kill');
    // 1.0 s after TaskStarted the task would have timed out without the heartbeat; 1.0 s after the
    // heartbeat it times out.
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await after.describe(arn)).status).toBe('RUNNING');
    const done = await after.untilClosed(arn);
    expect(done).toMatchObject({ status: 'FAILED', error: 'States.Timeout' });
  });

  it('keeps a stopped execution ABORTED across restarts and sends nothing again', async () => {
    const { h, functions } = await harness();
    const arn = await h.start('approval', 'stop-1', { who: 'kim' });
    const token = await functions.token('kim');
    await h.sfn.send(
      new StopExecutionCommand({ executionArn: arn, error: 'Operator.Cancelled', cause: 'duplicate' }),
    );
    const stopped = await h.describe(arn);

    const crashed = await h.restart('kill');
    const closed = await crashed.restart('close');
    const described = await closed.describe(arn);
    expect(described).toMatchObject({ status: 'ABORTED', error: 'Operator.Cancelled', cause: 'duplicate' });
    expect(described.stopDate).toEqual(stopped.stopDate);
    expect(functions.count('notify')).toBe(1);
    expect(
      (await rejection(closed.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })))).name,
    ).toBe('TaskTimedOut');
    expect(typesOf(await closed.history(arn)).at(-1)).toBe('ExecutionAborted');
  });

  it('leaves succeeded, failed and timed-out executions exactly as they were', async () => {
    const { h, functions } = await harness();
    const arns = [
      await h.start('quick', 'quick-1'),
      await h.start('heartbeat', 'beat-2', { who: 'nobody' }),
      await h.start('deadline', 'deadline-1'),
    ];
    await functions.token('nobody');
    const before = await Promise.all(arns.map((arn) => h.untilClosed(arn)));
    const histories = await Promise.all(arns.map((arn) => h.history(arn)));
    expect(before.map((d) => d.status)).toEqual(['SUCCEEDED', 'FAILED', 'TIMED_OUT']);

    const after = await h.restart('kill');
    const again = await Promise.all(arns.map((arn) => after.describe(arn)));
    expect(again.map(({ $metadata: _, ...d }) => d)).toEqual(before.map(({ $metadata: _, ...d }) => d));
    expect(await Promise.all(arns.map((arn) => after.history(arn)))).toEqual(histories);
    expect(functions.count('notify')).toBe(1);
  });

  it('answers DescribeStateMachineForExecution with the definition the execution started with', async () => {
    const { h } = await harness();
    const arn = await h.start('quick', 'quick-2');
    const found = await h.sfn.send(new DescribeStateMachineForExecutionCommand({ executionArn: arn }));
    expect(found).toMatchObject({
      stateMachineArn: h.arn('quick'),
      name: 'quick',
      roleArn: expect.any(String),
    });
    expect(JSON.parse(found.definition ?? '')).toEqual(
      CONFIGURED.find((m) => m.name === 'quick')?.definition,
    );
    expect(found.updateDate).toBeInstanceOf(Date);
  });

  it('fails an execution whose replay disagrees with its journal, naming the error', async () => {
    const { h, functions } = await harness();
    const arn = await h.start('approval', 'diverge-1', { who: 'eve' });
    await functions.token('eve');
    await untilRecorded(h, arn, 'TaskSubmitted');
    await h.server.close();
    // The journal says the state was entered with other data than the definition gives on replay.
    const file = await journalOf(h.dataDir);
    const text = await readFile(file, 'utf8');
    const entered = '"stateEnteredEventDetails":{"name":"Ask","input":"{\\"who\\":\\"eve\\"}"';
    expect(text).toContain(entered);
    await writeFile(file, text.replace(entered, entered.replace('eve', 'mallory')));

    const after = await h.restart('close');
    const done = await after.untilClosed(arn);
    expect(done).toMatchObject({ status: 'FAILED', error: 'LocalServer.ReplayDiverged' });
    expect(done.cause).toContain("state 'Ask'");
  });

  it('drops a journal line torn by a crash and continues', async () => {
    const { h, functions } = await harness();
    const arn = await h.start('approval', 'torn-1', { who: 'ivy' });
    const token = await functions.token('ivy');
    await untilRecorded(h, arn, 'TaskSubmitted');
    h.server.kill();
    await appendFile(await journalOf(h.dataDir), '{"k":"/Ask#1@1","r":"succ');

    const after = await h.restart('close');
    await after.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '1' }));
    expect((await after.untilClosed(arn)).status).toBe('SUCCEEDED');
  });
});

async function journalOf(dataDir: string): Promise<string> {
  const dir = path.join(dataDir, 'executions');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.jsonl'));
  if (files.length !== 1) throw new Error(`expected one journal, found ${files.length}`);
  return path.join(dir, files[0] ?? '');
}
