/**
 * The check before approval, end to end on the local stack with the Stripe stand-in: a plan whose
 * refunds Stripe would refuse — one of 0.00, two on one charge that add up to more than it, one in
 * another currency than its charge — comes back to the responders naming each customer and
 * problem, before any approver is asked: no approval e-mail, no round, no refund. The corrected
 * plan then goes to the approvers as round 1.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import { done, inPhase, RESPONDER, work, workLinks, workroom, workToDecide } from '../support/casework.ts';
import {
  approvalLinks,
  freePorts,
  getCase,
  inbox,
  postAlert,
  start,
  tempDataDir,
  waitFor,
} from '../support/local-stack.ts';

const alert = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

let stack: LocalStack;
beforeAll(async () => {
  stack = await start(tempDataDir(), await freePorts());
});
afterAll(() => stack?.close());

function stripe(): Stripe {
  const url = new URL(stack.endpoints.stripe);
  return new Stripe('sk_test_refund_check', {
    host: url.hostname,
    port: Number(url.port),
    protocol: 'http',
    maxNetworkRetries: 0,
  });
}

const refund = (customerRef: string, amount: string, currency = 'EUR') => ({
  kind: 'refund',
  customerRef,
  amount,
  currency,
  obligation: 'tos',
});

describe('the refunds of a submitted plan, checked before any approver is asked', () => {
  it('sends a plan Stripe would refuse back to Understand naming each customer, and takes the corrected one to round 1', async () => {
    const opened = await postAlert(stack, alert);
    const { incidentId } = (await opened.json()) as { incidentId: string };
    const link = (await workLinks(stack, incidentId)).get(RESPONDER) as string;
    await inPhase(link, 'Contain');

    const client = stripe();
    const charges = new Map<string, Stripe.Charge>();
    for (const [ref, minor] of [
      ['cus_zero', 2000],
      ['cus_over', 1000],
      ['cus_fx', 1500],
      ['cus_ok', 1250],
    ] as const)
      charges.set(ref, await client.charges.create({ amount: minor, currency: 'eur', source: 'tok_visa' }));
    const customers = [
      'customer_ref,email,name,amount,currency,product_area,payment_ref',
      ...[...charges].map(
        ([ref, charge]) =>
          `${ref},${ref.slice(4)}@example.com,${ref},${(charge.amount / 100).toFixed(2)},EUR,payments,${charge.id}`,
      ),
    ].join('\n');
    // The 0.00 refund goes last, so the other effects keep their ids if the plan refuses it itself.
    const wrong = [
      refund('cus_over', '6.00'),
      refund('cus_over', '6.00'),
      refund('cus_fx', '5.00', 'USD'),
      refund('cus_ok', '12.50'),
    ];
    let zeroPlanned = false;
    await workToDecide(
      link,
      customers,
      { summary: 'Refund what each was charged twice.', apply: [], effects: wrong },
      {
        // A plan that still takes a 0.00 refund replaces the one above before it is submitted.
        beforeSubmit: async () => {
          const withZero = await work(link, 'plan', {
            summary: 'Refund what each was charged twice.',
            apply: [],
            effects: [...wrong, refund('cus_zero', '0.00')],
          });
          zeroPlanned = withZero.status === 200;
          if (!zeroPlanned) expect(JSON.stringify(withZero.body)).toContain('amount');
        },
      },
    );
    const version = zeroPlanned ? 2 : 1;

    // The plan came back: the request for changes names each customer (by reference) and problem.
    const back = await waitFor('the plan sent back by the refund check', async () => {
      const c = await getCase(stack, incidentId);
      return c.incident.planRejected ? c : undefined;
    });
    const reason = back.incident.planRejected?.reason ?? '';
    const lines = reason.split('\n');
    const over = `payment ${charges.get('cus_over')?.id} has EUR 10.00 left to refund (EUR 10.00 paid, EUR 0.00 refunded already); this plan refunds EUR 12.00 on it in 2 refunds`;
    expect(lines).toEqual([
      `${zeroPlanned ? 4 : 3} refunds of the plan would be refused by the payments provider; correct them and submit a revised plan:`,
      `- cus_over (P${version}-E1): ${over}`,
      `- cus_over (P${version}-E2): ${over}`,
      `- cus_fx (P${version}-E3): a refund of USD 5.00 on payment ${charges.get('cus_fx')?.id}, which is in EUR`,
      ...(zeroPlanned
        ? [`- cus_zero (P${version}-E5): a refund of EUR 0.00: a refund must be more than 0`]
        : []),
    ]);
    expect(reason).not.toContain('cus_ok');
    // The responder's workroom shows it: back in Understand, the timeline saying why, customer by customer.
    const room = (await workroom(link)) as Awaited<ReturnType<typeof workroom>> & {
      timeline: { type: string; summary: string }[];
    };
    expect(room.incident.phase).toBe('Understand');
    const shown = room.timeline.find((e) => e.type === 'plan_checked')?.summary ?? '';
    for (const ref of ['cus_over', 'cus_fx']) expect(shown).toContain(`- ${ref} (P${version}-`);
    const page = await (await fetch(link)).text();
    expect(page).toContain('came back before any approver was asked');

    // The workroom's timeline and the Decision Log say why; neither names a customer's address.
    const checked = back.timeline.find((e) => e.type === 'plan_checked');
    expect(checked?.summary).toContain(`Plan v${version} came back before any approver was asked`);
    expect(checked?.summary).toContain('cus_over');
    const decision = back.decisions.find((d) => d.kind === 'plan_check') as
      | { decision?: string; detail?: Record<string, unknown> }
      | undefined;
    expect(decision).toMatchObject({
      decision: 'changes-requested',
      detail: zeroPlanned ? { refunds: 5, problems: 4 } : { refunds: 4, problems: 3 },
    });
    expect(JSON.stringify(back.decisions)).not.toContain('@example.com');

    // Nobody was asked and nothing was paid: no round, no approval e-mail, no refund at Stripe.
    expect(back.incident.decideRound).toBe(0);
    expect(back.incident.approvalRound).toBeUndefined();
    expect(back.timeline.some((e) => e.type === 'approval_requested' || e.type === 'plan_rejected')).toBe(
      false,
    );
    const approvalMail = async () =>
      (await inbox(stack)).filter((m) => (m.body.text ?? '').includes(`/approvals/${incidentId}.`));
    expect(await approvalMail()).toEqual([]);
    for (const charge of charges.values())
      expect((await client.charges.retrieve(charge.id)).amount_refunded).toBe(0);

    // The same plan cannot be submitted again; a corrected one goes to the approvers, as round 1.
    const again = await work(link, 'submit-plan');
    expect(again.status).toBe(409);
    expect(JSON.stringify(again.body)).toContain(`Plan v${version} was rejected`);
    await done(link, 'plan', {
      summary: 'Refund what each was charged twice, within each charge.',
      apply: [],
      effects: [
        refund('cus_zero', '20.00'),
        refund('cus_over', '6.00'),
        refund('cus_over', '4.00'),
        refund('cus_fx', '5.00'),
        refund('cus_ok', '12.50'),
      ],
    });
    await done(link, 'submit-plan');
    await inPhase(link, 'Decide', 30_000);
    const asked = await approvalLinks(stack, incidentId, 1);
    expect(asked.size).toBeGreaterThan(0);
    const decided = await getCase(stack, incidentId);
    expect(decided.incident.decideRound).toBe(1);
    expect(decided.incident.approvalRound?.planVersion).toBe(version + 1);
    expect(
      decided.decisions
        .filter((d) => d.kind === 'plan_check')
        .map((d) => (d as { decision?: string }).decision),
    ).toEqual(['changes-requested', 'passed']);
  }, 120_000);
});
