/**
 * Use case: before each wait for people, and whenever a wait's time runs out, the state machine
 * reads the clock. Nobody is left to find out by chance that a deadline passed.
 *
 * Primary course:
 *  1. Work out the deadlines that matter now: the incident's (response, resolution, the regulatory
 *     clock, the postmortem; they follow its severity) and the wait's own (an approval round's
 *     final timeout; answers to questions about effects, from the earliest still open). An approval round's own moments come
 *     first: its undecided approvers reminded at half its deadline, the backups asked at the
 *     deadline (watch-round.ts).
 *  2. The regulatory clock is Legal's: when it is running and Legal has not been told, tell Legal
 *     by when the regulator must be notified.
 *  3. For each deadline that passed unmet, once: an e-mail to the SRE lead and the responders (and
 *     to Legal when it is the regulatory clock), then an `escalated` event; a missed resolution
 *     target is also an SLO breach on the incident.
 *  4. Answer how long the wait may last before the clock is read again: until the next deadline,
 *     or the round's next moment — or sooner, when the caller says so (Act's provider is due a look).
 *
 * A deadline met late (the resolution target, when Act ran past it) counts as missed: the first
 * look at the clock afterwards records and escalates it, once.
 *
 * Idempotent: what was told is on the timeline (keyed by deadline kind and due time), so a later
 * look at the clock sends nothing twice. The event is written after the e-mails: a step that
 * failed halfway through sending (and is retried) may send one twice, but never leaves a missed
 * deadline on the timeline as escalated with nobody told.
 */
import { incidentDeadlines } from '../domain/casework.ts';
import type { Deadline, DeadlinePolicy } from '../domain/deadlines.ts';
import { missed, secondsUntilNextCheck } from '../domain/deadlines.ts';
import type { EffectQuestion } from '../domain/effects.ts';
import type { Incident } from '../domain/incident.ts';
import { escalationEmail, regulatoryClockEmail } from '../domain/messages.ts';
import type { Clock, IncidentStore, Mailer, MailMessage, QuestionStore } from '../domain/ports.ts';
import type { WaitStep } from '../domain/waits.ts';
import { WAITS } from '../domain/waits.ts';
import { incidentOfStep } from './enter-phase.ts';
import type { People } from './invite-people.ts';
import type { WatchRoundDeps } from './watch-round.ts';
import { watchRound } from './watch-round.ts';

export interface WatchDeadlinesDeps extends WatchRoundDeps {
  readonly incidents: Pick<
    IncidentStore,
    'getIncident' | 'addTimelineEvent' | 'listTimeline' | 'updateIncident'
  >;
  readonly questions: Pick<QuestionStore, 'openQuestions'>;
  readonly mailer: Mailer;
  readonly people: People;
  /** Legal's address (the Legal approver's): the regulatory clock is theirs to watch. */
  readonly legal: string;
  readonly policy: DeadlinePolicy;
  readonly clock: Clock;
}

const MISSED: Readonly<Record<Deadline['kind'], string>> = {
  response: 'The response target passed with nobody acknowledging',
  resolution: 'The resolution target passed: the SLO is breached',
  regulatory:
    'The regulatory clock ran out (from awareness of a personal-data breach, GDPR Art. 33) without the regulator told',
  postmortem: 'The postmortem is overdue',
  decision:
    "The approval round is still undecided past its deadline and its backups' time (the final timeout)",
  answers: 'Questions about effects have waited past their deadline',
};

export async function watchDeadlines(
  deps: WatchDeadlinesDeps,
  input: {
    readonly incidentId: string;
    readonly step: WaitStep;
    /** The longest the wait may last whatever the deadlines say (the provider is due a look). */
    readonly atMostSeconds?: number;
  },
): Promise<{ readonly seconds: number; readonly escalated: number }> {
  const incident = await incidentOfStep(deps, input.incidentId);
  const now = deps.clock.now();
  const at = now.toISOString();

  // 1.
  const told = new Set((await deps.incidents.listTimeline(incident.id)).map((e) => e.key));
  const own = WAITS[input.step].ownDeadline;
  const open = own === 'answers' ? await deps.questions.openQuestions(incident.id) : [];
  const round = own === 'decision' ? await watchRound(deps, incident, now, told) : undefined;
  const all = [
    ...incidentDeadlines(incident, deps.policy),
    ...(round ? [round.deadline] : []),
    ...answersDeadline(open, deps.policy),
  ];

  // 2.
  const regulatory = all.find((d) => d.kind === 'regulatory' && !d.metAt);
  const shownKey = regulatory && `deadline-shown:regulatory:${regulatory.due}`;
  if (regulatory && shownKey && !told.has(shownKey) && Date.parse(regulatory.due) > now.getTime()) {
    await deps.mailer.send(
      regulatoryClockEmail(incident, { due: regulatory.due, missed: false }, deps.people.sreLead, deps.legal),
    );
    await deps.incidents.addTimelineEvent(incident.id, {
      key: shownKey,
      at,
      world: 'RML2',
      type: 'deadline_shown',
      phase: incident.phase,
      summary: `Legal (${deps.legal}) told of the regulatory clock: the regulator must be notified by ${regulatory.due}`,
      detail: { kind: 'regulatory', due: regulatory.due, to: deps.legal },
    });
  }

  // 3.
  let escalated = 0;
  for (const deadline of missed(all, now)) {
    if (deadline.kind === 'resolution' && !told.has(SLO_BREACHED)) {
      await recordSloBreach(deps, incident, deadline, at);
    }
    const key = `escalated:${deadline.kind}:${deadline.due}`;
    if (told.has(key)) continue;
    const what = `${MISSED[deadline.kind]} (due ${deadline.due}${deadline.metAt ? `; met late, at ${deadline.metAt}` : ''})`;
    const waitingOn =
      deadline.kind === 'answers'
        ? open.map((q) => `${q.effectId} (${q.reason}, asked ${q.askedAt})`)
        : deadline.kind === 'decision'
          ? (round?.waitingOn ?? [])
          : [];
    const recipients = escalationRecipients(deps, deadline);
    for (const message of escalationMessages(deps, incident, deadline, what, waitingOn, recipients)) {
      await deps.mailer.send(message);
    }
    await deps.incidents.addTimelineEvent(incident.id, {
      key,
      at,
      world: 'RML2',
      type: 'escalated',
      phase: incident.phase,
      summary: `Escalated to ${deadline.kind === 'regulatory' ? 'Legal, ' : ''}the SRE lead and the responders: ${what}`,
      detail: { kind: deadline.kind, due: deadline.due, step: input.step, to: recipients },
    });
    escalated += 1;
  }

  // 4.
  const seconds = secondsUntilNextCheck(
    [...all, ...(round?.upcoming ?? [])],
    now,
    deps.policy.floorSeconds,
    deps.policy.ceilingSeconds,
  );
  return { seconds: Math.min(seconds, input.atMostSeconds ?? seconds), escalated };
}

/** The SRE lead and the responders, and Legal when the regulator was not told; each address once. */
function escalationRecipients(deps: WatchDeadlinesDeps, deadline: Deadline): string[] {
  const all = [
    deps.people.sreLead,
    ...deps.people.responders,
    ...(deadline.kind === 'regulatory' ? [deps.legal] : []),
  ];
  const seen = new Set<string>();
  return all.filter((to) => {
    const key = to.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Legal reads what is theirs to do about the regulator; everyone else the escalation. */
function escalationMessages(
  deps: WatchDeadlinesDeps,
  incident: Incident,
  deadline: Deadline,
  what: string,
  waitingOn: readonly string[],
  recipients: readonly string[],
): MailMessage[] {
  return recipients.map((to) =>
    deadline.kind === 'regulatory' && !deadline.metAt && to.toLowerCase() === deps.legal.toLowerCase()
      ? regulatoryClockEmail(incident, { due: deadline.due, missed: true }, deps.people.sreLead, to)
      : escalationEmail(incident, what, waitingOn, to),
  );
}

/** Keyed without the due time: a severity change that moves the target does not breach it twice. */
const SLO_BREACHED = 'slo-breached';

/** The SLO breach, on the incident (the first time) and on the timeline (once). */
async function recordSloBreach(
  deps: WatchDeadlinesDeps,
  incident: Incident,
  deadline: Deadline,
  at: string,
): Promise<void> {
  if (!incident.sloBreachedAt) {
    await deps.incidents.updateIncident(incident, { sloBreachedAt: at, updatedAt: at });
  }
  await deps.incidents.addTimelineEvent(incident.id, {
    key: SLO_BREACHED,
    at: incident.sloBreachedAt ?? at,
    world: 'RML2',
    type: 'slo_breached',
    phase: incident.phase,
    summary: `SLO breached: ${incident.severity} resolution target ${deadline.due} passed ${deadline.metAt ? `(resolved late, at ${deadline.metAt})` : 'unresolved'}`,
    detail: { due: deadline.due, severity: incident.severity },
  });
}

/**
 * The deadline of Act's wait itself: the answers to its open questions are due the policy's time
 * after the earliest of them was asked. Counted from the questions, never from the wait, which is
 * entered anew at every look at the clock.
 */
function answersDeadline(open: readonly EffectQuestion[], policy: DeadlinePolicy): Deadline[] {
  const asked = open.map((q) => Date.parse(q.askedAt)).filter((t) => Number.isFinite(t));
  if (asked.length === 0) return [];
  const due = new Date(Math.min(...asked) + policy.answersMinutes * 60_000).toISOString();
  return [{ kind: 'answers', due }];
}
