/**
 * The month's close on AWS: invoked by `casebook period close` with `{ "period": "YYYY-MM" }` (the
 * CLI user holds no signing key; this function's role alone may sign closes) and daily by
 * EventBridge, which closes last month once its lag has passed. It reads the ledger itself — its
 * rows for the totals, every chain's head — so what it signs is never what a caller says.
 */
import * as z from 'zod';
import { documentClient, kmsClient, s3Client, systemClock } from '../adapters/aws.ts';
import { asDependencyError } from '../adapters/aws-errors.ts';
import {
  anchorBucketConfig,
  headSignerConfig,
  ledgerTableNameConfig,
  loadConfig,
  operationsTableConfig,
} from '../adapters/config.ts';
import { DynamoDbLedger } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbLedgerExportSource } from '../adapters/dynamodb-ledger-export.ts';
import { headSignerFor } from '../adapters/head-signer.ts';
import { logger } from '../adapters/logger.ts';
import { DynamoDbCloseClaims, S3CloseStore } from '../adapters/period-closes.ts';
import { closeConfig, labourRatesConfig } from '../adapters/rules-config.ts';
import { monthTotals } from '../domain/close-totals.ts';
import type { LabourRate } from '../domain/labour-rates.ts';
import type { LedgerExportSource, LedgerRow } from '../domain/ledger-export.ts';
import { LedgerRowBuilder, periodOf } from '../domain/ledger-export.ts';
import type { CloseHead } from '../domain/period-close.ts';
import { CloseInputError } from '../domain/period-close.ts';
import type { Clock } from '../domain/ports.ts';
import type { ClosedPeriod, CloseFigures, ClosePeriodDeps, DueCloses } from '../use-cases/close-period.ts';
import { closeDueMonths, closePeriod } from '../use-cases/close-period.ts';

/** `{ period }` from the CLI, or EventBridge's scheduled event. */
export const closePeriodSchema = z.union([
  z.object({ period: z.string().min(1).max(20) }).strict(),
  z.object({ source: z.literal('aws.events'), 'detail-type': z.literal('Scheduled Event') }),
]);

export type ClosePeriodOutput = ClosedPeriod | DueCloses;

export function makeClosePeriodHandler(
  deps: ClosePeriodDeps,
): (event: unknown) => Promise<ClosePeriodOutput> {
  return async (event) => {
    const parsed = closePeriodSchema.parse(event);
    try {
      if ('source' in parsed) {
        const due = await closeDueMonths(deps);
        logger.info('Scheduled close', {
          closed: due.closed.map((c) => c.close.period),
          ...(due.skipped ? { skipped: due.skipped } : {}),
        });
        return due;
      }
      const result = await closePeriod(deps, parsed.period);
      logger.info('Period closed', {
        period: result.close.period,
        hash: result.close.hash,
        closedNow: result.closedNow,
      });
      return result;
    } catch (error) {
      // Bad input keeps its name: the CLI answers it with one line and exit 2.
      if (error instanceof CloseInputError) throw error;
      throw asDependencyError(error);
    }
  };
}

/** The month's figures from the ledger itself: rows recorded from the month on, and every head. */
export function ledgerFigures(
  source: LedgerExportSource,
  ledger: Pick<DynamoDbLedger, 'readHead'>,
  rates: readonly LabourRate[],
  clock: Clock,
): (period: string) => Promise<CloseFigures> {
  return async (period) => {
    const rows: LedgerRow[] = [];
    const heads: Record<string, CloseHead> = {};
    for (const incident of await source.incidentsDetectedBefore(clock.now().toISOString())) {
      const builder = new LedgerRowBuilder(incident);
      for await (const page of source.entryPages(incident.id)) {
        for (const entry of page) {
          const row = builder.add(entry);
          if (row && periodOf(row.at) >= period) rows.push(row);
        }
      }
      const head = await ledger.readHead(incident.id);
      if (head) heads[incident.id] = { size: head.size, seq: head.seq, hash: head.hash };
    }
    return { rows: monthTotals(rows, rates, period), heads };
  };
}

export function closePeriodDepsFromEnvironment(): ClosePeriodDeps {
  const config = loadConfig([
    operationsTableConfig,
    ledgerTableNameConfig,
    anchorBucketConfig,
    headSignerConfig,
    labourRatesConfig,
    closeConfig,
  ]);
  const db = documentClient();
  const clock = systemClock;
  return {
    claims: new DynamoDbCloseClaims(db, config.operationsTable),
    closes: new S3CloseStore(s3Client(), config.anchorBucket),
    figures: ledgerFigures(
      new DynamoDbLedgerExportSource(db, {
        operationsTable: config.operationsTable,
        ledgerTable: config.ledgerTable,
      }),
      new DynamoDbLedger(db, config.ledgerTable),
      config.labourRates,
      clock,
    ),
    now: () => clock.now(),
    lagDays: config.closeLagDays,
    labourRates: config.labourRates,
    ...(config.exchangeRates ? { exchangeRates: config.exchangeRates } : {}),
    signer: headSignerFor(config.headSigner, kmsClient),
  };
}
