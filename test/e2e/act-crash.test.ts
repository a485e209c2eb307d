import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type Stripe from 'stripe';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDbEffectStore } from '../../functions/adapters/dynamodb-effect-store.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { stripeClient } from '../../functions/adapters/stripe-payments.ts';
import { versionIdOf } from '../../functions/domain/plan.ts';
import { LOCAL_CREDENTIALS } from '../../local/names.ts';
import { approvedForAct, incidentForAct, paidCustomers, THREE_PAYING } from '../support/act-setup.ts';
import { REFUND_CREDIT_NOTICE } from '../support/casework.ts';
import type { InboxEmail, StackProcess } from '../support/local-stack.ts';
import { freePorts, getCase, inbox, spawnStack, tempDataDir, waitFor } from '../support/local-stack.ts';

let stack: StackProcess | undefined;
afterAll(async () => {
  await stack?.kill();
});

const isNotice = (e: InboxEmail) => e.subject.startsWith('About your account');

describe('Act killed where it hurts', () => {
  it('pays, credits and tells each customer exactly once across three kill -9s, a person settling the notice in doubt', async () => {
    const ports = await freePorts();
    const dataDir = tempDataDir();
    const aws = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };

    // 1. Refund #1 held before Stripe is called; notice #1 (the 6th e-mail, after three approval
    //    requests and the two "plan approved") held after SES took it. Everything else goes on meanwhile.
    stack = await spawnStack(dataDir, ports, 'provider:refund:before:1,provider:send:after:6');
    const stripe: Stripe = stripeClient('sk_test_crash', { apiBase: stack.endpoints.stripe });
    const customers = await paidCustomers(stripe, THREE_PAYING);
    // Detected now: no deadline has passed, so no escalation e-mail takes one of the held sends.
    const incident = incidentForAct(8, 'INC-2026-8000', 'crash');
    await approvedForAct(stack, dataDir, incident, customers, REFUND_CREDIT_NOTICE);
    await stack.line('HELD refund 1');
    await stack.line('HELD send 6');
    const sentInRun1 = (await inbox(stack)).filter(isNotice);
    await stack.kill();

    // 2. The same execution runs Act again: the held refund reaches Stripe (same key) and is held
    //    after Stripe took it; the notice in doubt is put to the responders by e-mail.
    stack = await spawnStack(dataDir, ports, 'provider:refund:after:1');
    await stack.line('HELD refund 1');
    const target = stack;
    // Every notice whose intent was recorded but not its outcome is in doubt, the held one at least.
    const inDoubt = await waitFor('the effects in doubt', async () => {
      const doc = DynamoDBDocumentClient.from(
        new DynamoDBClient({ ...aws, endpoint: target.endpoints.dynamodb }),
      );
      const plan = (await new DynamoDbOperationsStore(doc, target.tables.operations).getIncident(incident.id))
        ?.plan;
      if (!plan) return undefined;
      const effects = await new DynamoDbEffectStore(doc, target.tables.operations).listEffects(
        incident.id,
        versionIdOf(plan),
      );
      const waiting = effects.items.filter((e) => e.attention?.reason === 'in-doubt');
      return waiting.length > 0 && effects.items.every((e) => e.kind !== 'notice' || e.progress !== 'intent')
        ? waiting
        : undefined;
    });
    const questions = await waitFor('a question e-mailed about each notice in doubt', async () => {
      const mails = (await inbox(target)).filter((e) => e.subject.includes('needs you (in doubt)'));
      return mails.length === inDoubt.length
        ? mails.map((m) => /\/effects\/(\S+)/.exec(m.body.text ?? '')?.[1] as string)
        : undefined;
    });
    // SES does not die with the stack on AWS; the local one does, so take its mail before the kill.
    const run2Mail = await inbox(stack);
    const sentInRun2 = run2Mail.filter(isNotice);
    for (const m of run2Mail.filter((e) => e.subject.includes('needs you (in doubt)'))) {
      questions.push(/\/effects\/(\S+)/.exec(m.body.text ?? '')?.[1] as string);
    }
    await stack.kill();

    // 3. Act runs again: Stripe answers the refund it already made. A person answers each question
    //    as they would, from the mail log (here: what SES took before each crash), until the
    //    incident moves on; a notice the second crash caught in flight is asked about now.
    stack = await spawnStack(dataDir, ports);
    const final = stack;
    const asked = new Set(questions);
    const answers = new Map<string, string>();
    const closed = await waitFor(
      'the incident to close, every question answered',
      async () => {
        const mailLog = [...sentInRun1, ...sentInRun2, ...(await inbox(final)).filter(isNotice)];
        for (const m of (await inbox(final)).filter((e) => e.subject.includes('needs you (in doubt)'))) {
          asked.add(/\/effects\/(\S+)/.exec(m.body.text ?? '')?.[1] as string);
        }
        for (const question of asked) {
          // A question e-mailed again (its first e-mail lost in a crash) comes with new links.
          const which = question.split('.').slice(0, 3).join('.');
          if (answers.has(which)) continue;
          const link = `${final.endpoints.api}/effects/${question}`;
          const customer = /&lt;([^&]+@example\.com)&gt;/.exec(await (await fetch(link)).text())?.[1];
          const answer = mailLog.some((e) => e.destination.to[0] === customer) ? 'sent' : 'not-sent';
          const answered = await fetch(link, {
            method: 'POST',
            redirect: 'manual',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ answer, note: 'checked the mail log' }).toString(),
          });
          expect(answered.status).toBe(303);
          answers.set(which, answer);
        }
        const c = await getCase(final, incident.id);
        // Act is done once the incident is RESOLVED (Learn then waits for the postmortem).
        return c.incident.status === 'RESOLVED' ? c : undefined;
      },
      90_000,
    );
    // The notice held after SES took it was sent, and a person said so.
    expect([...answers.values()]).toContain('sent');

    // Stripe: one refund per payment, one credit per customer.
    for (const c of customers) {
      const refunds = await stripe.refunds.list({ charge: c.paymentRef as string });
      expect(refunds.data.map((r) => r.amount)).toEqual([2000]);
      const charge = await stripe.charges.retrieve(c.paymentRef as string);
      expect(
        (await stripe.customers.listBalanceTransactions(charge.customer as string)).data.map((t) => t.amount),
      ).toEqual([-500]);
    }
    // SES: each customer told exactly once, across the three lives of the stack.
    const sentInRun3 = (await inbox(final)).filter(isNotice);
    const told = [...sentInRun1, ...sentInRun2, ...sentInRun3].map((e) => e.destination.to[0]).sort();
    expect(told).toEqual(['ada@example.com', 'bo@example.com', 'cy@example.com']);
    // The ledger says who settled the notice in doubt, and every effect is confirmed once.
    expect(
      closed.decisions
        .filter((d) => d.kind === 'effect_reconciled')
        .map((d) => d.decision)
        .sort(),
    ).toEqual([...answers.values()].sort());
    const confirmed = closed.ledger.filter((e) => e.state === 'confirmed');
    expect(confirmed.map((e) => e.kind).sort()).toEqual([
      'credit',
      'credit',
      'credit',
      'notice',
      'notice',
      'notice',
      'refund',
      'refund',
      'refund',
    ]);
  }, 180_000);
});
