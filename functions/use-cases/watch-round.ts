/**
 * Use case, part of reading the clock (watch-deadlines.ts) while an approval round waits: the
 * round's own moments (issue 11, point 6), each once however often the clock is read.
 *
 * Primary course:
 *  1. Find the requests of the current round still undecided; a decided round has met its deadline.
 *  2. From half the round's deadline: remind each undecided approver, once (the e-mail, then a
 *     timeline event keyed by round and role).
 *  3. From the deadline: ask the backup on the roster of each undecided role, once — a link of
 *     their own on the role's request, so whichever of the two decides first decides for the role.
 *  4. Answer the round's final timeout (escalated by watch-deadlines when it passes, with who is
 *     still awaited) and the moments still ahead, so the wait wakes for them.
 */
import type { Approval } from '../domain/approval.ts';
import { approverAt, hashLinkSecret, newLinkSecret } from '../domain/approval.ts';
import type { ApprovalPolicy } from '../domain/approval-policy.ts';
import type { Deadline, RoundRules } from '../domain/deadlines.ts';
import { roundClock } from '../domain/deadlines.ts';
import { humanInstant } from '../domain/human-time.ts';
import type { ApprovalRound, Incident } from '../domain/incident.ts';
import { approvalReminderEmail } from '../domain/messages.ts';
import type { ApprovalStore } from '../domain/ports.ts';
import { ROLE_LABEL } from '../domain/vocabulary.ts';
import type { AskApproverDeps } from './ask-approver.ts';
import { askApprover, roundStart } from './ask-approver.ts';

export interface WatchRoundDeps extends Omit<AskApproverDeps, 'deadlines'> {
  readonly approvals: Pick<ApprovalStore, 'listApprovals' | 'askBackup' | 'markEmailed'>;
  /** The roster as configured now: whom each role's backup is. */
  readonly roster: ApprovalPolicy['roster'];
  readonly policy: RoundRules;
}

export interface RoundWatch {
  /** The round's final timeout: escalated when it passes unmet (met once the round is decided). */
  readonly deadline: Deadline;
  /** The reminder and the deadline, while still ahead: the wait wakes for them. */
  readonly upcoming: readonly Pick<Deadline, 'due'>[];
  /** Who the round still waits for, as the escalation lists them. */
  readonly waitingOn: readonly string[];
}

/** The round's moments at `now`; undefined when the incident has no round under way. */
export async function watchRound(
  deps: WatchRoundDeps,
  incident: Incident,
  now: Date,
  told: ReadonlySet<string>,
): Promise<RoundWatch | undefined> {
  // 1.
  const round = incident.approvalRound;
  if (round?.round !== incident.decideRound) return undefined;
  const clock = roundClock(roundStart(incident, round), deps.policy, incident.severity);
  const deadline: Deadline = {
    kind: 'decision',
    due: clock.finalAt,
    ...(round.decided ? { metAt: round.decided.at } : {}),
  };
  if (round.decided) return { deadline, upcoming: [], waitingOn: [] };
  const pending = (await deps.approvals.listApprovals(incident.id, round.round)).filter(
    (a) => a.status === 'PENDING' && a.planHash === round.planHash,
  );
  const reached = (at: string) => Date.parse(at) <= now.getTime();

  // 2.
  if (reached(clock.remindAt)) {
    for (const approval of pending) await remind(deps, incident, round, approval, clock, told);
  }

  // 3.
  const asked: Approval[] = [];
  for (const approval of pending) {
    asked.push(reached(clock.dueAt) ? await askBackup(deps, incident, round, approval) : approval);
  }

  // 4.
  return {
    deadline,
    upcoming: [clock.remindAt, clock.dueAt].filter((at) => !reached(at)).map((due) => ({ due })),
    waitingOn: asked.map((a) => awaited(a, now)),
  };
}

/** Step 2 for one request: the reminder to its primary, once. */
async function remind(
  deps: WatchRoundDeps,
  incident: Incident,
  round: ApprovalRound,
  approval: Approval,
  clock: ReturnType<typeof roundClock>,
  told: ReadonlySet<string>,
): Promise<void> {
  const key = `approval-reminded:${round.round}:${approval.role}`;
  if (told.has(key)) return;
  const to = approverAt(approval, 'primary');
  const backup = deps.roster[approval.role]?.backup;
  await deps.mailer.send(
    approvalReminderEmail(incident, {
      role: approval.role,
      to,
      round: round.round,
      planVersion: approval.planVersion,
      dueAt: clock.dueAt,
      finalAt: clock.finalAt,
      requestedAt: approval.emailedAt ?? approval.requestedAt,
      ...(backup ? { backup } : {}),
    }),
  );
  await deps.incidents.addTimelineEvent(incident.id, {
    key,
    at: deps.clock.now().toISOString(),
    world: 'RML3',
    type: 'approval_reminded',
    phase: 'Decide',
    summary: `${ROLE_LABEL[approval.role]}: ${to.name} (${to.email}) reminded that their decision on plan v${approval.planVersion} is due by ${clock.dueAt} (round ${round.round})`,
    detail: { role: approval.role, round: round.round, due: clock.dueAt },
  });
}

/** Step 3 for one request: its backup asked and e-mailed, once; answers the request as it stands. */
async function askBackup(
  deps: WatchRoundDeps,
  incident: Incident,
  round: ApprovalRound,
  approval: Approval,
): Promise<Approval> {
  const seat = deps.roster[approval.role]?.backup;
  const plan = incident.plan;
  if (!seat || approval.backup?.emailedAt || plan?.hash !== round.planHash) return approval;
  const withBackup =
    approval.backup !== undefined
      ? approval
      : await deps.approvals.askBackup(approval, {
          email: seat.email,
          name: seat.name,
          requestedAt: deps.clock.now().toISOString(),
          // No link carries this secret: the one e-mailed replaces its hash (askApprover).
          linkSecretHash: hashLinkSecret(newLinkSecret()),
        });
  // Decided meanwhile (or withdrawn with its round): nobody more to ask.
  if (withBackup?.status !== 'PENDING' || !withBackup.backup || withBackup.backup.emailedAt) {
    return withBackup ?? approval;
  }
  await askApprover({ ...deps, deadlines: deps.policy }, incident, round, plan, withBackup, 'backup');
  return withBackup;
}

/** `Legal: Lee Legal (lee@…); backup Lou Legal (lou@…) asked 29 Nov 08:59 UTC` */
function awaited(approval: Approval, now: Date): string {
  const primary = approverAt(approval, 'primary');
  const backup = approval.backup;
  return `${ROLE_LABEL[approval.role]}: ${primary.name} (${primary.email})${
    backup
      ? `; backup ${backup.name} (${backup.email}) asked ${humanInstant(new Date(backup.requestedAt), now)}`
      : '; no backup on the roster'
  }`;
}
