/**
 * Use case: the postmortem is in and the state machine closes the incident (status CLOSED, seed
 * 004); its ledger, decisions and timeline stay as they are. Idempotent.
 */
import { statusChanged } from '../domain/incident.ts';
import type { LifecycleDeps, LifecycleStepResult } from './enter-phase.ts';
import { incidentOfStep } from './enter-phase.ts';

export async function closeIncident(
  deps: LifecycleDeps,
  step: { readonly incidentId: string },
): Promise<LifecycleStepResult> {
  const incident = await incidentOfStep(deps, step.incidentId);
  const at = incident.closedAt ?? deps.clock.now().toISOString();
  if (incident.status !== 'CLOSED') {
    await deps.incidents.updateIncident(incident, { status: 'CLOSED', closedAt: at, updatedAt: at });
    await deps.incidents.addTimelineEvent(
      incident.id,
      statusChanged(incident, 'CLOSED', 'casebook', 'the postmortem is in', at, 'closed'),
    );
  }
  await deps.incidents.addTimelineEvent(incident.id, {
    key: 'closed',
    at,
    world: 'RML2',
    type: 'closed',
    phase: incident.phase,
    summary: 'Incident closed; its ledger, decisions and timeline stay as they are.',
  });
  return { incidentId: incident.id, status: 'CLOSED', phase: incident.phase };
}
