/**
 * Use case: a wait for people passed its deadline. Nobody is left to find out by chance: the SRE
 * lead and the responders are e-mailed and the timeline says so; the state machine then waits again.
 *
 * Primary course:
 *  1. Count what is still open (for Act: the questions nobody answered).
 *  2. Record an `escalated` event (once per minute: a retried escalation is the same one).
 *  3. E-mail the SRE lead and the responders.
 */
import { escalationEmail } from '../domain/messages.ts';
import type { Clock, IncidentStore, Mailer, QuestionStore } from '../domain/ports.ts';

export interface EscalateDeps {
  readonly incidents: Pick<IncidentStore, 'getIncident' | 'addTimelineEvent'>;
  readonly questions: Pick<QuestionStore, 'openQuestions'>;
  readonly mailer: Mailer;
  readonly sreLead: string;
  readonly responders: readonly string[];
  readonly clock: Clock;
}

export async function escalate(
  deps: EscalateDeps,
  input: { readonly incidentId: string; readonly step: string },
): Promise<{ readonly escalated: boolean }> {
  const incident = await deps.incidents.getIncident(input.incidentId);
  if (!incident) return { escalated: false };
  // 1.
  const open = await deps.questions.openQuestions(incident.id);
  const waitingOn = open.map((q) => `${q.effectId} (${q.reason}, asked ${q.askedAt})`);
  // 2.
  const at = deps.clock.now().toISOString();
  await deps.incidents.addTimelineEvent(incident.id, {
    key: `escalated:${input.step}:${at.slice(0, 16)}`,
    at,
    world: 'RML2',
    type: 'escalated',
    phase: incident.phase,
    summary: `Escalated to the SRE lead: ${input.step} has waited past its deadline for ${waitingOn.length || 'a'} person's answer${waitingOn.length === 1 ? '' : 's'}.`,
    detail: { step: input.step, open: waitingOn.length },
  });
  // 3.
  for (const to of new Set([deps.sreLead, ...deps.responders])) {
    await deps.mailer.send(escalationEmail(incident, input.step, waitingOn, to));
  }
  return { escalated: true };
}
