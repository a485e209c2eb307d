/**
 * Lifecycle steps invoked by the state machine (lambda:invoke), each a use case of its own: enter a
 * phase, invite the incident's people, record a rejected plan, close, halt, or escalate a ledger
 * that could not be anchored on closing.
 */
import * as z from 'zod';
import { askPeopleFromConfig } from '../adapters/ask-people.ts';
import { documentClient } from '../adapters/aws.ts';
import { asDependencyError } from '../adapters/aws-errors.ts';
import {
  deadlineConfig,
  loadConfig,
  mailFromConfig,
  operationsTableConfig,
  publicBaseUrlConfig,
  respondersConfig,
} from '../adapters/config.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { DynamoDbWorkroom } from '../adapters/dynamodb-workroom.ts';
import { logger } from '../adapters/logger.ts';
import type { ProgressKind } from '../domain/progress-mail.ts';
import type { Phase } from '../domain/vocabulary.ts';
import { PHASES } from '../domain/vocabulary.ts';
import { closeIncident } from '../use-cases/close-incident.ts';
import type { LifecycleDeps } from '../use-cases/enter-phase.ts';
import { enterPhase } from '../use-cases/enter-phase.ts';
import { escalateAnchorFailure } from '../use-cases/escalate-anchor-failure.ts';
import { haltLifecycle } from '../use-cases/halt-lifecycle.ts';
import type { InviteDeps } from '../use-cases/invite-people.ts';
import { invitePeople } from '../use-cases/invite-people.ts';
import { rejectPlan } from '../use-cases/reject-plan.ts';
import { retryOnConflict } from '../use-cases/retry-on-conflict.ts';
import type { TellDeps } from '../use-cases/tell-progress.ts';
import { tellProgress } from '../use-cases/tell-progress.ts';

const base = { incidentId: z.string().min(1), execution: z.string().min(1) };
const failure = z.object({ Error: z.string().optional(), Cause: z.string().optional() }).optional();

/** The payloads the ASL sends (see statemachines/incident-lifecycle.asl.json). */
export const lifecycleStepSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('enter-phase'), phase: z.enum(PHASES), entered: z.string().min(1), ...base }),
  z.object({ kind: z.literal('invite'), ...base }),
  z.object({ kind: z.literal('plan-rejected'), failure, ...base }),
  z.object({ kind: z.literal('close'), ...base }),
  z.object({ kind: z.literal('halt'), reason: z.enum(['rounds-exhausted', 'failed']), failure, ...base }),
  z.object({ kind: z.literal('anchor-failed'), failure, ...base }),
]);
export type LifecycleStep = z.infer<typeof lifecycleStepSchema>;

export type RecordPhaseDeps = LifecycleDeps & InviteDeps & TellDeps;

/** What the incident's people are told when it enters a phase: Act follows approval; Learn follows Act. */
const NEWS_ON_ENTRY: Partial<Record<Phase, readonly ProgressKind[]>> = {
  Act: ['plan-approved'],
  Learn: ['act-finished', 'postmortem-due'],
};

/** Each kind of step, and the use case that records it. */
const STEPS: {
  readonly [K in LifecycleStep['kind']]: (
    deps: RecordPhaseDeps,
    step: Extract<LifecycleStep, { kind: K }>,
  ) => Promise<object>;
} = {
  // The state entry: the same on a retried step, new on every entry into the state.
  'enter-phase': async (deps, s) => {
    const entered = await enterPhase(deps, { ...s, entry: `${s.execution}@${s.entered}` });
    for (const kind of NEWS_ON_ENTRY[s.phase] ?? []) await tellProgress(deps, s.incidentId, kind);
    return entered;
  },
  invite: invitePeople,
  'plan-rejected': async (deps, s) => {
    const rejected = await rejectPlan(deps, s);
    await tellProgress(deps, s.incidentId, 'changes-requested');
    return rejected;
  },
  close: async (deps, s) => {
    const closed = await closeIncident(deps, s);
    await tellProgress(deps, s.incidentId, 'closed');
    return closed;
  },
  halt: haltLifecycle,
  'anchor-failed': escalateAnchorFailure,
};

export function makeRecordPhaseHandler(deps: RecordPhaseDeps): (event: unknown) => Promise<object> {
  return async (event) => {
    const step = lifecycleStepSchema.parse(event);
    const run = STEPS[step.kind] as (deps: RecordPhaseDeps, step: LifecycleStep) => Promise<object>;
    const result = await retryOnConflict(() => run(deps, step)).catch((error: unknown) => {
      throw asDependencyError(error);
    });
    logger.info('Lifecycle step recorded', { incidentId: step.incidentId, kind: step.kind, ...result });
    return result;
  };
}

export function recordPhaseDepsFromEnvironment(): RecordPhaseDeps {
  const config = loadConfig([
    operationsTableConfig,
    mailFromConfig,
    respondersConfig,
    publicBaseUrlConfig,
    deadlineConfig,
  ]);
  const db = documentClient();
  const store = new DynamoDbOperationsStore(db, config.operationsTable);
  const workroom = new DynamoDbWorkroom(db, config.operationsTable);
  return {
    incidents: store,
    approvals: store,
    links: workroom,
    told: workroom,
    ...askPeopleFromConfig(config),
    policy: config.deadlines,
  };
}
