/**
 * The providers' token bucket on a clock the test moves: the rate kept over time, a second's worth
 * at once, callers served in the order they asked (a late caller never overtakes a waiting one),
 * and the wait a caller asking now would face.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { tokenBucket } from '../../functions/adapters/rate-limiter.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Starts a take for each name now; `served` gets the names in the order their turns came. */
function takes(bucket: ReturnType<typeof tokenBucket>, names: readonly string[], served: string[]) {
  return names.map((name) => bucket.take().then(() => served.push(name)));
}

describe('tokenBucket', () => {
  it('lets a second’s worth through at once, then one call per 1/rate seconds, in the order asked', async () => {
    const bucket = tokenBucket(10, () => Date.now());
    const served: string[] = [];
    const first = takes(
      bucket,
      Array.from({ length: 10 }, (_, i) => `burst${i}`),
      served,
    );
    await Promise.all(first);
    expect(served).toHaveLength(10);

    const waiting = takes(bucket, ['a', 'b', 'c'], served);
    await vi.advanceTimersByTimeAsync(99);
    expect(served.slice(10)).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(served.slice(10)).toEqual(['a']);
    // A caller that asks when a token has just come back waits behind the ones already waiting.
    takes(bucket, ['late'], served);
    await vi.advanceTimersByTimeAsync(200);
    expect(served.slice(10)).toEqual(['a', 'b', 'c']);
    await vi.advanceTimersByTimeAsync(100);
    expect(served.slice(10)).toEqual(['a', 'b', 'c', 'late']);
    await Promise.all(waiting);
  });

  it('says how long a call asking now would wait', async () => {
    const bucket = tokenBucket(10, () => Date.now());
    expect(bucket.delayMs?.()).toBe(0);
    for (let i = 0; i < 10; i++) await bucket.take();
    expect(bucket.delayMs?.()).toBeCloseTo(100);
    const queued = Array.from({ length: 5 }, () => bucket.take());
    // Five already queued: a sixth goes after them.
    expect(bucket.delayMs?.()).toBeCloseTo(600);
    await vi.advanceTimersByTimeAsync(500);
    await Promise.all(queued);
    expect(bucket.delayMs?.()).toBeCloseTo(100);
    // Idle for a while, the bucket refills to a second's worth and no more.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(bucket.delayMs?.()).toBe(0);
    for (let i = 0; i < 10; i++) await bucket.take();
    expect(bucket.delayMs?.()).toBeCloseTo(100);
  });
});
