/** A wait for people, invoked by the state machine with .waitForTaskToken: keeps the token server-side. */
import * as z from 'zod';
import { documentClient, sfnClient, systemClock } from '../adapters/aws.ts';
import { asDependencyError } from '../adapters/aws-errors.ts';
import { loadConfig, operationsTableConfig } from '../adapters/config.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { DynamoDbWaits } from '../adapters/dynamodb-waits.ts';
import { logger } from '../adapters/logger.ts';
import { StepFunctionsWorkflow } from '../adapters/sfn-workflow.ts';
import { WAIT_STEPS } from '../domain/waits.ts';
import type { HoldForPeopleDeps } from '../use-cases/hold-for-people.ts';
import { holdForPeople } from '../use-cases/hold-for-people.ts';

export const holdForPeopleSchema = z.object({
  incidentId: z.string().min(1),
  step: z.enum(WAIT_STEPS),
  taskToken: z.string().min(1),
});

export function makeHoldForPeopleHandler(
  deps: HoldForPeopleDeps,
): (event: unknown) => Promise<{ settled: boolean }> {
  return async (event) => {
    const input = holdForPeopleSchema.parse(event);
    const result = await holdForPeople(deps, input).catch((error: unknown) => {
      throw asDependencyError(error);
    });
    // The token is deliberately not logged.
    logger.info('Waiting for people', { incidentId: input.incidentId, step: input.step, ...result });
    return result;
  };
}

export function holdForPeopleDepsFromEnvironment(): HoldForPeopleDeps {
  const config = loadConfig([operationsTableConfig]);
  const db = documentClient();
  const waits = new DynamoDbWaits(db, config.operationsTable);
  return {
    incidents: new DynamoDbOperationsStore(db, config.operationsTable),
    waits,
    questions: waits,
    workflow: new StepFunctionsWorkflow(sfnClient()),
    clock: systemClock,
  };
}
