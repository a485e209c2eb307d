/**
 * A notice in doubt after a crash, on the local stack with the real SES emulator: SES took the
 * notice, the stack was killed before Act recorded it, and the restarted emulator's store (kept in
 * memory) no longer has it. The question page must not read that empty store as "not sent" — it
 * says since when the emulator knows, and names what a person must check instead.
 */
import type Stripe from 'stripe';
import { afterAll, describe, expect, it } from 'vitest';
import { stripeClient } from '../../functions/adapters/stripe-payments.ts';
import { approvedForAct, incidentForAct, paidCustomers, THREE_PAYING } from '../support/act-setup.ts';
import { REFUND_CREDIT_NOTICE } from '../support/casework.ts';
import type { StackProcess } from '../support/local-stack.ts';
import { freePorts, inbox, spawnStack, tempDataDir, waitFor } from '../support/local-stack.ts';

let stack: StackProcess | undefined;
afterAll(async () => {
  await stack?.kill();
});

describe('a notice in doubt after the mail emulator lost its store', () => {
  it('says since when the emulator knows, never that the mail service took no message, and names what to check', async () => {
    const ports = await freePorts();
    const dataDir = tempDataDir();
    // The 6th e-mail is held after SES took it: a notice (after three approval requests and the two
    // "plan approved"), or the second one when Act's messages lane sent two before those.
    stack = await spawnStack(dataDir, ports, 'provider:send:after:6');
    const stripe: Stripe = stripeClient('sk_test_in_doubt', { apiBase: stack.endpoints.stripe });
    const customers = await paidCustomers(stripe, THREE_PAYING);
    await approvedForAct(
      stack,
      dataDir,
      incidentForAct(8, 'INC-2026-8100', 'in-doubt'),
      customers,
      REFUND_CREDIT_NOTICE,
    );
    await stack.line('HELD send 6');
    const sent = (await inbox(stack)).filter((e) => e.subject.startsWith('About your account'));
    // Act sends several notices at once: the one held, and any sent beside it before the hold.
    expect(sent.length).toBeGreaterThanOrEqual(1);
    const tookIt = new Set(sent.map((e) => e.destination.to[0] as string));
    await stack.kill();

    // The restarted stack: the emulator's store is empty, and the notice is in doubt.
    const restartedAt = Date.now();
    stack = await spawnStack(dataDir, ports);
    const target = stack;
    const page = await waitFor(
      'the question about the notice in doubt',
      async () => {
        for (const mail of (await inbox(target)).filter((e) => e.subject.includes('needs you (in doubt)'))) {
          const link = /(http:\/\/\S+\/effects\/\S+)/.exec(mail.body.text ?? '')?.[1];
          const html = link ? await (await fetch(link)).text() : '';
          if ([...tookIt].some((customer) => html.includes(`&lt;${customer}&gt;`))) return { html, mail };
        }
        return undefined;
      },
      60_000,
    );
    expect(page.html).not.toContain('took no message with this subject to this customer.');
    const started = /since the mail emulator started at <time datetime="([^"]+)"/.exec(page.html)?.[1];
    expect(started).toBeDefined();
    expect(Date.parse(started as string)).toBeGreaterThanOrEqual(restartedAt - 1000);
    expect(page.html).toContain('started after this notice’s intent was recorded');
    expect(page.html).toContain('no evidence that it was not sent');
    expect(page.html).toContain('the customer’s mailbox');
    expect(page.html).toContain('the mail provider’s log');
    // The e-mailed question says what to check, not the emulator's store.
    expect(page.mail.body.text).toContain('the customer’s mailbox');
  }, 180_000);
});
