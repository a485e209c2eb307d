import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import { formatIncidentId } from '../../functions/domain/incident.ts';
import { periodOf } from '../../functions/domain/ledger-export.ts';
import { casebook } from '../support/cli.ts';
import type { SeededFixture } from '../support/finance-fixture.ts';
import { FIXTURE_LABOUR_RATES, fixtureDraft } from '../support/finance-fixture.ts';
import { seededFinanceStack } from '../support/finance-stack.ts';
import type { StackProcess } from '../support/local-stack.ts';

let stack: StackProcess;
let user: Record<string, string>;
let ledger: DynamoDbLedger;
let seeded: SeededFixture;

beforeAll(async () => {
  ({ stack, user, ledger, seeded } = await seededFinanceStack());
}, 180_000);
afterAll(() => stack?.kill());

const rates = (sre: string) => ({
  ...user,
  CASEBOOK_LABOUR_RATES: JSON.stringify({ ...FIXTURE_LABOUR_RATES, SRE: { amount: sre, currency: 'EUR' } }),
});
const close = (month: string) => casebook(['period', 'close', month, '--lag-days', '0'], rates('120.00'));

describe('a closed month on a running npm start', () => {
  it('never moves: late entries, corrections and rates become adjustments in the month recorded', async () => {
    const thisMonth = periodOf(new Date().toISOString());
    const exported = await casebook(['ledger', 'export', '--period', '2026-11', '--to', thisMonth], user);
    expect(exported.code, exported.stderr).toBe(0);

    expect((await close('2026-09')).code).toBe(0);
    const outOfOrder = await close('2026-11');
    expect(outOfOrder.code).toBe(2);
    expect(outOfOrder.stderr).toBe(
      'casebook period close: close 2026-10 first: closes are consecutive and the last one is 2026-09\n',
    );
    expect((await close('2026-10')).code).toBe(0);
    const november = await close('2026-11');
    expect(november.code, november.stderr).toBe(0);
    const first = /^Closed 2026-11: ([0-9a-f]{64})$/m.exec(november.stdout)?.[1];
    expect(first).toBeDefined();

    const asClosed = {
      csv: await casebook(['pnl', '--period', '2026-11', '--format', 'csv'], rates('120.00')),
      record: await casebook(['period', 'report', '2026-11'], user),
    };
    for (const r of Object.values(asClosed)) expect(r.code, r.stderr).toBe(0);
    const refundsAtClose = Number(/^refunds,EUR,[-\d.]+,(-?\d+),/m.exec(asClosed.csv.stdout)?.[1]);
    const creditsAtClose = Number(/^goodwill_credits,EUR,[-\d.]+,(-?\d+),/m.exec(asClosed.csv.stdout)?.[1]);
    expect(refundsAtClose).toBeGreaterThan(0);
    expect(creditsAtClose).toBe(1500);

    // Recorded now, after the close: a refund that moved money in November, and the void of its credit.
    const now = new Date();
    const today = now.toISOString().slice(0, 10);
    const incident = formatIncidentId(2026, 1);
    await ledger.append(incident, {
      ...fixtureDraft('2026-11-10', 90, {
        log: 'effect',
        kind: 'refund',
        state: 'confirmed',
        amount: { minor: 777, currency: 'EUR' },
        obligation: 'tos',
      } as never),
      at: now.toISOString(),
      effectiveAt: '2026-11-20T10:00:00.000Z',
    });
    const credit = seeded.get(incident)?.[4];
    expect(credit).toBeDefined();
    await ledger.append(incident, {
      ...fixtureDraft('2026-11-10', 91, {
        kind: 'correction',
        state: 'confirmed',
        summary: 'credit e3 voided: granted twice',
      } as never),
      corrects: credit as { id: string; seq: number },
      at: new Date(now.getTime() + 1000).toISOString(),
    });
    const reexported = await casebook(['ledger', 'export', '--period', '2026-11', '--to', thisMonth], user);
    expect(reexported.code, reexported.stderr).toBe(0);

    // And every SRE hour costs eight times as much from now on.
    const later = {
      csv: await casebook(['pnl', '--period', '2026-11', '--format', 'csv'], rates('999.00')),
      record: await casebook(['period', 'report', '2026-11'], rates('999.00')),
    };
    expect(later.csv.stdout).toBe(asClosed.csv.stdout);
    expect(later.record.stdout).toBe(asClosed.record.stdout);

    // The month they were recorded in counts them, each named as an adjustment to November.
    const current = await casebook(['pnl', '--period', thisMonth, '--format', 'csv'], rates('999.00'));
    expect(current.code, current.stderr).toBe(0);
    const adjustments = current.stdout.split('\n').filter((l) => l.includes(',2026-11,'));
    expect(adjustments.sort()).toEqual(
      [
        `goodwill_credits,EUR,-15.00,-1500,,,2026-11,${today}`,
        `refunds,EUR,7.77,777,,,2026-11,${today}`,
      ].sort(),
    );
    const html = await casebook(['pnl', '--period', thisMonth, '--format', 'html'], rates('999.00'));
    expect(html.stdout).toContain('<h2>Adjustments to closed months</h2>');
    expect(html.stdout).toContain(`adjustment to 2026-11, recorded ${today}`);

    // Closing again answers the first close; a month before the last close that was never closed is refused.
    const again = await close('2026-11');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`^2026-11 was already closed at .*: ${first}$`, 'm'));
    const before = await close('2026-08');
    expect(before.code).toBe(2);
    expect(before.stderr).toBe(
      'casebook period close: 2026-08 was never closed and comes before the last close, 2026-11\n',
    );

    // A closed month has no incidents in its record: asking for them is one line and exit 2.
    const byIncident = await casebook(['pnl', '--period', '2026-11', '--group-by', 'incident'], user);
    expect(byIncident.code).toBe(2);
    expect(byIncident.stderr).toBe(
      'casebook pnl: 2026-11 is closed: its close holds category, line and month, not incident\n',
    );
  }, 300_000);
});
