/** The Stripe stand-in, driven through the official `stripe` SDK exactly as Casebook drives Stripe. */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterEach, describe, expect, it } from 'vitest';
import type { StripeStandIn, StripeStandInOptions } from '../../local/stripe/server.ts';
import { startStripeStandIn } from '../../local/stripe/server.ts';
import { waitFor } from '../support/local-stack.ts';

const running: StripeStandIn[] = [];
afterEach(async () => {
  for (const standIn of running.splice(0)) await standIn.close();
});

async function standIn(options: Partial<StripeStandInOptions> = {}): Promise<StripeStandIn> {
  const started = await startStripeStandIn({ port: 0, ...options });
  running.push(started);
  return started;
}

function sdk(target: StripeStandIn, apiKey = 'sk_test_casebook'): Stripe {
  return new Stripe(apiKey, { host: '127.0.0.1', port: target.port, protocol: 'http', maxNetworkRetries: 0 });
}

/** What a rejected SDK call threw. */
async function failure(call: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Stripe.errors.StripeError)) throw new Error(`expected a StripeError, got ${error}`);
  return error;
}

async function paidCharge(stripe: Stripe, amount = 5000, source = 'tok_visa'): Promise<Stripe.Charge> {
  return stripe.charges.create({ amount, currency: 'usd', source });
}

describe('Stripe stand-in: objects', () => {
  it('creates and retrieves customers, charges and PaymentIntents in Stripe shapes', async () => {
    const stripe = sdk(await standIn());
    const customer = await stripe.customers.create({ email: 'ada@example.com', metadata: { tier: 'gold' } });
    expect(customer).toMatchObject({
      object: 'customer',
      email: 'ada@example.com',
      balance: 0,
      metadata: { tier: 'gold' },
      livemode: false,
    });
    expect(customer.id).toMatch(/^cus_[A-Za-z0-9]{24}$/);
    expect(customer.created).toBeCloseTo(Date.now() / 1000, -1);

    const charge = await stripe.charges.create({
      amount: 1999,
      currency: 'EUR',
      source: 'tok_visa',
      customer: customer.id,
      metadata: { order: 'A-1' },
    });
    expect(charge).toMatchObject({
      object: 'charge',
      amount: 1999,
      amount_captured: 1999,
      amount_refunded: 0,
      currency: 'eur',
      customer: customer.id,
      status: 'succeeded',
      paid: true,
      refunded: false,
      metadata: { order: 'A-1' },
      payment_method_details: { type: 'card', card: { brand: 'visa', last4: '4242' } },
    });
    expect(charge.id).toMatch(/^ch_/);
    expect(await stripe.charges.retrieve(charge.id)).toMatchObject({ id: charge.id, amount: 1999 });

    const intent = await stripe.paymentIntents.create({
      amount: 4200,
      currency: 'usd',
      confirm: true,
      payment_method: 'pm_card_visa',
      customer: customer.id,
    });
    expect(intent).toMatchObject({
      object: 'payment_intent',
      status: 'succeeded',
      amount: 4200,
      amount_received: 4200,
      customer: customer.id,
    });
    expect(intent.id).toMatch(/^pi_/);
    expect(intent.payment_method).toMatch(/^pm_/);
    const latest = await stripe.charges.retrieve(intent.latest_charge as string);
    expect(latest).toMatchObject({ payment_intent: intent.id, amount: 4200, customer: customer.id });
    expect(await stripe.paymentIntents.retrieve(intent.id)).toMatchObject({ status: 'succeeded' });
    expect(await stripe.customers.retrieve(customer.id)).toMatchObject({ id: customer.id });
  });

  it('declines tok_chargeDeclined with a 402 card error naming the failed charge', async () => {
    const stripe = sdk(await standIn());
    const error = await failure(paidCharge(stripe, 1000, 'tok_chargeDeclined'));
    expect(error).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(error).toMatchObject({ statusCode: 402, code: 'card_declined', decline_code: 'generic_decline' });
    expect(await stripe.charges.retrieve(error.charge as string)).toMatchObject({
      status: 'failed',
      paid: false,
    });
  });
});

describe('Stripe stand-in: refunds', () => {
  it('refunds a charge in full, then refuses a second refund as charge_already_refunded', async () => {
    const stripe = sdk(await standIn());
    const charge = await paidCharge(stripe, 2500);
    const refund = await stripe.refunds.create({ charge: charge.id, metadata: { effect: 'e-1' } });
    expect(refund).toMatchObject({
      object: 'refund',
      amount: 2500,
      currency: 'usd',
      charge: charge.id,
      payment_intent: null,
      status: 'pending',
      metadata: { effect: 'e-1' },
    });
    expect(refund.id).toMatch(/^re_/);
    expect(await stripe.charges.retrieve(charge.id)).toMatchObject({ amount_refunded: 2500, refunded: true });

    const again = await failure(stripe.refunds.create({ charge: charge.id, amount: 1 }));
    expect(again).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(again).toMatchObject({ statusCode: 400, code: 'charge_already_refunded' });
    expect(again.message).toBe(`Charge ${charge.id} has already been refunded.`);
  });

  it('refunds part of a charge, and refuses more than what is left as amount_too_large', async () => {
    const stripe = sdk(await standIn());
    const charge = await paidCharge(stripe, 5000);
    await stripe.refunds.create({ charge: charge.id, amount: 1500 });
    await stripe.refunds.create({ charge: charge.id, amount: 2000 });
    const over = await failure(stripe.refunds.create({ charge: charge.id, amount: 1501 }));
    expect(over).toMatchObject({ statusCode: 400, code: 'amount_too_large', param: 'amount' });
    expect(over.message).toBe('Refund amount ($15.01) is greater than unrefunded amount on charge ($15.00)');
    expect(await stripe.charges.retrieve(charge.id)).toMatchObject({
      amount_refunded: 3500,
      refunded: false,
    });
    const rest = await stripe.refunds.create({ charge: charge.id });
    expect(rest.amount).toBe(1500);
  });

  it('refunds a PaymentIntent through its latest charge and lists refunds by charge and by PaymentIntent', async () => {
    const stripe = sdk(await standIn());
    const intent = await stripe.paymentIntents.create({
      amount: 3000,
      currency: 'usd',
      confirm: true,
      payment_method: 'pm_card_visa',
    });
    const other = await paidCharge(stripe, 800);
    const viaIntent = await stripe.refunds.create({ payment_intent: intent.id, amount: 1000 });
    expect(viaIntent).toMatchObject({ payment_intent: intent.id, charge: intent.latest_charge });
    const viaCharge = await stripe.refunds.create({ charge: intent.latest_charge as string, amount: 500 });
    expect(viaCharge.payment_intent).toBe(intent.id);
    const unrelated = await stripe.refunds.create({ charge: other.id });

    const byIntent = await stripe.refunds.list({ payment_intent: intent.id });
    expect(byIntent).toMatchObject({ object: 'list', has_more: false, url: '/v1/refunds' });
    expect(byIntent.data.map((r) => r.id)).toEqual([viaCharge.id, viaIntent.id]);
    const byCharge = await stripe.refunds.list({ charge: other.id });
    expect(byCharge.data.map((r) => r.id)).toEqual([unrelated.id]);

    const firstPage = await stripe.refunds.list({ limit: 2 });
    expect(firstPage.has_more).toBe(true);
    const all = await stripe.refunds.list().autoPagingToArray({ limit: 10 });
    expect(all.map((r) => r.id)).toEqual([unrelated.id, viaCharge.id, viaIntent.id]);
  });

  it('shows a refund pending, then succeeded once it settles', async () => {
    const stripe = sdk(await standIn({ refundSettleMs: 150 }));
    const refund = await stripe.refunds.create({ charge: (await paidCharge(stripe)).id });
    expect(refund.status).toBe('pending');
    expect((await stripe.refunds.retrieve(refund.id)).status).toBe('pending');
    await waitFor('the refund to succeed', async () =>
      (await stripe.refunds.retrieve(refund.id)).status === 'succeeded' ? true : undefined,
    );
  });

  it('settles at once with refundSettleMs 0', async () => {
    const stripe = sdk(await standIn({ refundSettleMs: 0 }));
    const refund = await stripe.refunds.create({ charge: (await paidCharge(stripe)).id });
    expect(refund.status).toBe('succeeded');
  });

  it('fails refunds of pm_card_refundFail as Stripe test mode does: succeeded first, failed later', async () => {
    const stripe = sdk(await standIn({ refundSettleMs: 150 }));
    const intent = await stripe.paymentIntents.create({
      amount: 1200,
      currency: 'usd',
      confirm: true,
      payment_method: 'pm_card_refundFail',
    });
    const refund = await stripe.refunds.create({ payment_intent: intent.id });
    expect(refund.status).toBe('succeeded');
    const failed = await waitFor('the refund to fail', async () => {
      const current = await stripe.refunds.retrieve(refund.id);
      return current.status === 'failed' ? current : undefined;
    });
    expect(failed.failure_reason).toBe('expired_or_canceled_card');
    expect(failed.failure_balance_transaction).toMatch(/^txn_/);
    // A failed refund gives its amount back to the charge: it can be refunded again.
    expect(await stripe.charges.retrieve(intent.latest_charge as string)).toMatchObject({
      amount_refunded: 0,
      refunded: false,
    });
  });

  it('fails tok_refundFail charge refunds the same way', async () => {
    const stripe = sdk(await standIn({ refundSettleMs: 0 }));
    const refund = await stripe.refunds.create({
      charge: (await paidCharge(stripe, 900, 'tok_refundFail')).id,
    });
    expect(refund).toMatchObject({ status: 'failed', failure_reason: 'expired_or_canceled_card' });
  });
});

describe('Stripe stand-in: created filters', () => {
  /** Waits until the clock is in a later second than `created`, so two objects differ in `created`. */
  async function nextSecond(created: number): Promise<void> {
    await waitFor('the next second', async () => (Date.now() / 1000 >= created + 1 ? true : undefined));
  }

  it('filters refunds by created[gte|gt|lte|lt] and created=<ts>, as Stripe documents', async () => {
    const stripe = sdk(await standIn({ refundSettleMs: 0 }));
    const charge = await paidCharge(stripe, 5000);
    const early = await stripe.refunds.create({ charge: charge.id, amount: 1000 });
    await nextSecond(early.created);
    const late = await stripe.refunds.create({ charge: charge.id, amount: 2000 });
    expect(late.created).toBeGreaterThan(early.created);
    const ids = async (created: Stripe.RangeQueryParam | number): Promise<string[]> =>
      (await stripe.refunds.list({ created })).data.map((r) => r.id);

    expect(await ids({ gte: late.created })).toEqual([late.id]);
    expect(await ids({ gt: early.created })).toEqual([late.id]);
    expect(await ids({ lt: late.created })).toEqual([early.id]);
    expect(await ids({ lte: early.created })).toEqual([early.id]);
    expect(await ids({ gte: early.created, lte: late.created })).toEqual([late.id, early.id]);
    expect(await ids({ gt: late.created })).toEqual([]);
    expect(await ids(early.created)).toEqual([early.id]);
    // The filter composes with paging: the SDK walks every page of the period.
    const paged = await stripe.refunds.list({ created: { gte: early.created }, limit: 1 }).autoPagingToArray({
      limit: 10,
    });
    expect(paged.map((r) => r.id)).toEqual([late.id, early.id]);
  });

  it('refuses an unknown created bound and a created that is not an integer', async () => {
    const stripe = sdk(await standIn());
    const unknown = await failure(
      stripe.refunds.list({ created: { after: 5 } as unknown as Stripe.RangeQueryParam }),
    );
    expect(unknown).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'created[after]' });
    const notInteger = await failure(
      stripe.refunds.list({ created: { gte: 'soon' } as unknown as Stripe.RangeQueryParam }),
    );
    expect(notInteger).toMatchObject({ statusCode: 400, code: 'parameter_invalid_integer' });
  });
});

describe('Stripe stand-in: balance transactions', () => {
  it("records a charge's fee (2.9% + 30) and a refund's debit as balance transactions, listed by type and source", async () => {
    const stripe = sdk(await standIn({ refundSettleMs: 0 }));
    const charge = await paidCharge(stripe, 5000);
    const refund = await stripe.refunds.create({ charge: charge.id, amount: 2000, metadata: { k: 'v' } });
    expect(charge.balance_transaction).toMatch(/^txn_/);
    expect(refund.balance_transaction).toMatch(/^txn_/);

    const paid = await stripe.balanceTransactions.retrieve(charge.balance_transaction as string);
    expect(paid).toMatchObject({
      object: 'balance_transaction',
      amount: 5000,
      fee: 175,
      net: 4825,
      currency: 'usd',
      type: 'charge',
      reporting_category: 'charge',
      source: charge.id,
      status: 'pending',
      created: charge.created,
      fee_details: [
        { amount: 175, currency: 'usd', type: 'stripe_fee', description: 'Stripe processing fees' },
      ],
    });
    // Funds from a charge become available two days after the day it was made.
    expect(paid.available_on).toBe(charge.created - (charge.created % 86400) + 2 * 86400);

    const back = await stripe.balanceTransactions.retrieve(refund.balance_transaction as string);
    expect(back).toMatchObject({
      amount: -2000,
      fee: 0,
      net: -2000,
      fee_details: [],
      currency: 'usd',
      type: 'refund',
      source: refund.id,
      status: 'available',
    });

    const all = await stripe.balanceTransactions.list();
    expect(all).toMatchObject({ object: 'list', url: '/v1/balance_transactions', has_more: false });
    expect(all.data.map((t) => t.id)).toEqual([back.id, paid.id]);
    const refunds = await stripe.balanceTransactions.list({ type: 'refund' });
    expect(refunds.data.map((t) => t.id)).toEqual([back.id]);
    const bySource = await stripe.balanceTransactions.list({ source: charge.id });
    expect(bySource.data.map((t) => t.id)).toEqual([paid.id]);
    const page = await stripe.balanceTransactions.list({ limit: 1, starting_after: back.id });
    expect(page.data.map((t) => t.id)).toEqual([paid.id]);
    expect(
      (await stripe.balanceTransactions.list({ created: { lt: paid.created } })).data.map((t) => t.id),
    ).toEqual([]);
    expect(
      (await stripe.balanceTransactions.list({ created: { gte: paid.created }, type: 'charge' })).data,
    ).toHaveLength(1);
  });

  it('gives a failed refund its refund_failure balance transaction, crediting the amount back', async () => {
    const stripe = sdk(await standIn({ refundSettleMs: 0 }));
    const refund = await stripe.refunds.create({
      charge: (await paidCharge(stripe, 900, 'tok_refundFail')).id,
    });
    expect(refund.status).toBe('failed');
    const undone = await stripe.balanceTransactions.retrieve(refund.failure_balance_transaction as string);
    expect(undone).toMatchObject({
      amount: 900,
      fee: 0,
      net: 900,
      type: 'refund_failure',
      source: refund.id,
    });
    const debit = await stripe.balanceTransactions.retrieve(refund.balance_transaction as string);
    expect(debit).toMatchObject({ amount: -900, type: 'refund', source: refund.id });
  });

  it('answers resource_missing for an unknown balance transaction and refuses unknown list parameters', async () => {
    const stripe = sdk(await standIn());
    expect(await failure(stripe.balanceTransactions.retrieve('txn_nope'))).toMatchObject({
      statusCode: 404,
      code: 'resource_missing',
      message: "No such balance transaction: 'txn_nope'",
    });
    expect(
      await failure(
        stripe.balanceTransactions.list({ payout: 'po_1' } as Stripe.BalanceTransactionListParams),
      ),
    ).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'payout' });
  });
});

describe('Stripe stand-in: customer balance', () => {
  it('credits a customer with a negative balance transaction and lists them newest first', async () => {
    const stripe = sdk(await standIn());
    const customer = await stripe.customers.create({ email: 'grace@example.com' });
    const credit = await stripe.customers.createBalanceTransaction(customer.id, {
      amount: -1500,
      currency: 'usd',
      description: 'Goodwill credit for INC-2026-0001',
      metadata: { effect: 'e-2' },
    });
    expect(credit).toMatchObject({
      object: 'customer_balance_transaction',
      amount: -1500,
      currency: 'usd',
      customer: customer.id,
      ending_balance: -1500,
      type: 'adjustment',
      description: 'Goodwill credit for INC-2026-0001',
      metadata: { effect: 'e-2' },
    });
    expect(credit.id).toMatch(/^cbtxn_/);
    const second = await stripe.customers.createBalanceTransaction(customer.id, {
      amount: -500,
      currency: 'usd',
    });
    expect(second.ending_balance).toBe(-2000);
    expect(await stripe.customers.retrieve(customer.id)).toMatchObject({ balance: -2000, currency: 'usd' });

    const list = await stripe.customers.listBalanceTransactions(customer.id);
    expect(list.url).toBe(`/v1/customers/${customer.id}/balance_transactions`);
    expect(list.data.map((t) => t.id)).toEqual([second.id, credit.id]);
    expect(await stripe.customers.retrieveBalanceTransaction(customer.id, credit.id)).toMatchObject({
      id: credit.id,
    });
  });

  it('refuses a balance transaction for a customer that does not exist', async () => {
    const stripe = sdk(await standIn());
    const error = await failure(
      stripe.customers.createBalanceTransaction('cus_missing', { amount: -100, currency: 'usd' }),
    );
    expect(error).toMatchObject({ statusCode: 404, code: 'resource_missing' });
  });
});

describe('Stripe stand-in: idempotency', () => {
  it('answers a repeated key and body with the first answer, marked Idempotent-Replayed', async () => {
    const stripe = sdk(await standIn());
    const charge = await paidCharge(stripe, 4000);
    const params = { charge: charge.id, amount: 1000, metadata: { effect: 'INC-1/e-1' } };
    const first = await stripe.refunds.create(params, { idempotencyKey: 'INC-1/e-1' });
    const second = await stripe.refunds.create(params, { idempotencyKey: 'INC-1/e-1' });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect(first.lastResponse.headers['idempotent-replayed']).toBeUndefined();
    expect((await stripe.refunds.list({ charge: charge.id })).data).toHaveLength(1);
    expect(await stripe.charges.retrieve(charge.id)).toMatchObject({ amount_refunded: 1000 });
  });

  it('replays a refusal too: the same key gets the same error, even after the charge changed', async () => {
    const stripe = sdk(await standIn());
    const charge = await paidCharge(stripe, 1000);
    const first = await failure(
      stripe.refunds.create({ charge: charge.id, amount: 2000 }, { idempotencyKey: 'k' }),
    );
    const again = await failure(
      stripe.refunds.create({ charge: charge.id, amount: 2000 }, { idempotencyKey: 'k' }),
    );
    expect(again.code).toBe(first.code);
    expect(again.headers?.['idempotent-replayed']).toBe('true');
  });

  it('refuses the same key with another body, or on another endpoint, with idempotency_error', async () => {
    const stripe = sdk(await standIn());
    const charge = await paidCharge(stripe, 4000);
    await stripe.refunds.create({ charge: charge.id, amount: 1000 }, { idempotencyKey: 'effect-1' });
    const conflict = await failure(
      stripe.refunds.create({ charge: charge.id, amount: 1001 }, { idempotencyKey: 'effect-1' }),
    );
    expect(conflict).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(conflict).toMatchObject({ statusCode: 400, rawType: 'idempotency_error' });
    expect(conflict.message).toContain("Try using a key other than 'effect-1'");
    const elsewhere = await failure(
      stripe.customers.create({ email: 'x@example.com' }, { idempotencyKey: 'effect-1' }),
    );
    expect(elsewhere).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect(elsewhere.message).toContain("'POST /v1/refunds' vs 'POST /v1/customers'");
    expect(await stripe.charges.retrieve(charge.id)).toMatchObject({ amount_refunded: 1000 });
  });

  it('does not keep an answer to a request that failed validation: a corrected retry with the key runs', async () => {
    const stripe = sdk(await standIn());
    const charge = await paidCharge(stripe, 4000);
    const invalid = await failure(
      stripe.refunds.create({ charge: charge.id, amount: 0 }, { idempotencyKey: 'fix-me' }),
    );
    expect(invalid).toMatchObject({ statusCode: 400, code: 'parameter_invalid_integer', param: 'amount' });
    const fixed = await stripe.refunds.create(
      { charge: charge.id, amount: 10 },
      { idempotencyKey: 'fix-me' },
    );
    expect(fixed.amount).toBe(10);
  });

  it('forgets keys after the idempotency window, as Stripe does after 24 hours', async () => {
    const stripe = sdk(await standIn({ idempotencyWindowMs: 50 }));
    const charge = await paidCharge(stripe, 4000);
    const first = await stripe.refunds.create({ charge: charge.id, amount: 100 }, { idempotencyKey: 'old' });
    await new Promise((resolve) => setTimeout(resolve, 80));
    const second = await stripe.refunds.create({ charge: charge.id, amount: 100 }, { idempotencyKey: 'old' });
    expect(second.id).not.toBe(first.id);
  });
});

describe('Stripe stand-in: refusals and authentication', () => {
  it('answers a missing object with resource_missing 404 in Stripe error shape', async () => {
    const target = await standIn();
    const stripe = sdk(target);
    const error = await failure(stripe.refunds.create({ charge: 'ch_doesnotexist' }));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'charge' });
    expect(error.message).toBe("No such charge: 'ch_doesnotexist'");

    const raw = await fetch(`${target.url}/v1/refunds/re_nope`, {
      headers: { authorization: 'Bearer sk_test_raw' },
    });
    expect(raw.status).toBe(404);
    expect(raw.headers.get('request-id')).toMatch(/^req_/);
    expect(await raw.json()).toEqual({
      error: {
        type: 'invalid_request_error',
        code: 'resource_missing',
        message: "No such refund: 're_nope'",
        param: 'id',
        doc_url: 'https://stripe.com/docs/error-codes/resource-missing',
      },
    });
  });

  it('refuses unknown parameters and unknown URLs as Stripe does', async () => {
    const target = await standIn();
    const stripe = sdk(target);
    const unknown = await failure(
      stripe.refunds.create({ charge: 'ch_x', colour: 'blue' } as Stripe.RefundCreateParams),
    );
    expect(unknown).toMatchObject({ statusCode: 400, code: 'parameter_unknown', param: 'colour' });
    const res = await fetch(`${target.url}/v1/payouts`, { headers: { authorization: 'Bearer sk_test_x' } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
      'Unrecognized request URL (GET: /v1/payouts)',
    );
  });

  it('refuses charges over 99,999,999 minor units as amount_too_large, on charges and PaymentIntents alike', async () => {
    const stripe = sdk(await standIn());
    const most = await stripe.charges.create({ amount: 99_999_999, currency: 'usd', source: 'tok_visa' });
    expect(most.amount).toBe(99_999_999);
    const over = await failure(
      stripe.charges.create({ amount: 100_000_000, currency: 'usd', source: 'tok_visa' }),
    );
    expect(over).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(over).toMatchObject({ statusCode: 400, code: 'amount_too_large', param: 'amount' });
    expect(over.message).toBe('Amount must be no more than $999,999.99');
    const yen = await failure(
      stripe.paymentIntents.create({ amount: 100_000_000, currency: 'jpy', payment_method: 'pm_card_visa' }),
    );
    expect(yen).toMatchObject({ statusCode: 400, code: 'amount_too_large', param: 'amount' });
    expect(yen.message).toBe('Amount must be no more than ¥99,999,999');
  });

  it("refuses charges below the currency's minimum as amount_too_small (USD 0.50, EUR 0.50, GBP 0.30, JPY 50)", async () => {
    const stripe = sdk(await standIn());
    for (const [currency, least, message] of [
      ['usd', 50, 'Amount must be at least $0.50 usd'],
      ['eur', 50, 'Amount must be at least €0.50 eur'],
      ['gbp', 30, 'Amount must be at least £0.30 gbp'],
      ['jpy', 50, 'Amount must be at least ¥50 jpy'],
    ] as const) {
      const below = await failure(stripe.charges.create({ amount: least - 1, currency, source: 'tok_visa' }));
      expect(below).toMatchObject({ statusCode: 400, code: 'amount_too_small', param: 'amount' });
      expect(below.message).toBe(message);
      expect((await stripe.charges.create({ amount: least, currency, source: 'tok_visa' })).amount).toBe(
        least,
      );
    }
    const intent = await failure(
      stripe.paymentIntents.create({
        amount: 29,
        currency: 'gbp',
        payment_method: 'pm_card_visa',
        confirm: true,
      }),
    );
    expect(intent).toMatchObject({ statusCode: 400, code: 'amount_too_small', param: 'amount' });
  });

  it('refuses a refund over what is left of a charge, however large, and never refunds below 1', async () => {
    const stripe = sdk(await standIn());
    const charge = await paidCharge(stripe, 99_999_999);
    const over = await failure(stripe.refunds.create({ charge: charge.id, amount: 100_000_000 }));
    expect(over).toMatchObject({ statusCode: 400, code: 'amount_too_large', param: 'amount' });
    expect(over.message).toBe(
      'Refund amount ($1,000,000.00) is greater than unrefunded amount on charge ($999,999.99)',
    );
    const zero = await failure(stripe.refunds.create({ charge: charge.id, amount: 0 }));
    expect(zero).toMatchObject({ statusCode: 400, code: 'parameter_invalid_integer', param: 'amount' });
    expect(await stripe.charges.retrieve(charge.id)).toMatchObject({ amount_refunded: 0 });
  });

  it('accepts any sk_test_ key and answers 401 in Stripe shape otherwise', async () => {
    const target = await standIn();
    const error = await failure(sdk(target, 'sk_live_abcdef123456').customers.create({}));
    expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
    expect(error.message).toBe('Invalid API Key provided: sk_live_****3456');
    const none = await fetch(`${target.url}/v1/customers`, { method: 'POST' });
    expect(none.status).toBe(401);
    const body = (await none.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toMatch(/^You did not provide an API key/);
    const basic = await fetch(`${target.url}/v1/customers`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('sk_test_curl:').toString('base64')}` },
    });
    expect(basic.status).toBe(200);
  });
});

describe('Stripe stand-in: persistence', () => {
  it('keeps objects, idempotency keys and pending refunds across a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'casebook-stripe-'));
    const first = await standIn({ dataDir, refundSettleMs: 400 });
    const port = first.port;
    let stripe = sdk(first);
    const charge = await paidCharge(stripe, 3000);
    const refund = await stripe.refunds.create(
      { charge: charge.id, amount: 1000 },
      { idempotencyKey: 'crash-1' },
    );
    expect(refund.status).toBe('pending');
    await first.close();
    running.splice(running.indexOf(first), 1);

    const second = await standIn({ dataDir, refundSettleMs: 400, port });
    stripe = sdk(second);
    const replayed = await stripe.refunds.create(
      { charge: charge.id, amount: 1000 },
      { idempotencyKey: 'crash-1' },
    );
    expect(replayed.id).toBe(refund.id);
    expect(replayed.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect((await stripe.refunds.list({ charge: charge.id })).data.map((r) => r.id)).toEqual([refund.id]);
    expect(await stripe.charges.retrieve(charge.id)).toMatchObject({ amount_refunded: 1000 });
    // The refund left pending before the restart still settles after it.
    await waitFor('the refund to succeed after the restart', async () =>
      (await stripe.refunds.retrieve(refund.id)).status === 'succeeded' ? true : undefined,
    );
  });

  it('answers requests that come at once each only when its commit is in the journal', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'casebook-stripe-'));
    const stripe = sdk(await standIn({ dataDir }));
    const journal = () => readFileSync(join(dataDir, 'journal.jsonl'), 'utf8');
    // Many commits share each write (group commit), and none is answered before its write.
    const unwritten: string[] = [];
    const charges = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const charge = await paidCharge(stripe, 100 + i);
        if (!journal().includes(charge.id)) unwritten.push(charge.id);
        return charge;
      }),
    );
    expect(unwritten).toEqual([]);
    expect(journal().trim().split('\n')).toHaveLength(40);
    expect(new Set(charges.map((c) => c.id)).size).toBe(40);
  });

  it('answers nothing more once the journal cannot be written, not even what it only holds in memory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'casebook-stripe-'));
    const stripe = sdk(await standIn({ dataDir, log: () => undefined }));
    mkdirSync(join(dataDir, 'journal.jsonl')); // the file cannot be opened for appending
    const first = await failure(paidCharge(stripe));
    expect(first.statusCode).toBe(500);
    expect(first.message).toMatch(/could not keep this request: the journal could not be written/);
    expect((await failure(stripe.charges.list())).statusCode).toBe(500);
    expect((await failure(paidCharge(stripe))).statusCode).toBe(500);
  });

  it('skips a torn last journal line and keeps appending after it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'casebook-stripe-'));
    const first = await standIn({ dataDir });
    const customer = await sdk(first).customers.create({ email: 'torn@example.com' });
    await first.close();
    running.splice(running.indexOf(first), 1);
    appendFileSync(join(dataDir, 'journal.jsonl'), '{"v":1,"commit":{"entities":[{"obj');

    const lines: string[] = [];
    const second = await standIn({ dataDir, log: (line) => lines.push(line) });
    expect(lines.join('\n')).toMatch(/skipping unreadable journal line 2/);
    const later = await sdk(second).customers.create({ email: 'later@example.com' });
    await second.close();
    running.splice(running.indexOf(second), 1);

    const third = sdk(await standIn({ dataDir }));
    expect((await third.customers.retrieve(customer.id)).id).toBe(customer.id);
    expect((await third.customers.retrieve(later.id)).id).toBe(later.id);
  });
});

describe('Stripe stand-in: webhooks', () => {
  it('posts refund.updated events that stripe.webhooks.constructEvent accepts', async () => {
    const secret = 'whsec_casebook_test';
    const received: { body: string; signature: string }[] = [];
    const receiver = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      req.on('end', () => {
        received.push({ body, signature: String(req.headers['stripe-signature']) });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/stripe`;
      const stripe = sdk(await standIn({ refundSettleMs: 50, webhook: { url, secret } }));
      const refund = await stripe.refunds.create({ charge: (await paidCharge(stripe)).id });
      await waitFor('two webhook deliveries', async () => (received.length >= 2 ? true : undefined));
      const events = received.map((r) => stripe.webhooks.constructEvent(r.body, r.signature, secret));
      expect(events.map((e) => e.type).sort()).toEqual(['charge.refund.updated', 'refund.updated']);
      expect(events[0]?.data.object).toMatchObject({ id: refund.id, status: 'succeeded' });
      expect(events[0]?.data.previous_attributes).toEqual({ status: 'pending' });
      expect(() =>
        stripe.webhooks.constructEvent(received[0]?.body ?? '', received[0]?.signature ?? '', 'whsec_wrong'),
      ).toThrow(Stripe.errors.StripeSignatureVerificationError);
    } finally {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});
