/**
 * The ledger as finance reads it: one flat row per Effect Ledger entry, schema `ledger/v1`, one
 * Parquet object (or CSV) per period. An entry's period is the month of its `at` (when it was
 * recorded), so an entry recorded late lands in the open month and never rewrites one already
 * exported; `effective_at` carries when the money moved, and reports group by it.
 *
 * Corrections are resolved here, once, so that SQL can net them without recursion: every row says
 * which row it supersedes (`corrects_id`) and the kind its correction chain began with
 * (`root_kind`), by the same rule as {@link standingEntries} — an entry stands when no row of its
 * incident names it in `corrects_id`.
 */
import type { LedgerEntry } from './ledger.ts';
import { effectState, isCurrentEntry } from './ledger.ts';

/** The schema's name and version: in every object's key and in its file metadata. */
export const LEDGER_SCHEMA = 'ledger/v1';

/** The file key-value metadata key that names the schema; a reader refuses any other value. */
export const LEDGER_SCHEMA_KEY = 'casebook.schema';

/** How a column is stored: Parquet's types as finance's tools read them. */
export type LedgerColumnType = 'STRING' | 'INT64' | 'TIMESTAMP';

export interface LedgerColumn {
  readonly name: keyof LedgerRow;
  readonly type: LedgerColumnType;
  readonly nullable: boolean;
}

const column = (name: keyof LedgerRow, type: LedgerColumnType, nullable: boolean): LedgerColumn => ({
  name,
  type,
  nullable,
});

/** The columns of `ledger/v1`, in file order (README's "Ledger exports" repeats them). */
export const LEDGER_COLUMNS: readonly LedgerColumn[] = [
  column('incident_id', 'STRING', false),
  column('incident_number', 'INT64', true),
  column('incident_title', 'STRING', true),
  column('seq', 'INT64', false),
  column('entry_id', 'STRING', false),
  column('entry_hash', 'STRING', false),
  column('kind', 'STRING', false),
  column('root_kind', 'STRING', false),
  column('corrects_id', 'STRING', true),
  column('state', 'STRING', true),
  column('amount_minor', 'INT64', true),
  column('currency', 'STRING', true),
  column('fee_minor', 'INT64', true),
  column('fee_currency', 'STRING', true),
  column('obligation', 'STRING', true),
  column('product_area', 'STRING', true),
  column('gl_code', 'STRING', true),
  column('world', 'STRING', false),
  column('phase', 'STRING', false),
  column('at', 'TIMESTAMP', false),
  column('effective_at', 'TIMESTAMP', true),
  column('counterparty', 'STRING', true),
  column('effect_id', 'STRING', true),
  column('provider_ref', 'STRING', true),
  column('labour_role', 'STRING', true),
  column('labour_minutes', 'INT64', true),
];

/**
 * One row of `ledger/v1`. Integers are JavaScript numbers (every amount is a safe integer, see
 * `moneySchema`), timestamps ISO 8601 UTC strings with milliseconds; the writers convert.
 */
export interface LedgerRow {
  readonly incident_id: string;
  readonly incident_number: number | null;
  readonly incident_title: string | null;
  readonly seq: number;
  readonly entry_id: string;
  readonly entry_hash: string;
  readonly kind: string;
  readonly root_kind: string;
  readonly corrects_id: string | null;
  readonly state: string | null;
  readonly amount_minor: number | null;
  readonly currency: string | null;
  readonly fee_minor: number | null;
  readonly fee_currency: string | null;
  readonly obligation: string | null;
  readonly product_area: string | null;
  readonly gl_code: string | null;
  readonly world: string;
  readonly phase: string;
  readonly at: string;
  readonly effective_at: string | null;
  readonly counterparty: string | null;
  readonly effect_id: string | null;
  readonly provider_ref: string | null;
  readonly labour_role: string | null;
  readonly labour_minutes: number | null;
}

/** What the rows say about the incident itself: read once at export, not from the entries. */
export interface ExportedIncident {
  readonly id: string;
  readonly title?: string;
  readonly productArea?: string;
}

/** A month, `YYYY-MM`: what an export covers. */
export type Period = string;

const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** Whether `value` is a period as the CLI and the object keys write it (`2026-11`). */
export function isPeriod(value: string): boolean {
  return PERIOD.test(value);
}

/** The period an instant falls in (UTC). */
export function periodOf(at: string): Period {
  return new Date(at).toISOString().slice(0, 7);
}

/** The first instant of a period and of the one after it (UTC, ISO 8601 with milliseconds). */
export function periodBounds(period: Period): { readonly start: string; readonly end: string } {
  const m = PERIOD.exec(period);
  if (!m) throw new RangeError(`"${period}" is not a period (YYYY-MM)`);
  const year = Number(m[1]);
  const month = Number(m[2]) - 1;
  return {
    start: new Date(Date.UTC(year, month, 1)).toISOString(),
    end: new Date(Date.UTC(year, month + 1, 1)).toISOString(),
  };
}

/** Every period from `from` to `to`, both included, in order; empty when `from` is after `to`. */
export function periodsBetween(from: Period, to: Period): Period[] {
  const out: Period[] = [];
  let period = from;
  while (period <= to) {
    out.push(period);
    period = periodBounds(period).end.slice(0, 7);
  }
  return out;
}

/** Where a period's Parquet object lives in the exports bucket (hive-style: `period` is the partition). */
export function ledgerObjectKey(period: Period): string {
  return `ledger/v1/period=${period}/ledger.parquet`;
}

/** How rows name an entry: its ULID (formats 2 and 3) or `seq:<n>` (format 1, which had no id). */
export function exportedEntryId(entry: LedgerEntry): string {
  return isCurrentEntry(entry) ? entry.id : `seq:${entry.seq}`;
}

/** The id, as {@link exportedEntryId} gives it, of the entry `entry` names as corrected. */
function namedCorrection(entry: LedgerEntry): string | undefined {
  if (isCurrentEntry(entry)) return entry.corrects?.id;
  return typeof entry.corrects === 'number' ? `seq:${entry.corrects}` : undefined;
}

function incidentNumber(id: string): number | null {
  const m = /^INC-\d{4}-(\d+)$/.exec(id);
  return m ? Number(m[1]) : null;
}

/**
 * The rows of one incident's Effect Ledger, in seq order (every period: the caller keeps the
 * period it exports). `entries` is the whole log, both logs, in any order: a correction may name
 * an entry of an earlier period, and the chain is resolved over all of it.
 *
 * `corrects_id` is the row a correction supersedes: the entry it names — or, when a correction of
 * the same chain came before it, that correction (the chain's last word so far), so each chain
 * has exactly one row standing, as {@link standingEntries} counts it.
 */
export function ledgerRows(incident: ExportedIncident, entries: readonly LedgerEntry[]): LedgerRow[] {
  const effects = entries.filter((e) => e.log === 'effect').sort((a, b) => a.seq - b.seq);
  const byId = new Map<string, LedgerEntry>();
  const rootOf = new Map<LedgerEntry, LedgerEntry>();
  const lastWord = new Map<LedgerEntry, LedgerEntry>();
  const number = incidentNumber(incident.id);
  const rows: LedgerRow[] = [];
  for (const entry of effects) {
    const named = namedCorrection(entry);
    const target = named === undefined ? undefined : byId.get(named);
    const corrects = target !== undefined && target.seq < entry.seq;
    const root = corrects ? (rootOf.get(target) ?? target) : entry;
    let supersedes: LedgerEntry | undefined;
    if (corrects) {
      supersedes = lastWord.get(root) ?? target;
      lastWord.set(root, entry);
    }
    rootOf.set(entry, root);
    const id = exportedEntryId(entry);
    byId.set(id, entry);
    rows.push(rowOf(incident, number, entry, id, root, supersedes));
  }
  return rows;
}

function rowOf(
  incident: ExportedIncident,
  number: number | null,
  entry: LedgerEntry,
  id: string,
  root: LedgerEntry,
  supersedes: LedgerEntry | undefined,
): LedgerRow {
  const current = isCurrentEntry(entry) ? entry : undefined;
  const obligationOf = (e: LedgerEntry) => (isCurrentEntry(e) ? e.obligation : e.costLine);
  const labour = entry.kind === 'ops_labour' ? entry.detail : undefined;
  const role = labour?.role;
  const minutes = labour?.minutes;
  return {
    incident_id: entry.incidentId,
    incident_number: number,
    incident_title: incident.title ?? null,
    seq: entry.seq,
    entry_id: id,
    entry_hash: entry.hash,
    kind: entry.kind,
    root_kind: root.kind,
    corrects_id: supersedes ? exportedEntryId(supersedes) : null,
    state: effectState(entry) ?? null,
    amount_minor: entry.amount?.minor ?? null,
    currency: entry.amount?.currency ?? null,
    fee_minor: current?.fee?.minor ?? null,
    fee_currency: current?.fee?.currency ?? null,
    obligation: obligationOf(entry) ?? obligationOf(root) ?? null,
    product_area: current?.productArea ?? incident.productArea ?? null,
    gl_code: current?.glCode ?? null,
    world: entry.world,
    phase: entry.phase,
    at: new Date(entry.at).toISOString(),
    effective_at: current?.effectiveAt ?? null,
    counterparty: current?.counterparty ?? null,
    effect_id: current?.effectId ?? null,
    provider_ref: current?.providerRef ?? null,
    labour_role: typeof role === 'string' ? role : null,
    labour_minutes: typeof minutes === 'number' && Number.isSafeInteger(minutes) ? minutes : null,
  };
}

/** The CSV header line of `ledger/v1` (the column names, in order). */
export function ledgerCsvHeader(): string {
  return LEDGER_COLUMNS.map((c) => c.name).join(',');
}

/** One row as an RFC 4180 CSV line (no line break): empty for null, quoted where needed. */
export function ledgerCsvLine(row: LedgerRow): string {
  return LEDGER_COLUMNS.map(({ name }) => csvField(row[name])).join(',');
}

function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  // A leading =, +, - or @ would run as a formula in a spreadsheet: quoted with a ' it reads as text.
  const safe = /^[=+\-@\t\r]/.test(text) && typeof value === 'string' ? `'${text}` : text;
  return /[",\r\n]/.test(safe) || safe !== text ? `"${safe.replaceAll('"', '""')}"` : safe;
}
