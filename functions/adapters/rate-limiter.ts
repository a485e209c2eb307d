/** A token bucket: at most `perSecond` calls a second on average, a second's worth at once. */
import type { RateLimiter } from '../use-cases/carry-out-effects.ts';

export function tokenBucket(perSecond: number, now: () => number = () => performance.now()): RateLimiter {
  let tokens = perSecond;
  let last = now();
  return {
    async take() {
      for (;;) {
        const t = now();
        tokens = Math.min(perSecond, tokens + ((t - last) / 1000) * perSecond);
        last = t;
        if (tokens >= 1) {
          tokens -= 1;
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, ((1 - tokens) / perSecond) * 1000));
      }
    },
  };
}
