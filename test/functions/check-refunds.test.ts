/**
 * The check before approval as the state machine runs it: the real tables (dynalite), the real
 * Stripe adapter against the stand-in. Retried or run again after a crash, it records once and
 * answers what it recorded first; it asks Stripe once per payment, at the payments rate.
 */
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbEffectStore } from '../../functions/adapters/dynamodb-effect-store.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { StripePayments, stripeClient } from '../../functions/adapters/stripe-payments.ts';
import { PaymentRefusedError } from '../../functions/domain/errors.ts';
import type { LedgerEntryV2 } from '../../functions/domain/ledger.ts';
import { pseudonym } from '../../functions/domain/ledger.ts';
import type { PaymentLookup } from '../../functions/domain/payments.ts';
import type { Customer, PlanInput } from '../../functions/domain/plan.ts';
import type { CheckRefundsDeps } from '../../functions/use-cases/check-refunds.ts';
import { checkPlanRefunds } from '../../functions/use-cases/check-refunds.ts';
import { recordCustomers, submitPlan } from '../../functions/use-cases/propose-plan.ts';
import type { StripeStandIn } from '../../local/stripe/server.ts';
import { startStripeStandIn } from '../../local/stripe/server.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase, testClock } from '../support/dynamodb.ts';
import { plainIncident } from '../support/incidents.ts';

const KEY = Buffer.alloc(32, 7);
let db: TestDatabase;
let standIn: StripeStandIn;
let stripe: Stripe;
beforeAll(async () => {
  db = await startTestDatabase();
  standIn = await startStripeStandIn({ port: 0, refundSettleMs: 0 });
  stripe = stripeClient('sk_test_check_refunds', { apiBase: standIn.url });
});
afterAll(async () => {
  await standIn.close();
  await db.close();
});

let n = 0;

async function charged(ref: string, minor: number, currency = 'EUR'): Promise<Customer> {
  const charge = await stripe.charges.create({
    amount: minor,
    currency: currency.toLowerCase(),
    source: 'tok_visa',
  });
  return {
    customerRef: ref,
    email: `${ref}@example.com`,
    amount: { minor, currency },
    paymentRef: charge.id,
  };
}

const refund = (customerRef: string, amount: string, currency = 'EUR') =>
  ({ kind: 'refund', customerRef, amount, currency, obligation: 'tos' }) as const;

/** An incident in Understand with `customers` and `input` submitted as its plan. */
async function submitted(customers: Customer[], input: PlanInput) {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  const effects = new DynamoDbEffectStore(db.doc, tables.operations);
  const ledger = db.ledger(tables.ledger);
  const clock = testClock();
  const base = plainIncident(++n);
  await store.createIncident({ ...base, phase: 'Understand', status: 'MITIGATED' });
  await recordCustomers({ effects, incidents: store }, (await store.getIncident(base.id)) ?? base, customers);
  await submitPlan(
    { incidents: store, effects, pseudonym: async (ref) => pseudonym(KEY, ref), clock },
    base.id,
    input,
    'ana@example.com',
  );
  let takes = 0;
  const deps: CheckRefundsDeps = {
    incidents: store,
    effects,
    ledger,
    payments: new StripePayments(stripe),
    rate: {
      take: async () => {
        takes++;
      },
    },
    ratePerSecond: 25,
    timeLeft: () => 900_000,
    clock,
  };
  const checks = async () =>
    ((await ledger.read(base.id)) as LedgerEntryV2[]).filter((e) => e.kind === 'plan_check');
  const events = async () => (await store.listTimeline(base.id)).filter((e) => e.type === 'plan_checked');
  return { id: base.id, store, deps, checks, events, takes: () => takes };
}

describe('check-refunds: the submitted plan against Stripe, before approval', () => {
  it('sends the plan back once: a retried run answers the same and records nothing twice', async () => {
    const ada = await charged('cus_ada', 1000);
    const t = await submitted([ada], {
      summary: 'Refund',
      apply: [],
      effects: [refund('cus_ada', '6.00'), refund('cus_ada', '6.00')],
    });
    const first = await checkPlanRefunds(t.deps, { incidentId: t.id });
    expect(first).toEqual({ outcome: 'changes-requested', refunds: 2, problems: 2 });
    // One lookup for the one charge both refunds are on, at the payments rate.
    expect(t.takes()).toBe(1);
    const again = await checkPlanRefunds(t.deps, { incidentId: t.id });
    expect(again.outcome).toBe('changes-requested');
    expect(await t.checks()).toHaveLength(1);
    expect(await t.events()).toHaveLength(1);
    const incident = await t.store.getIncident(t.id);
    expect(incident?.planSubmitted).toBeUndefined();
    expect(incident?.decideRound).toBe(0);
    expect(incident?.planRejected?.version).toBe(1);
    expect(incident?.planRejected?.reason).toContain('- cus_ada (P1-E1): payment ');
    // Nothing moved at Stripe, and the Decision Log names the customer by pseudonym only.
    expect((await stripe.charges.retrieve(ada.paymentRef as string)).amount_refunded).toBe(0);
    const [entry] = await t.checks();
    expect(JSON.stringify(entry)).not.toContain('cus_ada');
    expect(entry?.detail).toMatchObject({ refunds: 2, problems: 2, provider: 'the payments provider' });
  });

  it('answers what it recorded first: a run cut off before the incident changed ends the same way', async () => {
    const bo = await charged('cus_bo', 2000);
    const t = await submitted([bo], { summary: 'Refund', apply: [], effects: [refund('cus_bo', '20.00')] });
    // The first run heard "no such charge" and was cut off before it wrote the incident.
    const missing: PaymentLookup = {
      refundable: async (ref) => {
        throw new PaymentRefusedError('resource_missing', `No such charge: '${ref}'`);
      },
    };
    const cut = {
      ...t.deps,
      payments: missing,
      incidents: {
        ...t.store,
        getIncident: t.store.getIncident.bind(t.store),
        addTimelineEvent: t.store.addTimelineEvent.bind(t.store),
        updateIncident: async () => {
          throw new Error('the Lambda was stopped here');
        },
      },
    } satisfies CheckRefundsDeps;
    await expect(checkPlanRefunds(cut, { incidentId: t.id })).rejects.toThrow('stopped here');
    expect((await t.store.getIncident(t.id))?.planSubmitted?.version).toBe(1);
    // The retry finds the charge at Stripe, but the Decision Log already says what the check found.
    const retried = await checkPlanRefunds(t.deps, { incidentId: t.id });
    expect(retried).toEqual({ outcome: 'changes-requested', refunds: 1, problems: 1 });
    expect(await t.checks()).toHaveLength(1);
    expect((await t.store.getIncident(t.id))?.planRejected?.reason).toContain(
      `- cus_bo (P1-E1): payment ${bo.paymentRef}: the payments provider knows no such payment`,
    );
  });

  it('passes a plan Stripe would take, and records that once', async () => {
    const cy = await charged('cus_cy', 1500, 'GBP');
    const t = await submitted([cy], {
      summary: 'Refund',
      apply: [],
      effects: [refund('cus_cy', '15.00', 'GBP')],
    });
    expect(await checkPlanRefunds(t.deps, { incidentId: t.id })).toEqual({
      outcome: 'passed',
      refunds: 1,
      problems: 0,
    });
    expect(await checkPlanRefunds(t.deps, { incidentId: t.id })).toMatchObject({ outcome: 'passed' });
    expect((await t.checks()).map((e) => e.decision)).toEqual(['passed']);
    expect((await t.store.getIncident(t.id))?.planSubmitted?.version).toBe(1);
  });

  it('fails, saying why, when one run cannot ask about every payment at the rate, and records nothing', async () => {
    const customers = [
      await charged('cus_e1', 1000),
      await charged('cus_e2', 1000),
      await charged('cus_e3', 1000),
    ];
    const t = await submitted(customers, {
      summary: 'Refund',
      apply: [],
      effects: customers.map((c) => refund(c.customerRef, '10.00')),
    });
    // 3 payments at 0.01 a second need 300 s; this run has 60 s left.
    await expect(
      checkPlanRefunds({ ...t.deps, ratePerSecond: 0.01, timeLeft: () => 60_000 }, { incidentId: t.id }),
    ).rejects.toThrow(
      "The plan's refunds name 3 payments: at 0.01 a second the check needs 300 s, more than one run has (60 s).",
    );
    expect(t.takes()).toBe(0);
    expect(await t.checks()).toEqual([]);
    expect((await t.store.getIncident(t.id))?.planSubmitted?.version).toBe(1);
  });

  it('sends a plan rewritten since it was submitted back to the wait, unchecked and unrecorded', async () => {
    const fay = await charged('cus_fay', 1000);
    const t = await submitted([fay], { summary: 'Refund', apply: [], effects: [refund('cus_fay', '10.00')] });
    const now = await t.store.getIncident(t.id);
    if (!now) throw new Error('no incident');
    // Writing a plan withdraws the submission (the workroom's plan action).
    await t.store.updateIncident(now, { planSubmitted: undefined });
    expect(await checkPlanRefunds(t.deps, { incidentId: t.id })).toEqual({
      outcome: 'not-submitted',
      refunds: 0,
      problems: 0,
    });
    expect(t.takes()).toBe(0);
    expect(await t.checks()).toEqual([]);
    expect((await t.store.getIncident(t.id))?.planRejected).toBeUndefined();
  });

  it('with the manual provider asks nothing and checks only what needs no provider, saying so', async () => {
    const dee = await charged('cus_dee', 1000);
    const t = await submitted([dee], {
      summary: 'Refund',
      apply: [],
      effects: [refund('cus_dee', '5.00', 'USD'), refund('cus_dee', '50.00')],
    });
    const result = await checkPlanRefunds({ ...t.deps, payments: 'manual' }, { incidentId: t.id });
    // 50.00 on a 10.00 charge is for the person who refunds to see: there is nothing to look up. Two
    // currencies on one payment need no provider to be wrong. (A 0.00 refund no longer reaches a plan.)
    expect(result).toEqual({ outcome: 'changes-requested', refunds: 2, problems: 2 });
    expect(t.takes()).toBe(0);
    const [entry] = await t.checks();
    expect(entry?.summary).toContain('without the provider (manual: nothing to look up)');
    expect((await t.store.getIncident(t.id))?.planRejected?.reason).toContain('one payment has one currency');
  });
});
