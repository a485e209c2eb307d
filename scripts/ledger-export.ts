/**
 * `casebook ledger export`: the ledger for finance (schema `ledger/v1`), by the same use case the
 * scheduled export runs. Parquet goes to the exports bucket (one object per period, as the
 * scheduled export writes it) unless `--out` names a file or a directory; CSV goes to standard
 * output unless `--out` names a file.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Command } from 'commander';
import { s3Client } from '../functions/adapters/aws.ts';
import { FileSink, S3MultipartSink } from '../functions/adapters/byte-sinks.ts';
import { DynamoDbLedgerExportSource } from '../functions/adapters/dynamodb-ledger-export.ts';
import type { ByteSink } from '../functions/adapters/parquet-ledger.ts';
import { CsvLedgerWriter, ParquetLedgerWriter } from '../functions/adapters/parquet-ledger.ts';
import type { LedgerRowWriter, Period } from '../functions/domain/ledger-export.ts';
import { ledgerObjectKey } from '../functions/domain/ledger-export.ts';
import { ENV } from '../functions/env-names.ts';
import { ExportRequestError, exportLedger, requestedPeriods } from '../functions/use-cases/export-ledger.ts';

interface ExportTarget {
  readonly db: DynamoDBDocumentClient;
  readonly ledgerTable: string;
  readonly operationsTable?: string;
  readonly exportBucket?: string;
}

interface ExportOptions {
  readonly period: string;
  readonly to?: string;
  readonly format: string;
  readonly out?: string;
}

/** Standard output as a sink: what is written cannot be taken back, so abort only stops. */
const stdoutSink: ByteSink = {
  write: (bytes) =>
    new Promise<void>((resolve, reject) =>
      process.stdout.write(Buffer.from(bytes), (error) => (error ? reject(error) : resolve())),
    ),
  finish: async () => {},
  abort: async () => {},
};

/** Where each period's rows go, and how the result is named to the person. */
function writers(
  options: ExportOptions,
  periods: readonly Period[],
  bucket: () => string,
): { writerFor: (period: Period) => LedgerRowWriter; where: (period: Period) => string } {
  const { format, out } = options;
  if (format === 'csv') {
    const writer = new CsvLedgerWriter(out ? new FileSink(out) : stdoutSink);
    return { writerFor: () => writer, where: () => out ?? 'standard output' };
  }
  if (out?.endsWith('.parquet')) {
    if (periods.length > 1)
      throw new ExportRequestError(
        `--out ${out} is one file, for one month: give a directory to export ${periods.length} months`,
      );
    return { writerFor: () => new ParquetLedgerWriter(new FileSink(out)), where: () => out };
  }
  if (out) {
    // The bucket's own layout, so the same query reads either: <dir>/period=YYYY-MM/ledger.parquet.
    const fileOf = (period: Period) => join(out, `period=${period}`, 'ledger.parquet');
    return {
      writerFor: (period) => {
        mkdirSync(join(out, `period=${period}`), { recursive: true });
        return new ParquetLedgerWriter(new FileSink(fileOf(period)));
      },
      where: fileOf,
    };
  }
  const name = bucket();
  const s3 = s3Client();
  return {
    writerFor: (period) => new ParquetLedgerWriter(new S3MultipartSink(s3, name, ledgerObjectKey(period))),
    where: (period) => `s3://${name}/${ledgerObjectKey(period)}`,
  };
}

/** Adds `ledger export` to the `ledger` command. */
export function addExportCommand(
  ledger: Command,
  tools: {
    readonly target: (options: never) => ExportTarget;
    readonly addTargetOptions: (command: Command) => Command;
    readonly progressBar: () => ((done: number, total: number, what: string) => void) | undefined;
  },
): void {
  tools
    .addTargetOptions(
      ledger
        .command('export')
        .description(
          'export the Effect Ledger for finance (schema ledger/v1), one Parquet object per month of recording, or CSV',
        )
        .requiredOption('--period <YYYY-MM>', 'the month to export (by when entries were recorded)')
        .option('--to <YYYY-MM>', 'export every month from --period to this one')
        .option('--format <format>', 'parquet or csv', 'parquet')
        .option(
          '--out <path>',
          'a file (.parquet for one month, or .csv), or a directory (period=YYYY-MM/ledger.parquet); default: Parquet to the exports bucket, CSV to standard output',
        )
        .option(
          '--export-bucket <name>',
          `the exports bucket on AWS (default: ${ENV.exportBucket}; locally the stack's)`,
        ),
    )
    .action(async (options: ExportOptions & { exportBucket?: string }) => {
      if (options.format !== 'parquet' && options.format !== 'csv')
        throw new ExportRequestError(`--format ${options.format} is not parquet or csv`);
      const periods = requestedPeriods({ from: options.period, ...(options.to ? { to: options.to } : {}) });
      const t = tools.target(options as never);
      if (!t.operationsTable) throw new ExportRequestError('export needs --operations-table on AWS');
      const { writerFor, where } = writers(options, periods, () => {
        const bucket = options.exportBucket ?? t.exportBucket;
        if (!bucket)
          throw new ExportRequestError(`export needs --export-bucket or ${ENV.exportBucket} on AWS`);
        return bucket;
      });
      const bar = tools.progressBar();
      const result = await exportLedger(
        {
          source: new DynamoDbLedgerExportSource(t.db, {
            operationsTable: t.operationsTable,
            ledgerTable: t.ledgerTable,
          }),
          writerFor,
          ...(bar
            ? {
                onProgress: (done, total, rows) =>
                  bar(done, total, `incidents, ${rows.toLocaleString('en')} rows`),
              }
            : {}),
        },
        { from: options.period, ...(options.to ? { to: options.to } : {}) },
      );
      const shared = options.format === 'csv';
      for (const { period, rows } of result.periods) {
        console.error(`${period}: ${rows.toLocaleString('en')} rows${shared ? '' : ` → ${where(period)}`}`);
      }
      if (shared) console.error(`→ ${where(periods[0] as Period)}`);
      console.error(
        `Exported ${result.rows.toLocaleString('en')} ledger entries of ${result.incidents} incident(s).`,
      );
    });
}
