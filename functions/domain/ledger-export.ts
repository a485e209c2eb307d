/**
 * The ledger as finance reads it: one flat row per Effect Ledger entry, schema `ledger/v1`, one
 * Parquet object (or CSV) per period. An entry's period is the month of its `at` (when it was
 * recorded), so an entry recorded late lands in the open month and never rewrites one already
 * exported; `effective_at` carries when the money moved, and reports group by it.
 *
 * Corrections are resolved here, once, so that SQL can net them without recursion: every row says
 * which row it supersedes (`corrects_id`) and the kind its correction chain began with
 * (`root_kind`), by the same rule as `standingEntries` in profit-and-loss.ts — an entry stands when
 * no row of its incident names it in `corrects_id`.
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

/** Where an export reads: the incidents (by-creation index) and their chains (consistent Queries). */
export interface LedgerExportSource {
  /** Every incident detected before `before` (an ISO instant), oldest first: no Scan. */
  incidentsDetectedBefore(before: string): Promise<ExportedIncident[]>;
  /** The incident's entries in log order, a page at a time, read consistently. */
  entryPages(incidentId: string): AsyncIterable<readonly LedgerEntry[]>;
}

/** What was written to one file. */
export interface WrittenFile {
  readonly rows: number;
  readonly bytes: number;
}

/** Takes rows one by one and writes them as one file (Parquet, CSV); nothing shows before `finish`. */
export interface LedgerRowWriter {
  add(row: LedgerRow): Promise<void>;
  /** Writes what is left and makes the file whole; on failure leaves nothing and throws. */
  finish(): Promise<WrittenFile>;
  /** Gives up: nothing written is left behind. */
  abort(): Promise<void>;
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

/** Where every `ledger/v1` object lives in the exports bucket. */
export const LEDGER_EXPORT_PREFIX = 'ledger/v1/';

/** Where a period's Parquet object lives in the exports bucket (hive-style: `period` is the partition). */
export function ledgerObjectKey(period: Period): string {
  return `${LEDGER_EXPORT_PREFIX}period=${period}/ledger.parquet`;
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

function obligationOf(entry: LedgerEntry): string | undefined {
  return isCurrentEntry(entry) ? entry.obligation : entry.costLine;
}

function incidentNumber(id: string): number | null {
  const m = /^INC-\d{4}-(\d+)$/.exec(id);
  return m ? Number(m[1]) : null;
}

/**
 * The rows of one incident's Effect Ledger, in seq order (every period: the caller keeps the
 * period it exports). `entries` is the whole log, both logs, in any order: a correction may name
 * an entry of an earlier period, and the chain is resolved over all of it.
 */
export function ledgerRows(incident: ExportedIncident, entries: readonly LedgerEntry[]): LedgerRow[] {
  const builder = new LedgerRowBuilder(incident);
  const rows: LedgerRow[] = [];
  for (const entry of [...entries].sort((a, b) => a.seq - b.seq)) {
    const row = builder.add(entry);
    if (row) rows.push(row);
  }
  return rows;
}

/** A correction chain: its first entry, and the entry that has the last word on it so far. */
interface Chain {
  readonly rootKind: string;
  readonly rootObligation: string | undefined;
  lastWord?: string;
}

/**
 * Builds an incident's rows from its entries given in seq order, a page at a time: it keeps, per
 * effect entry, only its id and its chain — not the entries — so a long log is read in pages.
 *
 * `corrects_id` is the row a correction supersedes: the entry it names — or, when a correction of
 * the same chain came before it, that correction (the chain's last word so far), so each chain has
 * exactly one row standing, as `standingEntries` (profit-and-loss.ts) counts it.
 */
export class LedgerRowBuilder {
  private readonly incident: ExportedIncident;
  private readonly number: number | null;
  /** Each effect entry's chain, by id; entries nothing corrects yet share one chain per kind and line. */
  private readonly chains = new Map<string, Chain>();
  private readonly fresh = new Map<string, Chain>();
  private readonly corrected = new Set<Chain>();

  constructor(incident: ExportedIncident) {
    this.incident = incident;
    this.number = incidentNumber(incident.id);
  }

  /** The entry's row, or undefined for a Decision Log entry. Entries come in seq order. */
  add(entry: LedgerEntry): LedgerRow | undefined {
    if (entry.log !== 'effect') return undefined;
    const named = namedCorrection(entry);
    // Entries come in seq order, so a chain found by name is one written before this entry.
    let chain = named === undefined ? undefined : this.chains.get(named);
    const id = exportedEntryId(entry);
    let supersedes: string | undefined;
    if (chain) {
      if (!this.corrected.has(chain)) {
        chain = { rootKind: chain.rootKind, rootObligation: chain.rootObligation };
        this.corrected.add(chain);
      }
      supersedes = chain.lastWord ?? (named as string);
      chain.lastWord = id;
      this.chains.set(named as string, chain);
    } else {
      const obligation = obligationOf(entry);
      const key = `${entry.kind}|${obligation ?? ''}`;
      chain = this.fresh.get(key);
      if (!chain) {
        chain = { rootKind: entry.kind, rootObligation: obligation };
        this.fresh.set(key, chain);
      }
    }
    this.chains.set(id, chain);
    return rowOf(this.incident, this.number, entry, id, chain, supersedes);
  }
}

function rowOf(
  incident: ExportedIncident,
  number: number | null,
  entry: LedgerEntry,
  id: string,
  chain: Chain,
  supersedes: string | undefined,
): LedgerRow {
  const current = isCurrentEntry(entry) ? entry : undefined;
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
    root_kind: chain.rootKind,
    corrects_id: supersedes ?? null,
    state: effectState(entry) ?? null,
    amount_minor: entry.amount?.minor ?? null,
    currency: entry.amount?.currency ?? null,
    fee_minor: current?.fee?.minor ?? null,
    fee_currency: current?.fee?.currency ?? null,
    obligation: obligationOf(entry) ?? chain.rootObligation ?? null,
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
