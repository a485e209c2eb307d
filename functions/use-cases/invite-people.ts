/**
 * Use case: an incident opens, and its people are invited — each responder and the SRE lead get a
 * personal link to the workroom.
 *
 * Primary course, per person:
 *  1. Write their link (a fresh secret; only its hash is kept), unless they have one: then, unless
 *     its e-mail went out already, add a further secret to it.
 *  2. E-mail the link, then mark it e-mailed, and put the invitation on the timeline.
 *
 * Idempotent: invited again (a retried step, a restarted execution) nobody gets a second e-mail
 * once the first was marked sent. A crash between sending and marking sends the invitation again
 * with a further secret, and the secret already in the inbox keeps working: replacing it would
 * leave that person a link that answers 404.
 */
import { hashLinkSecret } from '../domain/approval.ts';
import { incidentDeadlines } from '../domain/casework.ts';
import type { DeadlineRules } from '../domain/deadlines.ts';
import { ConflictError } from '../domain/errors.ts';
import { workroomInvitation } from '../domain/messages.ts';
import type { Clock, IncidentStore, Mailer, WorkLinkStore } from '../domain/ports.ts';
import type { WorkLink } from '../domain/work-link.ts';
import {
  canAddSecret,
  formatWorkLinkId,
  newWorkLinkSecret,
  personKey,
  reissuedLink,
  workLinkExpiry,
} from '../domain/work-link.ts';
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
    const sending = await invitationLink(deps, incident.id, email, role);
    if (!sending) continue;
    const { link, url } = sending;

    // 2.
    const now = deps.clock.now();
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

/** The URL of a link with `secret`: `<base>/work/<incident>.<person>.<secret>`. */
export function workLinkUrl(
  publicBaseUrl: string,
  link: Pick<WorkLink, 'incidentId' | 'person'>,
  secret: string,
): string {
  return `${publicBaseUrl.replace(/\/+$/, '')}/work/${formatWorkLinkId({ ...link, secret })}`;
}

/**
 * A further secret of `link`, written before the e-mail that carries it; the link's URL with it,
 * or undefined when the link takes no more (revoked, expired, full) or kept changing meanwhile.
 */
export async function furtherLinkUrl(
  deps: Pick<InviteDeps, 'links' | 'publicBaseUrl' | 'clock'>,
  link: WorkLink,
): Promise<string | undefined> {
  let current: WorkLink | undefined = link;
  for (let attempt = 0; attempt < 3 && current; attempt++) {
    const now = deps.clock.now();
    if (!canAddSecret(current, now)) return undefined;
    const secret = newWorkLinkSecret();
    if (await deps.links.addWorkLinkSecret(current, hashLinkSecret(secret), now.toISOString()))
      return workLinkUrl(deps.publicBaseUrl, current, secret);
    current = await deps.links.getWorkLink(link.incidentId, link.person);
  }
  return undefined;
}

/** The link to invite `email` with, and its URL; undefined when their invitation went out already. */
async function invitationLink(
  deps: InviteDeps,
  incidentId: string,
  email: string,
  role: WorkRole,
): Promise<{ readonly link: WorkLink; readonly url: string } | undefined> {
  const person = personKey(incidentId, email);
  let held = await deps.links.getWorkLink(incidentId, person);
  if (!held) {
    const now = deps.clock.now();
    const secret = newWorkLinkSecret();
    const link: WorkLink = {
      incidentId,
      person,
      email,
      role,
      secretHash: hashLinkSecret(secret),
      issuedAt: now.toISOString(),
      expiresAt: workLinkExpiry(now),
    };
    if (await deps.links.putWorkLink(link))
      return { link, url: workLinkUrl(deps.publicBaseUrl, link, secret) };
    held = await deps.links.getWorkLink(incidentId, person);
  }
  // Sent already; or revoked before its e-mail went out, which the SRE lead meant.
  if (!held || held.emailedAt || held.revoked) return undefined;
  const url = await furtherLinkUrl(deps, held);
  if (url) return { link: held, url };
  // A link that takes no further secret (expired, full) is reissued: what was sent of it says replaced (410).
  const now = deps.clock.now();
  const secret = newWorkLinkSecret();
  const next = reissuedLink(held, hashLinkSecret(secret), now);
  if (!(await deps.links.replaceWorkLink(next, held.secretHash)))
    throw new ConflictError(`The workroom link of ${email} changed meanwhile`);
  return { link: next, url: workLinkUrl(deps.publicBaseUrl, next, secret) };
}
