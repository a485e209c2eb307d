import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { monthTotals } from '../../functions/domain/close-totals.ts';
import { pnlSql } from '../../functions/domain/finance-sql.ts';
import type { LabourRate } from '../../functions/domain/labour-rates.ts';
import { parseLabourRates } from '../../functions/domain/labour-rates.ts';
import { ledgerRows } from '../../functions/domain/ledger-export.ts';
import { closeTotals } from '../../functions/domain/period-close.ts';
import { openLedgerDb } from '../../scripts/duckdb-ledger.ts';
import { exportToDir, FIXTURE_LABOUR_RATES, fixtureLedger } from '../support/finance-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'close-totals-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const RATE_SETS: Readonly<Record<string, readonly LabourRate[]>> = {
  fixture: parseLabourRates(FIXTURE_LABOUR_RATES),
  none: [],
  // Two roles priced, one in another currency, and a rate whose minutes do not divide evenly.
  more: parseLabourRates({
    ' sre ': { amount: '97.37', currency: 'EUR' },
    Comms: { amount: '55.55', currency: 'USD' },
  }),
};

describe("a month's close totals, worked out in memory", () => {
  it('are what the P&L SQL answers in DuckDB over the exported ledger, month by month and rate by rate', async () => {
    const ledger = await fixtureLedger();
    const files = await exportToDir(dir, ledger);
    const rows = ledger.flatMap(({ incident, entries }) => ledgerRows(incident, entries));
    let compared = 0;
    for (const [name, rates] of Object.entries(RATE_SETS)) {
      const db = await openLedgerDb(files, rates);
      try {
        for (const period of ['2026-10', '2026-11', '2026-12', '2027-01']) {
          const sql = await db.query(
            pnlSql({ from: period, to: period, groupBy: ['category', 'obligation'] }),
          );
          const memory = monthTotals(rows, rates, period);
          expect(closeTotals(memory), `${name} ${period}`).toEqual(closeTotals(sql));
          compared += sql.length;
        }
      } finally {
        db.close();
      }
    }
    // Not a comparison of empty answers.
    expect(compared).toBeGreaterThan(10);
  });
});
