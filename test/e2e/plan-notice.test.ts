/**
 * The customers' words are the plan's: on the local stack, through Act and the real SES emulator,
 * each customer receives the plan's approved notice text filled with their own refund, their own
 * payment date and — only for the customer the plan credits — their credit; the alert's wording
 * is sent to nobody; and the approvers read those very messages on the approval page.
 */
import type Stripe from 'stripe';
import { afterAll, describe, expect, it } from 'vitest';
import { stripeClient } from '../../functions/adapters/stripe-payments.ts';
import { escapeHtml } from '../../functions/domain/html.ts';
import { approvedForAct, incidentForAct, paidCustomers } from '../support/act-setup.ts';
import type { StackProcess } from '../support/local-stack.ts';
import { approvalLinks, freePorts, inbox, spawnStack, tempDataDir, waitFor } from '../support/local-stack.ts';

let stack: StackProcess | undefined;
afterAll(async () => {
  await stack?.kill();
});

const NOTICE = {
  subject: 'Your refund of {{amount_refunded}} (ref {{incident}})',
  body: 'Hello {{name}},\n\nThe payment you made on {{paid_at}} was charged twice. We have refunded {{amount_refunded}} to the card you paid with.\n\nIf you have questions, reply and quote {{incident}}.',
};

describe("the customers' notice", () => {
  it('is the approved plan text with each customer’s own amounts, date and credit, as the approvers read it', async () => {
    const dataDir = tempDataDir();
    stack = await spawnStack(dataDir, await freePorts());
    const stripe: Stripe = stripeClient('sk_test_notice', { apiBase: stack.endpoints.stripe });
    const customers = await paidCustomers(stripe, [
      { ref: 'cus_ada', name: 'Ada', minor: 9873, paidAt: '2026-12-06' },
      { ref: 'cus_lin', name: 'Lin', minor: 1250, paidAt: '2026-12-05T18:40:00Z' },
    ]);
    const incident = incidentForAct(8, 'INC-2026-8300', 'plan-notice', {
      customerSummary: 'a payment you made on 22 November was charged twice.',
    });
    await approvedForAct(stack, dataDir, incident, customers, {
      summary: 'Refund the double charge, a goodwill credit for Ada, and tell both in our words',
      notice: NOTICE,
      apply: [
        { kind: 'refund', amount: 'affected', obligation: 'tos' },
        { kind: 'notice', obligation: 'tos', template: 'refund_confirmation' },
      ],
      effects: [
        { kind: 'credit', amount: '5.00', currency: 'EUR', obligation: 'brand', customerRef: 'cus_ada' },
      ],
    });
    const target = stack;
    const noticeTo = (email: string) =>
      waitFor(
        `the notice to ${email}`,
        async () =>
          (await inbox(target)).find(
            (e) => e.subject.startsWith('Your refund of') && e.destination.to.includes(email),
          ),
        90_000,
      );
    const ada = await noticeTo('ada@example.com');
    const lin = await noticeTo('lin@example.com');
    expect(ada.subject).toBe('Your refund of EUR 98.73 (ref INC-2026-8300)');
    expect(ada.body.text).toBe(
      [
        'Hello Ada,',
        '',
        'The payment you made on 6 December 2026 was charged twice. We have refunded EUR 98.73 to the card you paid with.',
        '',
        'If you have questions, reply and quote INC-2026-8300.',
        '',
        'We have also added a goodwill credit of EUR 5.00 to your account: you do not need to do anything.',
      ].join('\n'),
    );
    expect(lin.subject).toBe('Your refund of EUR 12.50 (ref INC-2026-8300)');
    expect(lin.body.text).toBe(
      [
        'Hello Lin,',
        '',
        'The payment you made on 5 December 2026 was charged twice. We have refunded EUR 12.50 to the card you paid with.',
        '',
        'If you have questions, reply and quote INC-2026-8300.',
      ].join('\n'),
    );
    // The alert's wording pre-fills a draft at most: no customer reads it.
    for (const mail of [ada, lin]) expect(mail.body.text).not.toContain('22 November');

    // The approvers read these very messages: the page shows each wording as its first customer gets it.
    const [, link] = [...(await approvalLinks(target, incident.id, 1))][0] ?? [];
    const page = await (await fetch(link as string)).text();
    expect(page).toContain(`<strong>Subject:</strong> <bdi>${escapeHtml(ada.subject)}</bdi>`);
    expect(page).toContain(`<bdi>${escapeHtml(ada.body.text ?? '')}</bdi></pre>`);
    expect(page).toContain(`<bdi>${escapeHtml(lin.body.text ?? '')}</bdi></pre>`);
    // Money on the page is refunds and credits: the notices' wording amounts are not summed in.
    expect(page).toContain('<strong>ToS line</strong> EUR 111.23 · <strong>Brand line</strong> EUR 5.00');
  }, 240_000);
});
