/**
 * Writes `ledger/v1` rows as Parquet with hyparquet-writer (pure JavaScript, Snappy built in: no
 * native code in a Lambda bundle), one row group at a time, handing each group's bytes to a
 * {@link ByteSink} as soon as it is encoded. Memory holds one row group and one upload part at
 * most, whatever the size of the ledger.
 */
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { LedgerColumn, LedgerRow, LedgerRowWriter, WrittenFile } from '../domain/ledger-export.ts';
import {
  LEDGER_COLUMNS,
  LEDGER_SCHEMA,
  LEDGER_SCHEMA_KEY,
  ledgerCsvHeader,
  ledgerCsvLine,
} from '../domain/ledger-export.ts';

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
   * and DuckDB read a group in parallel with the others). @default 10000
   */
  readonly rowGroupRows?: number;
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
 * One `ledger/v1` Parquet file, written row group by row group into a sink: rows are gathered
 * into columns until a group is full, then encoded and handed on, so memory holds one group.
 */
export class ParquetLedgerWriter implements LedgerRowWriter {
  private readonly sink: ByteSink;
  private readonly groupRows: number;
  private readonly writer: ByteWriter;
  private readonly parquet: ParquetWriter;
  private columns: Cell[][] = LEDGER_COLUMNS.map(() => []);
  private inGroup = 0;
  private count = 0;

  constructor(sink: ByteSink, options: ParquetLedgerOptions = {}) {
    this.sink = sink;
    this.groupRows = options.rowGroupRows ?? 10_000;
    this.writer = sinkWriter(sink);
    this.parquet = new ParquetWriter({
      writer: this.writer,
      schema: [...LEDGER_PARQUET_SCHEMA],
      codec: 'SNAPPY',
      kvMetadata: [{ key: LEDGER_SCHEMA_KEY, value: LEDGER_SCHEMA }],
      createdBy: 'casebook ledger export',
    });
  }

  async add(row: LedgerRow): Promise<void> {
    for (let i = 0; i < LEDGER_COLUMNS.length; i++) {
      const c = LEDGER_COLUMNS[i] as LedgerColumn;
      (this.columns[i] as Cell[]).push(cell(c.type, row[c.name]));
    }
    this.inGroup++;
    this.count++;
    if (this.inGroup >= this.groupRows) await this.failing(() => this.writeGroup());
  }

  async finish(): Promise<WrittenFile> {
    await this.failing(async () => {
      if (this.inGroup > 0) await this.writeGroup();
      await this.parquet.finish();
    });
    return { rows: this.count, bytes: this.writer.offset };
  }

  abort(): Promise<void> {
    return this.sink.abort();
  }

  private async failing(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      await this.sink.abort();
      throw error;
    }
  }

  private async writeGroup(): Promise<void> {
    const columnData = LEDGER_COLUMNS.map((c, i) => ({
      name: c.name,
      data: this.columns[i] as Cell[],
      nullable: c.nullable,
    }));
    const rows = this.inGroup;
    this.columns = LEDGER_COLUMNS.map(() => []);
    this.inGroup = 0;
    await this.parquet.write({ columnData, rowGroupSize: rows });
  }
}

/**
 * Writes the rows (in the order given) as one `ledger/v1` Parquet file into `sink`, row group by
 * row group, and finishes the sink; on any failure aborts it and throws.
 */
export async function writeLedgerParquet(
  rows: Iterable<LedgerRow> | AsyncIterable<LedgerRow>,
  sink: ByteSink,
  options: ParquetLedgerOptions = {},
): Promise<WrittenFile> {
  const writer = new ParquetLedgerWriter(sink, options);
  try {
    for await (const row of rows) await writer.add(row);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return writer.finish();
}

/**
 * `ledger/v1` as CSV (RFC 4180, a header line, UTF-8), handed to the sink in chunks of about
 * 1 MiB: for a spreadsheet, or a pipe.
 */
export class CsvLedgerWriter implements LedgerRowWriter {
  private readonly sink: ByteSink;
  private lines: string[] = [ledgerCsvHeader()];
  private chars = 0;
  private count = 0;
  private bytes = 0;

  constructor(sink: ByteSink) {
    this.sink = sink;
  }

  async add(row: LedgerRow): Promise<void> {
    const line = ledgerCsvLine(row);
    this.lines.push(line);
    this.chars += line.length + 2;
    this.count++;
    if (this.chars >= 1 << 20) await this.flush();
  }

  async finish(): Promise<WrittenFile> {
    try {
      await this.flush();
      await this.sink.finish();
    } catch (error) {
      await this.sink.abort();
      throw error;
    }
    return { rows: this.count, bytes: this.bytes };
  }

  abort(): Promise<void> {
    return this.sink.abort();
  }

  private async flush(): Promise<void> {
    if (this.lines.length === 0) return;
    const chunk = Buffer.from(`${this.lines.join('\r\n')}\r\n`, 'utf8');
    this.lines = [];
    this.chars = 0;
    this.bytes += chunk.byteLength;
    await this.sink.write(chunk);
  }
}
