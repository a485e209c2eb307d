/** Act, invoked by the state machine: carries out the approved plan's effects, as far as they go in one run. */

import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { askDepsFromConfig } from '../adapters/ask-people.ts';
import { documentClient, sesClient, systemClock } from '../adapters/aws.ts';
import { asDependencyError } from '../adapters/aws-errors.ts';
import { recordActRun } from '../adapters/casebook-metrics.ts';
import {
  actRatesConfig,
  ledgerTableConfig,
  loadConfig,
  mailFromConfig,
  operationsTableConfig,
  paymentsConfig,
  publicBaseUrlConfig,
  respondersConfig,
  sesConfigurationSetConfig,
} from '../adapters/config.ts';
import { DynamoDbEffectStore } from '../adapters/dynamodb-effect-store.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { DynamoDbSentNotices } from '../adapters/dynamodb-sent-notices.ts';
import { DynamoDbWaits } from '../adapters/dynamodb-waits.ts';
import { LazyStripePayments } from '../adapters/lazy-stripe-payments.ts';
import { logger } from '../adapters/logger.ts';
import { tokenBucket } from '../adapters/rate-limiter.ts';
import { SesMailer } from '../adapters/ses-mailer.ts';
import type { ActProgress } from '../domain/effects.ts';
import type { CarryOutEffectsDeps } from '../use-cases/carry-out-effects.ts';
import { carryOutEffects } from '../use-cases/carry-out-effects.ts';
import { askAboutEffect, askAboutPlan } from '../use-cases/effect-questions.ts';

export const carryOutEffectsSchema = z.object({ incidentId: z.string().min(1) });

export function makeCarryOutEffectsHandler(
  deps: Omit<CarryOutEffectsDeps, 'timeLeft'>,
): (event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>) => Promise<ActProgress> {
  return async (event, context) => {
    const input = carryOutEffectsSchema.parse(event);
    const timeLeft = () => context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY;
    const started = Date.now();
    const result = await carryOutEffects({ ...deps, timeLeft }, input)
      .catch((error: unknown) => {
        throw asDependencyError(error);
      })
      .finally(() => recordActRun(Date.now() - started));
    logger.info('Act ran', { incidentId: input.incidentId, outcome: result.outcome, ...result.counts });
    return result;
  };
}

export function carryOutEffectsDepsFromEnvironment(): Omit<CarryOutEffectsDeps, 'timeLeft'> {
  const config = loadConfig([
    operationsTableConfig,
    ledgerTableConfig,
    mailFromConfig,
    paymentsConfig,
    respondersConfig,
    actRatesConfig,
    publicBaseUrlConfig,
    sesConfigurationSetConfig,
  ]);
  const db = documentClient();
  const store = new DynamoDbOperationsStore(db, config.operationsTable);
  // One attempt per notice: the SDK's own retry could send one SES already took.
  const ses = sesClient({ maxAttempts: 1 });
  // Only notices go out under the configuration set, whose events say whether customers were told.
  const mailer = new SesMailer(ses, config.mailFrom, config.sesConfigurationSet);
  const questions = new DynamoDbWaits(db, config.operationsTable);
  // Questions go through the notices' SES client and sending rate: one budget for SES.
  const mailRate = tokenBucket(config.rates.mail);
  const effects = new DynamoDbEffectStore(db, config.operationsTable);
  const ledger = ledgerFromConfig(db, config);
  const askDeps = askDepsFromConfig(
    config,
    { questions, incidents: store, effects, ledger },
    { rate: mailRate, ses },
  );
  return {
    incidents: store,
    approvals: store,
    effects,
    ledger,
    mailer,
    sentNotices: new DynamoDbSentNotices(db, config.operationsTable),
    payments: config.payments.provider === 'manual' ? 'manual' : new LazyStripePayments(config.payments),
    ask: (incident, effect, reason, detail) => askAboutEffect(askDeps, incident, effect, reason, detail),
    askAboutPlan: (incident, planVersion, detail) =>
      askAboutPlan({ ...askDeps, responders: [config.sreLead] }, incident, planVersion, detail),
    clock: systemClock,
    rates: { mail: mailRate, payments: tokenBucket(config.rates.payments) },
  };
}
