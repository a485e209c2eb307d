/**
 * Use case: Decide opens an approval round and asks the approvers the policy names.
 *
 * Primary course:
 *  1. Load the incident and the plan it decides on; a round a newer one replaced asks nobody.
 *  2. Unless the round is open already (a retried step), choose its rule by the approval policy —
 *     the incident's size and severity say who is asked, the quorum and the vetoes — and record it
 *     on the incident, and on the Decision Log with the policy's version.
 *  3. For each role the rule asks: create its request (or find the one an earlier attempt created),
 *     bound to the roster's primary approver, the round and the plan version, with the plan that
 *     approver saw last in an earlier round; unless it was e-mailed, ask the approver (a link with
 *     a fresh 256-bit secret, only its hash kept, never a task token: ask-approver.ts).
 *  4. Record each request on the timeline (ask-approver.ts).
 *
 * Idempotent: run again for the same round it opens nothing new and e-mails nobody twice.
 */
import type { Approval } from '../domain/approval.ts';
import { hashLinkSecret, newLinkSecret } from '../domain/approval.ts';
import type { ApprovalPolicy } from '../domain/approval-policy.ts';
import { describeRule, roundRuleFor } from '../domain/approval-policy.ts';
import type { ApprovalRound, Incident } from '../domain/incident.ts';
import type { PlanSnapshot, RemediationPlan } from '../domain/plan.ts';
import { planSnapshot } from '../domain/plan.ts';
import type { ApprovalStore, IncidentStore, Ledger } from '../domain/ports.ts';
import type { ApproverRole } from '../domain/vocabulary.ts';
import type { AskApproverDeps } from './ask-approver.ts';
import { askApprover } from './ask-approver.ts';
import { incidentOfStep } from './enter-phase.ts';

export interface RequestApprovalDeps extends AskApproverDeps {
  readonly incidents: IncidentStore;
  readonly approvals: ApprovalStore;
  readonly ledger: Pick<Ledger, 'append'>;
  readonly policy: ApprovalPolicy;
}

export interface RequestApprovalInput {
  readonly incidentId: string;
  readonly round: number;
}

export interface RequestApprovalResult {
  readonly round: number;
  /** The roles asked, as the round's rule has them (none for a replaced round). */
  readonly asked: readonly ApproverRole[];
  /** Requests e-mailed by this call. */
  readonly emailed: number;
}

export async function requestApproval(
  deps: RequestApprovalDeps,
  input: RequestApprovalInput,
): Promise<RequestApprovalResult> {
  // 1.
  const read = await incidentOfStep(deps, input.incidentId);
  const plan = read.plan;
  if (!plan) throw new Error(`${read.id} has no plan to approve`);
  if (read.decideRound !== input.round) return { round: input.round, asked: [], emailed: 0 };

  // 2.
  const { incident, round } = await openRound(deps, read, plan);

  // 3. and 4.
  let emailed = 0;
  for (const role of round.rule.roles) {
    if (await ask(deps, incident, round, plan, role)) emailed += 1;
  }
  return { round: round.round, asked: round.rule.roles, emailed };
}

/** Step 2: the round's rule on the incident and the Decision Log, once per round. */
async function openRound(
  deps: RequestApprovalDeps,
  incident: Incident,
  plan: RemediationPlan,
): Promise<{ incident: Incident; round: ApprovalRound }> {
  let current = incident;
  let round = incident.approvalRound;
  if (round?.round !== incident.decideRound) {
    const at = deps.clock.now().toISOString();
    // An incident reaches Decide with its impact assessed; without a size, ask as for the largest.
    const size = incident.size?.size ?? 'large';
    round = {
      round: incident.decideRound,
      openedAt: at,
      policyVersion: deps.policy.version,
      size,
      severity: incident.severity,
      rule: roundRuleFor(deps.policy, size, incident.severity),
      planVersion: plan.version,
      planHash: plan.hash,
    };
    current = await deps.incidents.updateIncident(incident, { approvalRound: round, updatedAt: at });
  }
  await deps.ledger.append(incident.id, {
    log: 'decision',
    kind: 'approval_round',
    world: 'RML3',
    phase: 'Decide',
    at: round.openedAt,
    actor: 'casebook (approval policy)',
    idempotencyKey: `approval-round:${round.round}`,
    summary: `Round ${round.round} on plan v${round.planVersion}, by approval policy ${round.policyVersion} for a ${round.size} ${round.severity} incident: ${describeRule(round.rule)}`,
    basis: {
      planHash: round.planHash,
      planVersion: round.planVersion,
      policy: `approval policy ${round.policyVersion}`,
    },
    detail: {
      round: round.round,
      policyVersion: round.policyVersion,
      size: round.size,
      severity: round.severity,
      roles: [...round.rule.roles],
      quorum: round.rule.quorum,
      veto: [...round.rule.veto],
    },
  });
  return { incident: current, round };
}

/** Steps 3 and 4 for one role; true when this call e-mailed the request. */
async function ask(
  deps: RequestApprovalDeps,
  incident: Incident,
  round: ApprovalRound,
  plan: RemediationPlan,
  role: ApproverRole,
): Promise<boolean> {
  const approver = deps.policy.roster[role]?.primary;
  if (!approver) throw new Error(`The approval policy has nobody for ${role}`);
  const key = { incidentId: incident.id, round: round.round, role };
  const lastSeen = await lastSeenBy(deps, incident.id, round.round, role, approver.email);
  const draft: Approval = {
    ...key,
    approverEmail: approver.email,
    approverName: approver.name,
    status: 'PENDING',
    requestedAt: deps.clock.now().toISOString(),
    planHash: plan.hash,
    planVersion: plan.version,
    plan: planSnapshot(plan),
    ...(lastSeen ? { lastSeen } : {}),
    policyVersion: round.policyVersion,
    // No link carries this secret: the one e-mailed replaces its hash (askApprover).
    linkSecretHash: hashLinkSecret(newLinkSecret()),
  };
  const { approval } = await deps.approvals.createApproval(draft);
  if (approval.emailedAt) return false;
  await askApprover(deps, incident, round, plan, approval, 'primary');
  return true;
}

/** The plan the approver saw last in an earlier round, as its request showed it. */
async function lastSeenBy(
  deps: Pick<RequestApprovalDeps, 'approvals'>,
  incidentId: string,
  round: number,
  role: ApproverRole,
  email: string,
): Promise<(PlanSnapshot & { round: number }) | undefined> {
  for (let earlier = round - 1; earlier >= 1; earlier--) {
    const seen = (await deps.approvals.listApprovals(incidentId, earlier)).find(
      (a) => a.role === role && a.approverEmail.toLowerCase() === email.toLowerCase() && a.plan,
    );
    if (seen?.plan) return { ...seen.plan, round: earlier };
  }
  return undefined;
}
