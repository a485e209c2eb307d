/** Invoked by the state machine when a wait for people times out: tells the SRE lead, then the wait goes on. */
import { z } from 'zod';
import { documentClient, sesClient, systemClock } from '../adapters/aws.ts';
import { asDependencyError } from '../adapters/aws-errors.ts';
import { loadConfig, mailFromConfig, operationsTableConfig, respondersConfig } from '../adapters/config.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { DynamoDbWaits } from '../adapters/dynamodb-waits.ts';
import { logger } from '../adapters/logger.ts';
import { SesMailer } from '../adapters/ses-mailer.ts';
import type { EscalateDeps } from '../use-cases/escalate.ts';
import { escalate } from '../use-cases/escalate.ts';
import { WAIT_STEPS } from '../use-cases/hold-for-people.ts';

export const escalateSchema = z.object({
  incidentId: z.string().min(1),
  step: z.enum(WAIT_STEPS),
});

export function makeEscalateHandler(deps: EscalateDeps): (event: unknown) => Promise<{ escalated: boolean }> {
  return async (event) => {
    const input = escalateSchema.parse(event);
    const result = await escalate(deps, input).catch((error: unknown) => {
      throw asDependencyError(error);
    });
    logger.info('Escalated', { ...input, ...result });
    return result;
  };
}

export function escalateDepsFromEnvironment(): EscalateDeps {
  const config = loadConfig([operationsTableConfig, mailFromConfig, respondersConfig]);
  const db = documentClient();
  const waits = new DynamoDbWaits(db, config.operationsTable);
  return {
    incidents: new DynamoDbOperationsStore(db, config.operationsTable),
    questions: waits,
    waits,
    mailer: new SesMailer(sesClient(), config.mailFrom),
    sreLead: config.sreLead,
    responders: config.responders,
    clock: systemClock,
  };
}
