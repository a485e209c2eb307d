/**
 * The ledger export on AWS: every day on a schedule (EventBridge) for the open month — and, on the
 * first day of a month, the month just closed as well, so its last hours are in its file — and on
 * demand with `{ "period": "YYYY-MM", "to"?: "YYYY-MM" }`.
 */
import * as z from 'zod';
import { documentClient, s3Client, systemClock } from '../adapters/aws.ts';
import { asDependencyError } from '../adapters/aws-errors.ts';
import { S3MultipartSink } from '../adapters/byte-sinks.ts';
import {
  exportBucketConfig,
  ledgerTableNameConfig,
  loadConfig,
  operationsTableConfig,
} from '../adapters/config.ts';
import { DynamoDbLedgerExportSource } from '../adapters/dynamodb-ledger-export.ts';
import { logger } from '../adapters/logger.ts';
import { ParquetLedgerWriter } from '../adapters/parquet-ledger.ts';
import { labourRatesConfig } from '../adapters/rules-config.ts';
import { putLabourRates } from '../adapters/s3-labour-rates.ts';
import { ledgerObjectKey, periodOf } from '../domain/ledger-export.ts';
import type { Clock } from '../domain/ports.ts';
import type {
  ExportLedgerDeps,
  ExportLedgerRequest,
  ExportLedgerResult,
} from '../use-cases/export-ledger.ts';
import { ExportRequestError, exportLedger } from '../use-cases/export-ledger.ts';

/** A day and a bit: the scheduled run on the 1st still sees the end of the month before. */
const LOOK_BACK_MS = 26 * 60 * 60 * 1000;

/** `{ period, to? }` on demand, or EventBridge's scheduled event (the open month). */
export const exportLedgerSchema = z.union([
  z.object({ period: z.string().min(1).max(7), to: z.string().min(1).max(7).optional() }).strict(),
  z.object({ source: z.literal('aws.events'), 'detail-type': z.literal('Scheduled Event') }),
]);

/** What a run exported; `skipped` says why nothing was (no incident reaches the months yet). */
export type ExportLedgerOutput = ExportLedgerResult | { readonly skipped: string };

/** What the export function works with besides the use case's ports. */
export interface ExportFunctionDeps extends Omit<ExportLedgerDeps, 'onProgress'> {
  readonly clock: Clock;
  /** Puts the configured labour rates where Athena's `labour_rates` table reads them; each run, first. */
  readonly publishLabourRates?: () => Promise<void>;
}

export function makeExportLedgerHandler(
  deps: ExportFunctionDeps,
): (event: unknown) => Promise<ExportLedgerOutput> {
  return async (event) => {
    const parsed = exportLedgerSchema.parse(event);
    const scheduled = 'source' in parsed;
    let request: ExportLedgerRequest;
    if (scheduled) {
      const now = deps.clock.now().getTime();
      request = {
        from: periodOf(new Date(now - LOOK_BACK_MS).toISOString()),
        to: periodOf(new Date(now).toISOString()),
      };
    } else {
      request = { from: parsed.period, ...(parsed.to ? { to: parsed.to } : {}) };
    }
    try {
      await deps.publishLabourRates?.();
      const result = await exportLedger(deps, request);
      logger.info('Ledger exported', { ...request, incidents: result.incidents, rows: result.rows });
      return result;
    } catch (error) {
      // A new installation has no incident yet: the daily run has nothing to do, and is no failure.
      if (scheduled && error instanceof ExportRequestError) {
        logger.info('Ledger export skipped', { ...request, reason: error.message });
        return { skipped: error.message };
      }
      if (error instanceof ExportRequestError) throw error;
      throw asDependencyError(error);
    }
  };
}

export function exportLedgerDepsFromEnvironment(): ExportFunctionDeps {
  const config = loadConfig([
    operationsTableConfig,
    ledgerTableNameConfig,
    exportBucketConfig,
    labourRatesConfig,
  ]);
  const s3 = s3Client();
  return {
    source: new DynamoDbLedgerExportSource(documentClient(), {
      operationsTable: config.operationsTable,
      ledgerTable: config.ledgerTable,
    }),
    writerFor: (period) =>
      new ParquetLedgerWriter(new S3MultipartSink(s3, config.exportBucket, ledgerObjectKey(period))),
    clock: systemClock,
    publishLabourRates: () => putLabourRates(s3, config.exportBucket, config.labourRates),
  };
}
