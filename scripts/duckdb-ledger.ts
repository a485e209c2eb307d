/**
 * The exported ledger in DuckDB, on this machine: the `ledger` view over local Parquet files and
 * the `labour_rates` table, for the SQL of `functions/domain/finance-sql.ts`. The CLI's alone:
 * DuckDB's native bindings never go into a Lambda bundle.
 *
 * DuckDB would download an extension it lacks (httpfs for s3://) on first use; with
 * autoinstall off it cannot, and it never needs to, because the objects are fetched with the S3
 * SDK first and read here as local files.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { LABOUR_RATES_RELATION, LEDGER_RELATION, LEDGER_SCHEMA } from '../functions/domain/finance-sql.ts';
import type { LabourRate } from '../functions/domain/labour-rates.ts';

/** A value as a query answers it: INT64 and HUGEINT sums become numbers (money stays exact well below 2^53). */
export type SqlValue = string | number | boolean | null;
export type SqlRow = Record<string, SqlValue>;

/** An export object whose schema is not the one this SQL reads. */
export class LedgerSchemaError extends Error {
  constructor(file: string, schema: string | undefined) {
    super(
      `${file} is ${schema ? `a ${schema} export` : 'not a Casebook ledger export (no casebook.schema)'}; this casebook reads ${LEDGER_SCHEMA}`,
    );
    this.name = 'LedgerSchemaError';
  }
}

const literal = (value: string) => `'${value.replaceAll("'", "''")}'`;

function plain(value: unknown): SqlValue {
  if (typeof value === 'bigint') {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER))
      throw new RangeError(`${value} is past what a report can sum exactly`);
    return Number(value);
  }
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return String(value);
}

/** DuckDB over `files` (each `…/period=YYYY-MM/ledger.parquet`) and `rates`. */
export interface LedgerDb {
  query(sql: string): Promise<SqlRow[]>;
  close(): void;
}

/**
 * Opens DuckDB in memory over the export files, after checking each one is `ledger/v1`
 * ({@link LedgerSchemaError} otherwise): a reader refuses a schema it does not know.
 */
export async function openLedgerDb(
  files: readonly string[],
  rates: readonly LabourRate[],
): Promise<LedgerDb> {
  const instance = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const connection = await instance.connect();
  const run = async (sql: string): Promise<SqlRow[]> => {
    const reader = await connection.runAndReadAll(sql);
    return reader
      .getRowObjects()
      .map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, plain(v)])));
  };
  try {
    // Months are UTC months, whatever zone this machine is in.
    await run(`SET TimeZone = 'UTC'`);
    const list = `[${files.map(literal).join(', ')}]`;
    if (files.length > 0) {
      const schemas = await run(
        `SELECT file_name, decode(value) AS schema FROM parquet_kv_metadata(${list}) WHERE decode(key) = 'casebook.schema'`,
      );
      const byFile = new Map(schemas.map((r) => [String(r.file_name), String(r.schema)]));
      for (const file of files) {
        const schema = byFile.get(file);
        if (schema !== LEDGER_SCHEMA) throw new LedgerSchemaError(file, schema);
      }
      await run(
        `CREATE VIEW ${LEDGER_RELATION} AS SELECT * FROM read_parquet(${list}, hive_partitioning = true, hive_types = {'period': VARCHAR})`,
      );
    } else {
      await run(
        `CREATE TABLE ${LEDGER_RELATION} (incident_id VARCHAR, incident_number BIGINT, incident_title VARCHAR, seq BIGINT, entry_id VARCHAR, entry_hash VARCHAR, kind VARCHAR, root_kind VARCHAR, corrects_id VARCHAR, state VARCHAR, amount_minor BIGINT, currency VARCHAR, fee_minor BIGINT, fee_currency VARCHAR, obligation VARCHAR, product_area VARCHAR, gl_code VARCHAR, world VARCHAR, phase VARCHAR, "at" TIMESTAMP, effective_at TIMESTAMP, counterparty VARCHAR, effect_id VARCHAR, provider_ref VARCHAR, labour_role VARCHAR, labour_minutes BIGINT, period VARCHAR)`,
      );
    }
    await run(`CREATE TABLE ${LABOUR_RATES_RELATION} (role VARCHAR, currency VARCHAR, rate_minor BIGINT)`);
    if (rates.length > 0) {
      const values = rates.map((r) => `(${literal(r.role)}, ${literal(r.rate.currency)}, ${r.rate.minor})`);
      await run(`INSERT INTO ${LABOUR_RATES_RELATION} VALUES ${values.join(', ')}`);
    }
  } catch (error) {
    connection.closeSync();
    instance.closeSync();
    throw error;
  }
  return {
    query: run,
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}
