import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LazyStripePayments } from '../../functions/adapters/lazy-stripe-payments.ts';
import { StripePayments, stripeClient } from '../../functions/adapters/stripe-payments.ts';
import { PaymentRefusedError } from '../../functions/domain/errors.ts';
import { type StripeStandIn, startStripeStandIn } from '../../local/stripe/server.ts';

let standIn: StripeStandIn;
let stripe: Stripe;
let lazy: LazyStripePayments;
let eager: StripePayments;

beforeAll(async () => {
  standIn = await startStripeStandIn({ port: 0, refundSettleMs: 60_000 });
  stripe = stripeClient('sk_test_lazy', { apiBase: standIn.url });
  lazy = new LazyStripePayments({
    provider: 'stripe',
    apiKey: { kind: 'value', value: 'sk_test_lazy' },
    apiBase: standIn.url,
  });
  eager = new StripePayments(stripe);
});
afterAll(() => standIn.close());

describe('the Stripe adapter loaded at its first call', () => {
  it('refunds, finds the refund by its effect key, looks it up and reads the charge as the adapter does', async () => {
    const customer = await stripe.customers.create({ email: 'customer@example.com' });
    const charge = await stripe.charges.create({
      amount: 3000,
      currency: 'usd',
      source: 'tok_visa',
      customer: customer.id,
    });
    const key = `INC-2026-0001/effect-lazy-${Date.now()}`;
    const refund = await lazy.refund({
      idempotencyKey: key,
      paymentRef: charge.id,
      amount: { minor: 1000, currency: 'USD' },
      metadata: {},
    });
    expect(refund.state).toBe('pending');
    expect(await lazy.findByEffectKey(charge.id, key)).toEqual(await eager.findByEffectKey(charge.id, key));
    expect(await lazy.lookup(refund.reference)).toEqual(await eager.lookup(refund.reference));
    expect(await lazy.refundable(charge.id)).toEqual({
      ref: charge.id,
      currency: 'USD',
      captured: 3000,
      refunded: 1000,
    });
  });

  it("refuses what Stripe refuses, with the adapter's own error", async () => {
    const charge = await stripe.charges.create({ amount: 1000, currency: 'usd', source: 'tok_visa' });
    const credit = lazy.credit({
      idempotencyKey: `INC-2026-0001/effect-lazy-credit-${Date.now()}`,
      paymentRef: charge.id,
      amount: { minor: 100, currency: 'USD' },
      description: 'x',
      metadata: {},
    });
    await expect(credit).rejects.toBeInstanceOf(PaymentRefusedError);
  });
});
