/**
 * The payments port on Stripe, through the official SDK: refunds on a charge or a PaymentIntent,
 * goodwill credits as customer balance transactions. Each carries the effect's key twice: as its
 * `Idempotency-Key` (Stripe answers a repeated call with the first result for 24 hours) and in its
 * metadata (so `findByEffectKey` finds it after that).
 */
import Stripe from 'stripe';
import { PaymentRefusedError } from '../domain/errors.ts';
import type { Money } from '../domain/money.ts';
import type {
  CreditRequest,
  PaymentLookup,
  PaymentOutcome,
  PaymentRef,
  PaymentState,
  PaymentsPort,
  RefundablePayment,
  RefundRequest,
} from '../domain/payments.ts';
import { asDependencyError, dependencyError } from './aws-errors.ts';
import type { PaymentsConfig } from './config.ts';
import { readSecret } from './secret-source.ts';

/** The metadata key under which every refund and credit carries its effect key. */
export const EFFECT_KEY_METADATA = 'casebook_effect_key';

/**
 * The SDK's own retries, chosen deliberately. Every POST carries the effect's key, so the SDK may
 * safely retry what it retries (connection errors, 409, 5xx, `Stripe-Should-Retry: true`) with
 * that same key. An effect makes two calls in sequence (read the payment, then refund or credit);
 * one retry of at most 5 s per call keeps the worst case near 21 s, inside carry-out-effect's
 * 30 s. What still fails becomes Casebook.DependencyUnavailable, which the state machine retries
 * later, again with the same key.
 */
export const STRIPE_RETRIES = { maxNetworkRetries: 1, timeout: 5_000 } as const;

export interface StripeClientOptions {
  /** Stripe's API elsewhere than api.stripe.com: the local stand-in (`http://127.0.0.1:12111`). */
  readonly apiBase?: string;
  readonly maxNetworkRetries?: number;
  readonly timeout?: number;
  /** Replaces the SDK's transport (tests of the error paths). */
  readonly httpClient?: Stripe.HttpClient;
}

/** The SDK client for one API key, built once and passed into {@link StripePayments}. */
export function stripeClient(apiKey: string, options: StripeClientOptions = {}): Stripe {
  const base = options.apiBase ? new URL(options.apiBase) : undefined;
  const protocol = base?.protocol === 'http:' ? 'http' : 'https';
  return new Stripe(apiKey, {
    maxNetworkRetries: options.maxNetworkRetries ?? STRIPE_RETRIES.maxNetworkRetries,
    timeout: options.timeout ?? STRIPE_RETRIES.timeout,
    appInfo: { name: 'Casebook' },
    ...(base ? { host: base.hostname, port: base.port || (protocol === 'http' ? 80 : 443), protocol } : {}),
    ...(options.httpClient ? { httpClient: options.httpClient } : {}),
  });
}

/**
 * The client for the configured key. On AWS the key is read from Secrets Manager (cached for five
 * minutes); a rotated key gets a new client, an unchanged one keeps the client it has.
 */
export function configuredStripeClient(
  config: Extract<PaymentsConfig, { provider: 'stripe' }>,
): () => Promise<Stripe> {
  let current: { key: string; client: Stripe } | undefined;
  return async () => {
    const key = await readSecret(config.apiKey, 'Stripe API key');
    if (current?.key !== key)
      current = { key, client: stripeClient(key, config.apiBase ? { apiBase: config.apiBase } : {}) };
    return current.client;
  };
}

/** A payment as far as refunds and credits need it. */
interface Payment {
  readonly ref: PaymentRef;
  readonly kind: 'charge' | 'payment_intent';
  readonly currency: string;
  readonly customer: string | null;
}

export class StripePayments implements PaymentsPort, PaymentLookup {
  private readonly client: () => Promise<Stripe>;

  constructor(client: Stripe | (() => Promise<Stripe>)) {
    this.client = client instanceof Stripe ? () => Promise.resolve(client) : client;
  }

  refund(request: RefundRequest): Promise<PaymentOutcome> {
    return this.call('refund', async (stripe) => {
      positive(request.amount);
      const payment = await paymentOf(stripe, request.paymentRef);
      // A refund is always in the payment's currency: a plan in another one is a mistake to stop here.
      if (payment.currency !== request.amount.currency.toLowerCase())
        throw new PaymentRefusedError(
          'currency_mismatch',
          `${payment.ref} is in ${payment.currency.toUpperCase()}, the refund in ${request.amount.currency}`,
        );
      const refund = await stripe.refunds.create(
        {
          [payment.kind]: payment.ref,
          amount: request.amount.minor,
          metadata: { ...request.metadata, [EFFECT_KEY_METADATA]: request.idempotencyKey },
        },
        { idempotencyKey: request.idempotencyKey },
      );
      return refundOutcome(refund);
    });
  }

  credit(request: CreditRequest): Promise<PaymentOutcome> {
    return this.call('credit', async (stripe) => {
      positive(request.amount);
      const customer = customerOf(await paymentOf(stripe, request.paymentRef));
      const transaction = await stripe.customers.createBalanceTransaction(
        customer,
        {
          // Stripe's sign: a negative amount is a credit to the customer (it lowers what their
          // next invoices ask); a positive one would be a debit.
          amount: -request.amount.minor,
          currency: request.amount.currency.toLowerCase(),
          description: request.description,
          metadata: { ...request.metadata, [EFFECT_KEY_METADATA]: request.idempotencyKey },
        },
        { idempotencyKey: request.idempotencyKey },
      );
      return creditOutcome(transaction);
    });
  }

  lookup(reference: string): Promise<PaymentOutcome> {
    return this.call('lookup', async (stripe) => {
      const credit = CREDIT_REFERENCE.exec(reference);
      if (credit?.[1] && credit[2])
        return creditOutcome(await stripe.customers.retrieveBalanceTransaction(credit[1], credit[2]));
      if (reference.startsWith('re_')) return refundOutcome(await stripe.refunds.retrieve(reference));
      throw new PaymentRefusedError(
        'invalid_reference',
        `${reference} is not a Stripe refund or credit reference`,
      );
    });
  }

  findByEffectKey(paymentRef: PaymentRef, effectKey: string): Promise<PaymentOutcome | undefined> {
    return this.call('search', async (stripe) => {
      const payment = await paymentOf(stripe, paymentRef);
      for await (const refund of stripe.refunds.list({ [payment.kind]: payment.ref, limit: 100 }))
        if (refund.metadata?.[EFFECT_KEY_METADATA] === effectKey) return refundOutcome(refund);
      if (!payment.customer) return undefined;
      for await (const transaction of stripe.customers.listBalanceTransactions(payment.customer, {
        limit: 100,
      }))
        if (transaction.metadata?.[EFFECT_KEY_METADATA] === effectKey) return creditOutcome(transaction);
      return undefined;
    });
  }

  refundable(ref: PaymentRef): Promise<RefundablePayment> {
    return this.call('lookup', async (stripe) => {
      // A PaymentIntent is refunded through its latest charge: that charge holds what is left.
      const intent = ref.startsWith('pi_') ? await stripe.paymentIntents.retrieve(ref) : undefined;
      const chargeId = intent ? idOf(intent.latest_charge) : ref;
      if (!intent && !ref.startsWith('ch_') && !ref.startsWith('py_')) await paymentOf(stripe, ref);
      const charge = chargeId ? await stripe.charges.retrieve(chargeId) : undefined;
      return {
        ref,
        currency: (intent?.currency ?? charge?.currency ?? '').toUpperCase(),
        captured: charge?.amount_captured ?? 0,
        refunded: charge?.amount_refunded ?? 0,
      };
    });
  }

  /** Runs one use of the API, mapping what fails into a refusal or a retryable dependency error. */
  private async call<T>(what: string, work: (stripe: Stripe) => Promise<T>): Promise<T> {
    let stripe: Stripe;
    try {
      stripe = await this.client();
    } catch (error) {
      throw asDependencyError(error);
    }
    try {
      return await work(stripe);
    } catch (error) {
      throw asPaymentError(what, error);
    }
  }
}

/**
 * Stripe's answer as Casebook understands it: no answer, a 409 (a concurrent request with the same
 * key), a 429 or a 5xx is Casebook.DependencyUnavailable — retry with the same key; any other
 * answer is a refusal (nothing happened). Errors that are not Stripe's pass through unchanged.
 */
export function asPaymentError(what: string, error: unknown): unknown {
  if (!(error instanceof Stripe.errors.StripeError)) return error;
  const status = error.statusCode ?? 0;
  const transient =
    error instanceof Stripe.errors.StripeConnectionError ||
    error instanceof Stripe.errors.StripeAPIError ||
    error instanceof Stripe.errors.StripeRateLimitError ||
    status === 409 ||
    status >= 500;
  if (transient) return dependencyError(`Stripe ${what}`, error);
  return new PaymentRefusedError(
    error.code ?? error.rawType ?? error.type,
    `Stripe refused the ${what}: ${error.message}`,
    { cause: error },
  );
}

/** `cus_…/cbtxn_…`: Stripe addresses a balance transaction under its customer. */
const CREDIT_REFERENCE = /^(cus_[A-Za-z0-9]+)\/(cbtxn_[A-Za-z0-9]+)$/;

const REFUND_STATES: Readonly<Record<string, PaymentState>> = {
  pending: 'pending',
  requires_action: 'pending',
  succeeded: 'succeeded',
  failed: 'failed',
  canceled: 'failed',
};

// Stripe charges no fee for a refund or a balance credit (it keeps the payment's own fee), so
// neither outcome carries one.
function refundOutcome(refund: Stripe.Refund): PaymentOutcome {
  const state = REFUND_STATES[refund.status ?? 'pending'] ?? 'pending';
  const failureReason = refund.failure_reason ?? (refund.status === 'canceled' ? 'canceled' : undefined);
  return {
    reference: refund.id,
    state,
    amount: money(refund.amount, refund.currency),
    ...(state === 'failed' && failureReason ? { failureReason } : {}),
  };
}

/** A balance credit is applied at once; its amount is negative at Stripe, positive here. */
function creditOutcome(transaction: Stripe.CustomerBalanceTransaction): PaymentOutcome {
  const customer = typeof transaction.customer === 'string' ? transaction.customer : transaction.customer.id;
  return {
    reference: `${customer}/${transaction.id}`,
    state: 'succeeded',
    amount: money(-transaction.amount, transaction.currency),
  };
}

async function paymentOf(stripe: Stripe, ref: PaymentRef): Promise<Payment> {
  if (ref.startsWith('pi_')) {
    const intent = await stripe.paymentIntents.retrieve(ref);
    return { ref, kind: 'payment_intent', currency: intent.currency, customer: idOf(intent.customer) };
  }
  if (ref.startsWith('ch_') || ref.startsWith('py_')) {
    const charge = await stripe.charges.retrieve(ref);
    return { ref, kind: 'charge', currency: charge.currency, customer: idOf(charge.customer) };
  }
  throw new PaymentRefusedError(
    'invalid_payment_reference',
    `${ref} is neither a Stripe charge (ch_…) nor a PaymentIntent (pi_…)`,
  );
}

function customerOf(payment: Payment): string {
  if (payment.customer) return payment.customer;
  throw new PaymentRefusedError(
    'no_customer',
    `${payment.ref} has no Stripe customer, so there is no balance to credit`,
  );
}

/** Money moves in one direction per call: a zero, negative or fractional amount is refused here. */
function positive(amount: Money): void {
  if (!Number.isSafeInteger(amount.minor) || amount.minor <= 0)
    throw new PaymentRefusedError(
      'invalid_amount',
      `The amount must be a positive integer, not ${amount.minor}`,
    );
}

function idOf(value: string | { id: string } | null): string | null {
  return typeof value === 'string' ? value : (value?.id ?? null);
}

function money(minor: number, currency: string): Money {
  return { minor, currency: currency.toUpperCase() };
}
