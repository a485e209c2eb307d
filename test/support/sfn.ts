/**
 * The local Step Functions server from a test, over any machines and functions the test brings: a
 * server on a free port and a temp data dir, an SDK client, restarts (clean or as `kill -9`), and the
 * server in a child process. (sfn-harness.ts has the fixed machines of the API tests.)
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
import { afterEach } from 'vitest';
import {
  type LocalStateMachine,
  type StepFunctionsServer,
  type StepFunctionsServerOptions,
  startStepFunctionsServer,
} from '../../local/sfn/server.ts';
import { runScript, type ScriptProcess } from './child-process.ts';

import { ACCOUNT, eventually, REGION } from './sfn-harness.ts';

export { ACCOUNT, eventually, REGION, rejection, typesOf } from './sfn-harness.ts';
export const INVOKE = 'arn:aws:states:::lambda:invoke';
export const INVOKE_WITH_CALLBACK = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
export const functionArn = (name: string): string => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;

/** A server with an SDK client; `restart` starts a new one on the same data directory. */
export interface SfnHarness {
  server: StepFunctionsServer;
  sfn: SFNClient;
  dataDir: string;
  logs: string[];
  arn(machine: string): string;
  start(machine: string, name?: string, input?: unknown): Promise<string>;
  describe(executionArn: string): Promise<DescribeExecutionCommandOutput>;
  untilClosed(executionArn: string, timeoutMs?: number): Promise<DescribeExecutionCommandOutput>;
  history(executionArn: string): Promise<HistoryEvent[]>;
  /** `kill`: stops as `kill -9` would; `close`: a clean stop. Either way the executions continue in the new server. */
  restart(how: 'kill' | 'close', overrides?: Partial<StepFunctionsServerOptions>): Promise<SfnHarness>;
}

export type HarnessOptions = {
  stateMachines: LocalStateMachine[];
  invokeFunction: StepFunctionsServerOptions['invokeFunction'];
} & Partial<StepFunctionsServerOptions>;

/** Registers the cleanup of every harness a test starts; call at the top of a test file. */
export function sfnHarnesses(): (options: HarnessOptions) => Promise<SfnHarness> {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const startHarness = async (options: HarnessOptions): Promise<SfnHarness> => {
    let dataDir = options.dataDir;
    if (!dataDir) {
      const dir = await mkdtemp(path.join(tmpdir(), 'sfn-local-test-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      dataDir = dir;
    }
    const logs: string[] = [];
    const server = await startStepFunctionsServer({
      port: 0,
      region: REGION,
      accountId: ACCOUNT,
      log: (line) => logs.push(line),
      ...options,
      dataDir,
    });
    const sfn = new SFNClient({
      endpoint: server.url,
      region: REGION,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    let stopped = false;
    const stop = async (how: 'kill' | 'close') => {
      if (stopped) return;
      stopped = true;
      sfn.destroy();
      if (how === 'kill') server.kill();
      else await server.close();
    };
    cleanups.push(() => stop('close'));
    const harness: SfnHarness = {
      server,
      sfn,
      dataDir,
      logs,
      arn: (machine) => server.stateMachineArn(machine),
      start: async (machine, name, input = {}) => {
        const started = await sfn.send(
          new StartExecutionCommand({
            stateMachineArn: harness.arn(machine),
            name,
            input: JSON.stringify(input),
          }),
        );
        return started.executionArn ?? '';
      },
      describe: (executionArn) => sfn.send(new DescribeExecutionCommand({ executionArn })),
      untilClosed: (executionArn, timeoutMs) =>
        eventually(
          async () => {
            const described = await harness.describe(executionArn);
            return described.status === 'RUNNING' ? undefined : described;
          },
          `${executionArn} to close`,
          timeoutMs,
        ),
      history: async (executionArn) => {
        const events: HistoryEvent[] = [];
        let nextToken: string | undefined;
        do {
          const page = await sfn.send(
            new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }),
          );
          events.push(...(page.events ?? []));
          nextToken = page.nextToken;
        } while (nextToken);
        return events;
      },
      restart: async (how, overrides = {}) => {
        await stop(how);
        return startHarness({ ...options, ...overrides, dataDir });
      },
    };
    return harness;
  };
  return startHarness;
}

/** The server in a child process (sfn-process.ts), which a test may `kill -9`. */
export interface SfnProcess extends ScriptProcess {
  url: string;
  sfn: SFNClient;
}

/**
 * Starts sfn-process.ts on `dataDir` with the machines in `machinesFile`; its effects go to `effectsLog`.
 * `die` is a crash point: `after:<n>` (right after the n-th effect) or `before:<n>`.
 */
export async function spawnSfn(
  dataDir: string,
  machinesFile: string,
  effectsLog: string,
  die?: string,
): Promise<SfnProcess> {
  const script = runScript(
    path.join(import.meta.dirname, 'sfn-process.ts'),
    [dataDir, machinesFile, effectsLog],
    die ? { SFN_TEST_DIE: die } : {},
  );
  const url = (await script.line('READY ')).slice('READY '.length);
  const sfn = new SFNClient({
    endpoint: url,
    region: REGION,
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  return { ...script, url, sfn };
}
