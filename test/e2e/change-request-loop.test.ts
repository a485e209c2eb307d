/**
 * End to end on the local stack, over HTTP: only Acknowledge makes someone the lead (the SRE lead's
 * severity change meets the response deadline and leads nothing); a change request comes back to
 * the responders and the SRE lead by e-mail with the approvers' reason, the workroom shows it at
 * the top and opens the plan form filled in, the same plan again is refused (409) until the
 * responder replies to the request, and the approvers then read the reply.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import {
  APOLOGY,
  done,
  inPhase,
  openedToDecide,
  RESPONDER,
  SRE_LEAD,
  work,
  workLinks,
  workroom,
} from '../support/casework.ts';
import {
  approvalLinks,
  decide,
  freePorts,
  inbox,
  postAlert,
  start,
  tempDataDir,
  waitFor,
} from '../support/local-stack.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');
const alertOf = (tag: string) =>
  sample
    .replaceAll('5f1a4c2e9b7d3a80', `loop-${tag}`)
    .replaceAll('PaymentDoubleCharge', `PaymentDoubleCharge-${tag}`);

let stack: LocalStack;
beforeAll(async () => {
  stack = await start(tempDataDir(), await freePorts());
}, 120_000);
afterAll(() => stack?.close());

type View = Awaited<ReturnType<typeof workroom>> & {
  incident: { commander?: string; acknowledgedAt?: string; severity: string };
  asked: { action?: string; summary: string };
  actions: string[];
  deadlines: { kind: string; metAt?: string }[];
};

describe('who leads', () => {
  it('makes only Acknowledge make a lead; the SRE lead changing the severity first meets the response deadline', async () => {
    const opened = await postAlert(stack, alertOf('lead'));
    const { incidentId } = (await opened.json()) as { incidentId: string };
    const links = await workLinks(stack, incidentId);
    const lead = links.get(SRE_LEAD) as string;
    const responder = links.get(RESPONDER) as string;
    await inPhase(responder, 'Contain');
    const before = (await workroom(responder)) as View;
    await done(lead, 'severity', {
      severity: before.incident.severity === 'SEV1' ? 'SEV2' : 'SEV1',
      reason: 'Customers are being charged twice right now',
    });

    const changed = (await workroom(responder)) as View;
    expect(changed.incident.commander).toBeUndefined();
    expect(changed.incident.acknowledgedAt).toBeDefined();
    expect(changed.deadlines.find((d) => d.kind === 'response')?.metAt).toBeDefined();
    expect(changed.asked.action).toBe('acknowledge');
    expect(changed.actions).toContain('acknowledge');
    expect(await (await fetch(responder)).text()).toMatch(/<dt>Lead<\/dt><dd>nobody yet<\/dd>/);

    await done(responder, 'acknowledge');
    const acknowledged = (await workroom(lead)) as View;
    expect(acknowledged.incident.commander).toBe(RESPONDER);
    expect(acknowledged.incident.acknowledgedAt).toBe(changed.incident.acknowledgedAt);
    expect(acknowledged.actions).not.toContain('acknowledge');
    const page = await (await fetch(lead)).text();
    expect(page).toContain(`<dt>Lead</dt><dd>${RESPONDER}</dd>`);
    expect(page).not.toContain('id="acknowledge"');
  }, 120_000);
});

describe('a change request', () => {
  it('comes back by e-mail with its reason, opens the form filled in, and sends the same plan back only with a reply', async () => {
    const { incidentId, link } = await openedToDecide(stack, alertOf('back'));
    const reason = 'Fix the date in the notice: the charges were made on 6 December';
    // One request for changes ends the round: the other requests close.
    const [, first] = [...(await approvalLinks(stack, incidentId, 1))][0] as [string, string];
    expect((await decide(first, 'request-changes', reason)).status).toBe(303);
    await inPhase(link, 'Understand', 60_000);

    // The responders and the SRE lead are told, with the reason.
    const told = await waitFor('the change request e-mails', async () => {
      const mails = (await inbox(stack)).filter((m) =>
        m.subject.includes(`${incidentId}: plan v1 came back`),
      );
      return mails.length >= 2 ? mails : undefined;
    });
    expect(told.map((m) => m.destination.to[0]).sort()).toEqual([RESPONDER, SRE_LEAD].sort());
    for (const mail of told) expect(mail.body.text).toContain(reason);

    // The workroom shows it at the top and asks for a revised plan, its form filled in with v1.
    const view = (await workroom(link)) as View;
    expect(view.asked.action).toBe('plan');
    const page = await (await fetch(link)).text();
    const top = page.slice(0, page.indexOf('id="asked"'));
    expect(top).toContain('id="change-request"');
    expect(top).toContain(reason);
    const form = /<form[^>]*id="plan"[^>]*>.*?<\/form>/s.exec(page)?.[0] ?? '';
    expect(form).toContain(`>${APOLOGY.summary}</textarea>`);
    expect(form).toMatch(/<select[^>]*name="kind_1"[^>]*>.*<option value="notice" selected>/s);
    expect(form).toMatch(/<select[^>]*name="template_1"[^>]*>.*<option value="apology" selected>/s);

    // The same plan again is a new version, but unchanged: refused until the responder replies.
    await done(link, 'plan', APOLOGY);
    const refused = await work(link, 'submit-plan');
    expect(refused.status).toBe(409);
    expect(JSON.stringify(refused.body)).toContain('unchanged');
    const reply = 'The notice names no date; the 22 November in the alert was its start, not the charge.';
    await done(link, 'submit-plan', { reply });

    // The approvers read the reply in their e-mail and on the page.
    const second = await approvalLinks(stack, incidentId, 2);
    const [, approval] = [...second][0] as [string, string];
    const mail = (await inbox(stack)).find((m) => m.body.text?.includes(approval));
    expect(mail?.body.text).toContain(`${RESPONDER} replied: ${reply}`);
    expect(mail?.body.text).toContain(reason);
    const approvalPage = await (await fetch(approval)).text();
    expect(approvalPage).toContain('id="reply"');
    expect(approvalPage).toContain(reply.replaceAll("'", '&#39;'));
  }, 180_000);
});
