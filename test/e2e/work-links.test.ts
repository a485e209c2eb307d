/**
 * Links with a way back, end to end on the local stack: the SRE lead reissues a responder's
 * workroom link from their own workroom (a form post, no JavaScript) — the old link is gone for
 * the view and every action, the new one arrives in the SES emulator's inbox and works, the
 * Decision Log names it — then revokes it; and once an incident closes, the links of its questions
 * about effects answer 410 and write nothing. The stack runs the `manual` payments provider, so a
 * credit is a question e-mailed to the responders.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORK_ACTIONS } from '../../functions/domain/workroom.ts';
import type { LocalStack } from '../../local/stack.ts';
import {
  approveRound,
  closeCase,
  done,
  inPhase,
  RESPONDER,
  SRE_LEAD,
  TWO_CUSTOMERS,
  work,
  workLinks,
  workToDecide,
} from '../support/casework.ts';
import { freePorts, getCase, inbox, postAlert, start, tempDataDir, waitFor } from '../support/local-stack.ts';

const alert = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

let stack: LocalStack;
beforeAll(async () => {
  stack = await start(tempDataDir(), await freePorts(), {
    environment: { CASEBOOK_PAYMENTS_PROVIDER: 'manual' },
  });
});
afterAll(() => stack?.close());

/** Posts a workroom form as a browser without JavaScript does; answers the status and the page. */
async function postForm(link: string, action: string, fields: Record<string, string>) {
  const res = await fetch(`${link}/${action}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, location: res.headers.get('location'), page: await res.text() };
}

/** The workroom links e-mailed to `to` about `incidentId`, oldest first. */
async function linksMailedTo(incidentId: string, to: string): Promise<string[]> {
  const pattern = new RegExp(`(http://\\S+/work/${incidentId}\\.[0-9a-f]{16}\\.[A-Za-z0-9_-]{43})`);
  return (await inbox(stack))
    .filter((m) => m.destination.to[0] === to)
    .flatMap((m) => pattern.exec(m.body.text ?? '')?.slice(1, 2) ?? []);
}

async function opened(fingerprint: string, name: string): Promise<string> {
  const res = await postAlert(
    stack,
    alert.replaceAll('5f1a4c2e9b7d3a80', fingerprint).replaceAll('PaymentDoubleCharge', name),
  );
  expect(res.status).toBe(201);
  return ((await res.json()) as { incidentId: string }).incidentId;
}

/** What a refused or gone request must leave as it was: the case, its timeline and both logs. */
async function recorded(incidentId: string): Promise<string> {
  const c = await getCase(stack, incidentId);
  return JSON.stringify([c.incident, c.timeline, c.decisions]);
}

describe('the SRE lead reissues and revokes a person’s workroom link', () => {
  it('reissues: the old link is gone for the view and every action, the new one is e-mailed to that person and works, and the Decision Log says so', async () => {
    const incidentId = await opened('5f1a4c2e9b7d3b01', 'PaymentDoubleChargeLinks');
    const links = await workLinks(stack, incidentId);
    const responder = links.get(RESPONDER) as string;
    const lead = links.get(SRE_LEAD) as string;
    await inPhase(responder, 'Contain');
    await done(responder, 'acknowledge');

    // The SRE lead's page offers both, for each person; a responder's offers neither.
    const leadPage = await (await fetch(lead)).text();
    expect(leadPage).toContain(`action="/work/${lead.split('/work/')[1]}/reissue-link"`);
    expect(leadPage).toContain(`action="/work/${lead.split('/work/')[1]}/revoke-link"`);
    expect(leadPage).toContain(`<option value="${RESPONDER}"`);
    expect(leadPage).not.toContain(responder.split('.').at(-1));
    const responderPage = await (await fetch(responder)).text();
    expect(responderPage).not.toContain('reissue-link');

    // Refused requests write nothing and name what is wrong.
    const before = await recorded(incidentId);
    const noReason = await postForm(lead, 'reissue-link', { person: RESPONDER, reason: '' });
    expect(noReason.status).toBe(400);
    expect(noReason.page).toMatch(/Reason[^<]*<\/a>: is required/);
    const stranger = await postForm(lead, 'reissue-link', { person: 'eve@example.com', reason: 'x' });
    expect(stranger.status).toBe(400);
    expect(stranger.page).toContain('must be one of the responders or the SRE lead');
    const own = await postForm(lead, 'revoke-link', { person: SRE_LEAD, reason: 'testing' });
    expect(own.status).toBe(400);
    expect(own.page).toContain('would lock you out');
    const byResponder = await work(responder, 'reissue-link', { person: SRE_LEAD, reason: 'takeover' });
    expect(byResponder.status).toBe(403);
    expect(await recorded(incidentId)).toBe(before);
    expect(await linksMailedTo(incidentId, RESPONDER)).toEqual([responder]);

    // The reissue, as a form post: back to the page, which says so and shows no secret.
    const reissued = await postForm(lead, 'reissue-link', {
      person: RESPONDER,
      reason: 'The responder’s laptop was stolen',
    });
    expect(reissued.status).toBe(303);
    const confirmed = await fetch(new URL(reissued.location as string, lead));
    const confirmation = await confirmed.text();
    expect(confirmation).toContain('The new link is e-mailed to its person');
    const mailed = await waitFor('the new link in the inbox', async () => {
      const all = await linksMailedTo(incidentId, RESPONDER);
      return all.length === 2 ? all : undefined;
    });
    const fresh = mailed[1] as string;
    expect(fresh).not.toBe(responder);
    const freshSecret = fresh.split('.').at(-1) as string;
    expect(confirmation).not.toContain(freshSecret);
    expect(JSON.stringify(await getCase(stack, incidentId))).not.toContain(freshSecret);
    // Only that person got mail about it.
    expect(
      (await inbox(stack))
        .filter((m) => m.subject.includes('new workroom link'))
        .map((m) => m.destination.to),
    ).toEqual([[RESPONDER]]);

    // The old link: gone for the view (page and JSON) and for every action, writing nothing.
    const goneBefore = await recorded(incidentId);
    const view = await fetch(responder);
    expect(view.status).toBe(410);
    expect(await view.text()).toMatch(/replaced .* newer link/);
    expect((await fetch(responder, { headers: { accept: 'application/json' } })).status).toBe(410);
    for (const action of Object.keys(WORK_ACTIONS)) {
      const answer = await work(responder, action, action === 'customers' ? TWO_CUSTOMERS : { text: 'x' });
      expect([action, answer.status]).toEqual([action, 410]);
    }
    expect((await postForm(responder, 'note', { text: 'from the old link' })).status).toBe(410);
    expect(await recorded(incidentId)).toBe(goneBefore);

    // The new link works.
    expect((await fetch(fresh)).status).toBe(200);
    await done(fresh, 'note', { text: 'Back in with the new link' });

    // On the Decision Log and the timeline: who, whose link, when, why.
    const c = await getCase(stack, incidentId);
    const decision = c.decisions.find((d) => d.kind === 'link_reissued');
    expect(decision).toMatchObject({
      actor: `${SRE_LEAD} (SRE lead)`,
      detail: { person: RESPONDER, reason: 'The responder’s laptop was stolen' },
    });
    expect((decision as unknown as { at: string }).at).toMatch(/^\d{4}-/);
    expect(c.timeline.find((e) => e.type === 'link_reissued')?.summary).toContain(RESPONDER);

    // Revoke: the link stops working at once, with a clear message; nothing else changes.
    const revoked = await postForm(lead, 'revoke-link', { person: RESPONDER, reason: 'Left the rota' });
    expect(revoked.status).toBe(303);
    const afterRevoke = await fetch(fresh);
    expect(afterRevoke.status).toBe(410);
    expect(await afterRevoke.text()).toContain('revoked');
    expect((await work(fresh, 'note', { text: 'still here?' })).status).toBe(410);
    const revokedCase = await getCase(stack, incidentId);
    expect(revokedCase.decisions.find((d) => d.kind === 'link_revoked')).toMatchObject({
      actor: `${SRE_LEAD} (SRE lead)`,
      detail: { person: RESPONDER, reason: 'Left the rota' },
    });
    expect(revokedCase.incident.status).toBe(c.incident.status);
    const commander = (x: typeof c) => (x.incident as unknown as { commander?: string }).commander;
    expect(commander(revokedCase)).toBe(commander(c));
    // The SRE lead's own link is untouched.
    expect((await fetch(lead)).status).toBe(200);
  }, 120_000);
});

describe('a question about an effect, once its incident is closed', () => {
  it('answers 410 to its view and to an answer, and writes nothing', async () => {
    const incidentId = await opened('5f1a4c2e9b7d3b02', 'PaymentDoubleChargeQuestions');
    const responder = (await workLinks(stack, incidentId)).get(RESPONDER) as string;
    await inPhase(responder, 'Contain');
    await workToDecide(responder, TWO_CUSTOMERS.replace(/,$/gm, ',ch_paid_by_card'), {
      summary: 'A goodwill credit for each affected customer, applied by hand.',
      apply: [{ kind: 'credit', amount: '5.00', currency: 'EUR', obligation: 'brand' }],
      effects: [],
    });
    await inPhase(responder, 'Decide');
    await approveRound(stack, incidentId);

    // With the manual provider each credit is a question to the responders; they do it by hand.
    const questions = await waitFor(
      'a question about each credit',
      async () => {
        const found = (await inbox(stack))
          .filter((m) => m.body.text?.includes(`/effects/${incidentId}.`))
          .map((m) => /(http:\/\/\S+\/effects\/\S+)/.exec(m.body.text ?? '')?.[1] as string);
        return found.length === 2 ? found : undefined;
      },
      60_000,
    );
    for (const [i, question] of questions.entries()) {
      const answered = await fetch(question, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ answer: 'done-by-hand', reference: `CR-${i}`, note: 'credited' }),
      });
      expect(answered.status).toBe(303);
    }
    await closeCase(stack, incidentId, { link: responder });

    const before = await recorded(incidentId);
    const question = questions[0] as string;
    const view = await fetch(question);
    expect(view.status).toBe(410);
    expect(await view.text()).toContain('closed');
    const answer = await fetch(question, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ answer: 'void', note: 'after the close' }),
    });
    expect(answer.status).toBe(410);
    expect(await recorded(incidentId)).toBe(before);
    // A forged link to the same question stays a 404: a closed incident says nothing to a guess.
    const forged = question.replace(/\.[A-Za-z0-9_-]{43}$/, `.${'A'.repeat(43)}`);
    expect((await fetch(forged)).status).toBe(404);
  }, 180_000);
});
