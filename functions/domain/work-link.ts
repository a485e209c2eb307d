/**
 * A person's link to an incident's workroom: `/work/<incident>.<person>.<secret>`. Like an
 * approval link it carries a random secret whose SHA-256 alone is stored, is bound to one
 * person, role and incident, and expires; it holds no task token (the workroom finds the current
 * wait on the server).
 */
import { randomBytes } from 'node:crypto';
import { linkSecretMatches } from './approval.ts';
import { isIncidentId } from './incident.ts';
import { sha256Hex } from './json.ts';
import type { WorkRole } from './workroom.ts';

export interface WorkLink {
  readonly incidentId: string;
  /** Names the link's record without naming the person: see {@link personKey}. */
  readonly person: string;
  readonly email: string;
  readonly role: WorkRole;
  readonly secretHash: string;
  readonly issuedAt: string;
  readonly expiresAt: string;
  /** When the invitation was e-mailed; a link whose e-mail never went out gets a fresh secret. */
  readonly emailedAt?: string;
  /** Set when the SRE lead revoked the link: it answers 410 until they reissue it. */
  readonly revoked?: LinkRevocation;
  /**
   * Hashes of further secrets that open the same link, one added each time an e-mail carries the
   * person's link (only a hash is kept, so a link once sent cannot be written again): the same
   * expiry, revoked and retired with the link. At most {@link MORE_SECRETS_KEPT}.
   */
  readonly moreSecrets?: readonly string[];
  /** The hashes of the secrets a reissue replaced, so an old link says it was replaced (410), not unknown. */
  readonly retired?: readonly { readonly secretHash: string; readonly at: string }[];
}

/** Who revoked a link, when, and why (the why is the Decision Log's, never shown to the link). */
export interface LinkRevocation {
  readonly at: string;
  readonly by: string;
  readonly reason: string;
}

export interface WorkLinkRef {
  readonly incidentId: string;
  readonly person: string;
  readonly secret: string;
}

/** How long a workroom link stays good: longer than the slowest incident's resolution and postmortem. */
export const WORK_LINK_DAYS = 60;

const LINK_ID = /^(INC-\d{4}-\d+)\.([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;

/**
 * The key of a person's link to an incident: the same for the same person and incident, so an
 * invitation sent again finds the link it made; it says nothing by itself (the secret guards the
 * link, not this key).
 */
export function personKey(incidentId: string, email: string): string {
  return sha256Hex(`${incidentId}\n${email.toLowerCase()}`).slice(0, 16);
}

/** A fresh 256-bit link secret, URL-safe. */
export function newWorkLinkSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function formatWorkLinkId(ref: WorkLinkRef): string {
  return `${ref.incidentId}.${ref.person}.${ref.secret}`;
}

/** The parts of a link id written exactly as Casebook writes it; undefined for anything else. */
export function parseWorkLinkId(value: string): WorkLinkRef | undefined {
  const m = LINK_ID.exec(value);
  if (!m || !isIncidentId(m[1] as string)) return undefined;
  const ref = { incidentId: m[1] as string, person: m[2] as string, secret: m[3] as string };
  return formatWorkLinkId(ref) === value ? ref : undefined;
}

export function workLinkExpiry(issuedAt: Date): string {
  return new Date(issuedAt.getTime() + WORK_LINK_DAYS * 86_400_000).toISOString();
}

/**
 * How many further secrets a link holds: enough for every e-mail an incident sends a person (its
 * rounds' news, a retried invitation); past it, an e-mail points at the person's earlier link.
 */
export const MORE_SECRETS_KEPT = 24;

/** How many replaced secrets a link remembers (a reissue retires all of a link's secrets); older ones answer 404. */
export const RETIRED_SECRETS_KEPT = 2 * (MORE_SECRETS_KEPT + 1);

/** Whether `secret` is one of the link's: its first secret or a further one. */
function opens(link: WorkLink, secret: string): boolean {
  return (
    linkSecretMatches(secret, link.secretHash) ||
    (link.moreSecrets ?? []).some((hash) => linkSecretMatches(secret, hash))
  );
}

/** Whether an e-mail may carry this link with a further secret: it still opens, and has room. */
export function canAddSecret(link: WorkLink, now: Date): boolean {
  return (
    !link.revoked &&
    Date.parse(link.expiresAt) > now.getTime() &&
    (link.moreSecrets?.length ?? 0) < MORE_SECRETS_KEPT
  );
}

/** What a presented secret opens: the link (200), a link that is over (410, saying why), or nothing (404). */
export type LinkStanding =
  | { readonly status: 200; readonly message?: undefined }
  | { readonly status: 404 | 410; readonly message: string };

export function linkStanding(link: WorkLink | undefined, secret: string, now: Date): LinkStanding {
  if (!link) return { status: 404, message: 'No such workroom link' };
  if (!opens(link, secret)) {
    const retired = (link.retired ?? []).find((r) => linkSecretMatches(secret, r.secretHash));
    return retired
      ? {
          status: 410,
          message: `This link was replaced at ${retired.at} by a newer link e-mailed to its holder; open the newest workroom e-mail`,
        }
      : { status: 404, message: 'No such workroom link' };
  }
  if (link.revoked) {
    return {
      status: 410,
      message: `This link was revoked at ${link.revoked.at} by the SRE lead; ask the SRE lead for a new one`,
    };
  }
  if (Date.parse(link.expiresAt) <= now.getTime()) {
    return { status: 410, message: `This link expired at ${link.expiresAt}; ask the SRE lead for a new one` };
  }
  return { status: 200 };
}

/**
 * The link with a new secret and a new lifetime: every old secret (the first and the further
 * ones) is retired, a revoke is lifted, and it waits to be e-mailed again.
 */
export function reissuedLink(link: WorkLink, secretHash: string, now: Date): WorkLink {
  const { emailedAt: _, revoked: __, moreSecrets = [], retired = [], ...rest } = link;
  const at = now.toISOString();
  return {
    ...rest,
    secretHash,
    issuedAt: at,
    expiresAt: workLinkExpiry(now),
    retired: [
      ...retired,
      ...[link.secretHash, ...moreSecrets].map((hash) => ({ secretHash: hash, at })),
    ].slice(-RETIRED_SECRETS_KEPT),
  };
}

export function revokedLink(link: WorkLink, revocation: LinkRevocation): WorkLink {
  return { ...link, revoked: revocation };
}
