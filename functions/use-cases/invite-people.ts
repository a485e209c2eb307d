/**
 * Use case: an incident opens, and its people are invited — each responder and the SRE lead get a
 * personal link to the workroom.
 *
 * Primary course, per person:
 *  1. Write their link (a fresh secret; only its hash is kept), unless its e-mail went out already.
 *  2. E-mail the link, then mark it e-mailed, and put the invitation on the timeline.
 *
 * Idempotent: invited again (a retried step, a restarted execution) nobody gets a second e-mail;
 * a link whose e-mail never went out is replaced and sent.
 */
import { hashLinkSecret } from '../domain/approval.ts';
import { incidentDeadlines } from '../domain/casework.ts';
import type { DeadlineRules } from '../domain/deadlines.ts';
import { workroomInvitation } from '../domain/messages.ts';
import type { Clock, IncidentStore, Mailer, WorkLinkStore } from '../domain/ports.ts';
import type { WorkLink } from '../domain/work-link.ts';
import { formatWorkLinkId, newWorkLinkSecret, personKey, workLinkExpiry } from '../domain/work-link.ts';
import type { WorkRole } from '../domain/workroom.ts';
import { incidentOfStep } from './enter-phase.ts';

export interface People {
  readonly responders: readonly string[];
  readonly sreLead: string;
}

export interface InviteDeps {
  readonly incidents: Pick<IncidentStore, 'getIncident' | 'addTimelineEvent'>;
  readonly links: WorkLinkStore;
  readonly mailer: Mailer;
  readonly people: People;
  readonly policy: DeadlineRules;
  readonly publicBaseUrl: string;
  readonly clock: Clock;
}

/** Everyone who works incidents, once each: the SRE lead as SRE lead, even when also a responder. */
export function roster(people: People): { readonly email: string; readonly role: WorkRole }[] {
  const lead = people.sreLead.toLowerCase();
  return [
    { email: people.sreLead, role: 'sre_lead' as const },
    ...[...new Set(people.responders)]
      .filter((r) => r.toLowerCase() !== lead)
      .map((email) => ({ email, role: 'responder' as const })),
  ];
}

export async function invitePeople(
  deps: InviteDeps,
  step: { readonly incidentId: string },
): Promise<{ readonly invited: number }> {
  // Answers how many people are invited (now or before), the same however often it runs.
  const incident = await incidentOfStep(deps, step.incidentId);
  const respondBy = incidentDeadlines(incident, deps.policy).find((d) => d.kind === 'response')?.due;
  const people = roster(deps.people);
  for (const { email, role } of people) {
    // 1.
    const now = deps.clock.now();
    const secret = newWorkLinkSecret();
    const link: WorkLink = {
      incidentId: incident.id,
      person: personKey(incident.id, email),
      email,
      role,
      secretHash: hashLinkSecret(secret),
      issuedAt: now.toISOString(),
      expiresAt: workLinkExpiry(now),
    };
    if (!(await deps.links.putWorkLink(link))) continue;

    // 2.
    const url = `${deps.publicBaseUrl}/work/${formatWorkLinkId({ ...link, secret })}`;
    await deps.mailer.send(
      workroomInvitation(incident, role, email, url, respondBy ? { due: respondBy, now } : undefined),
    );
    await deps.links.markWorkLinkEmailed(incident.id, link.person, deps.clock.now().toISOString());
    await deps.incidents.addTimelineEvent(incident.id, {
      key: `invited:${link.person}`,
      at: link.issuedAt,
      world: 'RML2',
      type: 'invited',
      phase: incident.phase,
      summary: `${email} invited to the workroom as ${role === 'sre_lead' ? 'SRE lead' : 'responder'}`,
      detail: { email, role },
    });
  }
  return { invited: people.length };
}
