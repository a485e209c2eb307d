/**
 * Use case: the lifecycle stops on a failure, or because the approval rounds ran out. The incident
 * records why and keeps its phase, so a new execution can continue from it; approvals still
 * pending in the round are withdrawn. The state machine then ends in a Fail state.
 *
 * Idempotent: the same halt recorded again keeps the first record.
 */

import { CasebookError, ERROR_NAMES } from '../domain/errors.ts';
import type { HaltReason } from '../domain/incident.ts';
import type { LifecycleDeps, LifecycleStepResult } from './enter-phase.ts';
import { withdrawPending } from './enter-phase.ts';

const HALT_SUMMARY: Record<HaltReason, string> = {
  'rounds-exhausted': 'Every approval round rejected the plan; the incident waits for a new execution.',
  failed: 'A lifecycle step failed; the incident keeps its phase so a new execution can continue from it.',
};

export async function haltLifecycle(
  deps: LifecycleDeps,
  step: {
    readonly incidentId: string;
    readonly execution: string;
    readonly reason: HaltReason;
    readonly failure?: { readonly Error?: string; readonly Cause?: string };
  },
): Promise<LifecycleStepResult> {
  const incident = await deps.incidents.getIncident(step.incidentId);
  if (!incident) throw new CasebookError(ERROR_NAMES.incidentNotFound, `No incident ${step.incidentId}`);
  const at = deps.clock.now().toISOString();
  const error = step.failure?.Error;
  const cause = step.failure?.Cause;
  // An incident halts again only after it entered a phase since (entering clears `halted`).
  if (incident.halted?.reason !== step.reason) {
    await deps.incidents.updateIncident(incident, {
      updatedAt: at,
      halted: {
        reason: step.reason,
        at,
        ...(error ? { error } : {}),
        ...(cause ? { cause: cause.slice(0, 2000) } : {}),
      },
    });
  }
  await withdrawPending(deps, incident, HALT_SUMMARY[step.reason]);
  await deps.incidents.addTimelineEvent(incident.id, {
    key: `halt:${step.execution}`,
    at,
    world: 'RML2',
    type: 'halted',
    phase: incident.phase,
    summary: `${HALT_SUMMARY[step.reason]}${error ? ` (${error})` : ''}`,
  });
  return { incidentId: incident.id, status: incident.status, phase: incident.phase };
}
