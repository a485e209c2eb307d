/**
 * Use case: the state machine enters a phase.
 *
 * Primary course:
 *  1. Load the incident. A cancelled one ends the execution (Casebook.Cancelled); a closed one
 *     enters nothing.
 *  2. Apply the phase's rules: Decide opens an approval round on the plan submitted (once per entry
 *     into the state, so a retried step opens no second round); Learn resolves.
 *  3. Write what changed and record the phase (and any status change) on the timeline; on
 *     Detect, mark the incident's correlation key started.
 *
 * Idempotent: invoked again for the same state entry it answers the same and changes nothing.
 */
import { CasebookError, ERROR_NAMES } from '../domain/errors.ts';
import type { Incident } from '../domain/incident.ts';
import { enterPhase as phaseEntry } from '../domain/incident.ts';
import type { ApprovalStore, Clock, IncidentChange, IncidentStore } from '../domain/ports.ts';
import type { Phase, Status } from '../domain/vocabulary.ts';

export interface LifecycleDeps {
  readonly incidents: IncidentStore;
  readonly approvals: ApprovalStore;
  readonly clock: Clock;
}

export interface LifecycleStepResult {
  readonly incidentId: string;
  readonly status: Status;
  readonly phase: Phase;
  readonly round?: number;
}

/** The incident a lifecycle step is about; a cancelled one ends the execution. */
export async function incidentOfStep(
  deps: { readonly incidents: Pick<IncidentStore, 'getIncident'> },
  incidentId: string,
): Promise<Incident> {
  const incident = await deps.incidents.getIncident(incidentId);
  if (!incident) throw new CasebookError(ERROR_NAMES.incidentNotFound, `No incident ${incidentId}`);
  if (incident.status === 'CANCELLED') {
    throw new CasebookError(
      ERROR_NAMES.cancelled,
      `${incidentId} was cancelled: ${incident.cancelled?.reason ?? ''}`,
    );
  }
  return incident;
}

export async function enterPhase(
  deps: LifecycleDeps,
  step: { readonly incidentId: string; readonly phase: Phase; readonly entry: string },
): Promise<LifecycleStepResult> {
  // 1.
  const incident = await incidentOfStep(deps, step.incidentId);
  const at = deps.clock.now().toISOString();

  // 2.
  const entry = phaseEntry(incident, step.phase, step.entry, at);
  let change: IncidentChange = {
    // Status only when it changes: people change it too (acknowledging, containing).
    ...(entry.status !== incident.status ? { status: entry.status } : {}),
    phase: entry.phase,
    updatedAt: at,
    phaseEnteredAt: { ...incident.phaseEnteredAt, [step.phase]: incident.phaseEnteredAt[step.phase] ?? at },
    halted: undefined,
  };
  if (step.phase === 'Decide') {
    const plan = incident.plan;
    if (!plan || incident.planSubmitted?.version !== plan.version) {
      throw new Error(`${incident.id} has no submitted plan to decide on`);
    }
    const round = entry.decideRound ?? incident.decideRound;
    if (round > incident.decideRound && incident.decideRound > 0) {
      // Links from the replaced round must not look decidable (e.g. after a restart mid-round).
      await withdrawPending(deps, incident, `Replaced by approval round ${round}.`);
    }
    change = {
      ...change,
      decideRound: round,
      decideEntry: step.entry,
      ...(round > incident.decideRound ? { decideRoundAt: at } : {}),
    };
  }
  if (step.phase === 'Learn') change = { ...change, resolvedAt: incident.resolvedAt ?? at };

  // 3.
  const next = await deps.incidents.updateIncident(incident, change);
  for (const event of entry.events) await deps.incidents.addTimelineEvent(incident.id, event);
  // The lifecycle runs: repeats of the incident's alert need not start it again.
  if (step.phase === 'Detect')
    await deps.incidents.markCorrelation(incident.correlationKey, incident.id, 'started');
  return {
    incidentId: incident.id,
    status: next.status,
    phase: next.phase,
    ...(step.phase === 'Decide' ? { round: next.decideRound } : {}),
  };
}

/** Withdraws the approvals of the incident's current round that are still pending. */
export async function withdrawPending(
  deps: Pick<LifecycleDeps, 'approvals'>,
  incident: Incident,
  reason: string,
): Promise<void> {
  if (incident.decideRound === 0) return;
  for (const approval of await deps.approvals.listApprovals(incident.id, incident.decideRound)) {
    if (approval.status === 'PENDING') {
      await deps.approvals.settleApproval(approval, 'WITHDRAWN', { withdrawnReason: reason });
    }
  }
}
