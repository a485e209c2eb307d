/**
 * The local Step Functions server: how long a restart takes to bring 100 waiting executions back to
 * their waiting tasks (each replays its journal: a Lambda task, a three-item Map, then a callback
 * task that waits), and how many state transitions one execution makes per second (a Pass/Choice
 * loop, each transition evaluated by aws-local-stepfunctions and journaled).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import {
  type LocalStateMachine,
  type StepFunctionsServer,
  startStepFunctionsServer,
} from '../local/sfn/server.ts';
import type { BenchReport } from './run.ts';

const WAITING = Number(process.env.BENCH_SFN_WAITING ?? 100);
const LOOPS = Number(process.env.BENCH_SFN_LOOPS ?? 2000);

const MACHINES: LocalStateMachine[] = [
  {
    name: 'waits',
    definition: {
      StartAt: 'Record',
      States: {
        Record: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Parameters: { FunctionName: 'record', 'Payload.$': '$' },
          ResultPath: null,
          Next: 'Each',
        },
        Each: {
          Type: 'Map',
          ItemsPath: '$.items',
          ItemProcessor: { StartAt: 'Item', States: { Item: { Type: 'Pass', End: true } } },
          ResultPath: '$.items',
          Next: 'Ask',
        },
        Ask: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: { FunctionName: 'ask', Payload: { 'token.$': '$$.Task.Token', 'n.$': '$.n' } },
          End: true,
        },
      },
    },
  },
  {
    name: 'loop',
    definition: {
      StartAt: 'More?',
      States: {
        'More?': {
          Type: 'Choice',
          Choices: [{ Variable: '$.i', NumericLessThanPath: '$.n', Next: 'Count' }],
          Default: 'Done',
        },
        Count: { Type: 'Pass', Parameters: { 'i.$': 'States.MathAdd($.i, 1)', 'n.$': '$.n' }, Next: 'More?' },
        Done: { Type: 'Succeed' },
      },
    },
  },
];

async function serve(
  dataDir: string,
  tokens: Map<number, string>,
): Promise<{ server: StepFunctionsServer; sfn: SFNClient }> {
  const server = await startStepFunctionsServer({
    port: 0,
    region: 'us-east-1',
    accountId: '000000000000',
    dataDir,
    stateMachines: MACHINES,
    invokeFunction: async (name, payload) => {
      const input = payload as { token?: string; n?: number };
      if (name === 'ask' && input.token) tokens.set(Number(input.n), input.token);
      return {};
    },
  });
  const sfn = new SFNClient({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  return { server, sfn };
}

async function until(what: string, probe: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export default async function run(): Promise<BenchReport> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'bench-sfn-'));
  try {
    // 1. WAITING executions, each waiting on its callback task; then the server stops.
    const tokens = new Map<number, string>();
    const first = await serve(dataDir, tokens);
    const waitsArn = first.server.stateMachineArn('waits');
    await Promise.all(
      Array.from({ length: WAITING }, (_, n) =>
        first.sfn.send(
          new StartExecutionCommand({
            stateMachineArn: waitsArn,
            name: `wait-${n}`,
            input: JSON.stringify({ n, items: [1, 2, 3] }),
          }),
        ),
      ),
    );
    await until('every execution to wait', async () => {
      if (tokens.size < WAITING) return false;
      const last = await first.sfn.send(
        new GetExecutionHistoryCommand({
          executionArn: arnOf('waits', `wait-${WAITING - 1}`),
          reverseOrder: true,
          maxResults: 1,
        }),
      );
      return last.events?.[0]?.type === 'TaskSubmitted';
    });
    first.sfn.destroy();
    await first.server.close();

    // 2. Start again in a new process (as `npm start` would): from the call to the moment every
    //    execution waits on its task again, definitions validated and journals read included.
    const resumeSeconds = Number(
      execFileSync(process.execPath, [import.meta.filename, '--resume', dataDir], {
        encoding: 'utf8',
      }).trim(),
    );
    const second = await serve(dataDir, new Map());
    await second.server.resumed();
    // They really are back: the token e-mailed before the restart completes its execution.
    await second.sfn.send(new SendTaskSuccessCommand({ taskToken: tokens.get(0) ?? '', output: '"ok"' }));
    await until('the first execution to finish', async () => {
      const d = await second.sfn.send(
        new DescribeExecutionCommand({ executionArn: arnOf('waits', 'wait-0') }),
      );
      return d.status === 'SUCCEEDED';
    });

    // 3. State transitions per second of one execution.
    const loopStarted = process.hrtime.bigint();
    await second.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: second.server.stateMachineArn('loop'),
        name: 'loop-1',
        input: JSON.stringify({ i: 0, n: LOOPS }),
      }),
    );
    await until('the loop to finish', async () => {
      const d = await second.sfn.send(
        new DescribeExecutionCommand({ executionArn: arnOf('loop', 'loop-1') }),
      );
      return d.status !== 'RUNNING';
    });
    const loopSeconds = Number(process.hrtime.bigint() - loopStarted) / 1e9;
    const transitions = 2 * LOOPS + 2;
    const perSecond = transitions / loopSeconds;
    second.sfn.destroy();
    await second.server.close();

    const results = {
      'sfn.restart_resume_s': round(resumeSeconds),
      'sfn.transitions_per_s': Math.round(perSecond),
    };
    const markdown = [
      '## Local Step Functions server (`bench/sfn.bench.ts`)',
      '',
      '| measure | value |',
      '|---|---:|',
      `| restart until ${WAITING} waiting executions wait again | ${resumeSeconds.toFixed(2)} s |`,
      `| state transitions per second, one execution (${transitions} transitions) | ${Math.round(perSecond)} |`,
      '',
      `Each of the ${WAITING} executions had run a Lambda task and a three-item Map and waited on a callback task when the server stopped; the restart (a new process: definitions validated, journals read) replays every journal (no task runs again) until each waits on its task with the token it had. Transitions are a Pass/Choice loop: each state's data flow is evaluated by aws-local-stepfunctions and its events appended to the journal (fsync'ed in batches, not per transition).`,
    ].join('\n');
    return { results, markdown };
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

function arnOf(machine: string, name: string): string {
  return `arn:aws:states:us-east-1:000000000000:execution:${machine}:${name}`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** The restart alone, in a process of its own: prints the seconds until every execution waits again. */
async function resume(dataDir: string): Promise<void> {
  const started = process.hrtime.bigint();
  const { server, sfn } = await serve(dataDir, new Map());
  await server.resumed();
  process.stdout.write(`${Number(process.hrtime.bigint() - started) / 1e9}\n`);
  sfn.destroy();
  server.kill();
  process.exit(0);
}

if (import.meta.main) {
  const at = process.argv.indexOf('--resume');
  if (at > 0) await resume(process.argv[at + 1] ?? '');
  else console.log(JSON.stringify(await run(), null, 2));
}
