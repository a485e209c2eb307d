/**
 * Runs Casebook's Lambda handlers in this process, the way Lambda would: the handler module is
 * imported once (its cold start parses configuration), events and results cross a JSON boundary,
 * and a thrown error keeps its name (Lambda's errorType, which the ASL matches).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { FunctionKey } from '../functions/catalog.ts';
import { FUNCTIONS } from '../functions/catalog.ts';

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';

/** The function's name on the local stack: `casebook-<name>`. */
export function localFunctionName(key: FunctionKey): string {
  return `casebook-${FUNCTIONS[key].name}`;
}

export function localFunctionArn(key: FunctionKey): string {
  return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${localFunctionName(key)}`;
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

function contextFor(key: FunctionKey): Context {
  const deadline = Date.now() + FUNCTIONS[key].timeoutSeconds * 1000;
  const name = localFunctionName(key);
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: localFunctionArn(key),
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * A Lambda invocation that ran past the function's timeout. Lambda answers it with a payload that has
 * no errorType, which Step Functions reports as Lambda.Unknown.
 */
export class LambdaTimeoutError extends Error {
  /** The function-error payload Lambda returns. */
  readonly unhandledPayload: { errorMessage: string };

  constructor(requestId: string, timeoutSeconds: number) {
    const errorMessage = `${new Date().toISOString()} ${requestId} Task timed out after ${timeoutSeconds.toFixed(2)} seconds`;
    super(errorMessage);
    this.name = 'LambdaTimeoutError';
    this.unhandledPayload = { errorMessage };
  }
}

let instances = 0;

/**
 * Imports handler modules on first use and invokes them. Each runtime imports its own instance of
 * every handler module, so each has its own cold start: two local stacks in one process (as in
 * the tests) never share configuration or SDK clients.
 */
export class LocalLambdaRuntime {
  private readonly rootDir: string;
  private readonly instance = ++instances;
  private readonly loaded = new Map<FunctionKey, Promise<Handler>>();
  /** Handlers still running, a timed-out one included: a stack that closes waits for them. */
  private readonly running = new Set<Promise<unknown>>();

  constructor(rootDir: string) {
    this.rootDir = rootDir;
  }

  /** Finds the catalog key of a function name or ARN (`casebook-record-phase`, or its ARN). */
  resolve(nameOrArn: string): FunctionKey | undefined {
    const name = nameOrArn.split(':').at(nameOrArn.startsWith('arn:') ? 6 : -1) ?? nameOrArn;
    return (Object.keys(FUNCTIONS) as FunctionKey[]).find((key) => localFunctionName(key) === name);
  }

  /** Imports every handler now, so a misconfiguration fails `npm start` instead of a request. */
  async warm(): Promise<void> {
    await Promise.all((Object.keys(FUNCTIONS) as FunctionKey[]).map((key) => this.handler(key)));
  }

  /**
   * Invokes a handler as Lambda would, within the function's configured timeout. A handler that runs
   * longer fails the invocation as Lambda's does (no errorType, "Task timed out after …"); it cannot
   * be stopped in-process, so it runs on, but its answer is dropped.
   */
  async invoke(key: FunctionKey, event: unknown): Promise<unknown> {
    const handler = await this.handler(key);
    const context = contextFor(key);
    const timeoutSeconds = FUNCTIONS[key].timeoutSeconds;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new LambdaTimeoutError(context.awsRequestId, timeoutSeconds)),
        timeoutSeconds * 1000,
      );
    });
    const run = (async () => handler(JSON.parse(JSON.stringify(event ?? null)), context))();
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
    try {
      const result = await Promise.race([run, timedOut]);
      return result === undefined ? null : JSON.parse(JSON.stringify(result));
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Waits up to `ms` for the handlers still running to end, so the emulators they call are not
   * closed under them (dynalite throws from a request it was still serving when its store closed).
   */
  async drain(ms: number): Promise<void> {
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(this.running),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
      }),
    ]);
    clearTimeout(timer);
  }

  private handler(key: FunctionKey): Promise<Handler> {
    let loading = this.loaded.get(key);
    if (!loading) {
      const url = `${pathToFileURL(join(this.rootDir, FUNCTIONS[key].entry)).href}?runtime=${this.instance}`;
      loading = import(url).then((module: { handler?: Handler }) => {
        if (typeof module.handler !== 'function')
          throw new Error(`${FUNCTIONS[key].entry} exports no handler`);
        return module.handler;
      });
      this.loaded.set(key, loading);
    }
    return loading;
  }
}
