/**
 * `ledger/v1` rows written to Parquet by the export's own writer, for tests and the bench of the
 * P&L's SQL that need an export without reading a ledger.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FileSink } from '../../functions/adapters/byte-sinks.ts';
import { writeLedgerParquet } from '../../functions/adapters/parquet-ledger.ts';
import type { LedgerRow } from '../../functions/domain/ledger-export.ts';
import { LEDGER_COLUMNS, ledgerObjectKey } from '../../functions/domain/ledger-export.ts';

/** One exported row; absent nullable fields are nulls, root_kind defaults to kind. */
export type LedgerV1Row = Partial<LedgerRow> &
  Pick<LedgerRow, 'incident_id' | 'seq' | 'entry_id' | 'kind' | 'at'>;

/** The whole row, as the export writes it. */
export function fullRow(row: LedgerV1Row): LedgerRow {
  const nulls = Object.fromEntries(LEDGER_COLUMNS.map((c) => [c.name, null]));
  return {
    ...nulls,
    entry_hash: '0'.repeat(64),
    root_kind: row.kind,
    world: 'RML3',
    phase: 'Act',
    ...row,
  } as LedgerRow;
}

/**
 * Writes `rows` under `dir` as the exports bucket lays them out (`ledger/v1/period=YYYY-MM/
 * ledger.parquet`, one object per month of `at`); answers the files written.
 */
export async function writeLedgerRows(dir: string, rows: readonly LedgerV1Row[]): Promise<string[]> {
  const byPeriod = new Map<string, LedgerRow[]>();
  for (const row of rows) {
    const period = row.at.slice(0, 7);
    byPeriod.set(period, [...(byPeriod.get(period) ?? []), fullRow(row)]);
  }
  const written: string[] = [];
  for (const [period, periodRows] of byPeriod) {
    const file = join(dir, ledgerObjectKey(period));
    mkdirSync(join(file, '..'), { recursive: true });
    await writeLedgerParquet(periodRows, new FileSink(file));
    written.push(file);
  }
  return written;
}
