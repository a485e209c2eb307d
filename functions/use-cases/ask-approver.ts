/**
 * Asking one approver of a round: the role's primary when the round opens (request-approval), its
 * backup when the round's deadline passes with the role undecided (watch-deadlines).
 *
 * Primary course:
 *  1. E-mail the approver a link carrying a fresh 256-bit secret (never a task token), with the
 *     plan, the round's rule, by when, and — for a backup — whom they stand in for.
 *  2. Record the secret's hash as the seat's (only a hash is kept: whoever reads the table still
 *     cannot forge a link), and that it was e-mailed.
 *  3. Put the request on the timeline.
 *
 * The e-mail goes before the record: a step that fails in between is retried and e-mails again
 * with a new secret (the first link then answers 404), but never records an e-mail nobody got.
 */
import type { Approval, SeatName } from '../domain/approval.ts';
import { approverAt, formatApprovalId, hashLinkSecret, newLinkSecret } from '../domain/approval.ts';
import type { RoundRules } from '../domain/deadlines.ts';
import { decisionMinutes, resolutionDeadline, roundClock } from '../domain/deadlines.ts';
import type { ApprovalRound, Incident } from '../domain/incident.ts';
import { approvalRequestEmail } from '../domain/messages.ts';
import type { RemediationPlan } from '../domain/plan.ts';
import { planChanges, planSnapshot } from '../domain/plan.ts';
import type { ApprovalStore, Clock, IncidentStore, Mailer } from '../domain/ports.ts';
import { replyToChangeRequest } from '../domain/progress-mail.ts';
import { ROLE_LABEL } from '../domain/vocabulary.ts';

/** The responder's reply to the last change request, when this version went back with one. */
function withReply(incident: Incident, version: number) {
  const reply = replyToChangeRequest(incident, version);
  return reply ? { reply } : {};
}

export interface AskApproverDeps {
  readonly incidents: Pick<IncidentStore, 'addTimelineEvent'>;
  readonly approvals: Pick<ApprovalStore, 'markEmailed'>;
  readonly mailer: Mailer;
  readonly clock: Clock;
  /** Base URL of the public API, without a trailing slash. */
  readonly publicBaseUrl: string;
  /** The round's moments: the e-mail says by when. */
  readonly deadlines: RoundRules;
}

/** When the round of `incident` began: its entry into Decide, else the round's opening. */
export function roundStart(incident: Incident, round: ApprovalRound): string {
  return incident.decideRoundAt ?? round.openedAt;
}

/** Steps 1 to 3 for one seat of a request. */
export async function askApprover(
  deps: AskApproverDeps,
  incident: Incident,
  round: ApprovalRound,
  plan: RemediationPlan,
  approval: Approval,
  seat: SeatName,
): Promise<void> {
  // 1.
  const secret = newLinkSecret();
  const key = { incidentId: approval.incidentId, round: approval.round, role: approval.role };
  const to = approverAt(approval, seat);
  const clock = roundClock(roundStart(incident, round), deps.deadlines, incident.severity);
  const lastSeen = seat === 'primary' ? approval.lastSeen : undefined;
  await deps.mailer.send(
    approvalRequestEmail(incident, {
      role: approval.role,
      to,
      link: `${deps.publicBaseUrl}/approvals/${encodeURIComponent(formatApprovalId({ ...key, secret }))}`,
      rule: round.rule,
      round: round.round,
      dueAt: seat === 'primary' ? clock.dueAt : clock.finalAt,
      decisionMinutes: decisionMinutes(deps.deadlines, incident.severity),
      decisionDue: clock.dueAt,
      resolution: resolutionDeadline(incident, deps.deadlines.targets),
      now: deps.clock.now().toISOString(),
      ...(lastSeen
        ? { changes: { since: lastSeen.version, lines: planChanges(lastSeen, planSnapshot(plan)) } }
        : {}),
      ...(seat === 'backup'
        ? { backupFor: { primary: approverAt(approval, 'primary'), deadline: clock.dueAt } }
        : {}),
      ...withReply(incident, plan.version),
    }),
  );

  // 2.
  const at = deps.clock.now().toISOString();
  await deps.approvals.markEmailed(key, seat, hashLinkSecret(secret), at);

  // 3.
  const role = ROLE_LABEL[approval.role];
  const asked =
    seat === 'primary'
      ? `${role}: ${to.name} (${to.email}) asked to decide on plan v${plan.version} (round ${round.round}${lastSeen ? `; saw v${lastSeen.version} before` : ''})`
      : `${role}: backup ${to.name} (${to.email}) asked to decide on plan v${plan.version} (round ${round.round}): ${approval.approverName} had not decided by the deadline`;
  await deps.incidents.addTimelineEvent(incident.id, {
    key: `approval-requested:${round.round}:${approval.role}${seat === 'primary' ? '' : ':backup'}`,
    at,
    world: 'RML3',
    type: 'approval_requested',
    phase: 'Decide',
    summary: asked,
    detail: {
      role: approval.role,
      round: round.round,
      seat,
      planHash: plan.hash,
      policyVersion: round.policyVersion,
    },
  });
}
