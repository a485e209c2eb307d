/**
 * A month's P&L totals per category, obligation and currency, worked out from `ledger/v1` rows in
 * memory: what `pnlSql({groupBy: ['category', 'obligation'], from: period, to: period})` answers
 * over the same rows, for the close function, which has neither DuckDB (native bindings never go
 * into a Lambda bundle) nor an Athena client. Each step is a CTE of that SQL, in its order and with
 * its quirks (only rows recorded from the month on are read, so is the correction that voids one),
 * and a test runs both over the same ledger, so the two cannot drift apart unnoticed.
 */
import { CATEGORY_OF_KIND } from './finance-sql.ts';
import type { LabourRate } from './labour-rates.ts';
import type { LedgerRow, Period } from './ledger-export.ts';
import { periodOf } from './ledger-export.ts';
import type { SqlRow } from './pnl-report.ts';
import { PNL_KINDS } from './profit-and-loss.ts';

/** SQL's `trim`: spaces only, unlike String.prototype.trim. */
const sqlTrim = (text: string) => text.replace(/^ +| +$/g, '');

const isPnlKind = (kind: string): kind is (typeof PNL_KINDS)[number] =>
  (PNL_KINDS as readonly string[]).includes(kind);

/** Rows shaped as the SQL answers them: `category`, `obligation`, `currency`, `amount_minor`, `entries`. */
export function monthTotals(
  rows: readonly LedgerRow[],
  rates: readonly LabourRate[],
  period: Period,
): SqlRow[] {
  // ledger_rows: objects are keyed by the month an entry was recorded; those before the month are not read.
  const read = rows.filter((r) => periodOf(r.at) >= period);
  const corrected = new Set(
    read.filter((r) => r.corrects_id !== null).map((r) => `${r.incident_id}\u0000${r.corrects_id}`),
  );
  const inRange = read.filter((r) => periodOf(r.effective_at ?? r.at) === period);
  const stands = (r: LedgerRow) => !corrected.has(`${r.incident_id}\u0000${r.entry_id}`);

  const sums = new Map<
    string,
    { category: string; obligation: string | null; currency: string; amount: number; entries: number }
  >();
  const add = (
    category: string,
    obligation: string | null,
    currency: string,
    amount: number,
    entries: number,
  ) => {
    const key = `${category}\u0000${obligation ?? '\u0001'}\u0000${currency}`;
    const sum = sums.get(key) ?? { category, obligation, currency, amount: 0, entries: 0 };
    sum.amount += amount;
    sum.entries += entries;
    sums.set(key, sum);
  };

  // money
  for (const r of inRange) {
    if (!stands(r) || r.state !== 'confirmed' || r.amount_minor === null || !isPnlKind(r.root_kind)) continue;
    add(CATEGORY_OF_KIND[r.root_kind], r.obligation, r.currency as string, r.amount_minor, 1);
  }

  // labour_time, then labour: minutes per incident, product area, line and role, priced once.
  const time = new Map<
    string,
    { obligation: string | null; role: string; minutes: number; entries: number }
  >();
  for (const r of inRange) {
    if (!stands(r) || r.root_kind !== 'ops_labour' || r.amount_minor !== null || r.labour_minutes === null)
      continue;
    if ((r.state ?? 'confirmed') !== 'confirmed' || r.labour_role === null) continue;
    const role = sqlTrim(r.labour_role).toLowerCase();
    const key = [r.incident_id, r.product_area ?? '\u0001', r.obligation ?? '\u0001', role].join('\u0000');
    const t = time.get(key) ?? { obligation: r.obligation, role, minutes: 0, entries: 0 };
    t.minutes += r.labour_minutes;
    t.entries += 1;
    time.set(key, t);
  }
  for (const t of time.values()) {
    for (const rate of rates) {
      if (sqlTrim(rate.role).toLowerCase() !== t.role) continue;
      add(
        'ops_labour',
        t.obligation,
        rate.rate.currency,
        Math.floor((t.minutes * rate.rate.minor + 30) / 60),
        t.entries,
      );
    }
  }

  return [...sums.values()].map((s) => ({
    category: s.category,
    obligation: s.obligation,
    currency: s.currency,
    amount_minor: s.amount,
    entries: s.entries,
  }));
}
