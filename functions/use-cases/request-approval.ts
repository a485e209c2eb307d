/**
 * Use case: Decide asks one approver (Legal, Business or SRE) to approve the plan, and waits.
 *
 * Primary course:
 *  1. Load the incident and the plan it is deciding on.
 *  2. Create the approval for this incident, round and role — or find the one an earlier
 *     attempt created — and keep the newest task token with it, server-side.
 *  3. Unless it was already emailed, email the approver a link that carries a fresh secret
 *     (never the token), then mark it emailed.
 *  4. Record the request on the timeline.
 */
import type { Approval } from '../domain/approval.ts';
import { formatApprovalId, hashLinkSecret, newLinkSecret } from '../domain/approval.ts';
import { CasebookError, ERROR_NAMES } from '../domain/errors.ts';
import { approvalRequestEmail } from '../domain/messages.ts';
import type { ApprovalStore, Clock, IncidentStore, Mailer } from '../domain/ports.ts';
import type { ApproverRole } from '../domain/vocabulary.ts';
import { ROLE_LABEL } from '../domain/vocabulary.ts';

export interface RequestApprovalDeps {
  readonly incidents: IncidentStore;
  readonly approvals: ApprovalStore;
  readonly mailer: Mailer;
  readonly clock: Clock;
  /** Base URL of the public API, without a trailing slash. */
  readonly publicBaseUrl: string;
  readonly approvers: Readonly<Record<ApproverRole, string>>;
}

export interface RequestApprovalInput {
  readonly taskToken: string;
  readonly incidentId: string;
  readonly round: number;
  readonly role: ApproverRole;
}

export async function requestApproval(
  deps: RequestApprovalDeps,
  input: RequestApprovalInput,
): Promise<{ readonly emailed: boolean }> {
  // 1.
  const incident = await deps.incidents.getIncident(input.incidentId);
  if (!incident) throw new CasebookError(ERROR_NAMES.incidentNotFound, `No incident ${input.incidentId}`);
  const plan = incident.plan;
  if (!plan) throw new Error(`${incident.id} has no plan to approve`);
  const at = deps.clock.now().toISOString();
  const key = { incidentId: incident.id, round: input.round, role: input.role };

  // 2.
  const secret = newLinkSecret();
  const draft: Approval = {
    ...key,
    approverEmail: deps.approvers[input.role],
    status: 'PENDING',
    requestedAt: at,
    planHash: plan.hash,
    planVersion: plan.version,
    linkSecretHash: hashLinkSecret(secret),
  };
  const { created, approval } = await deps.approvals.createApproval(draft, input.taskToken);
  if (!created) await deps.approvals.refreshTaskToken(key, input.taskToken);
  if (approval.emailedAt) return { emailed: false };

  // 3.
  const link = `${deps.publicBaseUrl}/approvals/${encodeURIComponent(formatApprovalId({ ...key, secret }))}`;
  await deps.mailer.send(approvalRequestEmail(incident, input.role, approval.approverEmail, link));
  await deps.approvals.markEmailed(key, hashLinkSecret(secret), at);

  // 4.
  await deps.incidents.addTimelineEvent(incident.id, {
    key: `approval-requested:${input.round}:${input.role}`,
    at,
    world: 'RML3',
    type: 'approval_requested',
    phase: 'Decide',
    summary: `${ROLE_LABEL[input.role]} (${approval.approverEmail}) asked to approve plan v${plan.version} (round ${input.round})`,
    detail: { role: input.role, round: input.round, planHash: plan.hash },
  });
  return { emailed: true };
}
