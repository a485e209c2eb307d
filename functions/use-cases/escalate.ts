/**
 * Use case: a wait for people passed its deadline. Nobody is left to find out by chance: the SRE
 * lead and the responders are e-mailed and the timeline says so; the state machine then waits again.
 *
 * Primary course:
 *  1. Count what is still open (for Act: the questions nobody answered).
 *  2. Record an `escalated` event, once per wait that passed its deadline (keyed by when that
 *     wait began), so an escalation invoked again — a retry, a restart — is the same one.
 *  3. If this call recorded it, e-mail the SRE lead and the responders.
 */
import { escalationEmail } from '../domain/messages.ts';
import type { Clock, IncidentStore, Mailer, QuestionStore, WaitStore } from '../domain/ports.ts';

export interface EscalateDeps {
  readonly incidents: Pick<IncidentStore, 'getIncident' | 'addTimelineEvent'>;
  readonly questions: Pick<QuestionStore, 'openQuestions'>;
  readonly waits: Pick<WaitStore, 'waitingSince'>;
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
  const since = (await deps.waits.waitingSince(incident.id, input.step)) ?? at;
  const recorded = await deps.incidents.addTimelineEvent(incident.id, {
    key: `escalated:${input.step}:${since}`,
    at,
    world: 'RML2',
    type: 'escalated',
    phase: incident.phase,
    summary: `Escalated to the SRE lead: ${input.step} has waited past its deadline for ${waitingOn.length || 'a'} person's answer${waitingOn.length === 1 ? '' : 's'}.`,
    detail: { step: input.step, open: waitingOn.length },
  });
  // 3.
  if (!recorded) return { escalated: false };
  for (const to of new Set([deps.sreLead, ...deps.responders])) {
    await deps.mailer.send(escalationEmail(incident, input.step, waitingOn, to));
  }
  return { escalated: true };
}
