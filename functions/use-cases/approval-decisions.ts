/**
 * Use cases behind an approval link: viewing the case (GET/HEAD, which never decides anything)
 * and deciding (POST). The link finds everything on the server — the request, its round, the
 * round's one wait — so a wait entered again (a deadline, a moved deadline) breaks no link.
 *
 * Primary course (decide):
 *  1. Check the link's secret against the request it names: unknown, forged or not written as
 *     Casebook writes it → 404, one answer for all.
 *  2. A request decided already → 409 "already decided by … at …", whatever is posted; first,
 *     what that decision may have left undone (a failure part-way) is finished.
 *  3. A request whose round is over (decided, replaced, the incident cancelled or moved on) → 410.
 *  4. Check the form: approve, reject or request changes (the last two with a comment), and an
 *     optional basis; a wrong form → 400, nothing recorded.
 *  5. Settle the request (only one racing request can), with the roster's name for its approver
 *     and the client's address and user agent.
 *  6. Append the decision to the Decision Log — who, role, decision, comment, the plan version and
 *     hash, the basis, the policy version, the time — and put it on the timeline.
 *  7. Weigh the round by its rule. Once it is decided (quorum reached; or a veto, rejections or a
 *     request for changes leave it out of reach): record how on the incident and the Decision Log,
 *     close the requests still pending, and answer the round's wait, once.
 */
import type { Approval, ApprovalRef, DecisionClient, SeatName } from '../domain/approval.ts';
import {
  approverAt,
  DECIDED_STATUS,
  parseApprovalId,
  parseDecisionForm,
  seatOfSecret,
  votesOf,
} from '../domain/approval.ts';
import type { RoundState } from '../domain/approval-policy.ts';
import { DECISION_VERB, describeVote, evaluateRound, VERDICT_LABEL } from '../domain/approval-policy.ts';
import {
  type Deadline,
  type DeadlinePolicy,
  decisionMinutes,
  resolutionDeadline,
  roundClock,
} from '../domain/deadlines.ts';
import { ConflictError, GoneError, NotFoundError } from '../domain/errors.ts';
import { humanInstant } from '../domain/human-time.ts';
import type { ApprovalRound, Incident, TimelineEvent } from '../domain/incident.ts';
import type { LedgerEntry } from '../domain/ledger.ts';
import { LIMITS } from '../domain/limits.ts';
import { planChanges, planSnapshot } from '../domain/plan.ts';
import type {
  ApprovalStore,
  Clock,
  EffectStore,
  IncidentStore,
  Ledger,
  WaitStore,
  Workflow,
} from '../domain/ports.ts';
import { replyToChangeRequest } from '../domain/progress-mail.ts';
import { ROLE_LABEL } from '../domain/vocabulary.ts';
import { endWait, settledEnding } from './hold-for-people.ts';
import { type NoticeSample, noticeSamples } from './notice-samples.ts';
import { retryOnConflict } from './retry-on-conflict.ts';

export interface ApprovalDecisionDeps {
  readonly incidents: IncidentStore;
  readonly effects: EffectStore;
  readonly approvals: ApprovalStore;
  readonly ledger: Ledger;
  /** Where the round's wait keeps its task token. */
  readonly waits: WaitStore;
  readonly workflow: Pick<Workflow, 'completeTask' | 'failTask'>;
  readonly clock: Clock;
  /** How long a round may take to be decided, and how long its backups have after its deadline. */
  readonly policy: Pick<DeadlinePolicy, 'targets' | 'decisionMinutes' | 'escalationMinutes'>;
}

/** The reply to the change request that plan v`version` answers, for the view. */
function withReply(incident: Incident, version: number) {
  const reply = replyToChangeRequest(incident, version);
  return reply ? { reply } : {};
}

/** Everything the approval page shows. */
export interface ApprovalView {
  readonly approval: Approval;
  /** Whose link was opened: the role's primary, or its backup. */
  readonly seat: SeatName;
  readonly incident: Incident;
  /** Every request of the request's round, its own among them. */
  readonly roundApprovals: readonly Approval[];
  /** The round's rule and outcome, while the incident still knows them (its newest round). */
  readonly round?: ApprovalRound;
  /** What changed since the plan this approver saw in an earlier round. */
  readonly changes?: { readonly since: number; readonly lines: readonly string[] };
  /** The responder's reply to the change request this plan version answers. */
  readonly reply?: { readonly request: string; readonly reply: string; readonly by: string };
  /** The request can be decided now: it waits, in its incident's open round. */
  readonly canDecide: boolean;
  /** Why it cannot, when it waits but its round is over. */
  readonly over?: string;
  readonly timeline: readonly TimelineEvent[];
  readonly ledger: readonly LedgerEntry[];
  /** One message of each wording the plan sends, as its first recipient gets it. */
  readonly sampleNotices: readonly NoticeSample[];
  /** When the view was read, by the deps' clock: the page says how long ago things were from it. */
  readonly now: Date;
  /**
   * By when the viewer is asked to decide: the round's deadline for the primary (their backup is
   * asked then), its final timeout for the backup (the SRE lead is told then).
   */
  readonly dueAt: string;
  /** How long the incident's severity gives its approvers (the deadline policy's decision target). */
  readonly decisionMinutes: number;
  /** The round's decision deadline (a backup's own is the later final timeout, `dueAt`). */
  readonly decisionDue: string;
  /** The incident's resolution deadline: the page says when it has already passed. */
  readonly resolution: Deadline;
}

async function authorize(
  deps: Pick<ApprovalDecisionDeps, 'approvals'>,
  approvalId: string,
): Promise<{ ref: ApprovalRef; approval: Approval; seat: SeatName }> {
  const ref = parseApprovalId(approvalId);
  const approval = ref ? await deps.approvals.getApproval(ref) : undefined;
  const seat = ref && approval ? seatOfSecret(approval, ref.secret) : undefined;
  // One answer for malformed, unknown and forged links: the page reveals nothing either way.
  if (!ref || !approval || !seat) throw new NotFoundError('No such approval request');
  return { ref, approval, seat };
}

/** Why a request's round is over, or undefined while it can still be decided. */
function roundOver(incident: Incident, approval: Approval): string | undefined {
  if (approval.status === 'WITHDRAWN') return approval.withdrawnReason ?? 'The round closed.';
  if (incident.status === 'CANCELLED' || incident.status === 'CLOSED') {
    return `The incident is ${incident.status.toLowerCase()}.`;
  }
  if (incident.decideRound !== approval.round) {
    return `Approval round ${incident.decideRound} replaced round ${approval.round}.`;
  }
  const round = incident.approvalRound;
  if (round?.round === approval.round && round.decided) {
    return `Round ${round.round} was decided: ${VERDICT_LABEL[round.decided.verdict]} (${round.decided.reason}).`;
  }
  if (incident.phase !== 'Decide') return `The incident is in ${incident.phase}, not deciding.`;
  if (incident.plan?.hash !== approval.planHash) return 'The plan changed after this request was sent.';
  return undefined;
}

/** Loads what the approval page shows. Reads only. */
export async function viewApproval(deps: ApprovalDecisionDeps, approvalId: string): Promise<ApprovalView> {
  const { approval, seat } = await authorize(deps, approvalId);
  const [incident, roundApprovals, timeline, ledger] = await Promise.all([
    deps.incidents.getIncident(approval.incidentId),
    deps.approvals.listApprovals(approval.incidentId, approval.round),
    deps.incidents.listTimeline(approval.incidentId),
    deps.ledger.read(approval.incidentId),
  ]);
  if (!incident) throw new NotFoundError('No such approval request');
  const over = approval.status === 'PENDING' ? roundOver(incident, approval) : undefined;
  const seen = approval.plan ?? (incident.plan ? planSnapshot(incident.plan) : undefined);
  const clock = roundClock(incident.decideRoundAt ?? approval.requestedAt, deps.policy, incident.severity);
  return {
    approval,
    seat,
    incident,
    roundApprovals,
    ...(incident.approvalRound?.round === approval.round ? { round: incident.approvalRound } : {}),
    ...(approval.lastSeen && seen
      ? { changes: { since: approval.lastSeen.version, lines: planChanges(approval.lastSeen, seen) } }
      : {}),
    ...withReply(incident, approval.planVersion),
    canDecide: approval.status === 'PENDING' && over === undefined,
    ...(over ? { over } : {}),
    timeline,
    ledger,
    sampleNotices: await noticeSamples(deps, incident),
    now: deps.clock.now(),
    dueAt: seat === 'primary' ? clock.dueAt : clock.finalAt,
    decisionMinutes: decisionMinutes(deps.policy, incident.severity),
    decisionDue: clock.dueAt,
    resolution: resolutionDeadline(incident, deps.policy.targets),
  };
}

export interface DecideResult {
  readonly approval: Approval;
  /** Where the round stands after this decision. */
  readonly round: RoundState['state'] | 'unknown';
  /** Whether the round's wait was waiting and heard the round's outcome from this request. */
  readonly resumedWorkflow: boolean;
}

/** The client a request came from, as API Gateway saw it; kept short whatever was sent. */
export function decisionClient(ip: string | undefined, userAgent: string | undefined): DecisionClient {
  return {
    ip: (ip ?? '').slice(0, 64),
    userAgent: (userAgent ?? '').toWellFormed().slice(0, LIMITS.userAgentChars),
  };
}

export async function decideApproval(
  deps: ApprovalDecisionDeps,
  approvalId: string,
  fields: () => Readonly<Record<string, string>>,
  client: DecisionClient,
): Promise<DecideResult> {
  // 1.
  const { ref, approval, seat } = await authorize(deps, approvalId);
  const incident = await deps.incidents.getIncident(approval.incidentId);
  if (!incident) throw new NotFoundError('No such approval request');

  // 2.
  if (approval.decision) {
    await finishDecision(deps, approval);
    throw alreadyDecided(approval);
  }

  // 3.
  const over = roundOver(incident, approval);
  if (over) throw new GoneError(`This request can no longer be decided. ${over}`);

  // 4.
  const form = parseDecisionForm(fields());

  // 5.
  const decision = {
    decision: form.decision,
    seat,
    name: approverAt(approval, seat).name,
    comment: form.comment,
    ...(form.basis ? { basis: form.basis } : {}),
    at: deps.clock.now().toISOString(),
    client,
  };
  // Only one racing request settles it; whichever lost is told who won.
  if (!(await deps.approvals.settleApproval(ref, DECIDED_STATUS[form.decision], { decision }))) {
    const now = await deps.approvals.getApproval(ref);
    throw now?.decision ? alreadyDecided(now) : new GoneError('This request can no longer be decided.');
  }
  return finishDecision(deps, { ...approval, status: DECIDED_STATUS[form.decision], decision });
}

function alreadyDecided(approval: Approval): ConflictError {
  const d = approval.decision;
  const at = d ? humanInstant(new Date(d.at), new Date(d.at)) : '?';
  const by = approverAt(approval, d?.seat ?? 'primary');
  return new ConflictError(
    `Already decided by ${d?.name ?? by.name} (${by.email}) at ${at}: ${d ? describeVote({ role: approval.role, decision: d.decision, comment: d.comment }) : approval.status}. A decision cannot be changed.`,
  );
}

/**
 * Steps 6 and 7 after the request is settled. Each part is idempotent (the Decision Log and the
 * timeline by key, the round by what the incident records), so a request that failed part-way is
 * finished by the next one.
 */
async function finishDecision(deps: ApprovalDecisionDeps, approval: Approval): Promise<DecideResult> {
  const decided = approval.decision;
  if (!decided) throw new Error('finishDecision needs a decided approval');
  const role = ROLE_LABEL[approval.role];
  const email = approverAt(approval, decided.seat).email;
  const asBackup = decided.seat === 'backup' ? ', backup' : '';
  const to = decided.decision === 'request-changes' ? ' to' : '';
  const said = `${DECISION_VERB[decided.decision]}${to} plan v${approval.planVersion}${decided.comment ? `: ${decided.comment}` : ''}`;
  // 6.
  await deps.ledger.append(approval.incidentId, {
    log: 'decision',
    kind: 'approval',
    world: 'RML3',
    phase: 'Decide',
    at: decided.at,
    actor: `${decided.name} <${email}>`.slice(0, 400),
    idempotencyKey: `approval:${approval.round}:${approval.role}`,
    summary: `${role} (${decided.name}${asBackup}) ${said}`.slice(0, 2000),
    role: approval.role,
    decision: decided.decision,
    basis: {
      planHash: approval.planHash,
      planVersion: approval.planVersion,
      ...(decided.basis ? { policy: decided.basis } : {}),
    },
    detail: {
      name: decided.name,
      email,
      ...(decided.seat === 'backup' ? { seat: decided.seat } : {}),
      comment: decided.comment,
      ...(decided.basis ? { basis: decided.basis } : {}),
      round: approval.round,
      policyVersion: approval.policyVersion,
    },
  });
  await deps.incidents.addTimelineEvent(approval.incidentId, {
    key: `approval-decided:${approval.round}:${approval.role}`,
    at: decided.at,
    world: 'RML3',
    type: 'approval_decided',
    phase: 'Decide',
    summary: `${role}: ${decided.name}${asBackup ? ' (backup)' : ''} ${said} (round ${approval.round})`.slice(
      0,
      2000,
    ),
    detail: { role: approval.role, decision: decided.decision, round: approval.round, seat: decided.seat },
  });
  // 7.
  const { state, resumed } = await weighRound(deps, approval.incidentId, approval.round);
  const now = (await deps.approvals.getApproval(approval)) ?? approval;
  return { approval: now, round: state, resumedWorkflow: resumed };
}

/**
 * Step 7: weighs the round by its rule; once it is decided, records how (once, whoever gets there
 * first), closes it and answers its wait.
 */
async function weighRound(
  deps: ApprovalDecisionDeps,
  incidentId: string,
  roundNumber: number,
): Promise<{ state: RoundState['state'] | 'unknown'; resumed: boolean }> {
  return retryOnConflict(async () => {
    const incident = await deps.incidents.getIncident(incidentId);
    const round = incident?.approvalRound;
    if (!incident || round?.round !== roundNumber || incident.decideRound !== roundNumber) {
      return { state: 'unknown' as const, resumed: false };
    }
    let decided = round.decided;
    let current = incident;
    if (!decided) {
      const approvals = await deps.approvals.listApprovals(incidentId, roundNumber);
      const weighed = evaluateRound(
        round.rule,
        votesOf(approvals.filter((a) => a.planHash === round.planHash)),
      );
      if (weighed.state === 'open') return { state: 'open' as const, resumed: false };
      const at = deps.clock.now().toISOString();
      decided = { verdict: weighed.verdict, reason: weighed.reason, at };
      current = await deps.incidents.updateIncident(incident, {
        approvalRound: { ...round, decided },
        updatedAt: at,
      });
    }
    return { state: 'decided' as const, resumed: await closeRound(deps, current, { ...round, decided }) };
  });
}

/** A decided round: on the Decision Log and the timeline, its pending requests closed, its wait answered. */
async function closeRound(
  deps: ApprovalDecisionDeps,
  incident: Incident,
  round: ApprovalRound & { readonly decided: NonNullable<ApprovalRound['decided']> },
): Promise<boolean> {
  const { verdict, reason, at } = round.decided;
  const outcome = `${VERDICT_LABEL[verdict]}: ${reason}`;
  await deps.ledger.append(incident.id, {
    log: 'decision',
    kind: 'approval_round_decided',
    world: 'RML3',
    phase: 'Decide',
    at,
    actor: 'casebook (approval policy)',
    idempotencyKey: `approval-round-decided:${round.round}`,
    summary: `Round ${round.round} on plan v${round.planVersion}: ${outcome}`.slice(0, 2000),
    decision: verdict,
    basis: {
      planHash: round.planHash,
      planVersion: round.planVersion,
      policy: `approval policy ${round.policyVersion}`,
    },
    detail: { round: round.round, verdict, reason, policyVersion: round.policyVersion },
  });
  await deps.incidents.addTimelineEvent(incident.id, {
    key: `approval-round-decided:${round.round}`,
    at,
    world: 'RML3',
    type: 'approval_round_decided',
    phase: 'Decide',
    summary: `Approval round ${round.round} on plan v${round.planVersion}: ${outcome}`.slice(0, 2000),
    detail: { round: round.round, verdict },
  });
  const closed = `Round ${round.round} was decided before you did: ${outcome}. Nothing more is needed from you for it.`;
  for (const request of await deps.approvals.listApprovals(incident.id, round.round)) {
    if (request.status === 'PENDING') {
      await deps.approvals.settleApproval(request, 'WITHDRAWN', { withdrawnReason: closed.slice(0, 2000) });
    }
  }
  return endWait(
    deps,
    incident.id,
    'decide',
    settledEnding(incident, 'decide', { settledBy: `approval round ${round.round}`, at }),
  );
}
