import { describe, expect, it } from 'vitest';
import { hashLinkSecret } from '../../functions/domain/approval.ts';
import { takeAction } from '../../functions/domain/casework.ts';
import { InvalidInputError } from '../../functions/domain/errors.ts';
import type { WorkLink } from '../../functions/domain/work-link.ts';
import {
  canAddSecret,
  linkStanding,
  MORE_SECRETS_KEPT,
  newWorkLinkSecret,
  personKey,
  reissuedLink,
  revokedLink,
  workLinkExpiry,
} from '../../functions/domain/work-link.ts';
import { allowedActions, refusal, WORK_ACTIONS } from '../../functions/domain/workroom.ts';
import { plainIncident } from '../support/incidents.ts';

const LEAD = 'lead@example.com';
const RESPONDER = 'responder@example.com';
const PEOPLE = [LEAD, RESPONDER];
const NOW = '2026-11-22T10:00:00.000Z';
const incident = { ...plainIncident(1), phase: 'Contain' as const, status: 'INVESTIGATING' as const };
const lead = { email: LEAD, role: 'sre_lead' as const };

function link(secret: string, issuedAt = '2026-11-22T09:00:00.000Z'): WorkLink {
  return {
    incidentId: incident.id,
    person: personKey(incident.id, RESPONDER),
    email: RESPONDER,
    role: 'responder',
    secretHash: hashLinkSecret(secret),
    issuedAt,
    expiresAt: workLinkExpiry(new Date(issuedAt)),
    emailedAt: issuedAt,
  };
}

describe('reissuing and revoking a workroom link: who may, and what is recorded', () => {
  it('are the SRE lead’s, in every open phase, and never a responder’s', () => {
    for (const action of ['reissue-link', 'revoke-link'] as const) {
      expect(refusal(action, 'responder', 'Contain')?.status).toBe(403);
      expect(refusal(action, 'sre_lead', 'Act')).toBeUndefined();
      expect(refusal(action, 'sre_lead', 'Learn')).toBeUndefined();
      expect(allowedActions('sre_lead', 'Decide')).toContain(action);
      expect(allowedActions('responder', 'Decide')).not.toContain(action);
    }
  });

  it('name the person and want a reason: a form without them is a 400 naming each field', () => {
    const parsed = WORK_ACTIONS['reissue-link'].schema.safeParse({ person: 'not an address', reason: ' ' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['person', 'reason']);
  });

  it('records a reissue on the Decision Log and the timeline (who, whose link, when, why) and changes nothing else', () => {
    const out = takeAction(
      incident,
      lead,
      'reissue-link',
      { person: RESPONDER, reason: 'Their laptop was stolen' },
      NOW,
      PEOPLE,
    );
    expect(out.change).toEqual({});
    expect(out.link).toEqual({ kind: 'reissue', email: RESPONDER, reason: 'Their laptop was stolen' });
    expect(out.decision).toMatchObject({
      log: 'decision',
      kind: 'link_reissued',
      at: NOW,
      actor: `${LEAD} (SRE lead)`,
      detail: { person: RESPONDER, reason: 'Their laptop was stolen' },
    });
    expect(out.decision?.summary).toContain(RESPONDER);
    expect(out.events).toHaveLength(1);
    expect(out.events[0]).toMatchObject({ type: 'link_reissued', at: NOW });
    expect(out.events[0]?.summary).toContain('Their laptop was stolen');
    // Not working the incident: the SRE lead does not acknowledge it (nor become its commander) by this.
    expect(out.change).not.toHaveProperty('acknowledgedAt');
    expect(out.wake).toBeUndefined();
  });

  it('records a revoke, and refuses the SRE lead’s own (they would lock themselves out) and anyone off the roster', () => {
    const out = takeAction(
      incident,
      lead,
      'revoke-link',
      { person: RESPONDER, reason: 'Left the team' },
      NOW,
      PEOPLE,
    );
    expect(out.link).toEqual({ kind: 'revoke', email: RESPONDER, reason: 'Left the team' });
    expect(out.decision).toMatchObject({ kind: 'link_revoked', detail: { person: RESPONDER } });
    expect(out.events[0]?.type).toBe('link_revoked');

    const refused = (action: 'reissue-link' | 'revoke-link', person: string) => {
      try {
        takeAction(incident, lead, action, { person, reason: 'why' }, NOW, PEOPLE);
      } catch (error) {
        return error instanceof InvalidInputError ? error.issues.map((i) => i.field) : error;
      }
      return 'taken';
    };
    expect(refused('revoke-link', LEAD)).toEqual(['person']);
    expect(refused('revoke-link', 'LEAD@example.com')).toEqual(['person']);
    expect(refused('revoke-link', 'stranger@example.com')).toEqual(['person']);
    expect(refused('reissue-link', 'stranger@example.com')).toEqual(['person']);
    // Their own link may be reissued: a new one arrives by e-mail, so nobody is locked out.
    expect(refused('reissue-link', LEAD)).toBe('taken');
  });
});

describe('what a presented link secret stands for', () => {
  const now = new Date(NOW);

  it('the current secret works until the link expires or is revoked', () => {
    const secret = newWorkLinkSecret();
    expect(linkStanding(link(secret), secret, now)).toEqual({ status: 200 });
    expect(linkStanding(link(secret), newWorkLinkSecret(), now).status).toBe(404);
    expect(linkStanding(undefined, secret, now).status).toBe(404);
    const old = link(secret, '2026-01-02T10:30:00.000Z');
    expect(linkStanding(old, secret, now)).toMatchObject({
      status: 410,
      message: expect.stringMatching(/expired/),
    });

    const revoked = revokedLink(link(secret), { at: NOW, by: LEAD, reason: 'Left the team' });
    const standing = linkStanding(revoked, secret, new Date('2026-11-22T10:00:01Z'));
    expect(standing).toMatchObject({ status: 410, message: expect.stringMatching(/revoked/) });
    // The reason is the Decision Log's, not shown to whoever holds the link.
    expect(standing.message).not.toContain('Left the team');
  });

  it('a reissue retires the old secret (410, saying a newer link was e-mailed), clears a revoke and starts a new lifetime', () => {
    const first = newWorkLinkSecret();
    const second = newWorkLinkSecret();
    const revoked = revokedLink(link(first), { at: NOW, by: LEAD, reason: 'Left the team' });
    const later = new Date('2026-12-01T08:00:00.000Z');
    const next = reissuedLink(revoked, hashLinkSecret(second), later);
    expect(next.revoked).toBeUndefined();
    expect(next.emailedAt).toBeUndefined();
    expect(next.issuedAt).toBe(later.toISOString());
    expect(next.expiresAt).toBe(workLinkExpiry(later));
    expect(linkStanding(next, second, later)).toEqual({ status: 200 });
    expect(linkStanding(next, first, later)).toMatchObject({
      status: 410,
      message: expect.stringMatching(/replaced .* newer link/),
    });
    // Reissued again: both earlier secrets stay gone, and the record keeps only hashes.
    const third = newWorkLinkSecret();
    const again = reissuedLink(next, hashLinkSecret(third), later);
    expect(linkStanding(again, first, later).status).toBe(410);
    expect(linkStanding(again, second, later).status).toBe(410);
    expect(JSON.stringify(again)).not.toContain(second);
  });

  it('a further secret opens the same link, is revoked with it, and a reissue retires every one', () => {
    const first = newWorkLinkSecret();
    const more = [newWorkLinkSecret(), newWorkLinkSecret()];
    const held = { ...link(first), moreSecrets: more.map(hashLinkSecret) };
    for (const secret of [first, ...more]) expect(linkStanding(held, secret, now)).toEqual({ status: 200 });
    expect(linkStanding(held, newWorkLinkSecret(), now).status).toBe(404);

    const revoked = revokedLink(held, { at: NOW, by: LEAD, reason: 'Left the team' });
    for (const secret of [first, ...more])
      expect(linkStanding(revoked, secret, now)).toMatchObject({
        status: 410,
        message: expect.stringMatching(/revoked/),
      });
    expect(canAddSecret(revoked, now)).toBe(false);

    const fresh = newWorkLinkSecret();
    const next = reissuedLink(revoked, hashLinkSecret(fresh), now);
    expect(next.moreSecrets).toBeUndefined();
    expect(linkStanding(next, fresh, now)).toEqual({ status: 200 });
    for (const secret of [first, ...more])
      expect(linkStanding(next, secret, now)).toMatchObject({
        status: 410,
        message: expect.stringMatching(/replaced/),
      });
  });

  it('holds a bounded number of further secrets, and none once expired', () => {
    const full = {
      ...link(newWorkLinkSecret()),
      moreSecrets: Array.from({ length: MORE_SECRETS_KEPT }, () => 'h'),
    };
    expect(canAddSecret(link(newWorkLinkSecret()), now)).toBe(true);
    expect(canAddSecret({ ...full, moreSecrets: full.moreSecrets.slice(1) }, now)).toBe(true);
    expect(canAddSecret(full, now)).toBe(false);
    expect(canAddSecret(link(newWorkLinkSecret(), '2026-01-02T10:30:00.000Z'), now)).toBe(false);
  });
});
