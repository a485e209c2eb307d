import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { casebook } from '../support/cli.ts';
import { FIXTURE_LABOUR_RATES, FIXTURE_PNL_CSV } from '../support/finance-fixture.ts';
import { seededFinanceStack } from '../support/finance-stack.ts';
import type { StackProcess } from '../support/local-stack.ts';

let stack: StackProcess;
let user: Record<string, string>;

beforeAll(async () => {
  ({ stack, user } = await seededFinanceStack());
}, 180_000);
afterAll(() => stack?.kill());

describe('the finance walk-through against a running npm start', () => {
  it('exports November and December to the stack’s bucket, then prints their P&L from it', async () => {
    const exported = await casebook(['ledger', 'export', '--period', '2026-11', '--to', '2026-12'], user);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toContain('s3://casebook-ledger-exports/ledger/v1/period=2026-12/ledger.parquet');

    const pnl = await casebook(['pnl', '--from', '2026-11', '--to', '2026-12', '--format', 'csv'], {
      ...user,
      CASEBOOK_LABOUR_RATES: JSON.stringify(FIXTURE_LABOUR_RATES),
    });
    expect(pnl.stderr).toBe('');
    expect(pnl.code).toBe(0);
    expect(pnl.stdout).toBe(FIXTURE_PNL_CSV);
  });
});
