/**
 * The Stripe payments adapter against the real stand-in (local/stripe), and its error mapping
 * against a transport that fails on purpose.
 */
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EFFECT_KEY_METADATA,
  STRIPE_RETRIES,
  StripePayments,
  stripeClient,
} from '../../functions/adapters/stripe-payments.ts';
import { FUNCTIONS } from '../../functions/catalog.ts';
import { CasebookError, ERROR_NAMES, PaymentRefusedError } from '../../functions/domain/errors.ts';
import type { RefundRequest } from '../../functions/domain/payments.ts';
import { RESERVE_MS } from '../../functions/use-cases/carry-out-effects.ts';
import type { StripeStandIn } from '../../local/stripe/server.ts';
import { startStripeStandIn } from '../../local/stripe/server.ts';
import { waitFor } from '../support/local-stack.ts';

const API_KEY = 'sk_test_casebook_functions';
let standIn: StripeStandIn;
let stripe: Stripe;
let payments: StripePayments;
let counter = 0;

beforeAll(async () => {
  standIn = await startStripeStandIn({ port: 0, refundSettleMs: 150 });
  stripe = stripeClient(API_KEY, { apiBase: standIn.url });
  payments = new StripePayments(stripe);
});
afterAll(() => standIn.close());

/** A fresh effect key per test, as Act derives one per incident and effect. */
const effectKey = () => `INC-2026-0001/effect-${++counter}-${Date.now()}`;

/** A refund of `minor` with a fresh effect key and no metadata of its own. */
const refundOf = (paymentRef: string, minor: number, currency = 'USD'): RefundRequest => ({
  idempotencyKey: effectKey(),
  paymentRef,
  amount: { minor, currency },
  metadata: {},
});

async function customerCharge(amount = 5000, currency = 'usd'): Promise<Stripe.Charge> {
  const customer = await stripe.customers.create({ email: 'customer@example.com' });
  return stripe.charges.create({ amount, currency, source: 'tok_visa', customer: customer.id });
}

async function refused(call: Promise<unknown>): Promise<PaymentRefusedError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof PaymentRefusedError)) throw new Error(`expected a refusal, got ${error}`);
  return error;
}

describe('StripePayments against the Stripe stand-in', () => {
  it('refunds part of a charge, with the effect key as Idempotency-Key and in the metadata', async () => {
    const charge = await customerCharge(5000);
    const key = effectKey();
    const outcome = await payments.refund({
      idempotencyKey: key,
      paymentRef: charge.id,
      amount: { minor: 1250, currency: 'USD' },
      metadata: { incident: 'INC-2026-0001' },
    });
    expect(outcome).toEqual({
      reference: expect.stringMatching(/^re_/),
      state: 'pending',
      amount: { minor: 1250, currency: 'USD' },
    });
    const atStripe = await stripe.refunds.retrieve(outcome.reference);
    expect(atStripe).toMatchObject({
      charge: charge.id,
      amount: 1250,
      metadata: { incident: 'INC-2026-0001', [EFFECT_KEY_METADATA]: key },
    });
  });

  it('refunds a PaymentIntent', async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 3000,
      currency: 'eur',
      confirm: true,
      payment_method: 'pm_card_visa',
    });
    const outcome = await payments.refund(refundOf(intent.id, 3000, 'EUR'));
    expect(outcome.amount).toEqual({ minor: 3000, currency: 'EUR' });
    expect(await stripe.refunds.retrieve(outcome.reference)).toMatchObject({
      payment_intent: intent.id,
      charge: intent.latest_charge,
    });
  });

  it("credits the payment's customer with a negative balance transaction", async () => {
    const charge = await customerCharge(2000);
    const key = effectKey();
    const outcome = await payments.credit({
      idempotencyKey: key,
      paymentRef: charge.id,
      amount: { minor: 700, currency: 'USD' },
      description: 'Goodwill credit: INC-2026-0001',
      metadata: { incident: 'INC-2026-0001' },
    });
    expect(outcome).toEqual({
      reference: expect.stringMatching(new RegExp(`^${charge.customer}/cbtxn_`)),
      state: 'succeeded',
      amount: { minor: 700, currency: 'USD' },
    });
    const customer = (await stripe.customers.retrieve(charge.customer as string)) as Stripe.Customer;
    // Negative balance = credit the customer's next invoices draw on.
    expect(customer.balance).toBe(-700);
    const [transaction] = (await stripe.customers.listBalanceTransactions(customer.id)).data;
    expect(transaction).toMatchObject({
      amount: -700,
      description: 'Goodwill credit: INC-2026-0001',
      metadata: { [EFFECT_KEY_METADATA]: key },
    });
    expect(await payments.lookup(outcome.reference)).toEqual(outcome);
  });

  it('refunds once when the same effect is carried out twice with the same key', async () => {
    const charge = await customerCharge(4000);
    const request = {
      idempotencyKey: effectKey(),
      paymentRef: charge.id,
      amount: { minor: 1000, currency: 'USD' },
      metadata: { incident: 'INC-2026-0001' },
    };
    const first = await payments.refund(request);
    const second = await payments.refund(request);
    expect(second.reference).toBe(first.reference);
    const credit = { ...request, idempotencyKey: effectKey(), description: 'Sorry' };
    expect((await payments.credit(credit)).reference).toBe((await payments.credit(credit)).reference);
    expect((await stripe.refunds.list({ charge: charge.id })).data).toHaveLength(1);
    expect((await stripe.customers.listBalanceTransactions(charge.customer as string)).data).toHaveLength(1);
  });

  it('refuses a key reused for a different refund (idempotency_error): nothing happens', async () => {
    const charge = await customerCharge(4000);
    const key = effectKey();
    await payments.refund({
      idempotencyKey: key,
      paymentRef: charge.id,
      amount: { minor: 100, currency: 'USD' },
      metadata: {},
    });
    const error = await refused(
      payments.refund({
        idempotencyKey: key,
        paymentRef: charge.id,
        amount: { minor: 200, currency: 'USD' },
        metadata: {},
      }),
    );
    expect(error.code).toBe('idempotency_error');
    expect((await stripe.refunds.list({ charge: charge.id })).data).toHaveLength(1);
  });

  it("turns Stripe's refusals into PaymentRefusedError with Stripe's code", async () => {
    const missing = await refused(payments.refund(refundOf('ch_doesnotexist', 100)));
    expect(missing.code).toBe('resource_missing');
    expect(missing.message).toContain("No such charge: 'ch_doesnotexist'");
    expect(missing).not.toBeInstanceOf(CasebookError);

    const charge = await customerCharge(1000);
    expect((await refused(payments.refund(refundOf(charge.id, 1001)))).code).toBe('amount_too_large');
    await payments.refund(refundOf(charge.id, 1000));
    expect((await refused(payments.refund(refundOf(charge.id, 1)))).code).toBe('charge_already_refunded');
  });

  it('refuses before calling Stripe what Stripe would get wrong: another currency, a negative amount', async () => {
    const charge = await customerCharge(1000, 'usd');
    const base = { paymentRef: charge.id, metadata: {} };
    const currency = await refused(
      payments.refund({ ...base, idempotencyKey: effectKey(), amount: { minor: 100, currency: 'EUR' } }),
    );
    expect(currency.code).toBe('currency_mismatch');
    const negative = await refused(
      payments.credit({
        ...base,
        idempotencyKey: effectKey(),
        amount: { minor: -100, currency: 'USD' },
        description: 'x',
      }),
    );
    expect(negative.code).toBe('invalid_amount');
    expect((await stripe.refunds.list({ charge: charge.id })).data).toHaveLength(0);
    expect((await stripe.customers.listBalanceTransactions(charge.customer as string)).data).toHaveLength(0);
  });

  it('refuses a credit on a payment that has no customer', async () => {
    const charge = await stripe.charges.create({ amount: 1000, currency: 'usd', source: 'tok_visa' });
    const error = await refused(
      payments.credit({
        idempotencyKey: effectKey(),
        paymentRef: charge.id,
        amount: { minor: 100, currency: 'USD' },
        description: 'x',
        metadata: {},
      }),
    );
    expect(error.code).toBe('no_customer');
  });

  it('looks a pending refund up until it has succeeded', async () => {
    const charge = await customerCharge(1000);
    const refund = await payments.refund(refundOf(charge.id, 1000));
    expect(refund.state).toBe('pending');
    const settled = await waitFor('the refund to succeed', async () => {
      const now = await payments.lookup(refund.reference);
      return now.state === 'pending' ? undefined : now;
    });
    expect(settled).toEqual({ ...refund, state: 'succeeded' });
  });

  it('reads what is left to refund of a charge or a PaymentIntent, and refuses to read what Stripe does not know', async () => {
    const charge = await customerCharge(4000, 'eur');
    await payments.refund(refundOf(charge.id, 1500, 'EUR'));
    expect(await payments.refundable(charge.id)).toEqual({
      ref: charge.id,
      currency: 'EUR',
      captured: 4000,
      refunded: 1500,
    });
    const intent = await stripe.paymentIntents.create({
      amount: 2500,
      currency: 'gbp',
      confirm: true,
      payment_method: 'pm_card_visa',
    });
    expect(await payments.refundable(intent.id)).toEqual({
      ref: intent.id,
      currency: 'GBP',
      captured: 2500,
      refunded: 0,
    });
    const missing = await refused(payments.refundable('ch_doesnotexist'));
    expect(missing.code).toBe('resource_missing');
    expect((await refused(payments.refundable('acct_123'))).code).toBe('invalid_payment_reference');
  });

  it('reports a refund that fails after it looked succeeded, with the reason', async () => {
    const intent = await stripe.paymentIntents.create({
      amount: 1500,
      currency: 'usd',
      confirm: true,
      payment_method: 'pm_card_refundFail',
    });
    const refund = await payments.refund(refundOf(intent.id, 1500));
    // Stripe's test mode: succeeded first, so "succeeded" is not final for a refund.
    expect(refund.state).toBe('succeeded');
    const failed = await waitFor('the refund to fail', async () => {
      const now = await payments.lookup(refund.reference);
      return now.state === 'failed' ? now : undefined;
    });
    expect(failed.failureReason).toBe('expired_or_canceled_card');
  });

  it('finds a refund or a credit by its effect key once Stripe has forgotten the idempotency key', async () => {
    const forgetful = await startStripeStandIn({ port: 0, refundSettleMs: 0, idempotencyWindowMs: 30 });
    try {
      const client = stripeClient(API_KEY, { apiBase: forgetful.url });
      const adapter = new StripePayments(async () => client);
      const customer = await client.customers.create({});
      const charge = await client.charges.create({
        amount: 5000,
        currency: 'usd',
        source: 'tok_visa',
        customer: customer.id,
      });
      const refundKey = effectKey();
      const creditKey = effectKey();
      const request = { paymentRef: charge.id, amount: { minor: 500, currency: 'USD' }, metadata: {} };
      const refund = await adapter.refund({ ...request, idempotencyKey: refundKey });
      const credit = await adapter.credit({ ...request, idempotencyKey: creditKey, description: 'Sorry' });
      await adapter.refund({ ...request, idempotencyKey: effectKey() });
      await new Promise((resolve) => setTimeout(resolve, 60));

      expect(await adapter.findByEffectKey(charge.id, refundKey)).toEqual(refund);
      expect(await adapter.findByEffectKey(charge.id, creditKey)).toEqual(credit);
      expect(await adapter.findByEffectKey(charge.id, 'INC-2026-0001/never-carried-out')).toBeUndefined();
      // Why the lookup matters: past the window the same key would refund a second time.
      const again = await adapter.refund({ ...request, idempotencyKey: refundKey });
      expect(again.reference).not.toBe(refund.reference);
    } finally {
      await forgetful.close();
    }
  });
});

describe('StripePayments when Stripe cannot be reached or fails', () => {
  const request = {
    idempotencyKey: 'INC-2026-0001/effect-transient',
    paymentRef: 'ch_anything',
    amount: { minor: 100, currency: 'USD' },
    metadata: {},
  };

  /** An adapter whose every HTTP call goes to `respond`, recording the Idempotency-Key it carried. */
  function failing(respond: () => Promise<Response>, maxNetworkRetries = 0) {
    const seen: (string | null)[] = [];
    const fetchFn = async (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
      seen.push(new Headers(init?.headers).get('idempotency-key'));
      return respond();
    };
    const client = stripeClient(API_KEY, {
      apiBase: 'http://127.0.0.1:9',
      maxNetworkRetries,
      httpClient: Stripe.createFetchHttpClient(fetchFn as typeof fetch),
    });
    return { adapter: new StripePayments(client), seen };
  }

  async function dependencyFailure(call: Promise<unknown>): Promise<CasebookError> {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CasebookError);
    expect((error as CasebookError).name).toBe(ERROR_NAMES.dependencyUnavailable);
    return error as CasebookError;
  }

  const stripeError = (status: number, type: string) => async () =>
    new Response(JSON.stringify({ error: { type, message: `status ${status}` } }), {
      status,
      headers: { 'content-type': 'application/json' },
    });

  it('maps a connection failure to Casebook.DependencyUnavailable, keeping the cause', async () => {
    const { adapter } = failing(async () => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
    });
    const error = await dependencyFailure(adapter.lookup('re_123'));
    expect(error.cause).toBeInstanceOf(Stripe.errors.StripeConnectionError);
  });

  it.each([
    [500, 'api_error'],
    [503, 'api_error'],
    [429, 'rate_limit_error'],
    [409, 'idempotency_error'],
  ])('maps HTTP %i (%s) to Casebook.DependencyUnavailable', async (status, type) => {
    const { adapter } = failing(stripeError(status, type));
    await dependencyFailure(adapter.lookup('re_123'));
  });

  it("lets the SDK retry a 5xx with the effect's own key before giving up", async () => {
    let calls = 0;
    const { adapter, seen } = failing(async () => {
      calls++;
      // The payment lookup answers; the refund itself keeps failing.
      if (calls === 1)
        return new Response(
          JSON.stringify({ id: 'ch_anything', object: 'charge', currency: 'usd', customer: null }),
          {
            status: 200,
            headers: { 'content-type': 'application/json' },
          },
        );
      return stripeError(503, 'api_error')();
    }, 2);
    await dependencyFailure(adapter.refund(request));
    const refundAttempts = seen.slice(1);
    expect(refundAttempts).toEqual([request.idempotencyKey, request.idempotencyKey, request.idempotencyKey]);
  });

  it('maps a 400 answer to a refusal, not a retry', async () => {
    const { adapter } = failing(stripeError(400, 'invalid_request_error'));
    expect(await refused(adapter.lookup('re_123'))).toBeInstanceOf(PaymentRefusedError);
  });

  it('keeps one effect (two calls with all their SDK retries) inside what Act keeps in reserve of its run', () => {
    const { maxNetworkRetries, timeout } = STRIPE_RETRIES;
    // The SDK waits min(0.5 s × 2^(n-1), 5 s) at most before retry n.
    let backoff = 0;
    for (let n = 1; n <= maxNetworkRetries; n++) backoff += Math.min(500 * 2 ** (n - 1), 5_000);
    const perCall = (maxNetworkRetries + 1) * timeout + backoff;
    expect(2 * perCall).toBeLessThan(RESERVE_MS);
    expect(RESERVE_MS).toBeLessThan(FUNCTIONS.carryOutEffects.timeoutSeconds * 1000);
  });
});
