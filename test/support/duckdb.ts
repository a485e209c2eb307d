import { DuckDBInstance } from '@duckdb/node-api';

/** Runs `sql` in a throwaway in-memory DuckDB (no extension downloads) and returns its rows as JSON values. */
export async function duckQuery(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
