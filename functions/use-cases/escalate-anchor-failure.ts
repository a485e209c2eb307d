/**
 * Use case: the ledger could not be anchored when the incident closed, even after the retries.
 * The closed case is then not yet out of reach of the table's writers: the SRE lead and the
 * responders are told (the scheduled anchor tries again; an anchor failing there too is theirs to
 * look into), and the timeline says so — once per execution, however often the step runs.
 */
import { CasebookError, ERROR_NAMES } from '../domain/errors.ts';
import { escalationEmail } from '../domain/messages.ts';
import type { Clock, IncidentStore, Mailer } from '../domain/ports.ts';
import type { People } from './invite-people.ts';

export interface EscalateAnchorFailureDeps {
  readonly incidents: Pick<IncidentStore, 'getIncident' | 'addTimelineEvent' | 'listTimeline'>;
  readonly mailer: Mailer;
  readonly people: People;
  readonly clock: Clock;
}

export async function escalateAnchorFailure(
  deps: EscalateAnchorFailureDeps,
  step: {
    readonly incidentId: string;
    readonly execution: string;
    readonly failure?: { readonly Error?: string; readonly Cause?: string };
  },
): Promise<{ readonly escalated: boolean }> {
  const incident = await deps.incidents.getIncident(step.incidentId);
  if (!incident) throw new CasebookError(ERROR_NAMES.incidentNotFound, `No incident ${step.incidentId}`);
  const key = `escalated:anchor:${step.execution}`;
  if ((await deps.incidents.listTimeline(incident.id)).some((e) => e.key === key))
    return { escalated: false };
  const error = step.failure?.Error ?? 'an unknown error';
  const what = `The ledger could not be anchored when ${incident.id} closed (${error}); the scheduled anchor tries again — check the anchor bucket and the anchor-ledger function`;
  const seen = new Set<string>();
  const recipients = [deps.people.sreLead, ...deps.people.responders].filter((to) => {
    const k = to.toLowerCase();
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  for (const to of recipients) await deps.mailer.send(escalationEmail(incident, what, [], to));
  await deps.incidents.addTimelineEvent(incident.id, {
    key,
    at: deps.clock.now().toISOString(),
    world: 'RML2',
    type: 'escalated',
    phase: incident.phase,
    summary: `Escalated to the SRE lead and the responders: ${what}`.slice(0, 2000),
    detail: {
      kind: 'anchor',
      error,
      ...(step.failure?.Cause ? { cause: step.failure.Cause.slice(0, 1000) } : {}),
      to: recipients,
    },
  });
  return { escalated: true };
}
