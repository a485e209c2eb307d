/**
 * The P&L across incidents in SQL, as one text that DuckDB (`casebook pnl`, over the exported
 * Parquet) and Athena (the named queries, over the Glue table) both run unchanged. Both engines
 * see two relations: {@link LEDGER_RELATION}, the `ledger/v1` columns plus the `period` partition
 * (a string, YYYY-MM), and {@link LABOUR_RATES_RELATION}, one row per role's hourly rate.
 *
 * Only functions both dialects share are used (`date_trunc`, `substr`, `coalesce`, `lower`, `trim`,
 * `floor`, `row_number() OVER`, a LEFT JOIN as the anti-join rather than a correlated subquery), so
 * the text needs no dialect switch. The rules are `profitAndLoss`'s (`profit-and-loss.ts`): a row
 * counts when it stands, its state is `confirmed`, it has an amount and its root kind is one of
 * {@link PNL_KINDS}; the export resolves `corrects_id` and `root_kind`, so standing is one join.
 */
import { isPeriod, LEDGER_SCHEMA } from './ledger-export.ts';
import { PNL_KINDS } from './profit-and-loss.ts';

/** The Parquet schema this SQL reads: the `casebook.schema` key-value metadata of every object. */
export { LEDGER_SCHEMA };

/** The relation holding the exported rows (a Glue table on AWS, a view over the files in DuckDB). */
export const LEDGER_RELATION = 'ledger';

/**
 * The relation of labour rates: `role` (as configured), `currency` (ISO 4217) and `rate_minor`
 * (the hourly rate in minor units, INT64). Roles match the workroom's free text case-insensitively,
 * spaces trimmed, because people type "sre" as often as "SRE".
 */
export const LABOUR_RATES_RELATION = 'labour_rates';
export const LABOUR_RATES_COLUMNS = [
  { name: 'role', type: 'string' },
  { name: 'currency', type: 'string' },
  { name: 'rate_minor', type: 'bigint' },
] as const;

/** The P&L's categories, in the order reports show them. */
export const PNL_CATEGORIES = [
  'refunds',
  'goodwill_credits',
  'ops_labour',
  'legal_fees',
  'manual_operations',
  'other_costs',
] as const;
export type PnlCategory = (typeof PNL_CATEGORIES)[number];

/**
 * The category of each P&L kind (of the root of a correction chain). A correction that corrects
 * nothing is money the incident cost that fits no other heading.
 */
export const CATEGORY_OF_KIND: Readonly<Record<(typeof PNL_KINDS)[number], PnlCategory>> = {
  refund: 'refunds',
  credit: 'goodwill_credits',
  ops_labour: 'ops_labour',
  legal_fee: 'legal_fees',
  manual_operation: 'manual_operations',
  other_cost: 'other_costs',
  correction: 'other_costs',
};

/** What a P&L can be grouped by (`--group-by`), and the output column each one becomes. */
export const PNL_DIMENSIONS = ['category', 'productArea', 'obligation', 'period', 'incident'] as const;
export type PnlDimension = (typeof PNL_DIMENSIONS)[number];

const DIMENSION_COLUMN: Readonly<Record<PnlDimension, string>> = {
  category: 'category',
  productArea: 'product_area',
  obligation: 'obligation',
  period: 'period',
  incident: 'incident_id',
};

/** Which months a report covers, by `coalesce(effective_at, at)`; both ends included. */
export interface ReportRange {
  readonly from?: string;
  readonly to?: string;
  /**
   * Only rows recorded before this instant (ISO 8601, UTC): the ledger as it stood then, corrections
   * included — what a closed month's adjustments are the difference of.
   */
  readonly recordedBefore?: string;
}

const INSTANT = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?)Z$/;

/** An instant as an SQL timestamp literal both engines read (the session is in UTC). */
function instant(value: string): string {
  const m = INSTANT.exec(value);
  if (!m) throw new RangeError(`"${value}" is not an instant (YYYY-MM-DDTHH:MM:SS.sssZ)`);
  return `TIMESTAMP '${m[1]} ${m[2]}'`;
}

/** A month as an SQL literal: the only kind of value this module puts into SQL text. */
function month(value: string): string {
  if (!isPeriod(value)) throw new RangeError(`"${value}" is not a month (YYYY-MM)`);
  return `'${value}'`;
}

const quoted = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

/**
 * The rows the report reads, each with its report month and whether it stands. Objects are keyed
 * by the month an entry was *recorded*, so an entry that moved money in an earlier month sits in
 * a later object: only objects before `from` are left out, never those after `to`. A correction
 * is always recorded after what it corrects, so every correction of a row in range is read too.
 */
function baseCtes(range: ReportRange): string {
  const where = [
    range.from ? `l.period >= ${month(range.from)}` : undefined,
    range.recordedBefore ? `l."at" < ${instant(range.recordedBefore)}` : undefined,
  ].filter(Boolean);
  const partition = where.length > 0 ? `\n  WHERE ${where.join(' AND ')}` : '';
  const inRange = [
    range.from ? `report_period >= ${month(range.from)}` : undefined,
    range.to ? `report_period <= ${month(range.to)}` : undefined,
  ].filter(Boolean);
  const categories = Object.entries(CATEGORY_OF_KIND)
    .map(([kind, category]) => `WHEN '${kind}' THEN '${category}'`)
    .join(' ');
  return `ledger_rows AS (
  SELECT l.*,
    substr(CAST(date_trunc('month', coalesce(l.effective_at, l."at")) AS VARCHAR), 1, 7) AS report_period,
    CASE l.root_kind ${categories} END AS category
  FROM ${LEDGER_RELATION} l${partition}
),
corrected AS (
  SELECT DISTINCT incident_id, corrects_id FROM ledger_rows WHERE corrects_id IS NOT NULL
),
flagged AS (
  SELECT r.*, c.corrects_id IS NULL AS stands
  FROM ledger_rows r
  LEFT JOIN corrected c ON c.incident_id = r.incident_id AND c.corrects_id = r.entry_id
),
in_range AS (
  SELECT * FROM flagged${inRange.length > 0 ? `\n  WHERE ${inRange.join(' AND ')}` : ''}
)`;
}

/**
 * Cost rows: the money entries that count, and labour time priced at its role's rate — summed per
 * incident, role, line, product area and month, then rounded half up once:
 * floor((minutes × rate_minor + 30) / 60), divided as a DOUBLE: Athena reads `60.0` as a
 * DECIMAL(3,1) and would round the quotient to one decimal before floor() sees it. Time whose role
 * has no rate is not here (see {@link unpricedLabourSql}); never a zero.
 */
function costCtes(range: ReportRange): string {
  return `${baseCtes(range)},
money AS (
  SELECT incident_id, incident_number, incident_title, category, product_area, obligation,
    report_period AS period, currency, amount_minor, 1 AS entries
  FROM in_range
  WHERE stands AND state = 'confirmed' AND amount_minor IS NOT NULL
    AND root_kind IN (${quoted(PNL_KINDS)})
),
labour_time AS (
  SELECT incident_id, max(incident_number) AS incident_number, max(incident_title) AS incident_title,
    product_area, obligation, report_period AS period, lower(trim(labour_role)) AS role_key,
    min(labour_role) AS role, sum(labour_minutes) AS minutes, count(*) AS entries
  FROM in_range
  WHERE stands AND root_kind = 'ops_labour' AND amount_minor IS NULL AND labour_minutes IS NOT NULL
    AND coalesce(state, 'confirmed') = 'confirmed'
  GROUP BY incident_id, product_area, obligation, report_period, lower(trim(labour_role))
),
labour AS (
  SELECT t.incident_id, t.incident_number, t.incident_title, 'ops_labour' AS category,
    t.product_area, t.obligation, t.period, r.currency,
    CAST(floor((t.minutes * r.rate_minor + 30) / CAST(60 AS DOUBLE)) AS BIGINT) AS amount_minor, t.entries
  FROM labour_time t
  JOIN ${LABOUR_RATES_RELATION} r ON lower(trim(r.role)) = t.role_key
),
costs AS (
  SELECT * FROM money
  UNION ALL
  SELECT * FROM labour
)`;
}

/** What {@link pnlSql} groups and how many rows it keeps. */
export interface PnlQuery extends ReportRange {
  /** The grouping, in order; the currency is always a key as well (no sum crosses currencies). */
  readonly groupBy: readonly PnlDimension[];
  /** Largest cost first (per currency), and at most this many rows: the top incidents. */
  readonly top?: number;
}

/**
 * The P&L grouped by `groupBy` and currency: the dimensions' columns (`incident` adds
 * `incident_number` and `incident_title`), then `currency`, `amount_minor` (INT64 minor units)
 * and `entries` (how many ledger rows make the sum).
 */
export function pnlSql(query: PnlQuery): string {
  const keys = [...new Set(query.groupBy)].map((d) => DIMENSION_COLUMN[d]);
  const extra = keys.includes('incident_id')
    ? ['max(incident_number) AS incident_number', 'max(incident_title) AS incident_title']
    : [];
  const select = [...keys, ...extra, 'currency'];
  const group = [...keys, 'currency'];
  const order = query.top ? ['currency', 'amount_minor DESC', ...keys] : group;
  return `WITH ${costCtes(query)}
SELECT ${[...select, 'sum(amount_minor) AS amount_minor', 'sum(entries) AS entries'].join(', ')}
FROM costs
GROUP BY ${group.join(', ')}
ORDER BY ${order.join(', ')}${query.top ? `\nLIMIT ${Math.trunc(query.top)}` : ''}`;
}

/**
 * Effects still in flight: per incident and effect (or per entry that names no effect), the latest
 * row when it stands and is `intent` or `executed` — money that may yet move, never counted.
 */
export function unsettledSql(range: ReportRange): string {
  return `WITH ${baseCtes(range)},
latest AS (
  SELECT f.*, row_number() OVER (
    PARTITION BY incident_id, coalesce(effect_id, entry_id) ORDER BY seq DESC
  ) AS place
  FROM flagged f
)
SELECT incident_id, incident_number, incident_title, seq, entry_id, kind, category, state,
  amount_minor, currency, report_period AS period, effect_id
FROM latest
WHERE place = 1 AND stands AND state IN ('intent', 'executed') AND root_kind IN (${quoted(PNL_KINDS)})${
    range.from ? `\n  AND report_period >= ${month(range.from)}` : ''
  }${range.to ? `\n  AND report_period <= ${month(range.to)}` : ''}
ORDER BY incident_id, seq`;
}

/** Labour time whose role has no rate: per incident, role and month, its minutes; shown, never priced at zero. */
export function unpricedLabourSql(range: ReportRange): string {
  return `WITH ${costCtes(range)}
SELECT t.incident_id, t.incident_number, t.incident_title, t.period, t.role, t.minutes, t.entries
FROM labour_time t
LEFT JOIN ${LABOUR_RATES_RELATION} r ON lower(trim(r.role)) = t.role_key
WHERE r.role IS NULL
ORDER BY t.incident_id, t.period, t.role`;
}

/**
 * Every incident with a row in range, and whether it has any labour (time or an `ops_labour`
 * entry that stands): one without shows "no time recorded".
 */
export function incidentsSql(range: ReportRange): string {
  return `WITH ${baseCtes(range)}
SELECT incident_id, max(incident_number) AS incident_number, max(incident_title) AS incident_title,
  count(*) AS entries,
  sum(CASE WHEN stands AND root_kind = 'ops_labour' THEN 1 ELSE 0 END) AS labour_entries
FROM in_range
GROUP BY incident_id
ORDER BY incident_id`;
}

/**
 * The entries recorded in `recorded` after `closedAt` whose report month is `closed`: what makes
 * an adjustment to a closed month, each with when it was recorded.
 */
export function lateEntriesSql(closed: string, closedAt: string, recorded: string): string {
  return `SELECT incident_id, seq, CAST("at" AS VARCHAR) AS recorded_at
FROM ${LEDGER_RELATION}
WHERE period = ${month(recorded)} AND "at" > ${instant(closedAt)}
  AND substr(CAST(date_trunc('month', coalesce(effective_at, "at")) AS VARCHAR), 1, 7) = ${month(closed)}
ORDER BY "at", incident_id, seq`;
}

/** A query finance runs by name (an Athena named query), and what it answers. */
export interface NamedFinanceQuery {
  /** Letters, digits and dashes. */
  readonly name: string;
  readonly description: string;
  readonly sql: string;
}

/** The P&L views finance runs on AWS: the same text the CLI runs, over every exported period. */
export const NAMED_FINANCE_QUERIES: readonly NamedFinanceQuery[] = [
  {
    name: 'pnl-by-category',
    description: 'P&L by category and month (refunds, goodwill credits, ops labour, legal fees, …)',
    sql: pnlSql({ groupBy: ['period', 'category'] }),
  },
  {
    name: 'pnl-by-product-area',
    description: 'P&L by product area: which area keeps generating costs',
    sql: pnlSql({ groupBy: ['productArea'] }),
  },
  {
    name: 'pnl-tos-vs-brand',
    description: 'P&L on the ToS line vs the brand line, by month',
    sql: pnlSql({ groupBy: ['period', 'obligation'] }),
  },
  {
    name: 'pnl-top-incidents',
    description: 'The 20 incidents that cost most, per currency',
    sql: pnlSql({ groupBy: ['incident'], top: 20 }),
  },
  {
    name: 'pnl-not-yet-settled',
    description: 'Effects still in flight (intent or executed): not costs yet',
    sql: unsettledSql({}),
  },
  {
    name: 'pnl-unpriced-labour',
    description: 'Labour time whose role has no rate in labour_rates',
    sql: unpricedLabourSql({}),
  },
];
