/**
 * The local Step Functions server through the SDK: the JSON protocol, the execution lifecycle,
 * callbacks and errors. `test/aws-cli/sfn-server.test.ts` drives it with the AWS CLI; restarts and
 * AWS's limits have files of their own (sfn-durability, sfn-crash, sfn-conformance, sfn-property).
 */
import {
  DescribeExecutionCommand,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ACCOUNT,
  CONFIGURED,
  closeHarnesses,
  historyOf,
  MACHINES,
  REGION,
  rejection,
  start,
  startHarness,
  typesOf,
  untilClosed,
} from '../support/sfn-harness.ts';

afterEach(closeHarnesses);

describe('local Step Functions server', () => {
  it('starts, describes, lists and shows the history of an execution through the SDK', async () => {
    const h = await startHarness();

    const machines = await h.sfn.send(new ListStateMachinesCommand({}));
    expect(machines.stateMachines?.map((m) => m.name)).toEqual(MACHINES.map((m) => m.name));
    const described = await h.sfn.send(new DescribeStateMachineCommand({ stateMachineArn: h.arn('greet') }));
    expect(JSON.parse(described.definition ?? '')).toEqual(CONFIGURED[0]?.definition);
    expect(described.stateMachineArn).toBe(`arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:greet`);

    const executionArn = await start(h, 'greet', 'greet-ada', { who: 'Ada' });
    expect(executionArn).toBe(`arn:aws:states:${REGION}:${ACCOUNT}:execution:greet:greet-ada`);
    const done = await untilClosed(h, executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.startDate).toBeInstanceOf(Date);
    expect(done.stopDate?.getTime()).toBeGreaterThanOrEqual(done.startDate?.getTime() ?? Number.NaN);
    expect(JSON.parse(done.output ?? '')).toEqual({
      who: 'Ada',
      greeted: { greeting: 'Hello, Ada', status: 200 },
      shouted: 'HELLO, ADA!',
    });

    const listed = await h.sfn.send(new ListExecutionsCommand({ stateMachineArn: h.arn('greet') }));
    expect(listed.executions?.map((e) => [e.name, e.status])).toEqual([['greet-ada', 'SUCCEEDED']]);
    expect(listed.executions?.[0]).toMatchObject({ executionArn, startDate: done.startDate });
    expect(Math.abs((done.startDate?.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);

    const events = await historyOf(h, executionArn);
    expect(typesOf(events)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSucceeded',
      'TaskStateExited',
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    // As AWS records them: ExecutionStarted and the first state entered point at 0, then each event at
    // the one it follows (HistoryEvent: https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html).
    expect(events.map((e) => [e.id, e.previousEventId])).toEqual(
      events.map((_, i) => [i + 1, i < 2 ? 0 : i]),
    );
    expect(events[0]?.executionStartedEventDetails?.input).toBe('{"who":"Ada"}');
    expect(events[1]?.stateEnteredEventDetails?.name).toBe('Greet the caller');
    expect(events[2]?.taskScheduledEventDetails).toMatchObject({
      resourceType: 'lambda',
      resource: 'invoke',
    });
    const invokeResult = JSON.parse(events[4]?.taskSucceededEventDetails?.output ?? '');
    expect(invokeResult).toMatchObject({
      ExecutedVersion: '$LATEST',
      Payload: { greeting: 'Hello, Ada' },
      StatusCode: 200,
    });

    const reversed = await h.sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder: true }));
    expect(typesOf(reversed.events ?? [])).toEqual(typesOf(events).reverse());
    const firstPage = await h.sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 5, includeExecutionData: false }),
    );
    expect(firstPage.events).toHaveLength(5);
    expect(firstPage.events?.[0]?.executionStartedEventDetails?.input).toBeUndefined();
    const rest = await h.sfn.send(
      new GetExecutionHistoryCommand({ executionArn, nextToken: firstPage.nextToken }),
    );
    expect(typesOf([...(firstPage.events ?? []), ...(rest.events ?? [])])).toEqual(typesOf(events));
    expect(rest.nextToken).toBeUndefined();
  });

  it('pages and filters ListExecutions newest first', async () => {
    const h = await startHarness();
    for (const name of ['first', 'second', 'third']) {
      await untilClosed(h, await start(h, 'greet', name, { who: name }));
    }
    const failed = await start(h, 'write-ledger', 'the-only-one');
    expect((await untilClosed(h, failed)).status).toBe('FAILED');

    const page1 = await h.sfn.send(
      new ListExecutionsCommand({ stateMachineArn: h.arn('greet'), maxResults: 2 }),
    );
    expect(page1.executions?.map((e) => e.name)).toEqual(['third', 'second']);
    const page2 = await h.sfn.send(
      new ListExecutionsCommand({
        stateMachineArn: h.arn('greet'),
        maxResults: 2,
        nextToken: page1.nextToken,
      }),
    );
    expect(page2.executions?.map((e) => e.name)).toEqual(['first']);
    expect(page2.nextToken).toBeUndefined();

    const running = await h.sfn.send(
      new ListExecutionsCommand({ stateMachineArn: h.arn('greet'), statusFilter: 'RUNNING' }),
    );
    expect(running.executions).toEqual([]);
    const bad = await rejection(
      h.sfn.send(new ListExecutionsCommand({ stateMachineArn: h.arn('greet'), nextToken: 'not-a-token' })),
    );
    expect(bad.name).toBe('InvalidToken');
  });

  it('fails a lambda:invoke task with the function error name and an AWS-shaped cause', async () => {
    const h = await startHarness();
    const executionArn = await start(h, 'write-ledger', 'night-write');
    const done = await untilClosed(h, executionArn);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('Ledger.Closed');
    const cause = JSON.parse(done.cause ?? '');
    expect(cause).toMatchObject({
      errorType: 'Ledger.Closed',
      errorMessage: 'the ledger is closed for the night',
    });
    expect(Array.isArray(cause.trace)).toBe(true);
    const events = await historyOf(h, executionArn);
    expect(typesOf(events)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskFailed',
      'ExecutionFailed',
    ]);
    expect(events[4]?.taskFailedEventDetails?.error).toBe('Ledger.Closed');
  });

  it('runs Map iterations through overridden tasks, retrying a custom error', async () => {
    const h = await startHarness();
    const executionArn = await start(h, 'tally', 'tally-1', { items: [1, 2, 3] });
    const done = await untilClosed(h, executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '')).toEqual([{ count: 10 }, { count: 20 }, { count: 30 }]);
    const events = await historyOf(h, executionArn);
    const count = (type: string) => events.filter((e) => e.type === type).length;
    expect(count('MapIterationStarted')).toBe(3);
    expect(count('MapIterationSucceeded')).toBe(3);
    expect(count('TaskScheduled')).toBe(4);
    expect(events.filter((e) => e.type === 'TaskFailed').map((e) => e.taskFailedEventDetails?.error)).toEqual(
      ['Counter.Busy'],
    );
    expect(typesOf(events).slice(-3)).toEqual(['MapStateSucceeded', 'MapStateExited', 'ExecutionSucceeded']);
    expect(events.find((e) => e.type === 'MapIterationStarted')?.mapIterationStartedEventDetails?.name).toBe(
      'Count each item',
    );
  });

  it('fails a Task whose resource it cannot run, naming the resource, even under a Catch-all', async () => {
    const h = await startHarness();
    expect(
      h.logs.some((line) => line.includes("'Send to the queue' uses 'arn:aws:states:::sqs:sendMessage'")),
    ).toBe(true);
    const done = await untilClosed(h, await start(h, 'enqueue', 'enqueue-1'));
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.Runtime');
    expect(done.cause).toContain('arn:aws:states:::sqs:sendMessage');
  });

  it('returns the running execution for the same name and input, and ExecutionAlreadyExists otherwise', async () => {
    const h = await startHarness();
    const first = await h.sfn.send(
      new StartExecutionCommand({ stateMachineArn: h.arn('approve'), name: 'incident-7', input: '{"n":7}' }),
    );
    const again = await h.sfn.send(
      new StartExecutionCommand({ stateMachineArn: h.arn('approve'), name: 'incident-7', input: '{"n":7}' }),
    );
    expect(again.executionArn).toBe(first.executionArn);
    expect(again.startDate?.getTime()).toBe(first.startDate?.getTime());

    const otherInput = await rejection(
      h.sfn.send(
        new StartExecutionCommand({ stateMachineArn: h.arn('approve'), name: 'incident-7', input: '{}' }),
      ),
    );
    expect(otherInput.name).toBe('ExecutionAlreadyExists');

    const token = await h.functions.tokenFor('incident-7');
    await h.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"approved":true}' }));
    await untilClosed(h, first.executionArn ?? '');
    const closed = await rejection(
      h.sfn.send(
        new StartExecutionCommand({
          stateMachineArn: h.arn('approve'),
          name: 'incident-7',
          input: '{"n":7}',
        }),
      ),
    );
    expect(closed.name).toBe('ExecutionAlreadyExists');
    // Exactly one execution ran, however many times it was started.
    expect(h.functions.notifications.filter((n) => n.execution === 'incident-7')).toHaveLength(1);
  });

  it('rejects bad requests with the AWS error names', async () => {
    const h = await startHarness();
    const errorOf = async (promise: Promise<unknown>) => (await rejection(promise)).name;
    expect(await errorOf(h.sfn.send(new StartExecutionCommand({ stateMachineArn: 'nope' })))).toBe(
      'InvalidArn',
    );
    expect(
      await errorOf(
        h.sfn.send(
          new StartExecutionCommand({
            stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:missing`,
          }),
        ),
      ),
    ).toBe('StateMachineDoesNotExist');
    expect(
      await errorOf(
        h.sfn.send(new StartExecutionCommand({ stateMachineArn: h.arn('greet'), name: 'has space' })),
      ),
    ).toBe('InvalidName');
    // StartExecution's name is 1–80 characters in the API model, so a longer one fails validation
    // (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html).
    expect(
      await errorOf(
        h.sfn.send(new StartExecutionCommand({ stateMachineArn: h.arn('greet'), name: 'x'.repeat(81) })),
      ),
    ).toBe('ValidationException');
    expect(
      await errorOf(
        h.sfn.send(new StartExecutionCommand({ stateMachineArn: h.arn('greet'), input: '{oops' })),
      ),
    ).toBe('InvalidExecutionInput');
    expect(
      await errorOf(
        h.sfn.send(
          new DescribeExecutionCommand({
            executionArn: `arn:aws:states:${REGION}:${ACCOUNT}:execution:greet:never`,
          }),
        ),
      ),
    ).toBe('ExecutionDoesNotExist');

    const raw = await fetch(h.server.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'AWSStepFunctions.Dance' },
      body: '{}',
    });
    expect(raw.status).toBe(400);
    expect(raw.headers.get('content-type')).toBe('application/x-amz-json-1.0');
    expect(await raw.json()).toMatchObject({ __type: 'UnknownOperationException' });
    const garbled = await fetch(h.server.url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': 'AWSStepFunctions.StartExecution',
      },
      body: '{not json',
    });
    expect(await garbled.json()).toMatchObject({ __type: 'SerializationException' });
  });

  it('resumes a waitForTaskToken task with SendTaskSuccess', async () => {
    const h = await startHarness();
    const executionArn = await start(h, 'approve', 'approve-1', { plan: 'rollback' });
    const token = await h.functions.tokenFor('approve-1');
    expect(token).toMatch(/^[A-Za-z0-9_-]{88}$/);

    await h.sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    expect((await h.sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');
    await h.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"approvedBy":"ada"}' }));

    const done = await untilClosed(h, executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '')).toEqual({ plan: 'rollback', decision: { approvedBy: 'ada' } });
    const events = await historyOf(h, executionArn);
    expect(typesOf(events).slice(0, 7)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskSucceeded',
      'TaskStateExited',
    ]);
    expect(events[2]?.taskScheduledEventDetails?.resource).toBe('invoke.waitForTaskToken');
    expect(events[5]?.taskSucceededEventDetails?.output).toBe('{"approvedBy":"ada"}');
    expect(h.logs.some((line) => line.includes(token))).toBe(false);
  });

  it('routes SendTaskFailure to a Catch on the custom error name', async () => {
    const h = await startHarness();
    const executionArn = await start(h, 'approve', 'approve-2', { plan: 'delete everything' });
    const token = await h.functions.tokenFor('approve-2');
    await h.sfn.send(
      new SendTaskFailureCommand({ taskToken: token, error: 'Approval.Rejected', cause: 'too risky' }),
    );
    const done = await untilClosed(h, executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '')).toEqual({
      plan: 'delete everything',
      rejection: { Error: 'Approval.Rejected', Cause: 'too risky' },
      outcome: 'rejected',
    });
    const failed = (await historyOf(h, executionArn)).find((e) => e.type === 'TaskFailed');
    expect(failed?.taskFailedEventDetails).toMatchObject({ error: 'Approval.Rejected', cause: 'too risky' });
  });

  it('times a callback task out as States.Timeout and refuses its token afterwards', async () => {
    const h = await startHarness();
    const executionArn = await start(h, 'hurry', 'hurry-1');
    const token = await h.functions.tokenFor('hurry-1');
    const done = await untilClosed(h, executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '').timeout).toMatchObject({ Error: 'States.Timeout' });
    expect(typesOf(await historyOf(h, executionArn))).toContain('TaskTimedOut');

    const late = await rejection(h.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })));
    expect(late.name).toBe('TaskTimedOut');
  });

  it('answers InvalidToken for a made-up token and TaskTimedOut for a token used twice', async () => {
    const h = await startHarness();
    const made = await rejection(
      h.sfn.send(new SendTaskSuccessCommand({ taskToken: 'made-up', output: '{}' })),
    );
    expect(made.name).toBe('InvalidToken');

    const executionArn = await start(h, 'approve', 'approve-3');
    const token = await h.functions.tokenFor('approve-3');
    const notJson = await rejection(
      h.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: 'yes' })),
    );
    expect(notJson.name).toBe('InvalidOutput');
    await h.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '"approved"' }));
    const twice = await rejection(
      h.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '"again"' })),
    );
    expect(twice.name).toBe('TaskTimedOut');
    const failLate = await rejection(
      h.sfn.send(new SendTaskFailureCommand({ taskToken: token, error: 'X' })),
    );
    expect(failLate.name).toBe('TaskTimedOut');
    expect(JSON.parse((await untilClosed(h, executionArn)).output ?? '').decision).toBe('approved');
  });

  it('retires the token of a Parallel branch aborted by its failing sibling', async () => {
    const h = await startHarness();
    const executionArn = await start(h, 'committee', 'committee-1');
    const legal = await h.functions.tokenFor('committee-1', 'legal');
    const finance = await h.functions.tokenFor('committee-1', 'finance');
    await h.sfn.send(
      new SendTaskFailureCommand({ taskToken: legal, error: 'Approval.Rejected', cause: 'no' }),
    );

    const done = await untilClosed(h, executionArn);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '').rejection).toEqual({ Error: 'Approval.Rejected', Cause: 'no' });
    const types = typesOf(await historyOf(h, executionArn));
    expect(types).toContain('ParallelStateFailed');
    expect(types).toContain('TaskStateAborted');
    const late = await rejection(
      h.sfn.send(new SendTaskSuccessCommand({ taskToken: finance, output: '{}' })),
    );
    expect(late.name).toBe('TaskTimedOut');
  });

  it('stops an execution with StopExecution and retires its token', async () => {
    const h = await startHarness();
    const executionArn = await start(h, 'approve', 'approve-4');
    const token = await h.functions.tokenFor('approve-4');
    const stopped = await h.sfn.send(
      new StopExecutionCommand({ executionArn, error: 'Operator.Cancelled', cause: 'duplicate incident' }),
    );
    expect(stopped.stopDate).toBeInstanceOf(Date);

    const described = await h.sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(described).toMatchObject({
      status: 'ABORTED',
      error: 'Operator.Cancelled',
      cause: 'duplicate incident',
    });
    expect(described.stopDate?.getTime()).toBe(stopped.stopDate?.getTime());
    const events = await historyOf(h, executionArn);
    expect(events.at(-1)).toMatchObject({
      type: 'ExecutionAborted',
      executionAbortedEventDetails: { error: 'Operator.Cancelled', cause: 'duplicate incident' },
    });
    const late = await rejection(h.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })));
    expect(late.name).toBe('TaskTimedOut');
  });
});
