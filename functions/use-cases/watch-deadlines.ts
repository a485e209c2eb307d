/**
 * Use case: before each wait for people, and whenever a wait's time runs out, the state machine
 * reads the clock. Nobody is left to find out by chance that a deadline passed.
 *
 * Primary course:
 *  1. Work out the deadlines that matter now: the incident's (response, resolution, the regulatory
 *     clock, the postmortem; they follow its severity) and the wait's own (an approval round's
 *     decision; answers to questions about effects).
 *  2. For each one that passed unmet, once: an `escalated` event and an e-mail to the SRE lead and
 *     the responders; a missed resolution target is also an SLO breach on the incident.
 *  3. Answer how long the wait may last before the clock is read again.
 *
 * Idempotent: each missed deadline is escalated once (its event is keyed by kind and due time), so
 * a retried step, a restart or a later look at the clock sends nothing twice.
 */
import type { WaitStep } from '../domain/casework.ts';
import { incidentDeadlines } from '../domain/casework.ts';
import type { Deadline, DeadlinePolicy } from '../domain/deadlines.ts';
import { decisionDue, missed, secondsUntilNextCheck } from '../domain/deadlines.ts';
import type { Incident } from '../domain/incident.ts';
import { escalationEmail } from '../domain/messages.ts';
import type { Clock, IncidentStore, Mailer, QuestionStore, WaitStore } from '../domain/ports.ts';
import { incidentOfStep } from './enter-phase.ts';
import type { People } from './invite-people.ts';

export interface WatchDeadlinesDeps {
  readonly incidents: Pick<IncidentStore, 'getIncident' | 'addTimelineEvent' | 'updateIncident'>;
  readonly questions: Pick<QuestionStore, 'openQuestions'>;
  readonly waits: Pick<WaitStore, 'waitingSince'>;
  readonly mailer: Mailer;
  readonly people: People;
  readonly policy: DeadlinePolicy;
  readonly clock: Clock;
}

const MISSED: Readonly<Record<Deadline['kind'], string>> = {
  response: 'The response target passed with nobody acknowledging',
  resolution: 'The resolution target passed: the SLO is breached',
  regulatory:
    'The regulatory clock ran out (72 h from awareness of a personal-data breach) without the regulator told',
  postmortem: 'The postmortem is overdue',
  decision: 'The approval round passed its deadline undecided',
  answers: 'Questions about effects have waited past their deadline',
};

export async function watchDeadlines(
  deps: WatchDeadlinesDeps,
  input: { readonly incidentId: string; readonly step: WaitStep },
): Promise<{ readonly seconds: number; readonly escalated: number }> {
  const incident = await incidentOfStep(deps, input.incidentId);
  const now = deps.clock.now();
  const at = now.toISOString();

  // 1.
  const open = input.step === 'act' ? await deps.questions.openQuestions(incident.id) : [];
  const all = [
    ...incidentDeadlines(incident, deps.policy.targets),
    ...(await waitDeadlines(deps, incident, input.step, open.length)),
  ];

  // 2.
  let escalated = 0;
  for (const deadline of missed(all, now)) {
    if (deadline.kind === 'resolution' && !incident.sloBreachedAt) {
      await deps.incidents.updateIncident(incident, { sloBreachedAt: at, updatedAt: at });
      await deps.incidents.addTimelineEvent(incident.id, {
        key: `slo-breached:${deadline.due}`,
        at,
        world: 'RML2',
        type: 'slo_breached',
        phase: incident.phase,
        summary: `SLO breached: ${incident.severity} resolution target ${deadline.due} passed unresolved`,
        detail: { due: deadline.due, severity: incident.severity },
      });
    }
    const what = `${MISSED[deadline.kind]} (due ${deadline.due})`;
    const recorded = await deps.incidents.addTimelineEvent(incident.id, {
      key: `escalated:${deadline.kind}:${deadline.due}`,
      at,
      world: 'RML2',
      type: 'escalated',
      phase: incident.phase,
      summary: `Escalated to the SRE lead and the responders: ${what}`,
      detail: { kind: deadline.kind, due: deadline.due, step: input.step },
    });
    if (!recorded) continue;
    const waitingOn = open.map((q) => `${q.effectId} (${q.reason}, asked ${q.askedAt})`);
    for (const to of new Set([deps.people.sreLead, ...deps.people.responders])) {
      await deps.mailer.send(
        escalationEmail(incident, what, deadline.kind === 'answers' ? waitingOn : [], to),
      );
    }
    escalated += 1;
  }

  // 3.
  return {
    seconds: secondsUntilNextCheck(all, now, deps.policy.floorSeconds, deps.policy.ceilingSeconds),
    escalated,
  };
}

/** The deadlines of the wait itself: an approval round's, or that of open questions about effects. */
async function waitDeadlines(
  deps: WatchDeadlinesDeps,
  incident: Incident,
  step: WaitStep,
  openQuestions: number,
): Promise<Deadline[]> {
  const after = (from: string, minutes: number) =>
    new Date(Date.parse(from) + minutes * 60_000).toISOString();
  if (step === 'decide' && incident.decideRoundAt) {
    return [{ kind: 'decision', due: decisionDue(incident.decideRoundAt, deps.policy) }];
  }
  if (step === 'act' && openQuestions > 0) {
    const since = await deps.waits.waitingSince(incident.id, 'act');
    if (since) return [{ kind: 'answers', due: after(since, deps.policy.answersMinutes) }];
  }
  return [];
}
