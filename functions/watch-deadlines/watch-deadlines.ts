/**
 * Invoked by the state machine before each wait for people, and when a wait's time runs out: an
 * approval round's reminders and backups are sent from here too.
 */
import * as z from 'zod';
import { askPeopleFromConfig } from '../adapters/ask-people.ts';
import { documentClient, systemClock } from '../adapters/aws.ts';
import { asDependencyError } from '../adapters/aws-errors.ts';
import { countingOpenQuestions } from '../adapters/casebook-metrics.ts';
import {
  deadlineConfig,
  loadConfig,
  mailFromConfig,
  operationsTableConfig,
  publicBaseUrlConfig,
  respondersConfig,
} from '../adapters/config.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { DynamoDbWaits } from '../adapters/dynamodb-waits.ts';
import { logger } from '../adapters/logger.ts';
import { approvalPolicyConfig } from '../adapters/rules-config.ts';
import { WAIT_STEPS } from '../domain/waits.ts';
import { retryOnConflict } from '../use-cases/retry-on-conflict.ts';
import type { WatchDeadlinesDeps } from '../use-cases/watch-deadlines.ts';
import { watchDeadlines } from '../use-cases/watch-deadlines.ts';

export const watchDeadlinesSchema = z.object({
  incidentId: z.string().min(1),
  step: z.enum(WAIT_STEPS),
  atMostSeconds: z.number().int().min(0).optional(),
});

export function makeWatchDeadlinesHandler(
  deps: WatchDeadlinesDeps,
): (event: unknown) => Promise<{ seconds: number; escalated: number }> {
  return async (event) => {
    const input = watchDeadlinesSchema.parse(event);
    const result = await retryOnConflict(() => watchDeadlines(deps, input)).catch((error: unknown) => {
      throw asDependencyError(error);
    });
    logger.info('Deadlines watched', { ...input, ...result });
    return result;
  };
}

export function watchDeadlinesDepsFromEnvironment(): WatchDeadlinesDeps {
  const config = loadConfig([
    operationsTableConfig,
    mailFromConfig,
    respondersConfig,
    approvalPolicyConfig,
    deadlineConfig,
    publicBaseUrlConfig,
  ]);
  const db = documentClient();
  const waits = new DynamoDbWaits(db, config.operationsTable);
  const store = new DynamoDbOperationsStore(db, config.operationsTable);
  return {
    incidents: store,
    approvals: store,
    // A round's backups are whoever the roster names when its deadline passes.
    roster: config.approvalPolicy.roster,
    ...askPeopleFromConfig(config),
    questions: countingOpenQuestions(waits, config.deadlines.answersMinutes, systemClock),
    // Legal watches the regulatory clock: the Legal approver on the roster (the SRE lead when the
    // policy seats no Legal approver at all).
    legal: config.approvalPolicy.roster.legal?.primary.email ?? config.sreLead,
    policy: config.deadlines,
  };
}
