import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  incidentsSql,
  NAMED_FINANCE_QUERIES,
  pnlSql,
  unpricedLabourSql,
  unsettledSql,
} from '../../functions/domain/finance-sql.ts';
import { parseLabourRates } from '../../functions/domain/labour-rates.ts';
import type { LedgerDb } from '../../scripts/duckdb-ledger.ts';
import { LedgerSchemaError, openLedgerDb } from '../../scripts/duckdb-ledger.ts';
import { exportToDir, FIXTURE_LABOUR_RATES, fixtureLedger } from '../support/finance-fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'finance-sql-'));
let db: LedgerDb;

beforeAll(async () => {
  const files = await exportToDir(dir, await fixtureLedger());
  db = await openLedgerDb(files, parseLabourRates(FIXTURE_LABOUR_RATES));
});
afterAll(() => {
  db?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the P&L SQL, run by DuckDB over exported Parquet', () => {
  it('sums by category and currency: corrections net out, failed and in-flight effects are no cost, labour is priced per role', async () => {
    const rows = await db.query(pnlSql({ groupBy: ['category'] }));
    expect(rows).toEqual([
      { category: 'goodwill_credits', currency: 'EUR', amount_minor: 1500, entries: 1 },
      { category: 'goodwill_credits', currency: 'USD', amount_minor: 700, entries: 1 },
      { category: 'legal_fees', currency: 'EUR', amount_minor: 50000, entries: 1 },
      // 90 + 45 min of SRE (" sre" is the same role) at 120.00: 270.00; plus a manual 60.00.
      { category: 'ops_labour', currency: 'EUR', amount_minor: 33000, entries: 3 },
      { category: 'other_costs', currency: 'GBP', amount_minor: 2000, entries: 1 },
      // 25.00 (its intent row is not counted), 40.00 voided, 10.00 replaced by 8.00.
      { category: 'refunds', currency: 'EUR', amount_minor: 3300, entries: 2 },
      { category: 'refunds', currency: 'USD', amount_minor: 1999, entries: 1 },
    ]);
  });

  it('reports by the month money moved, so an entry recorded in December for November counts in November', async () => {
    const rows = await db.query(pnlSql({ groupBy: ['period', 'category'], from: '2026-11', to: '2026-11' }));
    expect(rows.filter((r) => r.currency === 'USD')).toEqual([
      { period: '2026-11', category: 'goodwill_credits', currency: 'USD', amount_minor: 700, entries: 1 },
      { period: '2026-11', category: 'refunds', currency: 'USD', amount_minor: 1999, entries: 1 },
    ]);
    const december = await db.query(pnlSql({ groupBy: ['period'], from: '2026-12', to: '2026-12' }));
    expect(december).toEqual([
      { period: '2026-12', currency: 'EUR', amount_minor: 6800, entries: 2 },
      { period: '2026-12', currency: 'GBP', amount_minor: 2000, entries: 1 },
    ]);
  });

  it('splits the ToS line from the brand line, and ranks incidents by cost', async () => {
    expect(await db.query(pnlSql({ groupBy: ['obligation'] }))).toEqual([
      { obligation: 'brand', currency: 'EUR', amount_minor: 1500, entries: 1 },
      { obligation: 'brand', currency: 'GBP', amount_minor: 2000, entries: 1 },
      { obligation: 'brand', currency: 'USD', amount_minor: 700, entries: 1 },
      { obligation: 'tos', currency: 'EUR', amount_minor: 3300, entries: 2 },
      { obligation: 'tos', currency: 'USD', amount_minor: 1999, entries: 1 },
      { obligation: null, currency: 'EUR', amount_minor: 83000, entries: 4 },
    ]);
    const top = await db.query(pnlSql({ groupBy: ['incident'], top: 2 }));
    expect(top).toEqual([
      {
        incident_id: 'INC-2026-1',
        incident_number: 1,
        incident_title: 'Double charge',
        currency: 'EUR',
        amount_minor: 81000,
        entries: 5,
      },
      {
        incident_id: 'INC-2026-2',
        incident_number: 2,
        incident_title: 'Wrong notice',
        currency: 'EUR',
        amount_minor: 6800,
        entries: 2,
      },
    ]);
  });

  it('lists what is not yet settled, labour without a rate, and incidents without time', async () => {
    expect(await db.query(unsettledSql({}))).toEqual([
      {
        incident_id: 'INC-2026-1',
        incident_number: 1,
        incident_title: 'Double charge',
        seq: 10,
        entry_id: expect.stringMatching(/^[0-9A-Z]{26}$/),
        kind: 'refund',
        category: 'refunds',
        state: 'intent',
        amount_minor: 3000,
        currency: 'EUR',
        period: '2026-11',
        effect_id: 'e4',
      },
    ]);
    expect(await db.query(unpricedLabourSql({}))).toEqual([
      {
        incident_id: 'INC-2026-1',
        incident_number: 1,
        incident_title: 'Double charge',
        period: '2026-11',
        role: 'Comms',
        minutes: 30,
        entries: 1,
      },
    ]);
    const incidents = await db.query(incidentsSql({ from: '2026-11', to: '2026-12' }));
    expect(incidents.map((r) => [r.incident_id, r.labour_entries])).toEqual([
      ['INC-2026-1', 3],
      ['INC-2026-2', 1],
      ['INC-2026-3', 0],
    ]);
  });

  it('runs every named query finance runs on AWS', async () => {
    for (const { name, sql } of NAMED_FINANCE_QUERIES) {
      const rows = await db.query(sql);
      expect(rows.length, name).toBeGreaterThan(0);
    }
  });

  it('refuses a Parquet object of another schema version', async () => {
    const other = mkdtempSync(join(tmpdir(), 'finance-sql-v2-'));
    try {
      const file = join(other, 'ledger.parquet');
      parquetWriteFile({
        filename: file,
        kvMetadata: [{ key: 'casebook.schema', value: 'ledger/v2' }],
        columnData: [{ name: 'incident_id', data: ['INC-2026-1'], type: 'STRING' }],
      });
      const files = [file];
      await expect(openLedgerDb(files, [])).rejects.toThrow(LedgerSchemaError);
      await expect(openLedgerDb(files, [])).rejects.toThrow(
        /is a ledger\/v2 export; this casebook reads ledger\/v1/,
      );
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('puts nothing but validated months into the text', () => {
    expect(() => pnlSql({ groupBy: [], from: "2026-11' OR 1=1 --" })).toThrow(/is not a month/);
  });
});
