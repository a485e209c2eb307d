/**
 * Exports the Effect Ledger for finance, one file per period (`ledger/v1`), for the scheduled
 * export, the on-demand one and the CLI alike.
 *
 * 1. List the incidents detected before the last period ends (the by-creation index: no Scan).
 * 2. Read each incident's chain a page at a time with consistent Queries, the next pages (of this
 *    incident or the next) read while the current one is written.
 * 3. Build its rows (corrections resolved over the whole chain: a correction may name an entry of
 *    an earlier period) and hand each row to the writer of the period its `at` falls in.
 * 4. Finish every period's file; if anything fails, abort them all, so no partial file is left.
 */
import type { LedgerEntry } from '../domain/ledger.ts';
import type {
  ExportedIncident,
  LedgerExportSource,
  LedgerRowWriter,
  Period,
  WrittenFile,
} from '../domain/ledger-export.ts';
import { isPeriod, LedgerRowBuilder, periodBounds, periodsBetween } from '../domain/ledger-export.ts';

export interface ExportLedgerDeps {
  readonly source: LedgerExportSource;
  /**
   * The writer of a period's rows. Called once per period, before any row is read; several
   * periods may share one writer (a CSV of a whole range), which is then finished once.
   */
  readonly writerFor: (period: Period) => LedgerRowWriter;
  /** After each incident: how many of the incidents are done, and the rows written so far. */
  readonly onProgress?: (done: number, total: number, rows: number) => void;
}

export interface ExportLedgerRequest {
  readonly from: Period;
  /** @default from */
  readonly to?: Period;
}

export interface ExportLedgerResult {
  /** Each period, its rows and the bytes of its file (a shared file is counted in its first period). */
  readonly periods: readonly { readonly period: Period; readonly rows: number; readonly bytes: number }[];
  readonly incidents: number;
  readonly rows: number;
}

/** A request the export cannot carry out as asked: the CLI says it in one line and exits 2. */
export class ExportRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExportRequestError';
  }
}

/** The periods a request names, or why it names none. */
export function requestedPeriods(request: ExportLedgerRequest): Period[] {
  const to = request.to ?? request.from;
  for (const [flag, value] of [
    ['--period', request.from],
    ['--to', to],
  ] as const) {
    if (!isPeriod(value)) throw new ExportRequestError(`${flag} ${value} is not a month: write it YYYY-MM`);
  }
  if (request.from > to) throw new ExportRequestError(`--period ${request.from} is after --to ${to}`);
  const periods = periodsBetween(request.from, to);
  if (periods.length > 120) throw new ExportRequestError(`${periods.length} months is more than ten years`);
  return periods;
}

export async function exportLedger(
  deps: ExportLedgerDeps,
  request: ExportLedgerRequest,
): Promise<ExportLedgerResult> {
  const periods = requestedPeriods(request);
  const first = periods[0] as Period;
  const last = periods.at(-1) as Period;
  const { start } = periodBounds(first);
  const { end } = periodBounds(last);
  const incidents = await deps.source.incidentsDetectedBefore(end);
  if (incidents.length === 0) {
    throw new ExportRequestError(
      `no incidents in ${first === last ? first : `${first} to ${last}`}: none was detected before ${end.slice(0, 10)}`,
    );
  }
  const writers = new Map(periods.map((p) => [p, deps.writerFor(p)]));
  const distinct = [...new Set(writers.values())];
  const counts = new Map(periods.map((p) => [p, 0]));
  let rows = 0;
  try {
    let current: { index: number; builder: LedgerRowBuilder } | undefined;
    for await (const { index, page } of readAhead(pagesOf(deps.source, incidents), 2)) {
      if (current?.index !== index) {
        if (current) deps.onProgress?.(current.index + 1, incidents.length, rows);
        current = { index, builder: new LedgerRowBuilder(incidents[index] as ExportedIncident) };
      }
      for (const entry of page) {
        const row = current.builder.add(entry);
        // ISO instants in UTC with milliseconds compare as text.
        if (!row || row.at < start || row.at >= end) continue;
        const period = row.at.slice(0, 7);
        await (writers.get(period) as LedgerRowWriter).add(row);
        counts.set(period, (counts.get(period) ?? 0) + 1);
        rows++;
      }
    }
    if (current) deps.onProgress?.(current.index + 1, incidents.length, rows);
    const written = new Map<LedgerRowWriter, WrittenFile>();
    for (const writer of distinct) written.set(writer, await writer.finish());
    const reported = new Set<LedgerRowWriter>();
    return {
      periods: periods.map((period) => {
        const writer = writers.get(period) as LedgerRowWriter;
        const bytes = reported.has(writer) ? 0 : (written.get(writer)?.bytes ?? 0);
        reported.add(writer);
        return { period, rows: counts.get(period) ?? 0, bytes };
      }),
      incidents: incidents.length,
      rows,
    };
  } catch (error) {
    await Promise.all(distinct.map((w) => w.abort()));
    throw error;
  }
}

/** Every page of every incident's chain, in order, each with its incident's place in the list. */
async function* pagesOf(
  source: LedgerExportSource,
  incidents: readonly ExportedIncident[],
): AsyncGenerator<{ readonly index: number; readonly page: readonly LedgerEntry[] }> {
  for (const [index, incident] of incidents.entries()) {
    for await (const page of source.entryPages(incident.id)) yield { index, page };
  }
}

/**
 * Keeps `depth` pages asked for ahead of the one being written, across incidents, so the table
 * reads while the rows are built and encoded; memory holds at most `depth` pages more.
 */
async function* readAhead<T>(pages: AsyncIterable<T>, depth: number): AsyncGenerator<T> {
  const iterator = pages[Symbol.asyncIterator]();
  const ahead: Promise<IteratorResult<T>>[] = [];
  const ask = () => {
    const next = iterator.next();
    // A rejected read-ahead is seen when it is awaited; until then it must not go unhandled.
    next.catch(() => {});
    ahead.push(next);
  };
  for (let i = 0; i < depth; i++) ask();
  for (;;) {
    const current = await (ahead.shift() as Promise<IteratorResult<T>>);
    if (current.done) return;
    ask();
    yield current.value;
  }
}
