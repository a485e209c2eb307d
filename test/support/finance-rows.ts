/**
 * `ledger/v1` rows written straight to Parquet with hyparquet-writer, for tests and the bench of
 * the P&L's SQL that need an export without running one.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parquetWriteFile } from 'hyparquet-writer';
import { LEDGER_SCHEMA } from '../../functions/domain/finance-sql.ts';

/** One exported row; absent fields are nulls. */
export interface LedgerV1Row {
  incident_id: string;
  incident_number?: number;
  incident_title?: string;
  seq: number;
  entry_id: string;
  entry_hash?: string;
  kind: string;
  root_kind?: string;
  corrects_id?: string;
  state?: string;
  amount_minor?: number;
  currency?: string;
  fee_minor?: number;
  fee_currency?: string;
  obligation?: string;
  product_area?: string;
  gl_code?: string;
  world?: string;
  phase?: string;
  at: string;
  effective_at?: string;
  counterparty?: string;
  effect_id?: string;
  provider_ref?: string;
  labour_role?: string;
  labour_minutes?: number;
}

const COLUMNS: readonly [keyof LedgerV1Row, 'STRING' | 'INT64' | 'TIMESTAMP'][] = [
  ['incident_id', 'STRING'],
  ['incident_number', 'INT64'],
  ['incident_title', 'STRING'],
  ['seq', 'INT64'],
  ['entry_id', 'STRING'],
  ['entry_hash', 'STRING'],
  ['kind', 'STRING'],
  ['root_kind', 'STRING'],
  ['corrects_id', 'STRING'],
  ['state', 'STRING'],
  ['amount_minor', 'INT64'],
  ['currency', 'STRING'],
  ['fee_minor', 'INT64'],
  ['fee_currency', 'STRING'],
  ['obligation', 'STRING'],
  ['product_area', 'STRING'],
  ['gl_code', 'STRING'],
  ['world', 'STRING'],
  ['phase', 'STRING'],
  ['at', 'TIMESTAMP'],
  ['effective_at', 'TIMESTAMP'],
  ['counterparty', 'STRING'],
  ['effect_id', 'STRING'],
  ['provider_ref', 'STRING'],
  ['labour_role', 'STRING'],
  ['labour_minutes', 'INT64'],
];

const DEFAULTS = (row: LedgerV1Row): LedgerV1Row => ({
  entry_hash: '0'.repeat(64),
  root_kind: row.kind,
  world: 'RML3',
  phase: 'Act',
  ...row,
});

/**
 * Writes `rows` under `dir` as `ledger/v1/period=YYYY-MM/ledger.parquet`, one object per month of
 * `at`, as the export lays them out; `schema` overrides the version in the file's metadata.
 */
export function writeLedgerRows(
  dir: string,
  rows: readonly LedgerV1Row[],
  options: { schema?: string; rowGroupSize?: number } = {},
): string[] {
  const byPeriod = new Map<string, LedgerV1Row[]>();
  for (const row of rows) {
    const period = row.at.slice(0, 7);
    byPeriod.set(period, [...(byPeriod.get(period) ?? []), DEFAULTS(row)]);
  }
  const written: string[] = [];
  for (const [period, periodRows] of byPeriod) {
    const folder = join(dir, 'ledger', 'v1', `period=${period}`);
    mkdirSync(folder, { recursive: true });
    const filename = join(folder, 'ledger.parquet');
    parquetWriteFile({
      filename,
      kvMetadata: [{ key: 'casebook.schema', value: options.schema ?? LEDGER_SCHEMA }],
      ...(options.rowGroupSize ? { rowGroupSize: options.rowGroupSize } : {}),
      columnData: COLUMNS.map(([name, type]) => ({
        name,
        type,
        data: periodRows.map((row) => {
          const value = row[name];
          if (value === undefined) return null;
          if (type === 'INT64') return BigInt(value as number);
          if (type === 'TIMESTAMP') return new Date(value as string);
          return value;
        }),
      })),
    });
    written.push(filename);
  }
  return written;
}
