/**
 * `casebook reconcile`'s bad input, run as a person runs it: each answered with one line on
 * standard error and exit status 2, before any table or provider is asked.
 */
import { describe, expect, it } from 'vitest';
import { casebook } from '../support/cli.ts';

const next = new Date();
next.setUTCMonth(next.getUTCMonth() + 2, 1);
const future = next.toISOString().slice(0, 7);

describe('casebook reconcile refuses what it cannot reconcile', () => {
  it.each([
    ['a malformed month', ['--period', '2026-13'], {}, '--period 2026-13 is not a month: write it YYYY-MM'],
    [
      'a future month',
      ['--period', future],
      {},
      `--period ${future} has not begun: nothing to reconcile yet`,
    ],
    [
      'no provider (manual)',
      ['--period', '2026-11'],
      { CASEBOOK_PAYMENTS_PROVIDER: 'manual' },
      'CASEBOOK_PAYMENTS_PROVIDER is manual: refunds are made by hand, there is no provider to reconcile with',
    ],
    [
      'no provider configured on AWS',
      ['--period', '2026-11', '--table', 'casebook-ledger'],
      {},
      'no payments provider: set CASEBOOK_PAYMENTS_PROVIDER (stripe) and its key',
    ],
  ])('%s: one line, exit 2', async (_what, args, env, message) => {
    const result = await casebook(['reconcile', ...args], env);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`casebook: ${message}\n`);
    expect(result.code).toBe(2);
  });
});
