/**
 * A local Step Functions server over small state machines of our own and fake in-process Lambda
 * functions, for the tests that drive it through the SDK and through the AWS CLI.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import {
  type LocalStateMachine,
  type StepFunctionsServer,
  startStepFunctionsServer,
} from '../../local/sfn/server.ts';

export const REGION = 'us-east-1';
export const ACCOUNT = '000000000000';
const INVOKE = 'arn:aws:states:::lambda:invoke';
const INVOKE_WITH_CALLBACK = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
const functionArn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;

const callbackTask = (approver: string, extra: Record<string, unknown> = {}) => ({
  Type: 'Task',
  Resource: INVOKE_WITH_CALLBACK,
  Parameters: {
    FunctionName: functionArn('notifier'),
    Payload: { 'token.$': '$$.Task.Token', approver, 'execution.$': '$$.Execution.Name' },
  },
  ...extra,
});

// Small machines of our own: one per behaviour under test.
export const MACHINES: LocalStateMachine[] = [
  {
    name: 'greet',
    definition: {
      StartAt: 'Greet the caller',
      States: {
        'Greet the caller': {
          Type: 'Task',
          Resource: INVOKE,
          Parameters: { FunctionName: functionArn('greeter'), 'Payload.$': '$' },
          ResultSelector: { 'greeting.$': '$.Payload.greeting', 'status.$': '$.StatusCode' },
          ResultPath: '$.greeted',
          Next: 'Shout the greeting',
        },
        'Shout the greeting': {
          Type: 'Task',
          Resource: functionArn('shouter'),
          InputPath: '$.greeted',
          ResultPath: '$.shouted',
          Next: 'Done',
        },
        Done: { Type: 'Succeed' },
      },
    },
  },
  {
    name: 'write-ledger',
    definition: {
      StartAt: 'Write to the ledger',
      States: {
        'Write to the ledger': {
          Type: 'Task',
          Resource: INVOKE,
          Parameters: { FunctionName: functionArn('ledger-writer'), Payload: {} },
          End: true,
        },
      },
    },
  },
  {
    name: 'approve',
    definition: {
      StartAt: 'Ask for approval',
      States: {
        'Ask for approval': callbackTask('owner', {
          TimeoutSeconds: 60,
          ResultPath: '$.decision',
          Catch: [
            { ErrorEquals: ['Approval.Rejected'], ResultPath: '$.rejection', Next: 'Record the rejection' },
          ],
          Next: 'Approved',
        }),
        Approved: { Type: 'Pass', End: true },
        'Record the rejection': { Type: 'Pass', Result: 'rejected', ResultPath: '$.outcome', End: true },
      },
    },
  },
  {
    name: 'hurry',
    definition: {
      StartAt: 'Wait briefly for approval',
      States: {
        'Wait briefly for approval': callbackTask('owner', {
          TimeoutSeconds: 1,
          Catch: [{ ErrorEquals: ['States.Timeout'], ResultPath: '$.timeout', Next: 'Give up' }],
          End: true,
        }),
        'Give up': { Type: 'Pass', End: true },
      },
    },
  },
  {
    name: 'committee',
    definition: {
      StartAt: 'Ask Legal and Finance',
      States: {
        'Ask Legal and Finance': {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'Ask Legal', States: { 'Ask Legal': callbackTask('legal', { End: true }) } },
            { StartAt: 'Ask Finance', States: { 'Ask Finance': callbackTask('finance', { End: true }) } },
          ],
          Catch: [{ ErrorEquals: ['Approval.Rejected'], ResultPath: '$.rejection', Next: 'Rejected' }],
          End: true,
        },
        Rejected: { Type: 'Pass', End: true },
      },
    },
  },
  {
    name: 'tally',
    definition: {
      StartAt: 'Count each item',
      States: {
        'Count each item': {
          Type: 'Map',
          ItemsPath: '$.items',
          MaxConcurrency: 2,
          ItemProcessor: {
            StartAt: 'Count the item',
            States: {
              'Count the item': {
                Type: 'Task',
                Resource: INVOKE,
                Parameters: { FunctionName: functionArn('counter'), 'Payload.$': '$' },
                ResultSelector: { 'count.$': '$.Payload' },
                Retry: [{ ErrorEquals: ['Counter.Busy'], IntervalSeconds: 1, MaxAttempts: 2 }],
                End: true,
              },
            },
          },
          End: true,
        },
      },
    },
  },
  {
    name: 'enqueue',
    definition: {
      StartAt: 'Send to the queue',
      States: {
        'Send to the queue': {
          Type: 'Task',
          Resource: 'arn:aws:states:::sqs:sendMessage',
          Parameters: { QueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/q', MessageBody: 'hi' },
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Swallowed' }],
          End: true,
        },
        Swallowed: { Type: 'Pass', End: true },
      },
    },
  },
];

/** The machines as configured, before any server saw them (a server must not change them). */
export const CONFIGURED: LocalStateMachine[] = structuredClone(MACHINES);

interface Notification {
  approver: string;
  token: string;
  execution: string;
}

/** Fake in-process Lambda functions, recording what they were given. */
class FakeFunctions {
  readonly notifications: Notification[] = [];
  private counted = 0;

  readonly invoke = async (functionName: string, payload: unknown): Promise<unknown> => {
    const input = payload as Record<string, string>;
    switch (functionName) {
      case functionArn('greeter'):
        return { greeting: `Hello, ${input.who}` };
      case functionArn('shouter'):
        return `${input.greeting}!`.toUpperCase();
      case functionArn('ledger-writer'): {
        const error = new Error('the ledger is closed for the night');
        error.name = 'Ledger.Closed';
        throw error;
      }
      case functionArn('counter'):
        if (this.counted++ === 0) throw Object.assign(new Error('try again'), { name: 'Counter.Busy' });
        return (payload as number) * 10;
      case functionArn('notifier'):
        this.notifications.push({
          approver: input.approver ?? '',
          token: input.token ?? '',
          execution: input.execution ?? '',
        });
        return { notified: input.approver };
      default:
        throw Object.assign(new Error(`no function ${functionName}`), { name: 'ResourceNotFoundException' });
    }
  };

  /** Waits for the task token sent to `approver` by the execution named `execution`. */
  tokenFor(execution: string, approver = 'owner'): Promise<string> {
    return eventually(
      () => this.notifications.find((n) => n.execution === execution && n.approver === approver)?.token,
      `a task token for ${approver} in ${execution}`,
    );
  }
}

export async function eventually<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const cleanups: Array<() => Promise<void>> = [];

/** Closes every server and client started since the last call and removes their data; for `afterEach`. */
export async function closeHarnesses(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
}

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sfn-local-test-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface Harness {
  server: StepFunctionsServer;
  sfn: SFNClient;
  functions: FakeFunctions;
  logs: string[];
  dataDir: string;
  arn: (machine: string) => string;
}

export async function startHarness(dataDir?: string): Promise<Harness> {
  const dir = dataDir ?? (await tempDir());
  const functions = new FakeFunctions();
  const logs: string[] = [];
  const server = await startStepFunctionsServer({
    port: 0,
    region: REGION,
    accountId: ACCOUNT,
    dataDir: dir,
    stateMachines: MACHINES,
    invokeFunction: functions.invoke,
    log: (line) => logs.push(line),
  });
  const sfn = new SFNClient({
    endpoint: server.url,
    region: REGION,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    sfn.destroy();
    await server.close();
  };
  cleanups.push(close);
  return { server, sfn, functions, logs, dataDir: dir, arn: (machine) => server.stateMachineArn(machine) };
}

export async function start(h: Harness, machine: string, name: string, input: unknown = {}): Promise<string> {
  const started = await h.sfn.send(
    new StartExecutionCommand({ stateMachineArn: h.arn(machine), name, input: JSON.stringify(input) }),
  );
  return started.executionArn ?? '';
}

export function untilClosed(h: Harness, executionArn: string): Promise<DescribeExecutionCommandOutput> {
  return eventually(async () => {
    const described = await h.sfn.send(new DescribeExecutionCommand({ executionArn }));
    return described.status === 'RUNNING' ? undefined : described;
  }, `${executionArn} to close`);
}

export async function historyOf(h: Harness, executionArn: string): Promise<HistoryEvent[]> {
  const page = await h.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }));
  return page.events ?? [];
}

export const typesOf = (events: HistoryEvent[]) => events.map((event) => event.type);

export async function rejection(promise: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to be rejected');
}
