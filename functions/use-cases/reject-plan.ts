/**
 * Use case: the approval round did not approve the plan (vetoed, rejected, or changes requested),
 * and the incident goes back for a revised plan.
 *
 * Primary course:
 *  1. Record the outcome on the incident (the plan version and the reason — the round's own, as
 *     the incident recorded it — so the same version cannot be submitted again), and close the
 *     requests still pending in the round.
 *  2. Put it on the timeline, and say how many rounds are left: the state machine goes back to
 *     Understand for a revised plan, or, with none left, fails.
 *
 * Idempotent: recording the same rejection again changes nothing.
 */
import { VERDICT_LABEL } from '../domain/approval-policy.ts';
import type { Incident } from '../domain/incident.ts';
import type { IncidentStore } from '../domain/ports.ts';
import type { LifecycleDeps } from './enter-phase.ts';
import { incidentOfStep, withdrawPending } from './enter-phase.ts';

/** Approval rounds an incident may go through before its lifecycle fails for want of a plan. */
export const PLAN_ROUNDS = 5;

export async function rejectPlan(
  deps: LifecycleDeps,
  step: { readonly incidentId: string; readonly failure?: { readonly Cause?: string } },
): Promise<{ readonly roundsLeft: number }> {
  // 1.
  const incident = await incidentOfStep(deps, step.incidentId);
  const at = deps.clock.now().toISOString();
  const version = incident.planSubmitted?.version ?? incident.plan?.version ?? 0;
  const round = incident.approvalRound;
  const decided = round?.round === incident.decideRound ? round.decided : undefined;
  const reason = (
    decided ? `${VERDICT_LABEL[decided.verdict]}: ${decided.reason}` : (step.failure?.Cause ?? 'rejected')
  ).slice(0, 2000);
  const input = incident.planInput;
  await sendPlanBack(deps, incident, {
    version,
    reason,
    at,
    ...(input?.version === version ? { substance: input.substance } : {}),
  });
  await withdrawPending(deps, incident, `The round ended: ${reason}`);

  // 2.
  const roundsLeft = Math.max(0, PLAN_ROUNDS - incident.decideRound);
  await deps.incidents.addTimelineEvent(incident.id, {
    key: `plan-rejected:${incident.decideRound}`,
    at,
    world: 'RML3',
    type: 'plan_rejected',
    phase: incident.phase,
    summary: `Plan v${version} was not approved in round ${incident.decideRound} (${reason}). ${roundsLeft > 0 ? 'Back to Understand for a revised plan.' : 'No approval round is left.'}`,
    detail: {
      planVersion: version,
      round: incident.decideRound,
      roundsLeft,
      ...(decided ? { verdict: decided.verdict } : {}),
    },
  });
  return { roundsLeft };
}

/**
 * Sends the plan back to the responders: the version and why are recorded on the incident (the
 * same version cannot be submitted again) and the submission is withdrawn, so the wait for a
 * submitted plan waits for a revised one. Recording the same again changes nothing.
 */
export async function sendPlanBack(
  deps: { readonly incidents: Pick<IncidentStore, 'updateIncident'> },
  incident: Incident,
  rejected: NonNullable<Incident['planRejected']>,
): Promise<void> {
  if (incident.planRejected?.version === rejected.version && !incident.planSubmitted) return;
  await deps.incidents.updateIncident(incident, {
    planRejected: rejected,
    planSubmitted: undefined,
    updatedAt: rejected.at,
  });
}
