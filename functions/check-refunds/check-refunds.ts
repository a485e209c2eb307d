/** The check before approval, invoked by the state machine: each refund of the submitted plan against the payments provider. */
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { documentClient, systemClock } from '../adapters/aws.ts';
import { asDependencyError } from '../adapters/aws-errors.ts';
import {
  actRatesConfig,
  ledgerTableConfig,
  loadConfig,
  operationsTableConfig,
  paymentsConfig,
} from '../adapters/config.ts';
import { DynamoDbEffectStore } from '../adapters/dynamodb-effect-store.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { LazyStripePayments } from '../adapters/lazy-stripe-payments.ts';
import { logger } from '../adapters/logger.ts';
import { tokenBucket } from '../adapters/rate-limiter.ts';
import type { CheckRefundsDeps, CheckRefundsResult } from '../use-cases/check-refunds.ts';
import { checkPlanRefunds } from '../use-cases/check-refunds.ts';

export const checkRefundsSchema = z.object({ incidentId: z.string().min(1) });

export function makeCheckRefundsHandler(
  deps: Omit<CheckRefundsDeps, 'timeLeft'>,
): (event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<CheckRefundsResult> {
  return async (event, context) => {
    const input = checkRefundsSchema.parse(event);
    const timeLeft = () => context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY;
    const result = await checkPlanRefunds({ ...deps, timeLeft }, input).catch((error: unknown) => {
      throw asDependencyError(error);
    });
    logger.info('Refunds checked before approval', { incidentId: input.incidentId, ...result });
    return result;
  };
}

export function checkRefundsDepsFromEnvironment(): Omit<CheckRefundsDeps, 'timeLeft'> {
  const config = loadConfig([operationsTableConfig, ledgerTableConfig, paymentsConfig, actRatesConfig]);
  const db = documentClient();
  const store = new DynamoDbOperationsStore(db, config.operationsTable);
  return {
    incidents: store,
    effects: new DynamoDbEffectStore(db, config.operationsTable),
    ledger: ledgerFromConfig(db, config),
    payments: config.payments.provider === 'manual' ? 'manual' : new LazyStripePayments(config.payments),
    rate: tokenBucket(config.rates.payments),
    ratePerSecond: config.rates.payments,
    clock: systemClock,
  };
}
