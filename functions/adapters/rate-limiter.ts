/**
 * A token bucket: at most `perSecond` calls a second on average, a second's worth at once.
 *
 * Each call reserves its turn when it asks (the bucket may go below zero), then sleeps once until
 * that turn: callers go in the order they asked, none is overtaken by a later one, and a token's
 * release wakes one sleeper rather than every waiting caller racing for it.
 */
import type { RateLimiter } from '../use-cases/carry-out-effects.ts';

export function tokenBucket(perSecond: number, now: () => number = () => performance.now()): RateLimiter {
  let tokens = perSecond;
  let last = now();
  const refill = () => {
    const t = now();
    tokens = Math.min(perSecond, tokens + ((t - last) / 1000) * perSecond);
    last = t;
  };
  return {
    async take() {
      refill();
      tokens -= 1;
      if (tokens >= 0) return;
      await new Promise((resolve) => setTimeout(resolve, (-tokens / perSecond) * 1000));
    },
    delayMs() {
      refill();
      return tokens >= 1 ? 0 : ((1 - tokens) / perSecond) * 1000;
    },
  };
}
