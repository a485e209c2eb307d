/**
 * Use case: the SRE lead reissues or revokes one person's workroom link, once the decision is on
 * the Decision Log and the timeline (`functions/use-cases/workroom.ts` records it first).
 *
 * Primary course (reissue):
 *  1. Write the link with a fresh secret (only its hash is kept) and a new lifetime, over the one
 *     read: the old secret is retired and answers 410 from now on; a revoke is lifted.
 *  2. E-mail the new link to that person alone, through the invitation's mailer, and mark it
 *     e-mailed. The secret goes nowhere else: not in the answer, not in a log line.
 *
 * Primary course (revoke): mark the link revoked; it answers 410 from the next request on.
 */
import { hashLinkSecret } from '../domain/approval.ts';
import type { LinkChange, Person } from '../domain/casework.ts';
import { ConflictError } from '../domain/errors.ts';
import type { Incident } from '../domain/incident.ts';
import { workroomLinkReissued } from '../domain/messages.ts';
import type { Clock, Mailer, WorkLinkStore } from '../domain/ports.ts';
import type { WorkLink } from '../domain/work-link.ts';
import { newWorkLinkSecret, personKey, reissuedLink, workLinkExpiry } from '../domain/work-link.ts';
import type { People } from './invite-people.ts';
import { roster, workLinkUrl } from './invite-people.ts';

export interface ChangeWorkLinkDeps {
  readonly links: WorkLinkStore;
  readonly mailer: Mailer;
  readonly people: People;
  /** Where links point: the public API's base URL. */
  readonly publicBaseUrl: string;
  readonly clock: Clock;
}

export async function changeWorkLink(
  deps: ChangeWorkLinkDeps,
  incident: Pick<Incident, 'id' | 'title' | 'severity'>,
  change: LinkChange,
  by: Person,
): Promise<void> {
  const person = personKey(incident.id, change.email);
  const link = await deps.links.getWorkLink(incident.id, person);
  const now = deps.clock.now();
  if (change.kind === 'revoke') {
    // A person never invited holds no link: there is nothing that could still work.
    if (link)
      await deps.links.revokeWorkLink(incident.id, person, {
        at: now.toISOString(),
        by: by.email,
        reason: change.reason,
      });
    return;
  }

  // 1.
  const secret = newWorkLinkSecret();
  const role =
    roster(deps.people).find((p) => p.email.toLowerCase() === change.email.toLowerCase())?.role ??
    'responder';
  const fresh: WorkLink = {
    incidentId: incident.id,
    person,
    email: change.email,
    role,
    secretHash: hashLinkSecret(secret),
    issuedAt: now.toISOString(),
    expiresAt: workLinkExpiry(now),
  };
  const next = link ? reissuedLink(link, fresh.secretHash, now) : fresh;
  const written = link
    ? await deps.links.replaceWorkLink(next, link.secretHash)
    : await deps.links.putWorkLink(next);
  if (!written)
    throw new ConflictError(
      `The link of ${change.email} changed meanwhile; look at the Decision Log and try again`,
    );

  // 2.
  const url = workLinkUrl(deps.publicBaseUrl, next, secret);
  await deps.mailer.send(
    workroomLinkReissued(incident, next.role, next.email, url, by.email, next.expiresAt),
  );
  await deps.links.markWorkLinkEmailed(incident.id, person, deps.clock.now().toISOString());
}
