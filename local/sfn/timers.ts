/**
 * The server's timers: every Wait, Retry backoff, task timeout and heartbeat timeout is a deadline
 * (an epoch-millisecond instant computed from recorded times), so a restart resumes it with the time
 * that is left. Node's setTimeout overflows past 2^31-1 ms (~24.8 days) and then fires at once, so
 * long deadlines are reached in steps.
 */

const STEP_MS = 24 * 60 * 60 * 1000;

/** Resolves at `deadline` (at once if it has passed); rejects with the signal's reason on abort. */
export function sleepUntil(deadline: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const arm = () => {
      const left = deadline - Date.now();
      if (left <= 0) {
        signal.removeEventListener('abort', onAbort);
        resolve();
        return;
      }
      timer = setTimeout(arm, Math.min(left, STEP_MS));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    arm();
  });
}

/** Lets the event loop serve I/O (HTTP requests, other executions) between synchronous steps. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
