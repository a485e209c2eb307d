/**
 * Use case: the lifecycle state machine reports a step — entering a phase, closing, or halting —
 * and gets back what its next states need.
 *
 * Primary course (enter a phase):
 *  1. Load the incident; refuse one that is closed or cancelled.
 *  2. Apply the phase's rules: Understand proposes a plan if none stands; Decide opens an approval
 *     round; Learn resolves. (Act's effects are carried out by carry-out-effects, which checks the
 *     approvals itself.)
 *  3. Write what changed on the incident and record the phase on its timeline (once per execution).
 *
 * Halting records why the execution stopped and withdraws approvals still pending in the round;
 * the incident keeps its phase so a new execution can continue from it.
 *
 * Every step is idempotent: invoked again with the same input it answers the same and changes
 * nothing (test/functions/idempotency.test.ts).
 */

import { CasebookError, ERROR_NAMES } from '../domain/errors.ts';
import type { HaltReason, Incident } from '../domain/incident.ts';
import { enterPhase } from '../domain/incident.ts';
import type { RemediationPlan } from '../domain/plan.ts';
import type { ApprovalStore, IncidentChange, IncidentStore } from '../domain/ports.ts';
import type { Phase, Status } from '../domain/vocabulary.ts';
import type { PlanDeps } from './propose-plan.ts';
import { planProposedEvent, proposePlan, recordCustomers } from './propose-plan.ts';

export interface LifecycleDeps extends PlanDeps {
  readonly incidents: IncidentStore;
  readonly approvals: ApprovalStore;
}

export type LifecycleStep =
  | {
      readonly kind: 'enter-phase';
      readonly incidentId: string;
      readonly phase: Phase;
      readonly execution: string;
    }
  | { readonly kind: 'close'; readonly incidentId: string; readonly execution: string }
  | {
      readonly kind: 'halt';
      readonly incidentId: string;
      readonly execution: string;
      readonly reason: HaltReason;
      readonly failure?: { readonly Error?: string; readonly Cause?: string };
    };

export interface LifecycleStepResult {
  readonly incidentId: string;
  readonly status: Status;
  readonly phase: Phase;
  readonly round?: number;
}

export async function recordLifecycleStep(
  deps: LifecycleDeps,
  step: LifecycleStep,
): Promise<LifecycleStepResult> {
  // 1.
  const incident = await deps.incidents.getIncident(step.incidentId);
  if (!incident) {
    throw new CasebookError(ERROR_NAMES.incidentNotFound, `No incident ${step.incidentId}`);
  }
  const at = deps.clock.now().toISOString();
  if (step.kind === 'close') return close(deps, incident, at);
  if (step.kind === 'halt') return halt(deps, incident, step, at);

  // 2.
  const entry = enterPhase(incident, step.phase, step.execution, at);
  let read = incident;
  let change: IncidentChange = {
    status: entry.status,
    phase: entry.phase,
    updatedAt: at,
    executionName: step.execution,
    phaseEnteredAt: { ...incident.phaseEnteredAt, [step.phase]: incident.phaseEnteredAt[step.phase] ?? at },
    halted: undefined,
  };

  if (step.phase === 'Understand' && (!incident.plan || incident.halted?.reason === 'plan-rejected')) {
    const proposed = await proposeDefaultPlan(deps, incident);
    // Its customers are on the incident already; the plan is written with the phase.
    read = proposed.listed;
    change = { ...change, plan: proposed.plan };
  }
  if (step.phase === 'Decide') {
    if (!incident.plan) throw new Error(`${incident.id} has no plan to decide on`);
    const round = entry.decideRound ?? incident.decideRound;
    if (round > incident.decideRound && incident.decideRound > 0) {
      // Links from the replaced round must not look decidable (e.g. after a restart mid-round).
      await withdrawPending(deps, incident, `Replaced by approval round ${round}.`);
    }
    change = { ...change, decideRound: round, decideExecution: step.execution };
  }
  if (step.phase === 'Learn') change = { ...change, resolvedAt: incident.resolvedAt ?? at };

  // 3.
  const next = await deps.incidents.updateIncident(read, change);
  await deps.incidents.addTimelineEvent(incident.id, entry.event);
  return {
    incidentId: incident.id,
    status: next.status,
    phase: next.phase,
    ...(step.phase === 'Decide' ? { round: next.decideRound } : {}),
  };
}

/**
 * The plan Casebook proposes by itself in Understand until a responder writes one: tell every
 * customer the alert names (annotation `customer_contacts`) what happened. Returns the incident
 * as it stands once its customers are recorded, and the plan, not yet saved on it.
 */
async function proposeDefaultPlan(
  deps: LifecycleDeps,
  incident: Incident,
): Promise<{ listed: Incident; plan: RemediationPlan }> {
  const listed =
    incident.customerList || incident.customerContacts.length === 0
      ? incident
      : await recordCustomers(
          deps,
          incident,
          // The alert gives addresses only; the reference that stands for each is the incident's own.
          incident.customerContacts.map((email, i) => ({ customerRef: `${incident.id}-C${i + 1}`, email })),
        );
  const count = listed.customerList?.count ?? 0;
  const summary =
    count > 0
      ? `Notify ${count} affected customer${count === 1 ? '' : 's'} with an apology and an explanation of what happened.`
      : 'No customer-facing effect: the alert names no affected customer. Approve to record that no notice is sent.';
  const plan = await proposePlan(
    deps,
    listed,
    {
      summary,
      apply: count > 0 ? [{ kind: 'notice', obligation: 'brand', template: 'apology' }] : [],
      effects: [],
    },
    'casebook (default plan)',
  );
  await deps.incidents.addTimelineEvent(incident.id, planProposedEvent(plan));
  return { listed, plan };
}

async function close(deps: LifecycleDeps, incident: Incident, at: string): Promise<LifecycleStepResult> {
  if (incident.status !== 'CLOSED') {
    await deps.incidents.updateIncident(incident, { status: 'CLOSED', closedAt: at, updatedAt: at });
  }
  await deps.incidents.addTimelineEvent(incident.id, {
    key: 'closed',
    at: incident.closedAt ?? at,
    world: 'RML2',
    type: 'closed',
    phase: incident.phase,
    summary: 'Incident closed; its ledger, decisions and timeline stay as they are.',
  });
  return { incidentId: incident.id, status: 'CLOSED', phase: incident.phase };
}

/** Withdraws the approvals of the incident's current round that are still pending. */
async function withdrawPending(deps: LifecycleDeps, incident: Incident, reason: string): Promise<void> {
  if (incident.decideRound === 0) return;
  for (const approval of await deps.approvals.listApprovals(incident.id, incident.decideRound)) {
    if (approval.status === 'PENDING') {
      await deps.approvals.settleApproval(approval, 'WITHDRAWN', { withdrawnReason: reason });
    }
  }
}

const HALT_SUMMARY: Record<HaltReason, string> = {
  'plan-rejected': 'The plan was rejected; the incident waits in Decide for a revised plan.',
  'approvals-timed-out': 'Not every approver decided in time; the incident waits in Decide.',
  failed: 'A lifecycle step failed; the incident keeps its phase so a new execution can continue from it.',
};

async function halt(
  deps: LifecycleDeps,
  incident: Incident,
  step: Extract<LifecycleStep, { kind: 'halt' }>,
  at: string,
): Promise<LifecycleStepResult> {
  const error = step.failure?.Error;
  const cause = step.failure?.Cause;
  // The same halt recorded again (Step Functions invoking a step whose result it had not recorded)
  // keeps the first record: an incident halts again only after it entered a phase since.
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
