/**
 * Writes `ledger/v1` rows as Parquet with hyparquet-writer (pure JavaScript, Snappy built in: no
 * native code in a Lambda bundle), one row group at a time, handing each group's bytes to a
 * {@link ByteSink} as soon as it is encoded. Memory holds one row group and one upload part at
 * most, whatever the size of the ledger.
 */
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { LedgerColumn, LedgerRow } from '../domain/ledger-export.ts';
import { LEDGER_COLUMNS, LEDGER_SCHEMA, LEDGER_SCHEMA_KEY } from '../domain/ledger-export.ts';

/** Where a Parquet file's bytes go, in order: an S3 multipart upload, a local file. */
export interface ByteSink {
  /** Takes the next bytes; the caller may reuse `bytes` once the promise settles. */
  write(bytes: Uint8Array): Promise<void>;
  /** Makes the bytes written the whole object; nothing is visible before. */
  finish(): Promise<void>;
  /** Gives up: nothing written is left behind. Never throws for what it cannot clean. */
  abort(): Promise<void>;
}

export interface ParquetLedgerOptions {
  /**
   * Rows per row group: the unit of memory while writing and of reading for the engines (Athena
   * and DuckDB read a group in parallel with the others). @default 20000
   */
  readonly rowGroupRows?: number;
}

/** What was written. */
export interface ParquetLedgerResult {
  readonly rows: number;
  readonly bytes: number;
}

/** A Parquet schema element, as hyparquet-writer takes it (its reader's type, not a dependency of ours). */
type SchemaElement = ConstructorParameters<typeof ParquetWriter>[0]['schema'][number];

function schemaElement({ name, type, nullable }: LedgerColumn): SchemaElement {
  const repetition_type = nullable ? 'OPTIONAL' : 'REQUIRED';
  if (type === 'STRING') return { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type };
  // Milliseconds since the epoch, UTC: the converted type Athena's Hive reader and DuckDB both take.
  if (type === 'TIMESTAMP')
    return { name, type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', repetition_type };
  return { name, type: 'INT64', repetition_type };
}

/** The Parquet schema of `ledger/v1`. */
export const LEDGER_PARQUET_SCHEMA: readonly SchemaElement[] = [
  { name: 'root', num_children: LEDGER_COLUMNS.length },
  ...LEDGER_COLUMNS.map(schemaElement),
];

type Cell = string | bigint | null;

function cell(type: LedgerColumn['type'], value: string | number | null): Cell {
  if (value === null) return null;
  if (type === 'INT64') return BigInt(value);
  if (type === 'TIMESTAMP') return BigInt(Date.parse(String(value)));
  return String(value);
}

/**
 * A ByteWriter that hands what it holds to the sink after each row group (hyparquet-writer calls
 * `flush` there and waits for it) and at the end, so its buffer never holds more than one group.
 */
function sinkWriter(sink: ByteSink): ByteWriter {
  const writer = new ByteWriter(1 << 20);
  const drain = async () => {
    if (writer.index === 0) return;
    await sink.write(new Uint8Array(writer.buffer, 0, writer.index));
    writer.index = 0;
  };
  Object.assign(writer, {
    flush: drain,
    finish: async () => {
      await drain();
      await sink.finish();
    },
  });
  return writer;
}

/**
 * Writes the rows (in the order given) as one `ledger/v1` Parquet file into `sink`, row group by
 * row group, and finishes the sink; on any failure aborts it and throws.
 */
export async function writeLedgerParquet(
  rows: Iterable<LedgerRow> | AsyncIterable<LedgerRow>,
  sink: ByteSink,
  options: ParquetLedgerOptions = {},
): Promise<ParquetLedgerResult> {
  const groupRows = options.rowGroupRows ?? 20_000;
  const writer = sinkWriter(sink);
  let count = 0;
  try {
    const parquet = new ParquetWriter({
      writer,
      schema: [...LEDGER_PARQUET_SCHEMA],
      codec: 'SNAPPY',
      kvMetadata: [{ key: LEDGER_SCHEMA_KEY, value: LEDGER_SCHEMA }],
      createdBy: 'casebook ledger export',
    });
    let columns = LEDGER_COLUMNS.map((): Cell[] => []);
    let inGroup = 0;
    const writeGroup = async () => {
      const columnData = LEDGER_COLUMNS.map((c, i) => ({
        name: c.name,
        data: columns[i] as Cell[],
        nullable: c.nullable,
      }));
      await parquet.write({ columnData, rowGroupSize: inGroup });
      columns = LEDGER_COLUMNS.map((): Cell[] => []);
      inGroup = 0;
    };
    for await (const row of rows) {
      for (const [i, c] of LEDGER_COLUMNS.entries()) (columns[i] as Cell[]).push(cell(c.type, row[c.name]));
      inGroup++;
      count++;
      if (inGroup >= groupRows) await writeGroup();
    }
    if (inGroup > 0 || count === 0) await writeGroup();
    await parquet.finish();
  } catch (error) {
    await sink.abort();
    throw error;
  }
  return { rows: count, bytes: writer.offset };
}
