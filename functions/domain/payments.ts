/**
 * The payments port: how Act refunds a customer's payment or credits their balance, whatever the
 * provider (`stripe`, or `manual` where a person does it in the company's own system).
 *
 * Every call that moves money carries the effect's idempotency key, so retrying it after a
 * timeout, a crash or a Lambda retry never moves money twice. Errors come in two kinds:
 * - {@link PaymentRefusedError}: the provider answered and refused (already refunded, no such
 *   charge, amount too large). Nothing happened; a person must decide what to do.
 * - `CasebookError(ERROR_NAMES.dependencyUnavailable)`: no answer or a provider fault (timeout,
 *   connection error, 5xx, rate limit). It may or may not have happened; retry with the same key.
 * Anything else is a bug.
 */
import type { Money } from './money.ts';

/**
 * The payment a refund or credit is about, as the provider names it: at Stripe a charge (`ch_…`)
 * or a PaymentIntent (`pi_…`).
 */
export type PaymentRef = string;

/**
 * Where a refund or credit stands. A refund can stay `pending` for days; a card refund can even
 * turn `failed` after it `succeeded` (the card was closed meanwhile: Stripe's `refund.failed`), so
 * for a refund `succeeded` is the latest word, not necessarily the last.
 */
export type PaymentState = 'pending' | 'succeeded' | 'failed';

/** A refund or credit as the provider knows it now. */
export interface PaymentOutcome {
  /**
   * The provider's handle for it, opaque to Casebook and accepted by {@link PaymentsPort.lookup}
   * (Stripe: `re_…` for a refund, `cus_…/cbtxn_…` for a credit).
   */
  readonly reference: string;
  readonly state: PaymentState;
  /** What was refunded or credited, always positive. */
  readonly amount: Money;
  /** What the provider charged for carrying it out, when it reports one. */
  readonly fee?: Money;
  /** Why it failed, in the provider's words (`expired_or_canceled_card`). */
  readonly failureReason?: string;
}

/** Free-form labels stored with the refund or credit at the provider (Stripe metadata). */
export type PaymentMetadata = Readonly<Record<string, string>>;

export interface RefundRequest {
  /** The effect's key: the same key never refunds twice. */
  readonly idempotencyKey: string;
  readonly paymentRef: PaymentRef;
  /** In the payment's own currency. */
  readonly amount: Money;
  readonly metadata: PaymentMetadata;
}

export interface CreditRequest {
  /** The effect's key: the same key never credits twice. */
  readonly idempotencyKey: string;
  /** The payment whose customer is credited. */
  readonly paymentRef: PaymentRef;
  readonly amount: Money;
  /** Shown to the customer with the credit (Stripe shows it on their invoices). */
  readonly description: string;
  readonly metadata: PaymentMetadata;
}

export interface PaymentsPort {
  /** Refunds `amount` of the payment; answers the refund, often still `pending`. */
  refund(request: RefundRequest): Promise<PaymentOutcome>;
  /**
   * Credits `amount` to the balance of the payment's customer: a goodwill credit that pays their
   * future invoices, not money back to their card.
   */
  credit(request: CreditRequest): Promise<PaymentOutcome>;
  /** Where the refund or credit `reference` stands now. */
  lookup(reference: string): Promise<PaymentOutcome>;
  /**
   * The refund or credit made for `effectKey` on this payment, found by the key stored with it,
   * or undefined if there is none. For when the provider no longer remembers the idempotency key
   * (Stripe forgets them after 24 hours) and a retry would otherwise pay twice.
   */
  findByEffectKey(paymentRef: PaymentRef, effectKey: string): Promise<PaymentOutcome | undefined>;
}

/** A payment as far as refunding it goes, as the provider knows it now. */
export interface RefundablePayment {
  readonly ref: PaymentRef;
  /** ISO 4217, upper case. */
  readonly currency: string;
  /** What the customer paid, in minor units. */
  readonly captured: number;
  /** What refunds (pending or succeeded) took back of it already. */
  readonly refunded: number;
}

/** Reads payments without moving money: what the check before approval asks the provider. */
export interface PaymentLookup {
  /**
   * The payment as it stands. A payment the provider does not know, or a reference it cannot
   * read, is a `PaymentRefusedError`; no answer is `Casebook.DependencyUnavailable`.
   */
  refundable(ref: PaymentRef): Promise<RefundablePayment>;
}
