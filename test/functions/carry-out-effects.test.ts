/**
 * Act against dynalite and the Stripe stand-in through the official SDK: every effect exactly
 * once, intent → executed → confirmed on the ledger; payments replayed with the same key after a
 * crash; a notice in doubt, a refused refund and a manual provider each waiting for a person,
 * whose answer moves the effect on. SES is mocked: the error paths of sending are the point here
 * (the end-to-end tests send through the SES emulator).
 */
import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbEffectStore } from '../../functions/adapters/dynamodb-effect-store.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { DynamoDbSentNotices } from '../../functions/adapters/dynamodb-sent-notices.ts';
import { DynamoDbWaits } from '../../functions/adapters/dynamodb-waits.ts';
import { keys } from '../../functions/adapters/operations-keys.ts';
import { SesMailer } from '../../functions/adapters/ses-mailer.ts';
import { StripePayments, stripeClient } from '../../functions/adapters/stripe-payments.ts';
import { DEFAULT_ROUND_RULES } from '../../functions/domain/approval-policy.ts';
import { formatQuestionId } from '../../functions/domain/effects.ts';
import type { LedgerEntryV2 } from '../../functions/domain/ledger.ts';
import { effectState, pseudonym, verifyChain } from '../../functions/domain/ledger.ts';
import type { NoticeEvent } from '../../functions/domain/notice-events.ts';
import type { Customer, PlanInput } from '../../functions/domain/plan.ts';
import { versionIdOf } from '../../functions/domain/plan.ts';
import type { Workflow } from '../../functions/domain/ports.ts';
import { questionPage } from '../../functions/effect-questions-page/page.ts';
import type { CarryOutEffectsDeps } from '../../functions/use-cases/carry-out-effects.ts';
import { CONCURRENCY, carryOutEffects } from '../../functions/use-cases/carry-out-effects.ts';
import {
  answerQuestion,
  askAboutEffect,
  askAboutPlan,
  RESEND_GRACE_MS,
  viewQuestion,
} from '../../functions/use-cases/effect-questions.ts';
import { holdForPeople } from '../../functions/use-cases/hold-for-people.ts';
import { recordCustomers, submitPlan } from '../../functions/use-cases/propose-plan.ts';
import { recordNoticeEvent } from '../../functions/use-cases/record-notice-events.ts';
import type { StripeStandIn } from '../../local/stripe/server.ts';
import { startStripeStandIn } from '../../local/stripe/server.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase, testClock } from '../support/dynamodb.ts';
import { plainIncident } from '../support/incidents.ts';

const KEY = Buffer.alloc(32, 3);
const ses = mockClient(SESClient);
let db: TestDatabase;
let standIn: StripeStandIn;
let stripe: Stripe;
let incidents = 0;

beforeAll(async () => {
  db = await startTestDatabase();
  standIn = await startStripeStandIn({ port: 0, refundSettleMs: 100 });
  stripe = stripeClient('sk_test_act', { apiBase: standIn.url });
});
afterAll(async () => {
  await standIn.close();
  await db.close();
});
beforeEach(() => {
  ses.reset();
  let n = 0;
  ses.on(SendEmailCommand).callsFake(async () => ({ MessageId: `ses-${++n}` }));
});

const sentTo = () =>
  ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input.Destination?.ToAddresses?.[0]);

async function paidCustomer(
  ref: string,
  email: string,
  minor: number,
  currency: string,
  paymentMethod?: string,
): Promise<Customer> {
  const customer = await stripe.customers.create({ email });
  const charge = await stripe.charges.create({
    amount: minor,
    currency: currency.toLowerCase(),
    source: paymentMethod ?? 'tok_visa',
    customer: customer.id,
  });
  return { customerRef: ref, email, name: ref, amount: { minor, currency }, paymentRef: charge.id };
}

/** An incident in Act with `customers` and a plan every approver approved. */
async function setup(options: {
  customers: Customer[];
  input: PlanInput;
  payments?: 'manual' | StripePayments;
  clock?: ReturnType<typeof testClock>;
}) {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  const effects = new DynamoDbEffectStore(db.doc, tables.operations);
  const waits = new DynamoDbWaits(db.doc, tables.operations);
  const ledger = db.ledger(tables.ledger);
  const clock = options.clock ?? testClock();
  // Each test its own incident: Stripe keeps idempotency keys (incident:effect:attempt) across tests.
  const base = plainIncident(++incidents);
  const id = base.id;
  await store.createIncident({ ...base, phase: 'Act', status: 'MITIGATED', decideRound: 1 });
  await recordCustomers(
    { effects, incidents: store },
    (await store.getIncident(id)) ?? base,
    options.customers,
  );
  const pseudonymOf = async (ref: string) => pseudonym(KEY, ref);
  const plan = await submitPlan(
    { incidents: store, effects, pseudonym: pseudonymOf, clock },
    id,
    options.input,
    'sre@example.com',
  );
  // The default medium rule asks all three; every one approved.
  for (const role of ['legal', 'business', 'sre'] as const) {
    const key = { incidentId: id, round: 1, role };
    await store.createApproval({
      ...key,
      approverEmail: `${role}@example.com`,
      approverName: role,
      status: 'PENDING',
      requestedAt: 't',
      planHash: plan.hash,
      planVersion: plan.version,
      policyVersion: 'p',
      linkSecretHash: 'h',
    });
    await store.settleApproval(key, 'APPROVED', {
      decision: { decision: 'approve', seat: 'primary', name: role, comment: '', at: 't' },
    });
  }
  const decided = (await store.getIncident(id)) ?? base;
  await store.updateIncident(decided, {
    approvalRound: {
      round: 1,
      openedAt: 't',
      policyVersion: 'p',
      size: 'medium',
      severity: decided.severity,
      rule: DEFAULT_ROUND_RULES.medium,
      planVersion: plan.version,
      planHash: plan.hash,
      decided: { verdict: 'approved', reason: '3 of 3 approved (quorum 3)', at: 't' },
    },
  });
  const completed: string[] = [];
  const workflow: Workflow = {
    start: async () => ({ started: true }),
    completeTask: async (token) => {
      completed.push(token);
      return true;
    },
    failTask: async () => true,
    executionStatus: async () => 'RUNNING',
  };
  const mailer = new SesMailer(new SESClient({ region: 'us-east-1' }), 'casebook@example.com');
  let mailTakes = 0;
  const mailRate = {
    take: async () => {
      mailTakes++;
    },
  };
  const askDeps = {
    questions: waits,
    incidents: store,
    effects,
    ledger,
    mailer,
    responders: ['oncall@example.com'],
    sreLead: 'lead@example.com',
    rate: mailRate,
    publicBaseUrl: 'https://casebook.example.com',
    clock,
  };
  const deps: CarryOutEffectsDeps = {
    incidents: store,
    approvals: store,
    effects,
    ledger,
    mailer,
    payments: options.payments ?? new StripePayments(stripe),
    ask: (incident, effect, reason, detail) => askAboutEffect(askDeps, incident, effect, reason, detail),
    askAboutPlan: (incident, planVersion, detail) =>
      askAboutPlan({ ...askDeps, responders: ['lead@example.com'] }, incident, planVersion, detail),
    clock,
    rates: { mail: mailRate, payments: { take: async () => undefined } },
    timeLeft: () => 60_000,
  };
  const answerDeps = { questions: waits, waits, incidents: store, effects, ledger, workflow, clock };
  /** The link a responder got for a question, from the mocked SES. */
  const questionLink = (effectId: string) => {
    const mail = ses
      .commandCalls(SendEmailCommand)
      .map((c) => c.args[0].input.Message?.Body?.Text?.Data ?? '')
      .find((text) => text.includes(`/effects/${id}.${effectId}.`));
    const m = mail ? /\/effects\/(\S+)/.exec(mail) : null;
    if (!m?.[1]) throw new Error(`no question e-mailed about ${effectId}`);
    return m[1];
  };
  const act = () => carryOutEffects(deps, { incidentId: id });
  const entries = async () => (await ledger.read(id)) as LedgerEntryV2[];
  return {
    id,
    store,
    effects,
    waits,
    ledger,
    deps,
    answerDeps,
    act,
    entries,
    questionLink,
    completed,
    plan,
    tables,
    mailTakes: () => mailTakes,
  };
}

const refundCreditNotice: PlanInput = {
  summary: 'Refund what was charged twice, a goodwill credit, and tell each customer.',
  apply: [
    { kind: 'refund', amount: 'affected', obligation: 'tos' },
    { kind: 'credit', amount: '5.00', currency: 'EUR', obligation: 'brand' },
    { kind: 'notice', obligation: 'brand', template: 'refund_confirmation' },
  ],
  effects: [],
};

const refundAndNotice: PlanInput = {
  summary: 'Refund what was charged twice, and tell each customer.',
  apply: [
    { kind: 'refund', amount: 'affected', obligation: 'tos' },
    { kind: 'notice', obligation: 'brand', template: 'apology' },
  ],
  effects: [],
};

/** A refund to each customer of what they were affected by, alone. */
const refundAffected: PlanInput = {
  summary: 'Refund',
  apply: [{ kind: 'refund', amount: 'affected', obligation: 'tos' }],
  effects: [],
};

/** One customer who paid by invoice, refunded by a person (the manual provider). */
const manualRefund = (
  customerRef: string,
  email: string,
  minor: number,
  currency: string,
  paymentRef: string,
) => ({
  customers: [{ customerRef, email, amount: { minor, currency }, paymentRef }],
  input: refundAffected,
  payments: 'manual' as const,
});

async function waitUntil(done: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!done()) {
    if (Date.now() > until) throw new Error('waited in vain');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('Act carries out the approved effects', () => {
  it('refunds, credits and tells each customer exactly once, recording intent, executed and confirmed', async () => {
    const customers = [
      await paidCustomer('cus_ada', 'ada@example.com', 1299, 'EUR'),
      await paidCustomer('cus_bo', 'bo@example.com', 2500, 'EUR'),
    ];
    const { act, entries, id, tables } = await setup({ customers, input: refundCreditNotice });

    // Refunds start pending at Stripe: Act records them executed and comes back for them.
    const first = await act();
    expect(first).toMatchObject({ outcome: 'waiting-provider', counts: { executed: 2, confirmed: 4 } });
    await new Promise((r) => setTimeout(r, 250));
    expect(await act()).toMatchObject({ outcome: 'done', counts: { confirmed: 6 } });

    const ledger = await entries();
    // Effects run side by side, so their entries interleave; each effect's own run in order.
    const order = ['intent', 'executed', 'confirmed', 'failed'];
    const byEffect = (kind: string) =>
      ledger
        .filter((e) => e.kind === kind)
        .map((e) => [e.effectId, effectState(e), e.amount?.minor, e.obligation] as const)
        .sort(
          (a, b) => `${a[0]}`.localeCompare(`${b[0]}`) || order.indexOf(`${a[1]}`) - order.indexOf(`${b[1]}`),
        );
    expect(byEffect('refund')).toEqual([
      ['P1-E1', 'intent', 1299, 'tos'],
      ['P1-E1', 'executed', 1299, 'tos'],
      ['P1-E1', 'confirmed', 1299, 'tos'],
      ['P1-E2', 'intent', 2500, 'tos'],
      ['P1-E2', 'executed', 2500, 'tos'],
      ['P1-E2', 'confirmed', 2500, 'tos'],
    ]);
    expect(byEffect('credit')).toEqual([
      ['P1-E3', 'intent', 500, 'brand'],
      ['P1-E3', 'confirmed', 500, 'brand'],
      ['P1-E4', 'intent', 500, 'brand'],
      ['P1-E4', 'confirmed', 500, 'brand'],
    ]);
    expect(
      ledger
        .filter((e) => e.kind === 'notice' && e.state === 'confirmed')
        .map((e) => e.providerRef)
        .sort(),
    ).toEqual(['ses-1', 'ses-2']);
    expect(sentTo().sort()).toEqual(['ada@example.com', 'bo@example.com']);
    // Each confirmed money movement has a provider reference and when it took effect; every entry
    // names the plan it carries out, and no entry names a customer in clear.
    for (const e of ledger.filter((x) => x.state === 'confirmed'))
      expect(e).toMatchObject({ providerRef: expect.any(String), effectiveAt: expect.any(String) });
    expect(ledger.every((e) => e.basis?.planHash)).toBe(true);
    expect(JSON.stringify(ledger)).not.toMatch(/ada@|bo@/);
    expect(await verifyChain(id, await db.ledger(tables.ledger).readChain(id), db.chainKeys)).toEqual([]);

    // At Stripe: one refund per payment, one credit per customer.
    for (const c of customers) {
      const refunds = await stripe.refunds.list({ charge: c.paymentRef as string });
      expect(refunds.data.map((r) => [r.amount, r.status])).toEqual([[c.amount?.minor, 'succeeded']]);
      const charge = await stripe.charges.retrieve(c.paymentRef as string);
      const credits = await stripe.customers.listBalanceTransactions(charge.customer as string);
      expect(credits.data.map((t) => t.amount)).toEqual([-500]);
    }

    // A run after everything is done does nothing at all.
    const before = ledger.length;
    expect(await act()).toMatchObject({ outcome: 'done' });
    expect((await entries()).length).toBe(before);
    expect(sentTo()).toHaveLength(2);
  });

  it('after a crash between the intent and the provider, pays once: the same key answers the same refund', async () => {
    const customers = [await paidCustomer('cus_cy', 'cy@example.com', 4000, 'USD')];
    const { act, effects, id, entries, deps, plan } = await setup({
      customers,
      input: refundAffected,
    });
    // The first run reaches Stripe, then "dies" before recording what Stripe answered.
    const realRefund = (deps.payments as StripePayments).refund.bind(deps.payments);
    (deps.payments as StripePayments).refund = async (request) => {
      await realRefund(request);
      throw new Error('killed after the provider call');
    };
    await expect(act()).rejects.toThrow(/killed/);
    expect((await effects.getEffect(id, versionIdOf(plan), 'P1-E1'))?.progress).toBe('intent');
    (deps.payments as StripePayments).refund = realRefund;

    await act();
    await new Promise((r) => setTimeout(r, 250));
    expect(await act()).toMatchObject({ outcome: 'done' });
    const refunds = await stripe.refunds.list({ charge: customers[0]?.paymentRef as string });
    expect(refunds.data).toHaveLength(1);
    expect((await entries()).filter((e) => e.kind === 'refund').map(effectState)).toEqual([
      'intent',
      'executed',
      'confirmed',
    ]);
  });

  it('never resends a notice in doubt: it asks the responders, and sends again only when told it was not sent', async () => {
    const { act, effects, id, entries, answerDeps, questionLink, completed, waits, plan } = await setup({
      customers: [{ customerRef: 'cus_dee', email: 'dee@example.com', name: 'Dee' }],
      input: {
        summary: 'Tell Dee',
        apply: [{ kind: 'notice', obligation: 'brand', template: 'apology' }],
        effects: [],
      },
    });
    // A run died after recording the intent: did SES take the message? Nobody knows.
    let hangUp = true;
    ses.on(SendEmailCommand).callsFake(async () => {
      if (!hangUp) return { MessageId: 'ses-after' };
      hangUp = false;
      throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    });
    expect(await act()).toMatchObject({ outcome: 'waiting-people', counts: { attention: 1 } });
    expect(await act()).toMatchObject({ outcome: 'waiting-people' });
    expect(sentTo().filter((to) => to === 'dee@example.com')).toHaveLength(1);
    expect(sentTo().filter((to) => to === 'oncall@example.com')).toHaveLength(1);
    await waits.holdWait(id, 'act', 'act-token', 't');

    const answered = await answerQuestion(answerDeps, questionLink('P1-E1'), {
      answer: 'not-sent',
      note: 'not in the mail log',
    });
    expect(answered.resumedWorkflow).toBe(true);
    expect(completed).toEqual(['act-token']);
    expect((await effects.getEffect(id, versionIdOf(plan), 'P1-E1'))?.progress).toBe('planned');
    expect(await act()).toMatchObject({ outcome: 'done' });
    expect(sentTo().filter((to) => to === 'dee@example.com')).toHaveLength(2);
    const ledger = await entries();
    expect(ledger.map((e) => [e.log, e.kind, e.state ?? e.decision, e.detail.attempt])).toEqual([
      ['effect', 'notice', 'intent', 1],
      ['decision', 'effect_reconciled', 'not-sent', undefined],
      ['effect', 'notice', 'intent', 2],
      ['effect', 'notice', 'confirmed', 2],
    ]);
    expect(ledger[1]?.actor).toBe('oncall@example.com');
  });

  it('goes on with the other effects when the provider refuses one, and voids it on a person’s word with a correction', async () => {
    const ok = await paidCustomer('cus_ed', 'ed@example.com', 1000, 'EUR');
    const gone = await paidCustomer('cus_flo', 'flo@example.com', 1000, 'EUR');
    await stripe.refunds.create({ charge: gone.paymentRef as string }); // already refunded in full by hand
    const { act, effects, id, entries, answerDeps, questionLink, plan } = await setup({
      customers: [ok, gone],
      input: refundAffected,
    });
    await act();
    await new Promise((r) => setTimeout(r, 250));
    expect(await act()).toMatchObject({ outcome: 'waiting-people', counts: { confirmed: 1, attention: 1 } });
    const refused = await effects.getEffect(id, versionIdOf(plan), 'P1-E2');
    expect(refused?.attention).toMatchObject({
      reason: 'refused',
      detail: expect.stringContaining('charge_already_refunded'),
    });

    await expect(answerQuestion(answerDeps, questionLink('P1-E2'), { answer: 'void' })).rejects.toMatchObject(
      {
        name: 'InvalidInputError',
        issues: [{ field: 'note', message: expect.stringContaining('required') }],
      },
    );
    await answerQuestion(answerDeps, questionLink('P1-E2'), {
      answer: 'void',
      note: 'refunded by hand on 20 Nov (ticket CS-77)',
    });
    await expect(
      answerQuestion(answerDeps, questionLink('P1-E2'), { answer: 'retry', note: '' }),
    ).rejects.toMatchObject({ name: 'ConflictError' });
    expect(await act()).toMatchObject({ outcome: 'done', counts: { confirmed: 1, voided: 1 } });
    const ledger = await entries();
    const intent = ledger.find((e) => e.effectId === 'P1-E2' && e.state === 'intent');
    const correction = ledger.find((e) => e.kind === 'correction');
    expect(correction).toMatchObject({ corrects: { id: intent?.id, seq: intent?.seq }, effectId: 'P1-E2' });
    expect(ledger.find((e) => e.effectId === 'P1-E2' && e.state === 'failed')?.detail).toMatchObject({
      code: 'charge_already_refunded',
    });
  });

  it('with the manual provider, asks a person to refund by hand and records the reference they give', async () => {
    const { act, id, entries, answerDeps, questionLink } = await setup(
      manualRefund('acct-9', 'gus@example.com', 700, 'GBP', 'INV-9'),
    );
    expect(await act()).toMatchObject({ outcome: 'waiting-people' });
    await expect(
      answerQuestion(answerDeps, questionLink('P1-E1'), { answer: 'done-by-hand', note: '' }),
    ).rejects.toMatchObject({
      issues: [{ field: 'reference' }],
    });
    await answerQuestion(answerDeps, questionLink('P1-E1'), {
      answer: 'done-by-hand',
      reference: 'BANK-TX-5521',
      note: '',
    });
    // The same answer again (a retry after a failure part-way) finishes and adds nothing.
    await answerQuestion(answerDeps, questionLink('P1-E1'), {
      answer: 'done-by-hand',
      reference: 'BANK-TX-5521',
      note: '',
    });
    expect((await entries()).filter((e) => e.kind === 'effect_reconciled')).toHaveLength(1);
    expect(await act()).toMatchObject({ outcome: 'done' });
    const confirmed = (await entries()).find((e) => e.state === 'confirmed');
    expect(confirmed).toMatchObject({
      actor: 'oncall@example.com',
      providerRef: 'BANK-TX-5521',
      amount: { minor: 700, currency: 'GBP' },
    });
    expect(confirmed?.basis?.decisionSeq).toBe(
      (await entries()).find((e) => e.kind === 'effect_reconciled')?.seq,
    );
    expect(id).toMatch(/^INC-2026-/);
  });

  it('carries out an answer recorded by a request that failed after it: no effect waits without a question open', async () => {
    const { act, deps, effects, id, entries, answerDeps, questionLink, completed, store, waits, plan } =
      await setup(manualRefund('acct-7', 'hal@example.com', 900, 'EUR', 'INV-7'));
    const holdDeps = {
      incidents: store,
      waits,
      questions: waits,
      workflow: answerDeps.workflow,
      clock: deps.clock,
    };
    let holds = 0;
    const hold = () => holdForPeople(holdDeps, { incidentId: id, step: 'act', taskToken: `act-${++holds}` });
    /** Every effect that needs a person has a question open about its attempt. */
    const asked = async () => {
      const open = await waits.openQuestions(id);
      const page = await effects.listEffects(id, versionIdOf(plan), undefined, 100);
      return page.items
        .filter((e) => e.progress === 'attention')
        .map((e) => ({
          effectId: e.effectId,
          asked: open.some((q) => q.effectId === e.effectId && q.attempt === e.attempt),
        }));
    };
    expect(await act()).toMatchObject({ outcome: 'waiting-people' });
    expect(await hold()).toEqual({ settled: false });

    // The answer is recorded on the question, then the next write fails (a table that did not answer).
    const failing = {
      read: (incidentId: string) => answerDeps.ledger.read(incidentId),
      readHead: (incidentId: string) => answerDeps.ledger.readHead(incidentId),
      readPage: answerDeps.ledger.readPage.bind(answerDeps.ledger),
      append: async (incidentId: string, draft: Parameters<typeof answerDeps.ledger.append>[1]) => {
        if (draft.log === 'effect') throw new Error('InternalServerError: the table did not answer');
        return answerDeps.ledger.append(incidentId, draft);
      },
    };
    await expect(
      answerQuestion({ ...answerDeps, ledger: failing }, questionLink('P1-E1'), {
        answer: 'done-by-hand',
        reference: 'BANK-TX-8800',
        note: '',
      }),
    ).rejects.toThrow('did not answer');
    expect((await effects.getEffect(id, versionIdOf(plan), 'P1-E1'))?.progress).toBe('attention');

    // The wait and Act, as the state machine alternates them: each Act run leaves every effect that
    // needs a person with a question open, and the answer on record is carried out.
    const outcomes: string[] = [];
    for (let turn = 0; turn < 5; turn++) {
      const { settled } = await hold();
      if (!settled) break;
      const { outcome } = await act();
      outcomes.push(outcome);
      expect((await asked()).filter((a) => !a.asked)).toEqual([]);
      if (outcome === 'done') break;
    }
    expect(outcomes.at(-1)).toBe('done');
    expect(outcomes.length).toBeLessThanOrEqual(2);
    expect(completed.length).toBeGreaterThan(0);
    const ledger = await entries();
    expect(ledger.filter((e) => e.kind === 'effect_reconciled')).toHaveLength(1);
    expect(ledger.find((e) => e.state === 'confirmed')).toMatchObject({
      actor: 'oncall@example.com',
      providerRef: 'BANK-TX-8800',
    });
  });

  it('with the manual provider, a question SES refuses to e-mail is recorded and the SRE lead asked: Act goes on', async () => {
    const { act, id, store, answerDeps, mailTakes } = await setup(
      manualRefund('acct-8', 'ivy@example.com', 1200, 'EUR', 'INV-8'),
    );
    // The responder's address is refused (SES: 400 MessageRejected); the SRE lead's is not.
    ses.on(SendEmailCommand).callsFake(async (input: { Destination?: { ToAddresses?: string[] } }) => {
      if (input.Destination?.ToAddresses?.[0] === 'oncall@example.com') {
        throw Object.assign(new Error('Email address is not verified.'), {
          name: 'MessageRejected',
          $metadata: { httpStatusCode: 400 },
        });
      }
      return { MessageId: 'ses-ok' };
    });
    expect(await act()).toMatchObject({ outcome: 'waiting-people' });
    // Every question e-mail, refused or not, went through the mail rate limit notices take.
    expect(mailTakes()).toBe(ses.commandCalls(SendEmailCommand).length);
    expect(sentTo()).toEqual(['oncall@example.com', 'lead@example.com']);
    const undelivered = (await store.listTimeline(id)).filter((e) => e.type === 'escalated');
    expect(undelivered).toHaveLength(1);
    expect(undelivered[0]?.summary).toContain('oncall@example.com');
    expect(undelivered[0]?.detail).toMatchObject({ kind: 'question-undelivered', asked: 'lead@example.com' });
    // A second run asks nobody again; the SRE lead's link answers the question.
    expect(await act()).toMatchObject({ outcome: 'waiting-people' });
    expect(sentTo()).toHaveLength(2);
    const toLead = ses
      .commandCalls(SendEmailCommand)
      .find((c) => c.args[0].input.Destination?.ToAddresses?.[0] === 'lead@example.com');
    const leadLink = /\/effects\/(\S+)/.exec(toLead?.args[0].input.Message?.Body?.Text?.Data ?? '')?.[1];
    expect(toLead?.args[0].input.Message?.Body?.Text?.Data).toContain(
      'could not be e-mailed to oncall@example.com',
    );
    const answered = await answerQuestion(answerDeps, leadLink ?? '', {
      answer: 'done-by-hand',
      reference: 'BANK-TX-9',
      note: '',
    });
    expect(answered.view.askedOf).toBe('lead@example.com');
    expect(await act()).toMatchObject({ outcome: 'done' });
  });

  it('runs again at once when a long run ends with its first refunds due a look, and waits otherwise', async () => {
    // A stand-in whose refunds stay pending for the whole test.
    const slow = await startStripeStandIn({ port: 0, refundSettleMs: 600_000 });
    try {
      const client = stripeClient('sk_test_slow', { apiBase: slow.url });
      const customers: Customer[] = [];
      for (const [ref, minor] of [
        ['cus_lo', 1000],
        ['cus_ma', 2000],
      ] as const) {
        const charge = await client.charges.create({ amount: minor, currency: 'eur', source: 'tok_visa' });
        customers.push({
          customerRef: ref,
          email: `${ref}@example.com`,
          amount: { minor, currency: 'EUR' },
          paymentRef: charge.id,
        });
      }
      const clock = testClock();
      const refundOnly: PlanInput = { ...refundCreditNotice, apply: refundCreditNotice.apply.slice(0, 1) };
      const { deps, id } = await setup({
        customers,
        input: refundOnly,
        clock,
        payments: new StripePayments(client),
      });
      // The run goes on for 6 s (by the clock) after the first refund was made.
      let long = true;
      const effects = Object.create(deps.effects) as typeof deps.effects;
      effects.advanceEffect = async (...args) => {
        const moved = await deps.effects.advanceEffect(...args);
        if (long && args[4].progress === 'executed') {
          long = false;
          clock.advance(6_000);
        }
        return moved;
      };
      const act = () => carryOutEffects({ ...deps, effects }, { incidentId: id });

      // The first refund is due its first look (5 s after it was made): run again at once.
      expect(await act()).toMatchObject({ outcome: 'more', counts: { executed: 2 }, retryAfterSeconds: 0 });
      // Looked at, still pending: not again for half as long as they have waited, and at least
      // 5 s — never a loop that only makes history.
      expect(await act()).toMatchObject({ outcome: 'waiting-provider', retryAfterSeconds: 5 });
      clock.advance(30_000);
      const later = await act();
      expect(later.outcome).toBe('waiting-provider');
      expect(later.retryAfterSeconds).toBeGreaterThanOrEqual(15);
      expect(later.retryAfterSeconds).toBeLessThanOrEqual(19);
    } finally {
      await slow.close();
    }
  });

  it('pays nothing when the stored effects are not the approved ones: the SRE lead is asked, and Act checks again', async () => {
    const customers = [
      await paidCustomer('cus_gil', 'gil@example.com', 1000, 'EUR'),
      await paidCustomer('cus_hal', 'hal@example.com', 1000, 'EUR'),
    ];
    const { act, id, entries, tables, answerDeps, questionLink, completed, waits } = await setup({
      customers,
      input: {
        summary: 'A goodwill credit',
        apply: [{ kind: 'credit', amount: '5.00', currency: 'EUR', obligation: 'brand' }],
        effects: [],
      },
    });
    // After approval, the stored credit of the second customer becomes 450.00.
    const stored = await db.doc.send(
      new QueryCommand({
        TableName: tables.operations,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
        ExpressionAttributeValues: { ':pk': `INCIDENT#${id}`, ':sk': 'EFFECT#' },
      }),
    );
    const second = stored.Items?.find((i) => i.effectId === 'P1-E2');
    if (!second) throw new Error('no stored effect P1-E2');
    const tamper = (minor: number) =>
      db.doc.send(
        new UpdateCommand({
          TableName: tables.operations,
          Key: { pk: second.pk, sk: second.sk },
          UpdateExpression: 'SET amount.minor = :m',
          ExpressionAttributeValues: { ':m': minor },
        }),
      );
    await tamper(45_000);

    const stopped = await act();
    expect(stopped.outcome).toBe('waiting-people');
    const credited = async () => {
      const out: number[][] = [];
      for (const c of customers) {
        const charge = await stripe.charges.retrieve(c.paymentRef as string);
        const txns = await stripe.customers.listBalanceTransactions(charge.customer as string);
        out.push(txns.data.map((t) => -t.amount));
      }
      return out;
    };
    expect(await credited()).toEqual([[], []]);
    expect((await entries()).filter((e) => e.log === 'effect')).toEqual([]);
    // The SRE lead is asked, with a link of their own; no one else, and no customer, hears of it.
    expect(sentTo()).toEqual(['lead@example.com']);
    const subject = ses.commandCalls(SendEmailCommand)[0]?.args[0].input.Message?.Subject?.Data;
    expect(subject).toMatch(/plan v1 needs you \(plan mismatch\)/);
    // A run before anyone answered changes nothing and asks no one again.
    expect((await act()).outcome).toBe('waiting-people');
    expect(sentTo()).toHaveLength(1);

    // "Check again" before the effects are restored: Act stops again, and asks again.
    await waits.holdWait(id, 'act', 'act-token', 't');
    const first = questionLink('P1');
    const page = questionPage(await viewQuestion(answerDeps, first));
    expect(page).toContain('plan v1');
    expect(page).toContain('Check again: the stored effects are restored');
    expect((await answerQuestion(answerDeps, first, { answer: 'retry', note: '' })).resumedWorkflow).toBe(
      true,
    );
    expect(completed).toEqual(['act-token']);
    expect((await act()).outcome).toBe('waiting-people');
    expect(sentTo()).toHaveLength(2);
    expect(await credited()).toEqual([[], []]);

    // Restored: Act carries out exactly the approved plan.
    await tamper(500);
    const again = ses
      .commandCalls(SendEmailCommand)
      .map((c) => /\/effects\/(\S+)/.exec(c.args[0].input.Message?.Body?.Text?.Data ?? '')?.[1])
      .find((l) => l?.includes('.P1.2.'));
    await answerQuestion(answerDeps, again as string, { answer: 'retry', note: 'restored from backup' });
    expect(await act()).toMatchObject({ outcome: 'done', counts: { confirmed: 2 } });
    expect(await credited()).toEqual([[500], [500]]);
  });

  it('pays nothing when an effect was added to the stored plan', async () => {
    const customers = [await paidCustomer('cus_ida', 'ida@example.com', 1000, 'EUR')];
    const { act, id, tables } = await setup({
      customers,
      input: {
        summary: 'A goodwill credit',
        apply: [{ kind: 'credit', amount: '5.00', currency: 'EUR', obligation: 'brand' }],
        effects: [],
      },
    });
    const stored = await db.doc.send(
      new QueryCommand({
        TableName: tables.operations,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
        ExpressionAttributeValues: { ':pk': `INCIDENT#${id}`, ':sk': 'EFFECT#' },
      }),
    );
    const only = stored.Items?.[0];
    if (!only) throw new Error('no stored effect');
    await db.doc.send(
      new PutCommand({
        TableName: tables.operations,
        Item: { ...only, sk: (only.sk as string).replace(/\d{6}$/, '000002'), effectId: 'P1-E2' },
      }),
    );
    expect((await act()).outcome).toBe('waiting-people');
    const charge = await stripe.charges.retrieve(customers[0]?.paymentRef as string);
    expect((await stripe.customers.listBalanceTransactions(charge.customer as string)).data).toEqual([]);
  });

  it('acts on nothing a full round did not approve, and stops early when its time runs out', async () => {
    const { act, store, id, deps, tables } = await setup({
      customers: [
        { customerRef: 'c1', email: 'h@example.com' },
        { customerRef: 'c2', email: 'i@example.com' },
      ],
      input: { summary: 'Tell', apply: [{ kind: 'notice', obligation: 'brand' }], effects: [] },
    });
    const late = await carryOutEffects({ ...deps, timeLeft: () => 5_000 }, { incidentId: id });
    expect(late).toMatchObject({ outcome: 'more', counts: { planned: 2 } });
    const incident = await store.getIncident(id);
    if (!incident) throw new Error('no incident');
    await store.updateIncident(incident, { decideRound: 2 });
    await expect(act()).rejects.toThrow(/plan v1 was not decided in round 2/);
    // The incident's word is not enough: the requests themselves are weighed again by the round's rule.
    const back = await store.getIncident(id);
    if (!back) throw new Error('no incident');
    await store.updateIncident(back, { decideRound: 1 });
    await db.doc.send(new DeleteCommand({ TableName: tables.operations, Key: keys.approval(id, 1, 'sre') }));
    await expect(act()).rejects.toThrow(
      /plan v1 lacks approval in round 1 \(Legal, Business and SRE; 3 of 3 must approve\)/,
    );
    expect(sentTo()).toEqual([]);
  });

  it('keeps each provider busy at its own pace: notices are not held behind refunds waiting for the payments rate', async () => {
    // One more refund than Act has under way on a provider at once, all listed before the notices.
    const customers = await Promise.all(
      Array.from({ length: CONCURRENCY + 1 }, (_, i) =>
        paidCustomer(`cus_${i}`, `p${i}@example.com`, 100, 'EUR'),
      ),
    );
    const { deps, id } = await setup({ customers, input: refundAndNotice });
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let paymentTurns = 0;
    const payments = {
      take: async () => {
        paymentTurns++;
        await gate;
      },
    };
    const running = carryOutEffects({ ...deps, rates: { ...deps.rates, payments } }, { incidentId: id });
    await waitUntil(() => sentTo().length === customers.length);
    expect(paymentTurns).toBe(CONCURRENCY);
    expect(await stripe.refunds.list({ charge: customers[0]?.paymentRef as string })).toMatchObject({
      data: [],
    });
    open();
    expect(await running).toMatchObject({
      counts: { executed: customers.length, confirmed: customers.length },
    });
  });

  it('starts no effect whose turn at its provider would come after the run ends: the others go on', async () => {
    const customers = [await paidCustomer('cus_late', 'late@example.com', 100, 'EUR')];
    const { deps, id } = await setup({ customers, input: refundAndNotice });
    // 60 s left, 30 s kept back, and the payments queue already 40 s long.
    const payments = { take: async () => undefined, delayMs: () => 40_000 };
    const run = await carryOutEffects(
      { ...deps, rates: { ...deps.rates, payments }, timeLeft: () => 60_000 },
      { incidentId: id },
    );
    expect(run).toMatchObject({ outcome: 'more', counts: { planned: 1, confirmed: 1 } });
    expect(sentTo()).toEqual(['late@example.com']);
    expect(await stripe.refunds.list({ charge: customers[0]?.paymentRef as string })).toMatchObject({
      data: [],
    });
  });

  it('keeps the question link to the responder it was sent to; a link that was not sent finds nothing', async () => {
    const { act, id, answerDeps, questionLink } = await setup(
      manualRefund('acct-1', 'j@example.com', 100, 'EUR', 'X'),
    );
    await act();
    const link = questionLink('P1-E1');
    const forged = formatQuestionId({
      incidentId: id,
      effectId: 'P1-E1',
      attempt: 1,
      secret: 'A'.repeat(43),
    });
    await expect(answerQuestion(answerDeps, forged, { answer: 'void', note: 'x' })).rejects.toMatchObject({
      name: 'NotFoundError',
    });
    await expect(
      answerQuestion(answerDeps, link.replace('.1.', '.01.'), { answer: 'void', note: 'x' }),
    ).rejects.toMatchObject({
      name: 'NotFoundError',
    });
  });
});

describe('a bounced notice sent to another address from the customer list', () => {
  const tellAda: PlanInput = {
    summary: 'Tell Ada',
    apply: [{ kind: 'notice', obligation: 'brand', template: 'apology' }],
    effects: [],
  };
  const bounce = (messageId: string): NoticeEvent => ({
    type: 'Bounce',
    outcome: 'bounced',
    messageId,
    at: new Date().toISOString(),
    eventKey: `Bounce:fb-${messageId}`,
    undeliverable: true,
    recipients: [],
    detail: { bounceType: 'Permanent', bounceSubType: 'General' },
  });

  /** Act sends the notice, SES bounces it, the responders are asked; the page's deps can resend. */
  async function bounced(customer: Customer, responders = ['oncall@example.com']) {
    const s = await setup({ customers: [customer], input: tellAda });
    const ask: typeof s.deps.ask = (incident, effect, reason, detail) =>
      askAboutEffect(
        {
          questions: s.waits,
          incidents: s.store,
          effects: s.effects,
          ledger: s.ledger,
          mailer: s.deps.mailer,
          rate: { take: async () => undefined },
          responders,
          sreLead: 'lead@example.com',
          publicBaseUrl: 'https://casebook.example.com',
          clock: testClock(),
        },
        incident,
        effect,
        reason,
        detail,
      );
    const sentNotices = new DynamoDbSentNotices(db.doc, s.tables.operations);
    expect(
      await carryOutEffects({ ...s.deps, sentNotices, timeLeft: () => 60_000 }, { incidentId: s.id }),
    ).toMatchObject({
      outcome: 'done',
    });
    const recorded = await recordNoticeEvent(
      {
        sentNotices,
        incidents: s.store,
        effects: s.effects,
        ledger: s.ledger,
        ask,
        clock: testClock(),
      },
      bounce('ses-1'),
    );
    expect(recorded).toMatchObject({ recorded: true, asked: true });
    const answerDeps = {
      ...s.answerDeps,
      resend: { mailer: s.deps.mailer, rate: { take: async () => undefined }, sentNotices, ask },
    };
    return { ...s, sentNotices, answerDeps };
  }

  it('offers the other addresses, sends the approved words to the one chosen once, as attempt 2 with its own evidence', async () => {
    const ada: Customer = {
      customerRef: 'cus_ada',
      email: 'ada@example.com',
      name: 'Ada',
      otherEmails: ['ada@work.example', 'ada@home.example'],
    };
    const { id, answerDeps, questionLink, effects, plan, entries, sentNotices, ledger, store } =
      await bounced(ada);
    const link = questionLink('P1-E1');
    const view = await viewQuestion(answerDeps, link);
    expect(view.answers).toEqual(['resend', 'done-by-hand', 'void']);
    expect(view.otherAddresses).toEqual(['ada@work.example', 'ada@home.example']);
    const page = questionPage(view);
    expect(page).toContain('<input type="radio" name="address" value="ada@work.example"');
    expect(page).toContain('<input type="radio" name="address" value="ada@home.example"');

    // An address that is not on the list is refused, naming the field; nothing is sent or recorded.
    const before = ses.commandCalls(SendEmailCommand).length;
    await expect(
      answerQuestion(answerDeps, link, { answer: 'resend', address: 'mallory@example.com' }),
    ).rejects.toMatchObject({ name: 'InvalidInputError', issues: [{ field: 'address' }] });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(before);

    // A double click: both requests carry out the same answer; one sends.
    await Promise.all([
      answerQuestion(answerDeps, link, { answer: 'resend', address: 'ada@work.example' }),
      answerQuestion(answerDeps, link, { answer: 'resend', address: 'ada@work.example' }),
    ]);
    // Another responder's different answer afterwards is a conflict with the one on record.
    await expect(
      answerQuestion(answerDeps, link, { answer: 'resend', address: 'ada@home.example' }),
    ).rejects.toMatchObject({ name: 'ConflictError' });
    const toAda = ses
      .commandCalls(SendEmailCommand)
      .map((c) => c.args[0].input)
      .filter((m) => (m.Destination?.ToAddresses?.[0] ?? '').startsWith('ada@'));
    expect(toAda.map((m) => m.Destination?.ToAddresses)).toEqual([['ada@example.com'], ['ada@work.example']]);
    // The words the approvers saw, byte for byte: only the recipient differs.
    expect(toAda[1]?.Message).toEqual(toAda[0]?.Message);

    const effect = await effects.getEffect(id, versionIdOf(plan), 'P1-E1');
    expect(effect).toMatchObject({ progress: 'confirmed', attempt: 2 });
    const resent = effect?.providerRef as string;
    expect(await sentNotices.find(resent)).toMatchObject({ effectId: 'P1-E1', attempt: 2 });
    const all = await entries();
    expect(all.map((e) => [e.log, e.kind, e.state ?? e.decision, e.detail.attempt])).toEqual([
      ['effect', 'notice', 'intent', 1],
      ['effect', 'notice', 'confirmed', 1],
      ['effect', 'notice_event', undefined, 1],
      ['decision', 'effect_reconciled', 'resend', undefined],
      ['effect', 'notice', 'intent', 2],
      ['effect', 'notice', 'confirmed', 2],
    ]);
    expect(all.at(-1)).toMatchObject({ providerRef: resent, actor: 'oncall@example.com' });
    expect(JSON.stringify(all)).not.toContain('ada@');

    // The new attempt bounces too: a question about attempt 2, offering only the address not tried.
    await recordNoticeEvent(
      { sentNotices, incidents: store, effects, ledger, ask: answerDeps.resend.ask, clock: testClock() },
      bounce(resent),
    );
    const second = await viewQuestion(answerDeps, questionLinkOf(id, 'P1-E1', 2));
    expect(second.otherAddresses).toEqual(['ada@home.example']);
    // The page names the address that attempt bounced at.
    expect(second.customerEmail).toBe('ada@work.example');
    expect(view.customerEmail).toBe('ada@example.com');
  });

  it('two responders answering at once: one answer is recorded and sends, the other is a conflict', async () => {
    const { answerDeps, id, entries } = await bounced(
      { customerRef: 'cus_gil', email: 'gil@example.com', otherEmails: ['gil@work.example'] },
      ['oncall@example.com', 'second@example.com'],
    );
    const linkOf = (to: string) =>
      ses
        .commandCalls(SendEmailCommand)
        .map((c) => c.args[0].input)
        .filter((m) => m.Destination?.ToAddresses?.[0] === to)
        .map(
          (m) =>
            new RegExp(`/effects/(${id}\\.P1-E1\\.1\\.\\S+)`).exec(m.Message?.Body?.Text?.Data ?? '')?.[1],
        )
        .find(Boolean) as string;
    const answers = await Promise.allSettled(
      ['oncall@example.com', 'second@example.com'].map((to) =>
        answerQuestion(answerDeps, linkOf(to), { answer: 'resend', address: 'gil@work.example' }),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(answers.find((a) => a.status === 'rejected')).toMatchObject({ reason: { name: 'ConflictError' } });
    expect(sentTo().filter((to) => to === 'gil@work.example')).toHaveLength(1);
    const ledger = await entries();
    expect(ledger.filter((e) => e.kind === 'effect_reconciled')).toHaveLength(1);
    expect(
      ledger.filter((e) => e.kind === 'notice' && e.state === 'confirmed').map((e) => e.detail.attempt),
    ).toEqual([1, 2]);
  });

  it('a resend that ends without an answer is asked about; found not sent, it goes to that address again', async () => {
    const { answerDeps, id, questionLink, effects, plan, entries } = await bounced({
      customerRef: 'cus_hal',
      email: 'hal@example.com',
      otherEmails: ['hal@work.example'],
    });
    let n = 1;
    let hangUp = true;
    ses.on(SendEmailCommand).callsFake(async (input: { Destination?: { ToAddresses?: string[] } }) => {
      if (input.Destination?.ToAddresses?.[0] === 'hal@work.example' && hangUp) {
        hangUp = false;
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      }
      return { MessageId: `ses-${++n}` };
    });
    await answerQuestion(answerDeps, questionLink('P1-E1'), {
      answer: 'resend',
      address: 'hal@work.example',
    });
    expect(await effects.getEffect(id, versionIdOf(plan), 'P1-E1')).toMatchObject({
      progress: 'attention',
      attempt: 2,
      attention: { reason: 'in-doubt' },
    });
    const doubt = questionLinkOf(id, 'P1-E1', 2);
    const view = await viewQuestion(answerDeps, doubt);
    expect(view.answers).toEqual(['sent', 'not-sent']);
    expect(view.customerEmail).toBe('hal@work.example');
    await answerQuestion(answerDeps, doubt, { answer: 'not-sent', note: 'not in the SES log' });
    expect(sentTo().filter((to) => to === 'hal@work.example')).toHaveLength(2);
    expect(sentTo().filter((to) => to === 'hal@example.com')).toHaveLength(1);
    expect(await effects.getEffect(id, versionIdOf(plan), 'P1-E1')).toMatchObject({
      progress: 'confirmed',
      attempt: 3,
    });
    expect(
      (await entries()).filter((e) => e.kind === 'notice').map((e) => [e.state, e.detail.attempt]),
    ).toEqual([
      ['intent', 1],
      ['confirmed', 1],
      ['intent', 2],
      ['intent', 3],
      ['confirmed', 3],
    ]);
  });

  it('a resend whose request ended before SES answered is asked about as in doubt when answered again after the grace', async () => {
    const {
      answerDeps: base,
      id,
      questionLink,
      effects,
      plan,
      entries,
    } = await bounced({
      customerRef: 'cus_ivy',
      email: 'ivy@example.com',
      otherEmails: ['ivy@work.example'],
    });
    let n = 1;
    ses.on(SendEmailCommand).callsFake(async (input: { Destination?: { ToAddresses?: string[] } }) => {
      // The request that sends it dies here: SES never answers it.
      if (input.Destination?.ToAddresses?.[0] === 'ivy@work.example') return new Promise(() => undefined);
      return { MessageId: `ses-${++n}` };
    });
    const clock = testClock('2026-11-22T11:00:00.000Z');
    const answerDeps = { ...base, clock, resend: { ...base.resend, answerWithinMs: 3_600_000 } };
    const link = questionLink('P1-E1');
    const resend = { answer: 'resend', address: 'ivy@work.example' };
    void answerQuestion(answerDeps, link, resend);
    const current = () => effects.getEffect(id, versionIdOf(plan), 'P1-E1');
    for (let i = 0; (await current())?.progress !== 'intent'; i++) {
      if (i > 500) throw new Error('the resend never claimed its attempt');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await current()).toMatchObject({ progress: 'intent', attempt: 2 });

    // Answered again while it may still be under way: nothing is sent twice, the page says it is being sent.
    await answerQuestion(answerDeps, link, resend);
    expect(sentTo().filter((to) => to === 'ivy@work.example')).toHaveLength(1);
    expect(await current()).toMatchObject({ progress: 'intent', attempt: 2 });
    expect((await viewQuestion(answerDeps, link)).resend).toMatchObject({ attempt: 2, outcome: 'sending' });

    // Past the grace no request can still be sending it: answered again, it is a question in doubt at once.
    clock.advance(RESEND_GRACE_MS);
    expect((await viewQuestion(answerDeps, link)).resend).toMatchObject({ attempt: 2, outcome: 'stalled' });
    expect(questionPage(await viewQuestion(answerDeps, link))).toContain('<form method="post"');
    await answerQuestion(answerDeps, link, resend);
    expect(await current()).toMatchObject({
      progress: 'attention',
      attempt: 2,
      attention: { reason: 'in-doubt' },
    });
    expect(sentTo().filter((to) => to === 'ivy@work.example')).toHaveLength(1);
    const doubt = await viewQuestion(answerDeps, questionLinkOf(id, 'P1-E1', 2));
    expect(doubt.answers).toEqual(['sent', 'not-sent']);
    expect(doubt.customerEmail).toBe('ivy@work.example');
    const view = await viewQuestion(answerDeps, link);
    expect(view.resend).toMatchObject({ attempt: 2, outcome: 'in-doubt', asked: true });
    expect(questionPage(view)).toContain('not known whether SES took it');
    expect(
      (await entries()).filter((e) => e.kind === 'notice').map((e) => [e.state, e.detail.attempt]),
    ).toEqual([
      ['intent', 1],
      ['confirmed', 1],
      ['intent', 2],
    ]);
  });

  it('a resend SES refuses is recorded failed and asked about with its reason; with SES down the question is asked when answered again', async () => {
    const { answerDeps, id, questionLink, effects, plan, entries } = await bounced({
      customerRef: 'cus_jo',
      email: 'jo@example.com',
      otherEmails: ['jo@work.example', 'jo@home.example'],
    });
    let n = 1;
    let down = true;
    ses.on(SendEmailCommand).callsFake(async (input: { Destination?: { ToAddresses?: string[] } }) => {
      if (input.Destination?.ToAddresses?.[0] === 'jo@work.example')
        throw Object.assign(new Error('Address blacklisted.'), {
          name: 'MessageRejected',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        });
      // The questions' e-mails find SES unreachable until it is back.
      if (down)
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8005'), { code: 'ECONNREFUSED' });
      return { MessageId: `ses-${++n}` };
    });
    const link = questionLink('P1-E1');
    const resend = { answer: 'resend', address: 'jo@work.example' };
    await expect(answerQuestion(answerDeps, link, resend)).rejects.toThrow(/ECONNREFUSED/);
    const current = () => effects.getEffect(id, versionIdOf(plan), 'P1-E1');
    expect(await current()).toMatchObject({
      progress: 'attention',
      attempt: 2,
      attention: { reason: 'bounced' },
    });
    // SES is back: the same answer again e-mails the question the failed request could not.
    down = false;
    await answerQuestion(answerDeps, link, resend);
    expect(sentTo().filter((to) => to === 'jo@work.example')).toHaveLength(1);
    expect(await answerDeps.questions.getQuestion(id, 'P1-E1', 2)).toMatchObject({
      emailedAt: expect.any(String),
    });
    // The link e-mailed now: the failed request's were replaced.
    const again = await viewQuestion(answerDeps, questionLinkOf(id, 'P1-E1', 2, 'last'));
    expect(again.question.detail).toContain('Address blacklisted');
    expect(again.otherAddresses).toEqual(['jo@home.example']);
    const view = await viewQuestion(answerDeps, link);
    expect(view.resend).toMatchObject({ attempt: 2, outcome: 'refused', asked: true });
    expect(questionPage(view)).toContain('SES refused it');
    expect(
      (await entries()).filter((e) => e.kind === 'notice').map((e) => [e.state, e.detail.attempt]),
    ).toEqual([
      ['intent', 1],
      ['confirmed', 1],
      ['intent', 2],
      ['failed', 2],
    ]);
  });

  it('a resend SES throttles is left as answered and unsent: the same answer again sends it', async () => {
    const { answerDeps, id, questionLink, effects, plan, entries } = await bounced({
      customerRef: 'cus_lu',
      email: 'lu@example.com',
      otherEmails: ['lu@work.example'],
    });
    let n = 1;
    let busy = true;
    ses.on(SendEmailCommand).callsFake(async (input: { Destination?: { ToAddresses?: string[] } }) => {
      if (input.Destination?.ToAddresses?.[0] === 'lu@work.example' && busy) {
        busy = false;
        throw Object.assign(new Error('Maximum sending rate exceeded.'), {
          name: 'Throttling',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        });
      }
      return { MessageId: `ses-${++n}` };
    });
    const link = questionLink('P1-E1');
    const resend = { answer: 'resend', address: 'lu@work.example' };
    await expect(answerQuestion(answerDeps, link, resend)).rejects.toMatchObject({
      name: 'Casebook.DependencyUnavailable',
    });
    const current = () => effects.getEffect(id, versionIdOf(plan), 'P1-E1');
    expect(await current()).toMatchObject({
      progress: 'attention',
      attempt: 1,
      attention: { reason: 'bounced' },
    });
    expect((await viewQuestion(answerDeps, link)).resend).toMatchObject({ attempt: 2, outcome: 'stalled' });
    await answerQuestion(answerDeps, link, resend);
    expect(await current()).toMatchObject({ progress: 'confirmed', attempt: 2 });
    expect((await viewQuestion(answerDeps, link)).resend).toMatchObject({ attempt: 2, outcome: 'sent' });
    expect(
      (await entries()).filter((e) => e.kind === 'notice').map((e) => [e.state, e.detail.attempt]),
    ).toEqual([
      ['intent', 1],
      ['confirmed', 1],
      ['intent', 2],
      ['confirmed', 2],
    ]);
  });

  it('a resend in doubt answered "sent" records the MessageId SES gave after all', async () => {
    const {
      answerDeps: base,
      id,
      questionLink,
      effects,
      plan,
      entries,
      sentNotices,
    } = await bounced({
      customerRef: 'cus_kit',
      email: 'kit@example.com',
      otherEmails: ['kit@work.example'],
    });
    let n = 1;
    let answerLate: (out: { MessageId: string }) => void = () => undefined;
    ses.on(SendEmailCommand).callsFake(async (input: { Destination?: { ToAddresses?: string[] } }) => {
      if (input.Destination?.ToAddresses?.[0] === 'kit@work.example')
        return new Promise((resolve) => {
          answerLate = resolve;
        });
      return { MessageId: `ses-${++n}` };
    });
    const answerDeps = { ...base, resend: { ...base.resend, answerWithinMs: 200 } };
    await answerQuestion(answerDeps, questionLink('P1-E1'), {
      answer: 'resend',
      address: 'kit@work.example',
    });
    const current = () => effects.getEffect(id, versionIdOf(plan), 'P1-E1');
    expect(await current()).toMatchObject({
      progress: 'attention',
      attempt: 2,
      attention: { reason: 'in-doubt' },
    });
    // SES answers after Casebook stopped waiting: the MessageId is kept on the effect in doubt.
    answerLate({ MessageId: 'ses-late' });
    for (let i = 0; (await current())?.providerRef !== 'ses-late'; i++) {
      if (i > 500) throw new Error('the late MessageId was never kept');
      await new Promise((r) => setTimeout(r, 20));
    }
    const doubt = questionLinkOf(id, 'P1-E1', 2);
    await answerQuestion(answerDeps, doubt, { answer: 'sent', note: 'the customer replied to it' });
    expect(await current()).toMatchObject({ progress: 'confirmed', attempt: 2, providerRef: 'ses-late' });
    expect((await entries()).at(-1)).toMatchObject({ state: 'confirmed', providerRef: 'ses-late' });
    // Its delivery events come back to it.
    expect(await sentNotices.find('ses-late')).toMatchObject({ effectId: 'P1-E1', attempt: 2 });
  });

  it('a resend in doubt answered "sent" records the MessageId the mail log holds for it since its intent', async () => {
    const {
      answerDeps: base,
      id,
      questionLink,
      effects,
      plan,
      entries,
      sentNotices,
    } = await bounced({
      customerRef: 'cus_mo',
      email: 'mo@example.com',
      otherEmails: ['mo@work.example'],
    });
    let n = 1;
    ses.on(SendEmailCommand).callsFake(async (input: { Destination?: { ToAddresses?: string[] } }) => {
      if (input.Destination?.ToAddresses?.[0] === 'mo@work.example')
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      return { MessageId: `ses-${++n}` };
    });
    // The mail service's own log: one message to that address before the resend's intent, one after.
    const looked: string[] = [];
    const sentMail = {
      find: async (to: string) => {
        looked.push(to);
        return {
          since: '2026-11-22T00:00:00.000Z',
          messages: [
            { messageId: 'ses-older', at: '2026-11-22T09:00:00.000Z' },
            { messageId: 'ses-in-log', at: '2026-11-22T12:00:00.000Z' },
          ],
        };
      },
    };
    const answerDeps = { ...base, sentMail };
    await answerQuestion(answerDeps, questionLink('P1-E1'), { answer: 'resend', address: 'mo@work.example' });
    const current = () => effects.getEffect(id, versionIdOf(plan), 'P1-E1');
    expect(await current()).toMatchObject({
      progress: 'attention',
      attempt: 2,
      attention: { reason: 'in-doubt' },
    });
    await answerQuestion(answerDeps, questionLinkOf(id, 'P1-E1', 2), {
      answer: 'sent',
      note: 'in the SES log',
    });
    expect(looked).toContain('mo@work.example');
    expect(await current()).toMatchObject({ progress: 'confirmed', attempt: 2, providerRef: 'ses-in-log' });
    expect((await entries()).at(-1)).toMatchObject({ state: 'confirmed', providerRef: 'ses-in-log' });
    expect(await sentNotices.find('ses-in-log')).toMatchObject({ effectId: 'P1-E1', attempt: 2 });
  });

  it('where the list holds no other address, says so and offers only the other two answers', async () => {
    const { answerDeps, questionLink } = await bounced({
      customerRef: 'cus_bo',
      email: 'bo@example.com',
      name: 'Bo',
    });
    const view = await viewQuestion(answerDeps, questionLink('P1-E1'));
    expect(view.answers).toEqual(['done-by-hand', 'void']);
    expect(questionPage(view)).toContain('The customer list holds no other address for this customer');
    await expect(
      answerQuestion(answerDeps, questionLink('P1-E1'), { answer: 'resend', address: 'bo@work.example' }),
    ).rejects.toMatchObject({
      name: 'InvalidInputError',
      issues: [{ field: 'answer' }, { field: 'address' }],
    });
  });
});

/** The link a responder got for a question about attempt `attempt`, from the mocked SES. */
function questionLinkOf(
  id: string,
  effectId: string,
  attempt: number,
  which: 'first' | 'last' = 'first',
): string {
  const sent = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input.Message?.Body?.Text?.Data ?? '');
  const texts = which === 'first' ? sent : sent.reverse();
  const m = texts
    .map((text) => new RegExp(`/effects/(${id}\\.${effectId}\\.${attempt}\\.\\S+)`).exec(text))
    .find(Boolean);
  if (!m?.[1]) throw new Error(`no question e-mailed about ${effectId} attempt ${attempt}`);
  return m[1];
}
