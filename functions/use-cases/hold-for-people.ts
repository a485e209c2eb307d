/**
 * Use case: a step of the state machine waits for people (`.waitForTaskToken`). The token is kept
 * on the server by incident and step; whoever settles the wait finds it there.
 *
 * Primary course:
 *  1. Keep the token as the step's current wait (a wait entered again takes over).
 *  2. If what the step waits for is already there (people acted while the state machine was on its
 *     way here, or while the wait was being entered again), end the wait at once; if the incident
 *     was cancelled meanwhile, end the execution.
 */
import { VERDICT_LABEL } from '../domain/approval-policy.ts';
import { settledOnIncident } from '../domain/casework.ts';
import { ERROR_NAMES } from '../domain/errors.ts';
import type { Incident } from '../domain/incident.ts';
import type { Clock, IncidentStore, QuestionStore, WaitStore, Workflow } from '../domain/ports.ts';
import type { WaitStep } from '../domain/waits.ts';
import { WAITS } from '../domain/waits.ts';

export interface HoldForPeopleDeps {
  readonly incidents: Pick<IncidentStore, 'getIncident'>;
  readonly waits: WaitStore;
  readonly questions: Pick<QuestionStore, 'openQuestions'>;
  readonly workflow: Pick<Workflow, 'completeTask' | 'failTask'>;
  readonly clock: Clock;
}

/** Whether what the step waits for is there (for Decide: the round is decided, one way or the other). */
export async function isSettled(
  deps: Pick<HoldForPeopleDeps, 'questions'>,
  incident: Incident,
  step: WaitStep,
): Promise<boolean> {
  // Act's wait is for answers: Act itself sees to it that every effect needing a person has a question open.
  if (WAITS[step].ownDeadline === 'answers')
    return (await deps.questions.openQuestions(incident.id)).length === 0;
  return settledOnIncident(step, incident);
}

/**
 * How a settled wait ends: with a result — except an approval round that did not approve the plan,
 * which fails with Casebook.PlanRejected and its reason (the state machine goes back to Understand).
 */
export function settledEnding(
  incident: Incident,
  step: WaitStep,
  result: Record<string, unknown>,
): WaitEnding {
  const decided = incident.approvalRound?.decided;
  if (step !== 'decide' || !decided || decided.verdict === 'approved') {
    return { result: step === 'decide' && decided ? { ...result, verdict: decided.verdict } : result };
  }
  return {
    error: ERROR_NAMES.planRejected,
    cause: `${VERDICT_LABEL[decided.verdict]}: ${decided.reason}`.slice(0, 32_000),
  };
}

export async function holdForPeople(
  deps: HoldForPeopleDeps,
  input: { readonly incidentId: string; readonly step: WaitStep; readonly taskToken: string },
): Promise<{ readonly settled: boolean }> {
  // 1.
  const at = deps.clock.now().toISOString();
  await deps.waits.holdWait(input.incidentId, input.step, input.taskToken, at);
  // 2.
  const incident = await deps.incidents.getIncident(input.incidentId);
  const cancelled = incident?.status === 'CANCELLED';
  const settled = cancelled || (incident !== undefined && (await isSettled(deps, incident, input.step)));
  if (settled) {
    await endWait(
      deps,
      input.incidentId,
      input.step,
      cancelled || !incident
        ? { error: ERROR_NAMES.cancelled, cause: `${input.incidentId} was cancelled` }
        : settledEnding(incident, input.step, { settledBy: 'already settled', at }),
    );
  }
  return { settled };
}

/** How a wait ends: with a result (what it waited for is there), or with a named error. */
export type WaitEnding =
  | { readonly result: Record<string, unknown> }
  | { readonly error: string; readonly cause: string };

/**
 * Ends the step's current wait, if it waits; true when the state machine was still waiting on it.
 * A wait being entered again meanwhile checks for itself (step 2 of {@link holdForPeople}).
 */
export async function endWait(
  deps: { readonly waits: WaitStore; readonly workflow: Pick<Workflow, 'completeTask' | 'failTask'> },
  incidentId: string,
  step: WaitStep,
  ending: WaitEnding,
): Promise<boolean> {
  const token = await deps.waits.waitingToken(incidentId, step);
  if (!token) return false;
  const answered =
    'result' in ending
      ? await deps.workflow.completeTask(token, ending.result)
      : await deps.workflow.failTask(token, ending.error, ending.cause);
  await deps.waits.releaseWait(incidentId, step, token);
  return answered;
}
