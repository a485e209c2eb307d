/** Lifecycle step invoked by the state machine (lambda:invoke): enter a phase, close, or halt. */
import { z } from 'zod';
import { documentClient, systemClock } from '../adapters/aws.ts';
import { asDependencyError } from '../adapters/aws-errors.ts';
import { loadConfig, operationsTableConfig, pseudonymKeyConfig } from '../adapters/config.ts';
import { DynamoDbEffectStore } from '../adapters/dynamodb-effect-store.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { logger } from '../adapters/logger.ts';
import { pseudonymizer } from '../adapters/pseudonyms.ts';
import { PHASES } from '../domain/vocabulary.ts';
import type { LifecycleDeps, LifecycleStepResult } from '../use-cases/record-lifecycle-step.ts';
import { recordLifecycleStep } from '../use-cases/record-lifecycle-step.ts';

const base = { incidentId: z.string().min(1), execution: z.string().min(1) };

/** The payloads the ASL sends (see statemachines/incident-lifecycle.asl.json). */
export const lifecycleStepSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('enter-phase'), phase: z.enum(PHASES), ...base }),
  z.object({ kind: z.literal('close'), ...base }),
  z.object({
    kind: z.literal('halt'),
    reason: z.enum(['plan-rejected', 'approvals-timed-out', 'failed']),
    failure: z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional(),
    ...base,
  }),
]);

export function makeRecordPhaseHandler(
  deps: LifecycleDeps,
): (event: unknown) => Promise<LifecycleStepResult> {
  return async (event) => {
    const step = lifecycleStepSchema.parse(event);
    const result = await recordLifecycleStep(deps, step).catch((error: unknown) => {
      throw asDependencyError(error);
    });
    logger.info('Lifecycle step recorded', {
      incidentId: step.incidentId,
      kind: step.kind,
      phase: result.phase,
    });
    return result;
  };
}

export function recordPhaseDepsFromEnvironment(): LifecycleDeps {
  const config = loadConfig([operationsTableConfig, pseudonymKeyConfig]);
  const db = documentClient();
  const store = new DynamoDbOperationsStore(db, config.operationsTable);
  return {
    incidents: store,
    approvals: store,
    effects: new DynamoDbEffectStore(db, config.operationsTable),
    pseudonym: pseudonymizer(config.pseudonymKey),
    clock: systemClock,
  };
}
