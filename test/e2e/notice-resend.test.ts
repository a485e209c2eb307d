/**
 * A bounced notice sent to another address from the customer list, on the local stack: Act sends
 * it through the SES emulator to SES's simulator `bounce@`, the local poller hands the bounce to
 * `ses-events`, the responder is asked; on the question's page (a form) they choose the customer's
 * other address, `success@`, twice at once — one message goes out, with the approved words, and the
 * ledger finds it confirmed as attempt 2 and delivered against the same notice.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Customer } from '../../functions/domain/plan.ts';
import { apologyPlan, approvedForAct, bouncedQuestionLink, incidentForAct } from '../support/act-setup.ts';
import type { StackProcess } from '../support/local-stack.ts';
import { freePorts, getCase, inbox, spawnStack, tempDataDir, waitFor } from '../support/local-stack.ts';

let stack: StackProcess | undefined;
afterAll(async () => {
  await stack?.kill();
});

const BOUNCES = 'bounce+eve@simulator.amazonses.com';
const DELIVERS = 'success+eve@simulator.amazonses.com';

interface Entry {
  kind: string;
  state?: string;
  effectId?: string;
  providerRef?: string;
  detail: Record<string, unknown>;
}

describe('a bounced notice resent to another address from the customer list', () => {
  it('goes once, word for word, as attempt 2 of the same notice, and is delivered there', async () => {
    const dataDir = tempDataDir();
    stack = await spawnStack(dataDir, await freePorts());
    const target = stack;
    const customers: Customer[] = [
      {
        customerRef: 'cus_eve',
        email: BOUNCES,
        name: 'Eve',
        otherEmails: [DELIVERS],
        productArea: 'payments',
      },
    ];
    const incident = incidentForAct(9, 'INC-2026-8401', 'notice-resend');
    await approvedForAct(stack, dataDir, incident, customers, apologyPlan('Apologise to Eve'));
    const link = await bouncedQuestionLink(target);
    const page = await (await fetch(link)).text();
    expect(page).toContain(`<input type="radio" name="address" value="${DELIVERS}"`);
    const post = (fields: Record<string, string>) =>
      fetch(link, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });

    // An address that is not on the list: 400 naming the field, nothing sent.
    const refused = await post({ answer: 'resend', address: 'mallory@example.com' });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('<code>address</code>');

    // Two at once (a double click): one message goes out.
    const answers = await Promise.all([
      post({ answer: 'resend', address: DELIVERS }),
      post({ answer: 'resend', address: DELIVERS }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([303, 303]);

    const ledger = await waitFor(
      'the resent notice delivered on the ledger',
      async () => {
        const entries = (await getCase(target, incident.id)).ledger as unknown as Entry[];
        return entries.some((e) => e.kind === 'notice_event' && e.detail.outcome === 'delivered')
          ? entries
          : undefined;
      },
      60_000,
    );
    const mails = await inbox(target);
    const first = mails.filter((m) => m.destination.to.includes(BOUNCES));
    const resent = mails.filter((m) => m.destination.to.includes(DELIVERS));
    expect(first).toHaveLength(1);
    expect(resent).toHaveLength(1);
    // The words the approvers saw, byte for byte.
    expect(resent[0]?.subject).toBe(first[0]?.subject);
    expect(resent[0]?.body).toEqual(first[0]?.body);

    const notices = ledger.filter((e) => e.kind === 'notice' && e.state === 'confirmed');
    expect(notices.map((e) => [e.detail.attempt, e.providerRef])).toEqual([
      [1, first[0]?.messageId],
      [2, resent[0]?.messageId],
    ]);
    expect(new Set(notices.map((e) => e.effectId)).size).toBe(1);
    const events = ledger.filter((e) => e.kind === 'notice_event');
    expect(events.map((e) => [e.detail.outcome, e.detail.attempt, e.providerRef])).toEqual([
      ['bounced', 1, first[0]?.messageId],
      ['delivered', 2, resent[0]?.messageId],
    ]);
    expect(JSON.stringify(ledger)).not.toContain('eve@simulator');

    // The page now shows the answer on record, and no form.
    const after = await (await fetch(link)).text();
    expect(after).toContain('Answered');
    expect(after).not.toContain('<form method="post"');
    // And what became of the resend: SES took it, under this MessageId.
    expect(after).toContain(`SES took it (<code>${resent[0]?.messageId}</code>)`);
  }, 240_000);
});
