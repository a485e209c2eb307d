/** Act step invoked for each approved effect by the state machine's Map. */
import { z } from 'zod';
import { documentClient, sesClient, systemClock } from '../adapters/aws.ts';
import { asDependencyError } from '../adapters/aws-errors.ts';
import { ledgerTableConfig, loadConfig, mailFromConfig, operationsTableConfig } from '../adapters/config.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { logger } from '../adapters/logger.ts';
import { SesMailer } from '../adapters/ses-mailer.ts';
import { emailAddress } from '../domain/email-address.ts';
import type { CarryOutEffectDeps, CarryOutEffectResult } from '../use-cases/carry-out-effect.ts';
import { carryOutEffect } from '../use-cases/carry-out-effect.ts';

export const carryOutEffectSchema = z.object({
  incidentId: z.string().min(1),
  effect: z.object({
    effectId: z.string().min(1),
    kind: z.literal('customer_notice'),
    world: z.enum(['RML1', 'RML2', 'RML3']),
    safety: z.enum(['SAFE_REVERSIBLE', 'RISKY', 'INFO_ONLY']),
    to: emailAddress,
    template: z.literal('apology'),
    description: z.string(),
    contentHash: z.string().regex(/^[0-9a-f]{64}$/),
  }),
});

export function makeCarryOutEffectHandler(
  deps: CarryOutEffectDeps,
): (event: unknown) => Promise<CarryOutEffectResult> {
  return async (event) => {
    const input = carryOutEffectSchema.parse(event);
    const result = await carryOutEffect(deps, input).catch((error: unknown) => {
      throw asDependencyError(error);
    });
    logger.info('Effect carried out', { incidentId: input.incidentId, ...result });
    return result;
  };
}

export function carryOutEffectDepsFromEnvironment(): CarryOutEffectDeps {
  const config = loadConfig([operationsTableConfig, ledgerTableConfig, mailFromConfig]);
  const db = documentClient();
  return {
    incidents: new DynamoDbOperationsStore(db, config.operationsTable),
    ledger: ledgerFromConfig(db, config),
    mailer: new SesMailer(sesClient({ maxAttempts: 1 }), config.mailFrom),
    clock: systemClock,
  };
}
