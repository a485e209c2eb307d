/**
 * Use cases behind an approval link: viewing the case (GET/HEAD, which never decides anything)
 * and recording a decision (POST).
 *
 * Primary course (decide):
 *  1. Check the link's secret against the approval it names.
 *  2. If the approval is already settled, the same decision again finishes whatever an earlier
 *     request left undone (a double click, or a retry after a failure); a different one is a
 *     conflict, as is a request from a round that a newer one replaced.
 *  3. Settle the approval (only one racing request can), then append the decision to the
 *     Decision Log: who, role, decision, comment, time, and the plan it was made on.
 *  4. Resume the workflow: an approval completes the task, a rejection fails it with
 *     Casebook.PlanRejected. If the round closed meanwhile, the decision stays recorded and says so.
 *  5. Record the decision on the timeline.
 */
import type { Approval, ApprovalRef, DecisionForm } from '../domain/approval.ts';
import { linkSecretMatches, parseApprovalId } from '../domain/approval.ts';
import { type DeadlinePolicy, decisionDue } from '../domain/deadlines.ts';
import type { EffectRecord } from '../domain/effects.ts';
import { ConflictError, ERROR_NAMES, NotFoundError } from '../domain/errors.ts';
import type { Incident, TimelineEvent } from '../domain/incident.ts';
import type { LedgerEntry } from '../domain/ledger.ts';
import { customerNotice } from '../domain/messages.ts';
import type {
  ApprovalStore,
  Clock,
  EffectStore,
  IncidentStore,
  Ledger,
  MailMessage,
  Workflow,
} from '../domain/ports.ts';
import { ROLE_LABEL } from '../domain/vocabulary.ts';

export interface ApprovalDecisionDeps {
  readonly incidents: IncidentStore;
  readonly effects: EffectStore;
  readonly approvals: ApprovalStore;
  readonly ledger: Ledger;
  readonly workflow: Workflow;
  readonly clock: Clock;
  /** How long a round may take to be decided. */
  readonly policy: Pick<DeadlinePolicy, 'decisionMinutes'>;
}

/** Everything the approval page shows. */
export interface ApprovalView {
  readonly approval: Approval;
  readonly incident: Incident;
  readonly roundApprovals: readonly Approval[];
  readonly timeline: readonly TimelineEvent[];
  readonly ledger: readonly LedgerEntry[];
  /** The plan on the incident is the plan this approval is about, and the approval is still open. */
  readonly canDecide: boolean;
  /** One message of each template the plan sends, as its first recipient would get it. */
  readonly sampleNotices: readonly { template: string; count: number; message: MailMessage }[];
  /** When the view was read, by the deps' clock: the page says how long ago things were from it. */
  readonly now: Date;
  /** When the round is due to be decided: the deadline the state machine escalates at. */
  readonly dueAt: string;
}

async function authorize(
  deps: Pick<ApprovalDecisionDeps, 'approvals'>,
  approvalId: string,
): Promise<{ ref: ApprovalRef; approval: Approval }> {
  const ref = parseApprovalId(approvalId);
  const approval = ref ? await deps.approvals.getApproval(ref) : undefined;
  // One answer for malformed, unknown and forged links: the page reveals nothing either way.
  if (!ref || !approval || !linkSecretMatches(ref.secret, approval.linkSecretHash)) {
    throw new NotFoundError('No such approval request');
  }
  return { ref, approval };
}

/** Loads what the approval page shows. Reads only. */
export async function viewApproval(deps: ApprovalDecisionDeps, approvalId: string): Promise<ApprovalView> {
  const { approval } = await authorize(deps, approvalId);
  const [incident, roundApprovals, timeline, ledger] = await Promise.all([
    deps.incidents.getIncident(approval.incidentId),
    deps.approvals.listApprovals(approval.incidentId, approval.round),
    deps.incidents.listTimeline(approval.incidentId),
    deps.ledger.read(approval.incidentId),
  ]);
  if (!incident) throw new NotFoundError('No such approval request');
  const canDecide =
    approval.status === 'PENDING' &&
    approval.round === incident.decideRound &&
    incident.plan?.hash === approval.planHash;
  return {
    approval,
    incident,
    roundApprovals,
    timeline,
    ledger,
    canDecide,
    sampleNotices: await sampleNotices(deps, incident),
    now: deps.clock.now(),
    dueAt: decisionDue(incident.decideRoundAt ?? approval.requestedAt, deps.policy),
  };
}

/** The first message of each template in the plan's effects, rendered for its customer. */
async function sampleNotices(
  deps: ApprovalDecisionDeps,
  incident: Incident,
): Promise<ApprovalView['sampleNotices']> {
  const plan = incident.plan;
  if (!plan) return [];
  const first = new Map<string, { effect: EffectRecord; count: number }>();
  let cursor: string | undefined;
  do {
    const page = await deps.effects.listEffects(incident.id, plan.version, cursor);
    for (const effect of page.items) {
      if (!effect.template) continue;
      const seen = first.get(effect.template);
      first.set(effect.template, { effect: seen?.effect ?? effect, count: (seen?.count ?? 0) + 1 });
    }
    cursor = page.cursor;
  } while (cursor);
  const samples = [];
  for (const [template, { effect, count }] of first) {
    const customer = await deps.effects.getCustomer(
      incident.id,
      incident.customerList?.version ?? 0,
      effect.customerRef,
    );
    if (customer)
      samples.push({
        template,
        count,
        message: customerNotice(incident, effect.template ?? 'apology', customer, effect.amount),
      });
  }
  return samples;
}

export interface DecideResult {
  readonly approval: Approval;
  /** False for a repeated identical decision (no new Decision Log entry). */
  readonly recorded: boolean;
  /** False when the round had already closed: the decision is on record but changed nothing. */
  readonly resumedWorkflow: boolean;
}

export async function decideApproval(
  deps: ApprovalDecisionDeps,
  approvalId: string,
  form: DecisionForm,
): Promise<DecideResult> {
  // 1.
  const { ref, approval } = await authorize(deps, approvalId);
  const incident = await deps.incidents.getIncident(approval.incidentId);
  if (!incident) throw new NotFoundError('No such approval request');

  // 2.
  if (approval.status !== 'PENDING') {
    // The same decision again is a double click — or a retry after a failure part-way, which
    // must finish the steps that did not happen.
    if (approval.decision?.decision === form.decision) return finishDecision(deps, approval);
    throw new ConflictError(
      approval.status === 'WITHDRAWN'
        ? `This approval request was withdrawn: ${approval.withdrawnReason ?? 'the round closed'}`
        : `This approval was already decided (${approval.status}) and cannot be changed`,
    );
  }
  if (approval.round !== incident.decideRound) {
    throw new ConflictError(
      `This request belongs to approval round ${approval.round}; round ${incident.decideRound} replaced it`,
    );
  }
  if (incident.plan?.hash !== approval.planHash) {
    throw new ConflictError('The plan changed after this request was sent; use the newest request');
  }

  // 3.
  const decision = {
    decision: form.decision,
    name: form.name,
    comment: form.comment,
    at: deps.clock.now().toISOString(),
  };
  const status = form.decision === 'approve' ? 'APPROVED' : 'REJECTED';
  // Only one racing request settles it; whichever lost goes on only if it asked for the same.
  await deps.approvals.settleApproval(ref, status, { decision });
  const settled = await deps.approvals.getApproval(ref);
  if (!settled || settled.decision?.decision !== form.decision) {
    throw new ConflictError('This approval was decided by another request a moment ago');
  }
  return finishDecision(deps, settled);
}

/**
 * Steps 3–5 after the approval is settled: the Decision Log entry, resuming the workflow (once:
 * the answer is remembered on the approval) and the timeline event. Each step is idempotent, so
 * a request that failed part-way is completed by the next one.
 */
async function finishDecision(deps: ApprovalDecisionDeps, approval: Approval): Promise<DecideResult> {
  const decided = approval.decision;
  if (!decided) throw new Error('finishDecision needs a decided approval');
  const role = ROLE_LABEL[approval.role];
  const verb = decided.decision === 'approve' ? 'approved' : 'rejected';
  const { entry, created } = await deps.ledger.append(approval.incidentId, {
    log: 'decision',
    kind: 'approval',
    world: 'RML3',
    phase: 'Decide',
    at: decided.at,
    actor: `${decided.name} <${approval.approverEmail}>`,
    idempotencyKey: `approval:${approval.round}:${approval.role}`,
    summary: `${role} ${verb} plan v${approval.planVersion}${decided.comment ? `: ${decided.comment}` : ''}`,
    role: approval.role,
    decision: decided.decision,
    basis: { planHash: approval.planHash, planVersion: approval.planVersion },
    detail: {
      name: decided.name,
      email: approval.approverEmail,
      comment: decided.comment,
      round: approval.round,
    },
  });

  // 4.
  let resumedWorkflow = approval.workflowAnswer?.resumed ?? false;
  if (!approval.workflowAnswer) {
    const token = await deps.approvals.getTaskToken(approval);
    if (token) {
      resumedWorkflow =
        decided.decision === 'approve'
          ? await deps.workflow.completeTask(token, {
              role: approval.role,
              decision: 'approve',
              by: decided.name,
              at: decided.at,
              decisionSeq: entry.seq,
            })
          : await deps.workflow.failTask(
              token,
              ERROR_NAMES.planRejected,
              `${role} rejected plan v${approval.planVersion}: ${decided.comment}`.slice(0, 32_000),
            );
    }
    await deps.approvals.recordWorkflowAnswer(approval, {
      at: deps.clock.now().toISOString(),
      resumed: resumedWorkflow,
    });
  }

  // 5.
  await deps.incidents.addTimelineEvent(approval.incidentId, {
    key: `approval-decided:${approval.round}:${approval.role}`,
    at: decided.at,
    world: 'RML3',
    type: 'approval_decided',
    phase: 'Decide',
    summary: `${role}: ${decided.name} ${verb} plan v${approval.planVersion}${resumedWorkflow ? '' : ' (after the round had closed)'}`,
    detail: { role: approval.role, decision: decided.decision, decisionSeq: entry.seq },
  });
  const now = (await deps.approvals.getApproval(approval)) ?? approval;
  return { approval: now, recorded: created, resumedWorkflow };
}
