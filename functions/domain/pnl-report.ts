/**
 * The P&L report across incidents, from the rows `finance-sql.ts`'s queries answer: its groups in
 * order, per currency — or, given exchange rates, in one reporting currency that names every rate
 * used — what is not yet settled, labour that has no rate, and incidents with no time recorded.
 * Pure: the CLI runs the SQL (DuckDB) and renders this as a table, CSV, JSON or HTML.
 */
import * as z from 'zod';
import type { PnlCategory, PnlDimension } from './finance-sql.ts';
import { PNL_CATEGORIES } from './finance-sql.ts';
import { OBLIGATION_LABEL } from './labels.ts';
import { currencyExponent, currencySchema, formatMajorAmount, isCurrency } from './money.ts';

/** The categories as people read them. */
export const CATEGORY_LABEL: Readonly<Record<PnlCategory, string>> = {
  refunds: 'Refunds',
  goodwill_credits: 'Goodwill credits',
  ops_labour: 'Ops labour',
  legal_fees: 'Legal fees',
  manual_operations: 'Manual operations',
  other_costs: 'Other costs',
};

/** A problem with what the person asked for or gave: the CLI prints it on one line and exits 2. */
export class ReportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportInputError';
  }
}

/** A row of `pnlSql`, values as DuckDB or Athena answer them. */
export type SqlValue = string | number | boolean | null | undefined;
export type SqlRow = Readonly<Record<string, SqlValue>>;

/** Exchange rates into the reporting currency: how many of it one unit of each other currency is. */
export interface Conversion {
  readonly currency: string;
  /** Currency → decimal rate as given ("0.9150"). */
  readonly rates: Readonly<Record<string, string>>;
}

const RATE = /^\d{1,12}(\.\d{1,12})?$/;

/**
 * Checks a rate file (`--rates`): `{"USD": "0.92", "GBP": "1.17"}`, each key ISO 4217, each value a
 * positive decimal string (never a float: rates are exact). Every problem in one error.
 */
export function parseExchangeRates(reporting: string, value: unknown): Conversion {
  const problems: string[] = [];
  if (!isCurrency(reporting)) problems.push(`--currency ${reporting} is not an ISO 4217 currency code`);
  const parsed = z
    .record(
      currencySchema,
      z
        .string({ error: 'must be a decimal string, e.g. "0.92"' })
        .regex(RATE, 'must be a decimal, e.g. "0.92"'),
      {
        error: (issue) =>
          issue.code === 'invalid_key'
            ? 'is not an ISO 4217 currency code (upper case, e.g. EUR)'
            : 'must be an object of currency → rate, e.g. {"USD": "0.92"}',
      },
    )
    .safeParse(value);
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const where = i.path.map(String).join('.');
      problems.push(where ? `rates: ${where} ${i.message}` : `rates ${i.message}`);
    }
  } else {
    for (const [currency, rate] of Object.entries(parsed.data)) {
      if (!/[1-9]/.test(rate)) problems.push(`rates: ${currency} must be more than 0`);
    }
  }
  if (problems.length > 0) throw new ReportInputError(problems.join('; '));
  return { currency: reporting, rates: { ...(parsed.data ?? {}), [reporting]: '1' } };
}

/**
 * `minor` of `from` in the reporting currency's minor units: × rate, scaled by the two exponents,
 * rounded half away from zero once, in integers (BigInt), so no binary fraction creeps in.
 */
export function convertMinor(minor: number, from: string, conversion: Conversion): number {
  const rate = conversion.rates[from];
  if (rate === undefined) throw new ReportInputError(`the rate table has no rate for ${from}`);
  const [whole = '0', fraction = ''] = rate.split('.');
  let numerator = BigInt(minor) * BigInt(`${whole}${fraction}`);
  let denominator = 10n ** BigInt(fraction.length);
  const shift = currencyExponent(conversion.currency) - currencyExponent(from);
  if (shift > 0) numerator *= 10n ** BigInt(shift);
  else denominator *= 10n ** BigInt(-shift);
  const negative = numerator < 0n;
  const magnitude = negative ? -numerator : numerator;
  const rounded = (magnitude * 2n + denominator) / (2n * denominator);
  const result = Number(negative ? -rounded : rounded);
  if (!Number.isSafeInteger(result)) throw new RangeError('a converted amount is too large');
  return result === 0 ? 0 : result;
}

/** The column of `pnlSql`'s answer that each dimension groups by. */
const SQL_COLUMNS: Readonly<Record<PnlDimension, readonly string[]>> = {
  category: ['category'],
  productArea: ['product_area'],
  obligation: ['obligation'],
  period: ['period'],
  incident: ['incident_id', 'incident_number', 'incident_title'],
};

/**
 * Rows of `pnlSql` grouped by every dimension, summed up to `dims` (and currency): what
 * `pnlSql({groupBy: dims})` answers, without another pass over the ledger. Sums are exact (integer
 * minor units) and labour is rounded before any grouping, so the figures are the same.
 */
export function rollUp(rows: readonly SqlRow[], dims: readonly PnlDimension[]): SqlRow[] {
  const columns = dims.flatMap((d) => SQL_COLUMNS[d]);
  const out = new Map<string, Record<string, SqlValue>>();
  for (const r of rows) {
    const key = JSON.stringify([...columns.map((c) => r[c] ?? null), r.currency]);
    const before = out.get(key);
    if (before) {
      before.amount_minor = num(before.amount_minor) + num(r.amount_minor);
      before.entries = num(before.entries) + num(r.entries);
    } else {
      out.set(key, {
        ...Object.fromEntries(columns.map((c) => [c, r[c] ?? null])),
        currency: r.currency,
        amount_minor: num(r.amount_minor),
        entries: num(r.entries),
      });
    }
  }
  return [...out.values()];
}

/** One line of the report: its group's values, then the money. */
export interface ReportRow {
  readonly category?: PnlCategory;
  readonly productArea?: string | null;
  readonly obligation?: string | null;
  readonly period?: string;
  readonly incident?: string;
  readonly incidentNumber?: number | null;
  readonly incidentTitle?: string | null;
  /** Shown only when grouped by incident: false for an incident with no time recorded. */
  readonly timeRecorded?: boolean;
  readonly currency: string;
  readonly amountMinor: number;
  /** `amountMinor` in the major unit ("1250.00"). */
  readonly amount: string;
  /** How many ledger rows make it. */
  readonly entries: number;
}

/** An effect still in flight. */
export interface UnsettledItem {
  readonly incident: string;
  readonly incidentTitle: string | null;
  readonly seq: number;
  readonly category: PnlCategory | null;
  readonly state: string;
  readonly currency: string | null;
  readonly amountMinor: number | null;
  readonly amount: string | null;
  readonly period: string;
  readonly effectId: string | null;
}

/** Labour time whose role has no rate: on the `unassigned` line, never priced at zero. */
export interface UnpricedLabour {
  readonly incident: string;
  readonly incidentTitle: string | null;
  readonly period: string;
  readonly role: string;
  readonly minutes: number;
}

/** How many incidents the report ranks by cost, per currency. */
export const TOP_INCIDENTS = 10;

export interface TopIncident {
  readonly incident: string;
  readonly incidentTitle: string | null;
  readonly currency: string;
  readonly amountMinor: number;
  readonly amount: string;
  /** False: no time recorded for it (its labour is missing, not zero). */
  readonly timeRecorded: boolean;
}

export interface PnlReport {
  readonly from: string;
  readonly to: string;
  readonly groupBy: readonly PnlDimension[];
  /** The one currency everything is in, when rates were given; null: every currency apart. */
  readonly reportingCurrency: string | null;
  /** Each rate used (only those of currencies in the report), when converting. */
  readonly rates: readonly { readonly currency: string; readonly rate: string }[];
  readonly rows: readonly ReportRow[];
  /** Per currency (or the reporting one): everything the rows sum to. */
  readonly totals: readonly {
    readonly currency: string;
    readonly amountMinor: number;
    readonly amount: string;
  }[];
  /** Cost per month and category, per currency: what the chart draws. */
  readonly byMonth: readonly {
    readonly period: string;
    readonly category: PnlCategory;
    readonly currency: string;
    readonly amountMinor: number;
  }[];
  /** The incidents that cost most, per currency (at most {@link TOP_INCIDENTS} each), largest first. */
  readonly topIncidents: readonly TopIncident[];
  readonly notYetSettled: readonly UnsettledItem[];
  /** The `unassigned` line: time in roles without a rate, and how many minutes in all. */
  readonly unassigned: { readonly minutes: number; readonly items: readonly UnpricedLabour[] };
  /** Incidents in range with no labour at all. */
  readonly noTimeRecorded: readonly { readonly incident: string; readonly incidentTitle: string | null }[];
  /** The months in range read from their close records, not the ledger: frozen. */
  readonly closed: readonly ClosedMonth[];
  /** Money recorded after a month closed, effective in it: counted in the month it was recorded. */
  readonly adjustments: readonly Adjustment[];
}

/** A month in the report that was closed: its figures are its close record's. */
export interface ClosedMonth {
  readonly period: string;
  readonly closedAt: string;
  readonly hash: string;
}

/**
 * What entries recorded after a month's close changed in it, per category, line and currency: the
 * ledger as it stood at the end of the month they were recorded in, less as it stood at its start
 * (or at the close), both priced alike — so a changed rate alone adjusts nothing.
 */
export interface Adjustment {
  /** The closed month the entries are effective in. */
  readonly adjusts: string;
  /** The month they were recorded in, where the adjustment counts. */
  readonly recorded: string;
  /** The day the latest of them was recorded (YYYY-MM-DD). */
  readonly recordedOn: string;
  readonly category: PnlCategory;
  readonly obligation: string | null;
  readonly currency: string;
  readonly amountMinor: number;
  readonly amount: string;
}

/** An adjustment as people read it: "adjustment to 2026-11, recorded 2026-12-07". */
export function adjustmentLabel(a: Pick<Adjustment, 'adjusts' | 'recordedOn'>): string {
  return `adjustment to ${a.adjusts}, recorded ${a.recordedOn}`;
}

/**
 * The adjustment rows between two readings of closed months (`pnlSql` grouped by period,
 * category and obligation): `after` less `before`, per key, leaving out what did not move.
 */
export function adjustmentRows(before: readonly SqlRow[], after: readonly SqlRow[]): SqlRow[] {
  const key = (r: SqlRow) => JSON.stringify([r.period, r.category, r.obligation ?? null, r.currency]);
  const out = new Map<string, Record<string, SqlValue>>();
  for (const [sign, rows] of [
    [-1, before],
    [1, after],
  ] as const) {
    for (const r of rows) {
      const k = key(r);
      const row = out.get(k) ?? {
        period: r.period,
        category: r.category,
        obligation: r.obligation ?? null,
        currency: r.currency,
        amount_minor: 0,
      };
      row.amount_minor = num(row.amount_minor) + sign * num(r.amount_minor);
      out.set(k, row);
    }
  }
  return [...out.values()].filter((r) => num(r.amount_minor) !== 0);
}

/** What the queries answered, for {@link buildPnlReport}. */
export interface PnlQueryResults {
  readonly from: string;
  readonly to: string;
  readonly groupBy: readonly PnlDimension[];
  /** `pnlSql({groupBy})`. */
  readonly rows: readonly SqlRow[];
  /** `pnlSql({groupBy: ['period', 'category']})`. */
  readonly byMonth: readonly SqlRow[];
  /** `pnlSql({groupBy: ['incident']})`. */
  readonly byIncident: readonly SqlRow[];
  readonly unsettled: readonly SqlRow[];
  readonly unpriced: readonly SqlRow[];
  readonly incidents: readonly SqlRow[];
  readonly conversion?: Conversion;
  /** Closed months in range, whose rows in `rows`, `byMonth` and `byIncident` came from their close. */
  readonly closed?: readonly ClosedMonth[];
  /**
   * Rows of {@link adjustmentRows} (`period`: the closed month) with `recorded` (the month recorded
   * in) and `recorded_on` (the latest day of its entries), already in the currency they count in.
   */
  readonly adjustments?: readonly SqlRow[];
}

const str = (v: SqlValue): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: SqlValue): number => Number(v ?? 0);
const money = (minor: number, currency: string) => formatMajorAmount({ minor, currency });

const DIMENSION_ORDER: Readonly<Record<PnlDimension, (row: ReportRow) => string>> = {
  category: (r) => String(PNL_CATEGORIES.indexOf(r.category as PnlCategory)).padStart(2, '0'),
  productArea: (r) => (r.productArea === null ? '\uffff' : (r.productArea ?? '')),
  obligation: (r) => (r.obligation === null ? '\uffff' : (r.obligation ?? '')),
  period: (r) => r.period ?? '',
  incident: (r) => (r.incident ?? '').replace(/\d+$/, (n) => n.padStart(12, '0')),
};

/**
 * The report: rows in the order of the grouping (categories in the P&L's order, incidents by
 * number), currencies apart unless `conversion` is given — then each row's sum is converted once
 * and rows of one group are added up. Throws {@link ReportInputError} when nothing is in range, or
 * when a currency in use has no rate.
 */
export function buildPnlReport(results: PnlQueryResults): PnlReport {
  const { conversion } = results;
  if (results.incidents.length === 0 && (results.closed ?? []).length === 0) {
    throw new ReportInputError(
      `the export has no incidents with entries in ${results.from === results.to ? results.from : `${results.from} to ${results.to}`}`,
    );
  }
  const inUse = new Set<string>();
  for (const r of [...results.rows, ...results.unsettled, ...(results.adjustments ?? [])])
    if (r.currency) inUse.add(String(r.currency));
  if (conversion) {
    const missing = [...inUse].filter((c) => conversion.rates[c] === undefined).sort();
    if (missing.length > 0)
      throw new ReportInputError(
        `the rate table has no rate for ${missing.join(', ')} (in use in this report; reporting in ${conversion.currency})`,
      );
  }
  const timeRecorded = new Map(
    results.incidents.map((r) => [String(r.incident_id), num(r.labour_entries) > 0]),
  );
  const convert = (minor: number, currency: string) =>
    conversion
      ? { minor: convertMinor(minor, currency, conversion), currency: conversion.currency }
      : { minor, currency };

  const grouped = new Map<string, ReportRow>();
  for (const r of results.rows) {
    const currency = String(r.currency);
    const m = convert(num(r.amount_minor), currency);
    const keys: Partial<ReportRow> = {};
    const k = keys as Record<string, unknown>;
    for (const d of results.groupBy) {
      if (d === 'category') k.category = String(r.category);
      if (d === 'productArea') k.productArea = str(r.product_area);
      if (d === 'obligation') k.obligation = str(r.obligation);
      if (d === 'period') k.period = String(r.period);
      if (d === 'incident') {
        k.incident = String(r.incident_id);
        k.incidentNumber = r.incident_number === null ? null : num(r.incident_number);
        k.incidentTitle = str(r.incident_title);
        k.timeRecorded = timeRecorded.get(String(r.incident_id)) ?? false;
      }
    }
    const key = JSON.stringify([keys, m.currency]);
    const before = grouped.get(key);
    const minor = (before?.amountMinor ?? 0) + m.minor;
    grouped.set(key, {
      ...keys,
      currency: m.currency,
      amountMinor: minor,
      amount: money(minor, m.currency),
      entries: (before?.entries ?? 0) + num(r.entries),
    });
  }
  const sortKey = (row: ReportRow) =>
    [...results.groupBy.map((d) => DIMENSION_ORDER[d](row)), row.currency].join('\u0000');
  const rows = [...grouped.values()].sort((a, b) =>
    sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0,
  );

  const totals = new Map<string, number>();
  for (const row of rows) totals.set(row.currency, (totals.get(row.currency) ?? 0) + row.amountMinor);

  const byMonth = new Map<
    string,
    { period: string; category: PnlCategory; currency: string; amountMinor: number }
  >();
  for (const r of results.byMonth) {
    const m = convert(num(r.amount_minor), String(r.currency));
    const key = `${r.period}|${r.category}|${m.currency}`;
    const before = byMonth.get(key);
    byMonth.set(key, {
      period: String(r.period),
      category: String(r.category) as PnlCategory,
      currency: m.currency,
      amountMinor: (before?.amountMinor ?? 0) + m.minor,
    });
  }

  const incidentCost = new Map<string, TopIncident>();
  for (const r of results.byIncident) {
    const m = convert(num(r.amount_minor), String(r.currency));
    const key = `${r.incident_id}|${m.currency}`;
    const minor = (incidentCost.get(key)?.amountMinor ?? 0) + m.minor;
    incidentCost.set(key, {
      incident: String(r.incident_id),
      incidentTitle: str(r.incident_title),
      currency: m.currency,
      amountMinor: minor,
      amount: money(minor, m.currency),
      timeRecorded: timeRecorded.get(String(r.incident_id)) ?? false,
    });
  }
  const ranked = [...incidentCost.values()].sort(
    (a, b) =>
      a.currency.localeCompare(b.currency) ||
      b.amountMinor - a.amountMinor ||
      a.incident.localeCompare(b.incident),
  );
  const topIncidents = ranked.filter(
    (t, i) => ranked.slice(0, i).filter((u) => u.currency === t.currency).length < TOP_INCIDENTS,
  );

  const unsettled: UnsettledItem[] = results.unsettled.map((r) => {
    const currency = str(r.currency);
    const minor = r.amount_minor === null ? null : num(r.amount_minor);
    return {
      incident: String(r.incident_id),
      incidentTitle: str(r.incident_title),
      seq: num(r.seq),
      category: (str(r.category) as PnlCategory | null) ?? null,
      state: String(r.state),
      currency,
      amountMinor: minor,
      amount: minor === null || currency === null ? null : money(minor, currency),
      period: String(r.period),
      effectId: str(r.effect_id),
    };
  });
  const unpriced: UnpricedLabour[] = results.unpriced.map((r) => ({
    incident: String(r.incident_id),
    incidentTitle: str(r.incident_title),
    period: String(r.period),
    role: String(r.role),
    minutes: num(r.minutes),
  }));
  const adjustments: Adjustment[] = (results.adjustments ?? []).map((r) => {
    const m = convert(num(r.amount_minor), String(r.currency));
    return {
      adjusts: String(r.period),
      recorded: String(r.recorded),
      recordedOn: String(r.recorded_on),
      category: String(r.category) as PnlCategory,
      obligation: str(r.obligation),
      currency: m.currency,
      amountMinor: m.minor,
      amount: money(m.minor, m.currency),
    };
  });
  adjustments.sort(
    (a, b) =>
      a.recorded.localeCompare(b.recorded) ||
      a.adjusts.localeCompare(b.adjusts) ||
      PNL_CATEGORIES.indexOf(a.category) - PNL_CATEGORIES.indexOf(b.category) ||
      (a.obligation ?? '\uffff').localeCompare(b.obligation ?? '\uffff') ||
      a.currency.localeCompare(b.currency),
  );
  for (const a of adjustments) {
    totals.set(a.currency, (totals.get(a.currency) ?? 0) + a.amountMinor);
    const key = `${a.recorded}|${a.category}|${a.currency}`;
    const before = byMonth.get(key);
    byMonth.set(key, {
      period: a.recorded,
      category: a.category,
      currency: a.currency,
      amountMinor: (before?.amountMinor ?? 0) + a.amountMinor,
    });
  }
  const usedRates = conversion
    ? [...inUse].sort().map((currency) => ({ currency, rate: conversion.rates[currency] as string }))
    : [];
  return {
    from: results.from,
    to: results.to,
    groupBy: [...results.groupBy],
    reportingCurrency: conversion?.currency ?? null,
    rates: usedRates,
    rows,
    totals: [...totals.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([currency, minor]) => ({ currency, amountMinor: minor, amount: money(minor, currency) })),
    byMonth: [...byMonth.values()].sort(
      (a, b) =>
        a.currency.localeCompare(b.currency) ||
        a.period.localeCompare(b.period) ||
        PNL_CATEGORIES.indexOf(a.category) - PNL_CATEGORIES.indexOf(b.category),
    ),
    topIncidents,
    notYetSettled: unsettled,
    unassigned: { minutes: unpriced.reduce((sum, u) => sum + u.minutes, 0), items: unpriced },
    noTimeRecorded: results.incidents
      .filter((r) => num(r.labour_entries) === 0)
      .map((r) => ({ incident: String(r.incident_id), incidentTitle: str(r.incident_title) })),
    closed: [...(results.closed ?? [])].sort((a, b) => a.period.localeCompare(b.period)),
    adjustments,
  };
}

/** A group value as people read it. */
export function groupValueLabel(dimension: PnlDimension, row: ReportRow): string {
  switch (dimension) {
    case 'category':
      return CATEGORY_LABEL[row.category as PnlCategory] ?? String(row.category);
    case 'obligation':
      return row.obligation
        ? (OBLIGATION_LABEL[row.obligation as 'tos' | 'brand'] ?? row.obligation)
        : 'No line';
    case 'productArea':
      return row.productArea ?? 'No product area';
    case 'period':
      return row.period ?? '';
    case 'incident':
      return `${row.incident}${row.incidentTitle ? ` ${row.incidentTitle}` : ''}`;
  }
}

/** The header of each grouping column. */
export const DIMENSION_HEADER: Readonly<Record<PnlDimension, string>> = {
  category: 'Category',
  productArea: 'Product area',
  obligation: 'Line',
  period: 'Month',
  incident: 'Incident',
};

const CSV_FIELD = (value: string | number | null | undefined): string => {
  if (value === null || value === undefined) return '';
  const text = String(value);
  // A negative amount (an adjustment that voided something) is a number, not a formula.
  const formula = /^[=+\-@\t\r]/.test(text) && !/^-\d+(\.\d+)?$/.test(text);
  const safe = formula && typeof value === 'string' ? `'${text}` : text;
  return /[",\r\n]/.test(safe) || safe !== text ? `"${safe.replaceAll('"', '""')}"` : safe;
};

/**
 * The rows as CSV an accountant pastes into a spreadsheet: the grouping's columns (raw values:
 * `refunds`, `tos`, `2026-11`, the incident id), currency, amount (major unit) and amount_minor,
 * entries; then the `unassigned` line, whose amount reads `unpriced` and whose minutes are given.
 */
export function pnlCsv(report: PnlReport): string {
  const dims = report.groupBy;
  const column = (d: PnlDimension) => (d === 'productArea' ? 'product_area' : d);
  // Only a report with adjustments has their columns: every other stays as it was.
  const adjusted = report.adjustments.length > 0;
  const more = adjusted ? ['', ''] : [];
  const lines = [
    [
      ...dims.map(column),
      'currency',
      'amount',
      'amount_minor',
      'entries',
      'minutes',
      ...(adjusted ? ['adjusts', 'recorded_on'] : []),
    ].join(','),
  ];
  for (const row of report.rows) {
    const values = dims.map((d) => {
      if (d === 'category') return row.category;
      if (d === 'productArea') return row.productArea;
      if (d === 'obligation') return row.obligation;
      if (d === 'period') return row.period;
      return row.incident;
    });
    lines.push(
      [...values, row.currency, row.amount, row.amountMinor, row.entries, '', ...more]
        .map(CSV_FIELD)
        .join(','),
    );
  }
  for (const a of report.adjustments) {
    const values = dims.map((d) => {
      if (d === 'category') return a.category;
      if (d === 'obligation') return a.obligation;
      if (d === 'period') return a.recorded;
      return '';
    });
    lines.push(
      [...values, a.currency, a.amount, a.amountMinor, '', '', a.adjusts, a.recordedOn]
        .map(CSV_FIELD)
        .join(','),
    );
  }
  if (report.unassigned.items.length > 0) {
    const values = dims.map((d) => (d === 'category' ? 'unassigned' : ''));
    lines.push(
      [...values, '', 'unpriced', '', report.unassigned.items.length, report.unassigned.minutes, ...more]
        .map(CSV_FIELD)
        .join(','),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The report as JSON (every figure in minor units and as a decimal string). */
export function pnlJson(report: PnlReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Minutes as people say them: "2 h 15 min". */
export function minutesText(minutes: number): string {
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h > 0 ? (m > 0 ? `${h} h ${m} min` : `${h} h`) : `${m} min`;
}

/**
 * An adjustment's cells under the report's grouping: its category, line and the month it was
 * recorded in, and where it says what it adjusts (the category's cell, else the first).
 */
export function adjustmentCells(groupBy: readonly PnlDimension[], a: Adjustment): string[] {
  const cells = groupBy.map((d) => {
    if (d === 'category') return `${CATEGORY_LABEL[a.category]}, ${adjustmentLabel(a)}`;
    if (d === 'obligation') return groupValueLabel('obligation', { ...a, entries: 0 });
    if (d === 'period') return a.recorded;
    return '';
  });
  if (!groupBy.includes('category')) cells[0] = `${cells[0] ? `${cells[0]}, ` : ''}${adjustmentLabel(a)}`;
  return cells;
}

/** The report as a plain-text table for a terminal. */
export function pnlTable(report: PnlReport): string {
  const headers = [...report.groupBy.map((d) => DIMENSION_HEADER[d]), 'Amount', 'Entries'];
  const body = report.rows.map((row) => [
    ...report.groupBy.map((d) => groupValueLabel(d, row)),
    `${row.amount} ${row.currency}`,
    String(row.entries),
  ]);
  for (const a of report.adjustments)
    body.push([...adjustmentCells(report.groupBy, a), `${a.amount} ${a.currency}`, '']);
  if (report.unassigned.items.length > 0) {
    body.push([
      ...report.groupBy.map((d) => (d === 'category' ? 'Ops labour, unassigned' : '')),
      `unpriced (${minutesText(report.unassigned.minutes)})`,
      String(report.unassigned.items.length),
    ]);
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const amountAt = report.groupBy.length;
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i >= amountAt ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [
    `P&L ${report.from === report.to ? report.from : `${report.from} to ${report.to}`}${
      report.reportingCurrency ? `, in ${report.reportingCurrency}` : ', each currency apart'
    }`,
    '',
    line(headers),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    `Total: ${report.totals.map((t) => `${t.amount} ${t.currency}`).join(', ') || 'nothing'}`,
  ];
  for (const c of report.closed)
    out.push(
      `${c.period} is closed (at ${c.closedAt}): its figures are its close record's, ${c.hash.slice(0, 12)}…`,
    );
  if (report.rates.length > 0)
    out.push(
      `Rates used (${report.reportingCurrency} per unit): ${report.rates.map((r) => `${r.currency} ${r.rate}`).join(', ')}`,
    );
  if (report.topIncidents.length > 0) {
    out.push('', 'Top incidents by cost:');
    for (const t of report.topIncidents)
      out.push(
        `  ${t.incident}${t.incidentTitle ? ` ${t.incidentTitle}` : ''}: ${t.amount} ${t.currency}${t.timeRecorded ? '' : ' (no time recorded)'}`,
      );
  }
  if (report.notYetSettled.length > 0) {
    out.push('', 'Not yet settled (not counted):');
    for (const u of report.notYetSettled)
      out.push(
        `  ${u.incident} seq ${u.seq}: ${u.category ? CATEGORY_LABEL[u.category] : 'effect'} ${u.state}${
          u.amount ? `, ${u.amount} ${u.currency}` : ''
        }`,
      );
  }
  if (report.unassigned.items.length > 0) {
    out.push('', 'Labour without a rate (unassigned, not priced):');
    for (const u of report.unassigned.items)
      out.push(`  ${u.incident} ${u.period}: ${minutesText(u.minutes)} as ${u.role}`);
  }
  if (report.noTimeRecorded.length > 0) {
    out.push('', 'No time recorded:');
    for (const i of report.noTimeRecorded)
      out.push(`  ${i.incident}${i.incidentTitle ? ` ${i.incidentTitle}` : ''}`);
  }
  return `${out.join('\n')}\n`;
}
