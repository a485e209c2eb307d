/**
 * The in-process Lambda runtime applies each function's configured timeout (functions/catalog.ts), and
 * Step Functions sees a timed-out function as AWS reports it: "Unhandled errors in Lambda are
 * reported as Lambda.Unknown in the error output. These include out-of-memory errors and function
 * timeouts." (https://docs.aws.amazon.com/step-functions/latest/dg/sfn-best-practices.html#bp-lambda-serviceexception).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { FUNCTIONS } from '../../functions/catalog.ts';
import { LambdaTimeoutError, LocalLambdaRuntime } from '../../local/lambda-runtime.ts';
import { lambdaFailure } from '../../local/sfn/task-resources.ts';

// A root whose record-phase handler answers only when asked to, so the test controls how long it runs.
const root = mkdtempSync(join(tmpdir(), 'lambda-runtime-'));
mkdirSync(join(root, 'functions/record-phase'), { recursive: true });
writeFileSync(
  join(root, FUNCTIONS.recordPhase.entry),
  'export const handler = async (event) => event.wait ? new Promise(() => {}) : { echoed: event };\n',
);
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(() => vi.useRealTimers());

describe('local Lambda runtime', () => {
  it('answers within the configured timeout', async () => {
    const runtime = new LocalLambdaRuntime(root);
    expect(await runtime.invoke('recordPhase', { a: 1 })).toEqual({ echoed: { a: 1 } });
  });

  it('fails an invocation that runs past the function timeout, as Lambda.Unknown to Step Functions', async () => {
    const runtime = new LocalLambdaRuntime(root);
    await runtime.invoke('recordPhase', { warm: true });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const outcome = runtime.invoke('recordPhase', { wait: true }).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(FUNCTIONS.recordPhase.timeoutSeconds * 1000 - 1);
    let settled = false;
    void outcome.then(() => {
      settled = true;
    });
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(LambdaTimeoutError);
    expect((error as LambdaTimeoutError).unhandledPayload.errorMessage).toMatch(
      new RegExp(`Task timed out after ${FUNCTIONS.recordPhase.timeoutSeconds}\\.00 seconds$`),
    );
    const failure = lambdaFailure(error);
    expect(failure.error).toBe('Lambda.Unknown');
    expect(failure.cause).toMatch(
      /^The cause could not be determined because Lambda did not return an error type\. Returned payload: \{"errorMessage":".*Task timed out after/,
    );
  });
});
