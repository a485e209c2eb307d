/** Anchors the ledger: invoked when an incident closes (with a reason) and on a schedule (EventBridge). */
import * as z from 'zod';
import { documentClient, kmsClient, s3Client, systemClock } from '../adapters/aws.ts';
import { asDependencyError } from '../adapters/aws-errors.ts';
import { recordAnchorRun } from '../adapters/casebook-metrics.ts';
import { DynamoDbChangeMarks } from '../adapters/change-marks.ts';
import {
  anchorBucketConfig,
  ledgerTableConfig,
  loadConfig,
  operationsTableConfig,
} from '../adapters/config.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { headSignerFor } from '../adapters/head-signer.ts';
import { logger } from '../adapters/logger.ts';
import { S3AnchorStore } from '../adapters/s3-anchor-store.ts';
import type { AnchorLedgerDeps, AnchorResult } from '../use-cases/anchor-ledger.ts';
import { anchorLedger } from '../use-cases/anchor-ledger.ts';

/** `{ reason }` from the state machine, or EventBridge's scheduled event. */
export const anchorLedgerSchema = z.union([
  z.object({ reason: z.string().min(1).max(200) }).strict(),
  z
    .object({ source: z.literal('aws.events'), 'detail-type': z.literal('Scheduled Event') })
    .transform(() => ({ reason: 'schedule' })),
]);

export function makeAnchorLedgerHandler(deps: AnchorLedgerDeps): (event: unknown) => Promise<AnchorResult> {
  return async (event) => {
    const { reason } = anchorLedgerSchema.parse(event);
    const result = await anchorLedger(deps, reason).catch((error: unknown) => {
      throw asDependencyError(error);
    });
    recordAnchorRun(result, deps.clock.now());
    logger.info('Ledger anchored', { reason, ...result });
    return result;
  };
}

export function anchorLedgerDepsFromEnvironment(): AnchorLedgerDeps {
  const config = loadConfig([operationsTableConfig, ledgerTableConfig, anchorBucketConfig]);
  if (!config.headSigner) throw new Error('The anchor is signed: configure the ledger signing key');
  const db = documentClient();
  return {
    incidents: new DynamoDbOperationsStore(db, config.operationsTable),
    ledger: ledgerFromConfig(db, config),
    anchors: new S3AnchorStore(s3Client(), config.anchorBucket),
    changes: new DynamoDbChangeMarks(db, config.operationsTable),
    signer: headSignerFor(config.headSigner, kmsClient),
    clock: systemClock,
  };
}
