/**
 * The local Step Functions server is as strict as AWS where Casebook could otherwise pass locally
 * and fail on AWS: quotas, payload limits, heartbeats, timeouts resolved from paths, long waits,
 * validation, and the error, cause and history shapes AWS returns. Each test names the AWS document
 * it follows; where a document is silent, the shapes are those AWS records (the execution histories
 * recorded against AWS by LocalStack's Step Functions snapshot tests, tests/aws/services/stepfunctions).
 */
import {
  GetExecutionHistoryCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import type { LocalStateMachine } from '../../local/sfn/server.ts';
import {
  eventually,
  functionArn,
  INVOKE,
  INVOKE_WITH_CALLBACK,
  rejection,
  type SfnHarness,
  sfnHarnesses,
  typesOf,
} from '../support/sfn.ts';

const startServer = sfnHarnesses();
const KIB_256 = 262_144;

const ask = (extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: INVOKE_WITH_CALLBACK,
  Parameters: { FunctionName: 'notify', Payload: { 'token.$': '$$.Task.Token', 'who.$': '$.who' } },
  ...extra,
});
const call = (fn: string, extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: INVOKE,
  Parameters: { FunctionName: fn, 'Payload.$': '$' },
  ...extra,
});
const caughtAll = { Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }] };
const CAUGHT = { Caught: { Type: 'Pass', End: true } };

const MACHINES: LocalStateMachine[] = [
  {
    name: 'spin',
    definition: {
      StartAt: 'Again?',
      States: {
        'Again?': {
          Type: 'Choice',
          Choices: [{ Variable: '$.stop', IsPresent: true, Next: 'Done' }],
          Default: 'Spin',
        },
        Spin: { Type: 'Pass', Next: 'Again?' },
        Done: { Type: 'Succeed' },
      },
    },
  },
  { name: 'echo', definition: { StartAt: 'Echo', States: { Echo: call('echo', { End: true }) } } },
  {
    name: 'big-result',
    definition: {
      StartAt: 'Fetch',
      States: {
        Fetch: call('big', {
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught' }],
          End: true,
        }),
        ...CAUGHT,
      },
    },
  },
  {
    name: 'double',
    definition: {
      StartAt: 'Double',
      States: { Double: { Type: 'Pass', Parameters: { 'a.$': '$.blob', 'b.$': '$.blob' }, End: true } },
    },
  },
  { name: 'approve', definition: { StartAt: 'Ask', States: { Ask: ask({ End: true }) } } },
  {
    name: 'heartbeat',
    definition: {
      StartAt: 'Ask',
      States: {
        Ask: ask({
          HeartbeatSeconds: 1,
          TimeoutSeconds: 30,
          Catch: [{ ErrorEquals: ['States.HeartbeatTimeout'], ResultPath: '$.error', Next: 'Caught' }],
          End: true,
        }),
        ...CAUGHT,
      },
    },
  },
  {
    name: 'timeout-path',
    definition: {
      StartAt: 'Ask',
      States: {
        Ask: ask({
          TimeoutSecondsPath: '$.limits.timeout',
          HeartbeatSecondsPath: '$.limits.beat',
          End: true,
        }),
      },
    },
  },
  {
    name: 'wait-seconds-path',
    definition: {
      StartAt: 'Pause',
      States: { Pause: { Type: 'Wait', SecondsPath: '$.seconds', End: true } },
    },
  },
  {
    name: 'wait-until',
    definition: {
      StartAt: 'Pause',
      States: { Pause: { Type: 'Wait', TimestampPath: '$.until', End: true } },
    },
  },
  {
    name: 'timeout-caught',
    definition: {
      StartAt: 'Ask',
      States: {
        Ask: ask({
          TimeoutSeconds: 1,
          Catch: [{ ErrorEquals: ['States.Timeout'], Next: 'Caught' }],
          End: true,
        }),
        ...CAUGHT,
      },
    },
  },
  {
    name: 'timeout-uncaught',
    definition: { StartAt: 'Ask', States: { Ask: ask({ TimeoutSeconds: 1, End: true }) } },
  },
  {
    name: 'empty-failure-caught',
    definition: {
      StartAt: 'Ask',
      States: {
        Ask: ask({
          Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Caught' }],
          End: true,
        }),
        ...CAUGHT,
      },
    },
  },
  {
    name: 'committee',
    definition: {
      StartAt: 'Ask both',
      States: {
        'Ask both': {
          Type: 'Parallel',
          Branches: [
            {
              StartAt: 'Ask A',
              States: {
                'Ask A': ask({
                  Parameters: { FunctionName: 'notify', Payload: { 'token.$': '$$.Task.Token', who: 'a' } },
                  End: true,
                }),
              },
            },
            {
              StartAt: 'Ask B',
              States: {
                'Ask B': ask({
                  Parameters: { FunctionName: 'notify', Payload: { 'token.$': '$$.Task.Token', who: 'b' } },
                  End: true,
                }),
              },
            },
          ],
          ...caughtAll,
          End: true,
        },
        ...CAUGHT,
      },
    },
  },
  {
    name: 'legacy-lambda',
    definition: {
      StartAt: 'Call',
      States: { Call: { Type: 'Task', Resource: functionArn('echo'), TimeoutSeconds: 5, End: true } },
    },
  },
  {
    name: 'runtime-error',
    definition: {
      StartAt: 'Call',
      States: {
        Call: {
          Type: 'Task',
          Resource: INVOKE,
          Parameters: { FunctionName: 'echo', 'Payload.$': '$.missing' },
          ...caughtAll,
          End: true,
        },
        ...CAUGHT,
      },
    },
  },
  {
    name: 'context',
    definition: {
      StartAt: 'Look',
      States: {
        Look: {
          Type: 'Pass',
          Parameters: {
            'name.$': '$$.Execution.Name',
            'input.$': '$$.Execution.Input',
            'start.$': '$$.Execution.StartTime',
            'state.$': '$$.State.Name',
            'entered.$': '$$.State.EnteredTime',
            'machine.$': '$$.StateMachine.Name',
          },
          End: true,
        },
      },
    },
  },
];

class Functions {
  readonly calls: { name: string; payload: Record<string, unknown> }[] = [];

  readonly invoke = async (name: string, payload: unknown): Promise<unknown> => {
    const input = payload as Record<string, unknown>;
    this.calls.push({ name, payload: input });
    if (name === 'big' || name === functionArn('big')) return { blob: 'x'.repeat(KIB_256) };
    if (name === 'notify') return {};
    return input;
  };

  token(who: string): Promise<string> {
    return eventually(
      () => this.calls.find((c) => c.name === 'notify' && c.payload.who === who)?.payload.token as string,
      `a token for ${who}`,
    );
  }
}

async function harness(
  options: { maxHistoryEvents?: number } = {},
): Promise<SfnHarness & { functions: Functions }> {
  const functions = new Functions();
  const h = await startServer({ stateMachines: MACHINES, invokeFunction: functions.invoke, ...options });
  return Object.assign(h, { functions });
}

const detailsOf = (event: object | undefined) =>
  Object.entries(event ?? {}).find(([key]) => key.endsWith('EventDetails'))?.[1];

describe('the local Step Functions server, as strict as AWS', () => {
  // Service quotas, "Maximum execution history size: 25,000 events … the execution will fail"
  // (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html).
  it('fails an execution at 25,000 history events with States.Runtime, and lives on', async () => {
    const h = await harness();
    const arn = await h.start('spin', 'spin-forever');
    const done = await h.untilClosed(arn, 60_000);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.Runtime');
    const events = await h.history(arn);
    expect(events).toHaveLength(25_000);
    expect(events.at(-1)?.type).toBe('ExecutionFailed');
    // The server still answers and runs other executions.
    const other = await h.start('echo', 'after-the-spin', { hello: 1 });
    expect((await h.untilClosed(other)).status).toBe('SUCCEEDED');
  }, 90_000);

  // Quotas: "Maximum input or output size for a task, state, or execution: 262,144 bytes of data as a
  // UTF-8 encoded string"; StartExecution's input and SendTaskSuccess's output are at most 262,144
  // long (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html,
  // https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskSuccess.html).
  it('refuses an execution input over 256 KiB (counted in UTF-8 bytes)', async () => {
    const h = await harness();
    // 100,000 characters of three bytes each: short enough in characters, too long in bytes.
    const input = JSON.stringify({ text: '€'.repeat(100_000) });
    const refused = await rejection(
      h.sfn.send(new StartExecutionCommand({ stateMachineArn: h.arn('echo'), name: 'too-big', input })),
    );
    expect(refused.name).toBe('ValidationException');
    expect(refused.message).toContain("at 'input' failed to satisfy constraint");
    const fits = JSON.stringify({ text: 'x'.repeat(KIB_256 - 20) });
    await h.sfn.send(
      new StartExecutionCommand({ stateMachineArn: h.arn('echo'), name: 'just-fits', input: fits }),
    );
  });

  it('fails a task whose result is over 256 KiB with States.DataLimitExceeded, which a Catch can handle', async () => {
    const h = await harness();
    const arn = await h.start('big-result', 'big-1');
    const done = await h.untilClosed(arn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '').error).toEqual({
      Error: 'States.DataLimitExceeded',
      Cause:
        "The state/task 'lambda' returned a result with a size exceeding the maximum number of bytes service limit.",
    });
    const failed = (await h.history(arn)).find((e) => e.type === 'TaskFailed');
    expect(failed?.taskFailedEventDetails?.error).toBe('States.DataLimitExceeded');
  });

  it('fails the execution when a state output is over 256 KiB', async () => {
    const h = await harness();
    const arn = await h.start('double', 'double-1', { blob: 'x'.repeat(150_000) });
    const done = await h.untilClosed(arn);
    expect(done).toMatchObject({
      status: 'FAILED',
      error: 'States.DataLimitExceeded',
      cause:
        "The state/task 'Double' returned a result with a size exceeding the maximum number of bytes service limit.",
    });
  });

  it('refuses a SendTaskSuccess output over 256 KiB and keeps the task waiting', async () => {
    const h = await harness();
    const arn = await h.start('approve', 'approve-big', { who: 'ada' });
    const token = await h.functions.token('ada');
    const refused = await rejection(
      h.sfn.send(
        new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify('x'.repeat(KIB_256)) }),
      ),
    );
    expect(refused.name).toBe('ValidationException');
    await h.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '"small"' }));
    expect((await h.untilClosed(arn)).output).toBe('"small"');
  });

  // Task state: "HeartbeatSeconds: If more time than the specified seconds elapses between heartbeats
  // from the task, this state fails with a States.Timeout error name"; States.HeartbeatTimeout is
  // available in Catch and Retry (https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html,
  // https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html); SendTaskHeartbeat
  // (https://docs.aws.amazon.com/step-functions/latest/apireference/API_SendTaskHeartbeat.html).
  it('times a task out when its heartbeats stop, and SendTaskHeartbeat keeps it alive until then', async () => {
    const h = await harness();
    const arn = await h.start('heartbeat', 'beat-1', { who: 'grace' });
    const token = await h.functions.token('grace');
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 600));
      await h.sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    }
    expect((await h.describe(arn)).status).toBe('RUNNING');
    const done = await h.untilClosed(arn);
    expect(JSON.parse(done.output ?? '').error).toEqual({ Error: 'States.Timeout', Cause: '' });
    const events = await h.history(arn);
    expect(events.find((e) => e.type === 'TaskScheduled')?.taskScheduledEventDetails).toMatchObject({
      heartbeatInSeconds: 1,
      timeoutInSeconds: 30,
    });
    expect(events.find((e) => e.type === 'TaskTimedOut')?.taskTimedOutEventDetails).toEqual({
      resourceType: 'lambda',
      resource: 'invoke.waitForTaskToken',
      error: 'States.Timeout',
    });
    expect((await rejection(h.sfn.send(new SendTaskHeartbeatCommand({ taskToken: token })))).name).toBe(
      'TaskTimedOut',
    );
  });

  // Task state: "TimeoutSecondsPath … provide a timeout value dynamically from the state input using a
  // reference path … must select fields whose values are positive integers" (state-task.html).
  it('resolves TimeoutSecondsPath and HeartbeatSecondsPath on the state input before invoking anything', async () => {
    const h = await harness();
    const good = await h.start('timeout-path', 'paths-good', { who: 'lin', limits: { timeout: 1, beat: 1 } });
    await h.functions.token('lin');
    const scheduled = (await h.history(good)).find((e) => e.type === 'TaskScheduled');
    expect(scheduled?.taskScheduledEventDetails).toMatchObject({
      timeoutInSeconds: 1,
      heartbeatInSeconds: 1,
    });
    expect((await h.untilClosed(good)).error).toBe('States.Timeout');

    const bad = await h.start('timeout-path', 'paths-bad', {
      who: 'sam',
      limits: { timeout: 'soon', beat: 1 },
    });
    const failed = await h.untilClosed(bad);
    expect(failed.status).toBe('FAILED');
    expect(failed.error).toBe('States.Runtime');
    expect(failed.cause).toContain('TimeoutSecondsPath');
    // Nothing was invoked: no e-mail went out for a task that could never have a valid timeout.
    expect(h.functions.calls.filter((c) => c.payload.who === 'sam')).toEqual([]);
    expect(typesOf(await h.history(bad))).not.toContain('TaskScheduled');
  });

  // Wait state: SecondsPath/TimestampPath, "the maximum wait time … one year"; AWS refuses a delay over
  // 2^31-1 seconds with States.Runtime "Wait state delay is too long."
  // (https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html).
  it('waits 30 days given by SecondsPath and 40 days given by TimestampPath, instead of finishing at once', async () => {
    const h = await harness();
    const month = await h.start('wait-seconds-path', 'wait-30d', { seconds: 30 * 24 * 3600 });
    const later = await h.start('wait-until', 'wait-40d', {
      until: new Date(Date.now() + 40 * 24 * 3600 * 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await h.describe(month)).status).toBe('RUNNING');
    expect((await h.describe(later)).status).toBe('RUNNING');
    await h.sfn.send(new StopExecutionCommand({ executionArn: month }));
    await h.sfn.send(new StopExecutionCommand({ executionArn: later }));

    const tooLong = await h.start('wait-seconds-path', 'wait-forever', { seconds: 2 ** 31 });
    expect(await h.untilClosed(tooLong)).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect((await h.describe(tooLong)).cause).toContain('Wait state delay is too long.');
  });

  // StartExecution name: "Length Constraints: Minimum length of 1. Maximum length of 80." and the
  // characters it may not contain (API_StartExecution.html).
  it('answers ValidationException for a name over 80 characters and InvalidName for a forbidden character', async () => {
    const h = await harness();
    const long = await rejection(
      h.sfn.send(new StartExecutionCommand({ stateMachineArn: h.arn('echo'), name: 'n'.repeat(81) })),
    );
    expect(long.name).toBe('ValidationException');
    expect(long.message).toBe(
      `1 validation error detected: Value '${'n'.repeat(81)}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 80`,
    );
    const bad = await rejection(
      h.sfn.send(new StartExecutionCommand({ stateMachineArn: h.arn('echo'), name: 'a/b' })),
    );
    expect(bad.name).toBe('InvalidName');
    await h.start('echo', 'n'.repeat(80));
  });

  // Error handling: a caught States.Timeout's error output (the AWS-recorded shape has an empty Cause);
  // the TaskTimedOut event and the ExecutionFailed event carry the error only
  // (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html#error-handling-error-output).
  it('gives a caught States.Timeout an empty Cause, and an uncaught one no cause at all', async () => {
    const h = await harness();
    const caught = await h.start('timeout-caught', 'timeout-1', { who: 'kim' });
    const uncaught = await h.start('timeout-uncaught', 'timeout-2', { who: 'kip' });
    const [c, u] = await Promise.all([h.untilClosed(caught), h.untilClosed(uncaught)]);
    expect(JSON.parse(c.output ?? '')).toEqual({ Error: 'States.Timeout', Cause: '' });
    expect(u.status).toBe('FAILED');
    expect(u.error).toBe('States.Timeout');
    expect(u.cause).toBeUndefined();
    expect(detailsOf((await h.history(uncaught)).at(-1))).toEqual({
      error: 'States.Timeout',
    });
  });

  // SendTaskFailure: error and cause are optional (API_SendTaskFailure.html); AWS records a failure
  // without them as a TaskFailed event without error or cause, and a catcher's error output as
  // {"Error": null, "Cause": null} (AWS-recorded history, callback test "no_error_field", 2024-04-29).
  it('keeps a SendTaskFailure without error and cause as AWS does', async () => {
    const h = await harness();
    const caught = await h.start('empty-failure-caught', 'empty-1', { who: 'ann' });
    await h.sfn.send(new SendTaskFailureCommand({ taskToken: await h.functions.token('ann') }));
    expect(JSON.parse((await h.untilClosed(caught)).output ?? '').error).toEqual({
      Error: null,
      Cause: null,
    });
    const failed = (await h.history(caught)).find((e) => e.type === 'TaskFailed');
    expect(failed?.taskFailedEventDetails).toEqual({
      resourceType: 'lambda',
      resource: 'invoke.waitForTaskToken',
    });

    const uncaught = await h.start('approve', 'empty-2', { who: 'bob' });
    await h.sfn.send(new SendTaskFailureCommand({ taskToken: await h.functions.token('bob') }));
    const done = await h.untilClosed(uncaught);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBeUndefined();
    expect(done.cause).toBeUndefined();
  });

  // HistoryEvent (https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html)
  // and the order AWS records a failing Parallel in: the failure, the TaskStateAborted of every task
  // still open (the failed one included), ParallelStateFailed, then ParallelStateExited on a catch.
  it('records a failing Parallel branch as AWS does', async () => {
    const h = await harness();
    const arn = await h.start('committee', 'committee-1');
    await h.functions.token('b');
    await h.sfn.send(
      new SendTaskFailureCommand({ taskToken: await h.functions.token('a'), error: 'Rejected', cause: 'no' }),
    );
    await h.untilClosed(arn);
    const events = await h.history(arn);
    const failed = events.find((e) => e.type === 'TaskFailed');
    const after = events.filter((e) => (e.id ?? 0) > (failed?.id ?? 0));
    expect(typesOf(after)).toEqual([
      'TaskStateAborted',
      'TaskStateAborted',
      'ParallelStateFailed',
      'ParallelStateExited',
      'PassStateEntered',
      'PassStateExited',
      'ExecutionSucceeded',
    ]);
    for (const event of after.slice(0, 3)) expect(event.previousEventId).toBe(failed?.id);
    expect(JSON.parse(after[3]?.stateExitedEventDetails?.output ?? '')).toEqual({
      Error: 'Rejected',
      Cause: 'no',
    });
  });

  // A Lambda function ARN as Resource: LambdaFunctionScheduled/Started/Succeeded events (HistoryEvent).
  it('records a Lambda ARN task with the LambdaFunction events', async () => {
    const h = await harness();
    const arn = await h.start('legacy-lambda', 'legacy-1', { n: 1 });
    await h.untilClosed(arn);
    const events = await h.history(arn);
    expect(typesOf(events)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events[2]?.lambdaFunctionScheduledEventDetails).toEqual({
      resource: functionArn('echo'),
      input: '{"n":1}',
      inputDetails: { truncated: false },
      timeoutInSeconds: 5,
    });
  });

  // Error handling: "A States.Runtime error is not retriable, and will always cause the execution to
  // fail. A retry or catch on States.ALL will not catch States.Runtime errors." (concepts-error-handling).
  it('fails with States.Runtime, not caught by States.ALL, naming the state and its event', async () => {
    const h = await harness();
    const arn = await h.start('runtime-error', 'runtime-1');
    const done = await h.untilClosed(arn);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.Runtime');
    expect(done.cause).toMatch(
      /^An error occurred while executing the state 'Call' \(entered at the event id #2\)\./,
    );
  });

  // Context object: $$.Execution.*, $$.State.*, $$.StateMachine.*
  // (https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html).
  it('resolves the context object as AWS does', async () => {
    const h = await harness();
    const arn = await h.start('context', 'context-1', { a: 1 });
    const done = await h.untilClosed(arn);
    const seen = JSON.parse(done.output ?? '');
    const entered = (await h.history(arn)).find((e) => e.type === 'PassStateEntered')?.timestamp;
    expect(seen).toEqual({
      name: 'context-1',
      input: { a: 1 },
      start: done.startDate?.toISOString(),
      state: 'Look',
      entered: entered?.toISOString(),
      machine: 'context',
    });
  });

  it('answers every malformed call with a 4xx and keeps serving', async () => {
    const h = await harness();
    const target = (op: string) => ({
      'Content-Type': 'application/x-amz-json-1.0',
      'X-Amz-Target': `AWSStepFunctions.${op}`,
    });
    const bodies: [string, string][] = [
      ['StartExecution', '{"stateMachineArn": 5}'],
      ['StartExecution', `{"stateMachineArn": "${h.arn('echo')}", "input": 7}`],
      ['StartExecution', `{"stateMachineArn": "${h.arn('echo')}", "input": "{\\"a\\":"}`],
      ['SendTaskSuccess', '{"taskToken": "x", "output": "{}"}'],
      ['SendTaskFailure', '{"taskToken": null}'],
      ['SendTaskHeartbeat', '[]'],
      [
        'GetExecutionHistory',
        '{"executionArn": "arn:aws:states:us-east-1:000000000000:execution:echo:none", "maxResults": -1}',
      ],
      ['ListExecutions', '{"stateMachineArn": "nope", "statusFilter": "DONE"}'],
      ['DescribeStateMachineForExecution', '{}'],
      ['StopExecution', '{"executionArn": "arn:aws:states:us-east-1:000000000000:execution:echo:none"}'],
      ['Dance', '{}'],
    ];
    for (const [op, body] of bodies) {
      const res = await fetch(h.server.url, { method: 'POST', headers: target(op), body });
      expect(res.status, `${op} ${body}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${op} ${body}`).toBeLessThan(500);
      expect(((await res.json()) as { __type: string }).__type).toBeTruthy();
    }
    const history = await h.sfn.send(
      new GetExecutionHistoryCommand({ executionArn: await h.start('echo', 'still-serving') }),
    );
    expect(history.events?.[0]?.type).toBe('ExecutionStarted');
  });
});
