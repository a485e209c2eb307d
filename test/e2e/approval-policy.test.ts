/**
 * Decide by policy on the local stack: the approval policy (configured as an operator would, in
 * CASEBOOK_APPROVAL_POLICY) asks the roles the incident's size calls for; the round is one wait,
 * decided as soon as its quorum is reached or out of reach; a veto, a rejection or a request for
 * changes sends the incident back to Understand, and the next round's approvers see what changed.
 * The links, clicked and posted over HTTP as a browser or a mail scanner would: GET and HEAD decide
 * nothing, a second POST is 409, a POST after the round 410, a bad link 404.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/env-names.ts';
import type { LocalStack } from '../../local/stack.ts';
import {
  APOLOGY,
  done,
  RESPONDER,
  resubmitPlan,
  SRE_LEAD,
  TWO_CUSTOMERS,
  workLinks,
  workToDecide,
} from '../support/casework.ts';
import type { CaseJson } from '../support/local-stack.ts';
import {
  approvalLinks,
  approve,
  decide,
  freePorts,
  getCase,
  inbox,
  postAlert,
  start,
  tempDataDir,
  waitFor,
} from '../support/local-stack.ts';

const sample = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8'),
) as Record<string, unknown>;

/** The roster by name, and a medium incident carried by two of the three. */
const POLICY = {
  approvers: {
    legal: {
      primary: { email: 'lee@casebook.local', name: 'Lee Legal' },
      backup: { email: 'lou@casebook.local', name: 'Lou Legal' },
    },
    business: { primary: { email: 'bo@casebook.local', name: 'Bo Business' } },
    sre: { primary: { email: 'sam@casebook.local', name: 'Sam SRE' } },
  },
  sizes: { medium: { roles: ['legal', 'business', 'sre'], quorum: 2 } },
};

let stack: LocalStack;
const saved = process.env[ENV.approvalPolicy];
beforeAll(async () => {
  process.env[ENV.approvalPolicy] = JSON.stringify(POLICY);
  stack = await start(tempDataDir(), await freePorts());
}, 120_000);
afterAll(async () => {
  await stack?.close();
  if (saved === undefined) delete process.env[ENV.approvalPolicy];
  else process.env[ENV.approvalPolicy] = saved;
});

let alerts = 0;
/**
 * Opens an incident (an alert of its own) and works it to Decide through the responder's link;
 * the SRE lead sets its size when it is not the small one the impact gives (three customers'
 * money). Answers the incident, the responder's link and the round-1 approval links by role.
 */
async function decideOn(size: 'small' | 'medium' | 'large') {
  const body = { ...sample, groupKey: `{}:{alertname="PolicyDrill${++alerts}"}` };
  const res = await postAlert(stack, JSON.stringify(body));
  expect(res.status).toBe(201);
  const { incidentId } = (await res.json()) as { incidentId: string };
  const people = await workLinks(stack, incidentId);
  const responder = people.get(RESPONDER) as string;
  await workToDecide(responder, TWO_CUSTOMERS, APOLOGY, {
    beforeSubmit: () =>
      size === 'small'
        ? Promise.resolve()
        : done(people.get(SRE_LEAD) as string, 'size', { size, reason: `drill: treat it as ${size}` }),
  });
  const links = await approvalLinks(stack, incidentId, 1);
  return { incidentId, responder, links };
}

function link(links: Map<string, string>, role: string): string {
  const found = links.get(role);
  if (!found) throw new Error(`${role} was not asked`);
  return found;
}

const inPhaseOf = (incidentId: string, phase: string) =>
  waitFor(`${incidentId} in ${phase}`, async () => {
    const c = await getCase(stack, incidentId);
    return c.incident.phase === phase ? c : undefined;
  });

const approvals = (c: CaseJson) => c.decisions.filter((d) => d.kind === 'approval');

describe('Decide by the approval policy on the local stack', () => {
  it('asks by size: small SRE and Business, medium all three, large all three with Legal holding a veto', async () => {
    const small = await decideOn('small');
    expect([...small.links.keys()].sort()).toEqual(['business', 'sre']);
    const medium = await decideOn('medium');
    expect([...medium.links.keys()].sort()).toEqual(['business', 'legal', 'sre']);
    const large = await decideOn('large');
    expect([...large.links.keys()].sort()).toEqual(['business', 'legal', 'sre']);
    const rounds = await Promise.all(
      [small, medium, large].map(async (d) => (await getCase(stack, d.incidentId)).incident.approvalRound),
    );
    expect(rounds.map((r) => [r?.size, r?.rule.quorum, r?.rule.veto])).toEqual([
      ['small', 2, []],
      ['medium', 2, []],
      ['large', 3, ['legal']],
    ]);
    // Each round's rule and the policy's version are on the Decision Log.
    const opened = (await getCase(stack, large.incidentId)).decisions.find(
      (d) => d.kind === 'approval_round',
    );
    expect(opened?.detail).toMatchObject({
      round: 1,
      size: 'large',
      roles: ['legal', 'business', 'sre'],
      quorum: 3,
      veto: ['legal'],
      policyVersion: rounds[2]?.policyVersion,
    });
    // The e-mails go to the roster, by name.
    const mails = (await inbox(stack)).filter((m) => m.subject.includes(`${large.incidentId}:`));
    expect(
      mails.filter((m) => m.subject.includes('approval needed')).map((m) => m.destination.to[0]),
    ).toEqual(expect.arrayContaining(['lee@casebook.local', 'bo@casebook.local', 'sam@casebook.local']));
    expect(mails.find((m) => m.destination.to[0] === 'lee@casebook.local')?.body.text).toMatch(
      /^Lee Legal, /,
    );
  });

  it('ends the round as soon as the quorum is reached: Act without Legal, whose request is closed', async () => {
    const { incidentId, links } = await decideOn('medium');
    expect((await approve(link(links, 'sre'), 'Contained, the plan is sound')).status).toBe(303);
    expect((await getCase(stack, incidentId)).incident.phase).toBe('Decide');
    expect((await approve(link(links, 'business'), 'Apologise today')).status).toBe(303);
    const acting = await waitFor('Act to begin', async () => {
      const c = await getCase(stack, incidentId);
      return ['Act', 'Learn'].includes(c.incident.phase) ? c : undefined;
    });
    expect(acting.incident.approvalRound?.decided).toMatchObject({
      verdict: 'approved',
      reason: '2 of 3 approved (quorum 2)',
    });
    expect(approvals(acting).map((d) => [d.role, d.actor, d.decision])).toEqual([
      ['sre', 'Sam SRE <sam@casebook.local>', 'approve'],
      ['business', 'Bo Business <bo@casebook.local>', 'approve'],
    ]);
    const legal = link(links, 'legal');
    const page = await (await fetch(legal)).text();
    expect(page).toContain('<strong>Closed.</strong> <bdi>Round 1 was decided before you did: Approved');
    expect(page).not.toContain('Record my decision');
    const late = await decide(legal, 'reject', 'I was not asked in time');
    expect(late.status).toBe(410);
    expect(approvals(await getCase(stack, incidentId))).toHaveLength(2);
  });

  it('lets Legal veto a large incident after the others approved: back to Understand with the reason', async () => {
    const { incidentId, links } = await decideOn('large');
    await approve(link(links, 'business'));
    await approve(link(links, 'sre'));
    const vetoed = await decide(
      link(links, 'legal'),
      'reject',
      'Personal data reached the wrong customers: notify under GDPR Art. 34 first',
      'GDPR Art. 34',
    );
    expect(vetoed.status).toBe(303);
    const back = await inPhaseOf(incidentId, 'Understand');
    expect(back.incident.planRejected?.reason).toBe(
      'Vetoed: Legal rejected: Personal data reached the wrong customers: notify under GDPR Art. 34 first (Legal holds a veto)',
    );
    expect(back.decisions.find((d) => d.kind === 'approval' && d.role === 'legal')).toMatchObject({
      actor: 'Lee Legal <lee@casebook.local>',
      decision: 'reject',
      basis: { planVersion: 1, policy: 'GDPR Art. 34' },
      detail: { basis: 'GDPR Art. 34', policyVersion: back.incident.approvalRound?.policyVersion },
    });
    expect(back.decisions.find((d) => d.kind === 'approval_round_decided')?.decision).toBe('vetoed');
    expect(back.timeline.some((t) => t.type === 'plan_rejected' && t.summary.includes('Vetoed'))).toBe(true);
  });

  it('ends the round when the quorum is out of reach, closing the request still open', async () => {
    const { incidentId, links } = await decideOn('medium');
    await decide(link(links, 'business'), 'reject', 'The credit is missing');
    expect((await getCase(stack, incidentId)).incident.phase).toBe('Decide');
    await decide(link(links, 'sre'), 'reject', 'Wait for the fix to ship');
    const back = await inPhaseOf(incidentId, 'Understand');
    expect(back.incident.planRejected?.reason).toBe(
      'Rejected: the quorum of 2 of 3 can no longer be reached: Business rejected: The credit is missing; SRE rejected: Wait for the fix to ship',
    );
    expect(await (await fetch(link(links, 'legal'))).text()).toContain('<strong>Closed.</strong>');
    expect((await approve(link(links, 'legal'))).status).toBe(410);
  });

  it('sends a request for changes back, and shows the next round what changed since the plan it saw', async () => {
    const { incidentId, responder, links } = await decideOn('small');
    await approve(link(links, 'sre'));
    expect((await decide(link(links, 'business'), 'request-changes', 'Refund them too')).status).toBe(303);
    const back = await inPhaseOf(incidentId, 'Understand');
    expect(back.incident.planRejected?.reason).toMatch(
      /^Changes requested: .*Business requested changes: Refund them too$/,
    );
    // Plan v1 was sent back: it cannot be submitted again; a revised one can.
    await resubmitPlan(responder);
    const second = await approvalLinks(stack, incidentId, 2);
    expect([...second.keys()].sort()).toEqual(['business', 'sre']);
    const mail = (await inbox(stack)).find(
      (m) =>
        m.destination.to[0] === 'bo@casebook.local' && m.body.text?.includes(`${incidentId}.2.business.`),
    );
    expect(mail?.body.text).toContain('What changed since plan v1, which you saw:');
    expect(mail?.body.text).toContain('- Effects: 2 → 4');
    expect(mail?.body.text).toContain('- Added Notice (ToS line): 2');
    const page = await (await fetch(link(second, 'business'))).text();
    expect(page).toContain('<h2>What changed since plan v1, which you saw in round 1</h2>');
    // The first round's links are over.
    expect((await approve(link(links, 'business'))).status).toBe(409);
    for (const role of ['business', 'sre']) expect((await approve(link(second, role))).status).toBe(303);
    const acting = await waitFor('Act to begin', async () => {
      const c = await getCase(stack, incidentId);
      return ['Act', 'Learn'].includes(c.incident.phase) ? c : undefined;
    });
    expect(approvals(acting).map((d) => [d.detail.round, d.role, d.decision, d.basis?.planVersion])).toEqual([
      [1, 'sre', 'approve', 1],
      [1, 'business', 'request-changes', 1],
      [2, 'business', 'approve', 2],
      [2, 'sre', 'approve', 2],
    ]);
  });

  it('decides nothing on GET and HEAD, however often; a second POST is 409, a bad link 404, each page with safe headers', async () => {
    const { incidentId, links } = await decideOn('small');
    const before = await getCase(stack, incidentId);
    for (const url of links.values()) {
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) => fetch(url, { method: i % 2 === 0 ? 'GET' : 'HEAD' })),
      );
      for (const answer of answers) {
        expect(answer.status).toBe(200);
        expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
        expect(answer.headers.get('cache-control')).toBe('no-store');
        expect(answer.headers.get('content-security-policy')).toContain("default-src 'none'");
        await answer.arrayBuffer();
      }
    }
    const after = await getCase(stack, incidentId);
    expect(approvals(after)).toEqual([]);
    expect(after.incident.approvalRound?.decided).toBeUndefined();
    expect(after.timeline.length).toBe(before.timeline.length);
    const page = await (await fetch(link(links, 'sre'))).text();
    expect(page).not.toMatch(/<script|<link |<img |src=/i);

    const sre = link(links, 'sre');
    expect((await approve(sre, 'first')).status).toBe(303);
    for (const again of [
      () => approve(sre, 'second'),
      () => decide(sre, 'reject', 'I changed my mind'),
      () => fetch(sre, { method: 'POST', body: 'not a form' }),
    ]) {
      const res = await again();
      expect(res.status).toBe(409);
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(await res.text()).toMatch(
        /Already decided by Sam SRE \(sam@casebook\.local\) at \d{1,2} [A-Z][a-z]{2} \d{2}:\d{2} UTC: SRE approved: first/,
      );
    }
    expect(approvals(await getCase(stack, incidentId))).toHaveLength(1);

    const id = sre.split('/approvals/')[1] as string;
    const secret = id.split('.').at(-1) as string;
    const base = sre.slice(0, sre.length - id.length);
    const tampered = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    const bad = [
      id.replace(secret, tampered),
      `${incidentId}.1.sre.${'A'.repeat(43)}`,
      id.replace('.1.sre.', '.01.sre.'),
      id.replace('.1.sre.', '.1.legal.'),
      `${incidentId}.9.sre.${secret}`,
    ];
    const notFound = new Set<string>();
    for (const wrong of bad) {
      for (const method of ['GET', 'HEAD', 'POST']) {
        const res = await fetch(`${base}${wrong}`, {
          method,
          redirect: 'manual',
          ...(method === 'POST'
            ? {
                headers: { 'content-type': 'application/x-www-form-urlencoded' },
                body: 'decision=approve',
              }
            : {}),
        });
        expect(res.status, `${method} ${wrong.slice(0, 30)}…`).toBe(404);
        expect(res.headers.get('cache-control')).toBe('no-store');
        if (method === 'GET') notFound.add(await res.text());
      }
    }
    // The same page whichever part was wrong.
    expect(notFound.size).toBe(1);
    expect(approvals(await getCase(stack, incidentId))).toHaveLength(1);
  });
});
