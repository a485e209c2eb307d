/**
 * What the stand-in models of Stripe's API: customers, charges, PaymentIntents, refunds and
 * customer balance transactions, with Stripe's object shapes, test cards and refusals. Changes are
 * staged and become visible only once the server has committed them to the journal.
 */
import { randomBytes } from 'node:crypto';
import { invalidParam, noSuch, refused, StripeApiError } from './errors.ts';
import type { Params } from './form.ts';
import {
  createdFilter,
  currency,
  metadata,
  missingParam,
  onlyKnown,
  optionalBoolean,
  optionalInteger,
  optionalString,
  requiredInteger,
} from './params.ts';
import type { Entity, Hidden, StripeObject } from './store.ts';

/**
 * Stripe's test payment methods (`tok_<name>`, `pm_card_<name>`) the stand-in knows. `refundFail`
 * follows Stripe's test mode: its refunds first look succeeded, then fail with
 * `expired_or_canceled_card`.
 */
const TEST_CARDS: Readonly<Record<string, { brand: string; last4: string; declined?: true }>> = {
  visa: { brand: 'visa', last4: '4242' },
  mastercard: { brand: 'mastercard', last4: '4444' },
  refundFail: { brand: 'visa', last4: '5126' },
  chargeDeclined: { brand: 'visa', last4: '0002', declined: true },
};

const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'];

/** Why Stripe says a refund failed (the refund object's `failure_reason`). */
const FAILURE_REASONS = [
  'charge_for_pending_refund_disputed',
  'declined',
  'expired_or_canceled_card',
  'insufficient_funds',
  'lost_or_stolen_card',
  'merchant_request',
  'unknown',
];

/** Stripe takes amounts of up to eight digits of minor units (99,999,999: $999,999.99). */
const MAX_CHARGE = 99_999_999;

/**
 * The smallest charge Stripe takes in each currency, in minor units (Stripe's table of minimum
 * charge amounts; HUF counts two decimals in the API). A currency not listed here must convert to
 * at least USD 0.50 at Stripe, which the stand-in has no rates for: it only asks for 1.
 */
const MINIMUM_CHARGE: Readonly<Record<string, number>> = {
  usd: 50,
  aed: 200,
  aud: 50,
  bgn: 100,
  brl: 50,
  cad: 50,
  chf: 50,
  czk: 1500,
  dkk: 250,
  eur: 50,
  gbp: 30,
  hkd: 400,
  huf: 17500,
  inr: 50,
  jpy: 50,
  mxn: 1000,
  myr: 200,
  nok: 300,
  nzd: 50,
  pln: 200,
  ron: 200,
  sek: 300,
  sgd: 50,
  thb: 1000,
};

/** A list answer: `{ object: 'list', data, has_more, url }`. */
export interface StripeList {
  readonly object: 'list';
  readonly data: StripeObject[];
  readonly has_more: boolean;
  readonly url: string;
}

export interface ApiOptions {
  /** How long a refund stays `pending` (or, on `refundFail`, `succeeded`) before it settles; 0 settles at once. */
  readonly refundSettleMs: number;
  readonly now: () => number;
}

/** A refund whose status changed: what the webhooks tell. */
export interface RefundTransition {
  readonly refund: StripeObject;
  readonly previousStatus: string;
}

export class StripeApi {
  private readonly entities = new Map<string, Entity>();
  private readonly staged = new Map<string, Entity>();
  /** Refund status changes of the current request or settlement, for the webhooks. */
  private transitions: RefundTransition[] = [];
  private readonly options: ApiOptions;

  constructor(options: ApiOptions) {
    this.options = options;
  }

  /** Takes committed entities (from the journal, or a request just committed). */
  apply(entities: readonly Entity[]): void {
    for (const entity of entities) this.entities.set(entity.object.id, entity);
  }

  /** What the current request changed; the server commits it, then applies it. */
  takeStaged(): Entity[] {
    const changed = [...this.staged.values()];
    this.staged.clear();
    return changed;
  }

  /** The refund status changes staged with them; the server tells of them once they are kept. */
  takeTransitions(): RefundTransition[] {
    const taken = this.transitions;
    this.transitions = [];
    return taken;
  }

  /** Refunds still waiting to settle, for the server's timers. */
  pendingSettlements(): { id: string; at: number }[] {
    return [...this.entities.values()].flatMap((e) =>
      e.hidden?.settle ? [{ id: e.object.id, at: e.hidden.settle.at }] : [],
    );
  }

  // Customers -------------------------------------------------------------------------------

  createCustomer(params: Params): StripeObject {
    onlyKnown(params, ['email', 'name', 'description', 'phone', 'metadata']);
    const customer = this.newObject('cus', 'customer', {
      address: null,
      balance: 0,
      currency: null,
      default_source: null,
      delinquent: false,
      description: optionalString(params, 'description') ?? null,
      discount: null,
      email: optionalString(params, 'email') ?? null,
      invoice_prefix: randomBytes(4).toString('hex').toUpperCase(),
      invoice_settings: {
        custom_fields: null,
        default_payment_method: null,
        footer: null,
        rendering_options: null,
      },
      livemode: false,
      metadata: metadata(params),
      name: optionalString(params, 'name') ?? null,
      next_invoice_sequence: 1,
      phone: optionalString(params, 'phone') ?? null,
      preferred_locales: [],
      shipping: null,
      tax_exempt: 'none',
      test_clock: null,
    });
    this.stage({ object: customer, hidden: { balances: {} } });
    return customer;
  }

  retrieveCustomer(id: string): StripeObject {
    return this.find(id, 'customer', 'customer', 'id').object;
  }

  /** A customer balance transaction: a negative amount credits the customer (pays future invoices). */
  createBalanceTransaction(customerId: string, params: Params): StripeObject {
    onlyKnown(params, ['amount', 'currency', 'description', 'metadata']);
    const amount = requiredInteger(params, 'amount', undefined);
    const cur = currency(params);
    const description = optionalString(params, 'description') ?? null;
    const meta = metadata(params);
    const entity = this.find(customerId, 'customer', 'customer', 'customer');
    if (amount === 0)
      throw invalidParam('amount', 'The amount must be non-zero.', 'parameter_invalid_integer');
    const balances = { ...(entity.hidden?.balances ?? {}) };
    const ending = (balances[cur] ?? 0) + amount;
    balances[cur] = ending;
    const customerCurrency = (entity.object.currency as string | null) ?? cur;
    this.stage({
      object: { ...entity.object, currency: customerCurrency, balance: balances[customerCurrency] ?? 0 },
      hidden: { ...entity.hidden, balances },
    });
    const transaction = this.newObject('cbtxn', 'customer_balance_transaction', {
      amount,
      checkout_session: null,
      credit_note: null,
      currency: cur,
      customer: customerId,
      customer_account: null,
      description,
      ending_balance: ending,
      invoice: null,
      livemode: false,
      metadata: meta,
      type: 'adjustment',
    });
    this.stage({ object: transaction });
    return transaction;
  }

  /** `GET /v1/customers`: Stripe's list, newest first, filtered by `email` and `created`. */
  listCustomers(params: Params): StripeList {
    onlyKnown(params, ['email', 'created', 'limit', 'starting_after', 'ending_before', 'test_clock']);
    const email = optionalString(params, 'email');
    return this.list(
      '/v1/customers',
      params,
      (o) => o.object === 'customer' && (email === undefined || o.email === email),
    );
  }

  retrieveBalanceTransaction(customerId: string, id: string): StripeObject {
    this.find(customerId, 'customer', 'customer', 'customer');
    const entity = this.find(id, 'customer_balance_transaction', 'customer balance transaction', 'id');
    if (entity.object.customer !== customerId) throw noSuch('customer balance transaction', id, 'id');
    return entity.object;
  }

  listBalanceTransactions(customerId: string, params: Params): StripeList {
    onlyKnown(params, ['limit', 'starting_after', 'ending_before', 'invoice', 'created']);
    this.find(customerId, 'customer', 'customer', 'customer');
    return this.list(
      `/v1/customers/${customerId}/balance_transactions`,
      params,
      (o) => o.object === 'customer_balance_transaction' && o.customer === customerId,
    );
  }

  // Charges and PaymentIntents ----------------------------------------------------------------

  createCharge(params: Params): StripeObject {
    onlyKnown(params, [
      'amount',
      'currency',
      'source',
      'customer',
      'description',
      'metadata',
      'receipt_email',
      'capture',
      'statement_descriptor',
      'statement_descriptor_suffix',
    ]);
    const { amount, cur } = this.amountAndCurrency(params);
    if (optionalBoolean(params, 'capture') === false)
      throw refused('parameter_invalid', 'The Casebook Stripe stand-in does not model uncaptured charges.');
    const customer = this.optionalCustomer(params);
    const source = optionalString(params, 'source');
    if (!source)
      throw customer
        ? refused('missing', 'Cannot charge a customer that has no active card', 'customer')
        : missingParam('source');
    const card = testCard(source, 'tok_', 'token', 'source');
    const charge = this.charge({
      amount,
      currency: cur,
      customer,
      card,
      description: optionalString(params, 'description') ?? null,
      metadata: metadata(params),
      receiptEmail: optionalString(params, 'receipt_email') ?? null,
      paymentIntent: null,
      paymentMethod: newId('card'),
      withSource: true,
    });
    if (charge.status === 'failed')
      throw declined({ charge: charge.id }, 'The card was declined (tok_chargeDeclined).');
    return charge;
  }

  retrieveCharge(id: string): StripeObject {
    return this.find(id, 'charge', 'charge', 'id').object;
  }

  createPaymentIntent(params: Params): StripeObject {
    onlyKnown(params, [
      'amount',
      'currency',
      'confirm',
      'payment_method',
      'payment_method_types',
      'automatic_payment_methods',
      'customer',
      'description',
      'metadata',
      'receipt_email',
      'return_url',
      'off_session',
      'capture_method',
      'confirmation_method',
      'statement_descriptor',
      'statement_descriptor_suffix',
    ]);
    const { amount, cur } = this.amountAndCurrency(params);
    const captureMethod = optionalString(params, 'capture_method') ?? 'automatic_async';
    if (captureMethod === 'manual')
      throw refused('parameter_invalid', 'The Casebook Stripe stand-in does not model manual capture.');
    const customer = this.optionalCustomer(params);
    const paymentMethod = this.paymentMethod(params);
    const intent = this.newObject('pi', 'payment_intent', {
      amount,
      amount_capturable: 0,
      amount_details: { tip: {} },
      amount_received: 0,
      application: null,
      application_fee_amount: null,
      automatic_payment_methods: params.payment_method_types ? null : { enabled: true },
      canceled_at: null,
      cancellation_reason: null,
      capture_method: captureMethod,
      client_secret: '',
      confirmation_method: optionalString(params, 'confirmation_method') ?? 'automatic',
      currency: cur,
      customer,
      description: optionalString(params, 'description') ?? null,
      last_payment_error: null,
      latest_charge: null,
      livemode: false,
      metadata: metadata(params),
      next_action: null,
      on_behalf_of: null,
      payment_method: paymentMethod?.object.id ?? null,
      payment_method_configuration_details: null,
      payment_method_options: {
        card: { installments: null, network: null, request_three_d_secure: 'automatic' },
      },
      payment_method_types: ['card'],
      processing: null,
      receipt_email: optionalString(params, 'receipt_email') ?? null,
      review: null,
      setup_future_usage: null,
      shipping: null,
      source: null,
      statement_descriptor: null,
      statement_descriptor_suffix: null,
      status: paymentMethod ? 'requires_confirmation' : 'requires_payment_method',
      transfer_data: null,
      transfer_group: null,
    });
    intent.client_secret = `${intent.id}_secret_${randomBytes(12).toString('base64url')}`;
    this.stage({ object: intent });
    return optionalBoolean(params, 'confirm') ? this.confirm(intent, paymentMethod) : intent;
  }

  confirmPaymentIntent(id: string, params: Params): StripeObject {
    onlyKnown(params, ['payment_method', 'return_url', 'off_session', 'receipt_email']);
    const intent = this.find(id, 'payment_intent', 'payment_intent', 'id').object;
    const given = this.paymentMethod(params);
    const paymentMethod =
      given ??
      (intent.payment_method
        ? this.find(intent.payment_method as string, 'payment_method', 'PaymentMethod', 'payment_method')
        : undefined);
    return this.confirm(intent, paymentMethod);
  }

  retrievePaymentIntent(id: string): StripeObject {
    return this.find(id, 'payment_intent', 'payment_intent', 'id').object;
  }

  // Refunds ---------------------------------------------------------------------------------

  createRefund(params: Params): StripeObject {
    onlyKnown(params, [
      'charge',
      'payment_intent',
      'amount',
      'reason',
      'metadata',
      'refund_application_fee',
      'reverse_transfer',
      'instructions_email',
    ]);
    const meta = metadata(params);
    const requested = optionalInteger(params, 'amount', 1);
    const reason = optionalString(params, 'reason') ?? null;
    if (reason !== null && !REFUND_REASONS.includes(reason))
      throw refused(
        'parameter_invalid',
        `Invalid reason: must be one of ${REFUND_REASONS.join(', ')}`,
        'reason',
      );
    const chargeEntity = this.refundedCharge(params);
    const charge = chargeEntity.object;
    const refundable = (charge.amount_captured as number) - (charge.amount_refunded as number);
    if (refundable <= 0)
      throw refused('charge_already_refunded', `Charge ${charge.id} has already been refunded.`);
    const amount = requested ?? refundable;
    if (amount > refundable)
      throw refused(
        'amount_too_large',
        `Refund amount (${formatMoney(amount, charge.currency as string)}) is greater than unrefunded amount on charge (${formatMoney(refundable, charge.currency as string)})`,
        'amount',
      );
    // refundFail follows Stripe's test mode: the refund looks succeeded first, and fails later.
    const fails = chargeEntity.hidden?.card === 'refundFail';
    const settleMs = this.options.refundSettleMs;
    const initial = fails
      ? settleMs === 0
        ? 'failed'
        : 'succeeded'
      : settleMs === 0
        ? 'succeeded'
        : 'pending';
    const refund = this.newObject('re', 'refund', {
      amount,
      balance_transaction: newId('txn'),
      charge: charge.id,
      currency: charge.currency,
      destination_details: {
        card: {
          reference: null,
          reference_status: 'pending',
          reference_type: 'acquirer_reference_number',
          type: 'refund',
        },
        type: 'card',
      },
      metadata: meta,
      payment_intent: charge.payment_intent,
      reason,
      receipt_number: null,
      source_transfer_reversal: null,
      status: initial,
      transfer_reversal: null,
    });
    this.balanceTransaction(refund.balance_transaction as string, {
      amount: -amount,
      fee: 0,
      currency: charge.currency as string,
      type: 'refund',
      source: refund.id,
      description: null,
    });
    if (initial === 'failed') Object.assign(refund, this.failure(refund));
    const settle: Hidden['settle'] =
      settleMs === 0 ? undefined : { at: this.options.now() + settleMs, to: fails ? 'failed' : 'succeeded' };
    this.stage({ object: refund, ...(settle ? { hidden: { settle } } : {}) });
    if (initial !== 'failed') this.adjustRefunded(chargeEntity, amount);
    return refund;
  }

  retrieveRefund(id: string): StripeObject {
    return this.find(id, 'refund', 'refund', 'id').object;
  }

  listRefunds(params: Params): StripeList {
    onlyKnown(params, ['charge', 'payment_intent', 'limit', 'starting_after', 'ending_before', 'created']);
    const charge = optionalString(params, 'charge');
    const intent = optionalString(params, 'payment_intent');
    return this.list(
      '/v1/refunds',
      params,
      (o) =>
        o.object === 'refund' &&
        (charge === undefined || o.charge === charge) &&
        (intent === undefined || o.payment_intent === intent),
    );
  }

  /** Moves a refund to the status it was due to take; undefined if it has nothing left to do. */
  settleRefund(id: string): RefundTransition | undefined {
    const entity = this.entities.get(id);
    const settle = entity?.hidden?.settle;
    if (!entity || !settle) return undefined;
    const previousStatus = entity.object.status as string;
    const refund: StripeObject = {
      ...entity.object,
      status: settle.to,
      ...(settle.to === 'failed' ? this.failure(entity.object) : {}),
    };
    this.stage({ object: refund });
    if (settle.to === 'failed') {
      const charge = this.entities.get(refund.charge as string);
      if (charge) this.adjustRefunded(charge, -(refund.amount as number));
    }
    const transition = { refund, previousStatus };
    this.transitions.push(transition);
    return transition;
  }

  /**
   * Test-only: fails a refund now, as a card refund can fail at Stripe days after it succeeded
   * (`failure_reason` one of Stripe's reasons). Not part of Stripe's API; Stripe's test mode can
   * only do this through `pm_card_refundFail`, at a moment the test does not choose.
   */
  failRefund(id: string, params: Params): StripeObject {
    onlyKnown(params, ['failure_reason']);
    const reason = optionalString(params, 'failure_reason') ?? 'expired_or_canceled_card';
    if (!FAILURE_REASONS.includes(reason))
      throw invalidParam(
        'failure_reason',
        `Invalid failure_reason: must be one of ${FAILURE_REASONS.join(', ')}`,
      );
    const entity = this.find(id, 'refund', 'refund', 'id');
    const previousStatus = entity.object.status as string;
    if (previousStatus !== 'pending' && previousStatus !== 'succeeded')
      throw refused(
        'refund_unexpected_state',
        `Refund ${id} is ${previousStatus}; only a pending or succeeded refund can fail.`,
      );
    const refund: StripeObject = {
      ...entity.object,
      status: 'failed',
      ...this.failure(entity.object, reason),
    };
    // Replacing the entity drops any settlement still due: the refund has ended.
    this.stage({ object: refund });
    const charge = this.entities.get(refund.charge as string);
    if (charge) this.adjustRefunded(charge, -(refund.amount as number));
    this.transitions.push({ refund, previousStatus });
    return refund;
  }

  // Balance transactions --------------------------------------------------------------------

  retrieveAccountBalanceTransaction(id: string): StripeObject {
    return this.shown(this.find(id, 'balance_transaction', 'balance transaction', 'id').object);
  }

  listAccountBalanceTransactions(params: Params): StripeList {
    onlyKnown(params, ['type', 'source', 'currency', 'created', 'limit', 'starting_after', 'ending_before']);
    const type = optionalString(params, 'type');
    const source = optionalString(params, 'source');
    const cur = optionalString(params, 'currency')?.toLowerCase();
    const list = this.list(
      '/v1/balance_transactions',
      params,
      (o) =>
        o.object === 'balance_transaction' &&
        (type === undefined || o.type === type) &&
        (source === undefined || o.source === source) &&
        (cur === undefined || o.currency === cur),
    );
    return { ...list, data: list.data.map((o) => this.shown(o)) };
  }

  // Internals -------------------------------------------------------------------------------

  /**
   * A refund's failure: Stripe gives the money back to the balance with a `refund_failure`
   * balance transaction, which the refund names as `failure_balance_transaction`.
   */
  private failure(refund: StripeObject, reason = 'expired_or_canceled_card'): Record<string, unknown> {
    const id = newId('txn');
    this.balanceTransaction(id, {
      amount: refund.amount as number,
      fee: 0,
      currency: refund.currency as string,
      type: 'refund_failure',
      source: refund.id,
      description: 'REFUND FAILURE',
    });
    return { failure_reason: reason, failure_balance_transaction: id };
  }

  /**
   * A movement of the account's balance (`txn_…`). A charge's funds become available two days
   * after it (Stripe's standard US payout delay); a refund or its failure moves the available
   * balance at once.
   */
  private balanceTransaction(
    id: string,
    input: {
      amount: number;
      fee: number;
      currency: string;
      type: 'charge' | 'refund' | 'refund_failure';
      source: string;
      description: string | null;
    },
  ): void {
    const created = Math.floor(this.options.now() / 1000);
    const availableOn = input.type === 'charge' ? startOfDay(created) + 2 * DAY_SECONDS : created;
    this.stage({
      object: {
        id,
        object: 'balance_transaction',
        amount: input.amount,
        available_on: availableOn,
        created,
        currency: input.currency,
        description: input.description,
        exchange_rate: null,
        fee: input.fee,
        fee_details:
          input.fee === 0
            ? []
            : [
                {
                  amount: input.fee,
                  application: null,
                  currency: input.currency,
                  description: 'Stripe processing fees',
                  type: 'stripe_fee',
                },
              ],
        net: input.amount - input.fee,
        reporting_category: input.type,
        source: input.source,
        status: 'pending',
        type: input.type,
      },
    });
  }

  /** A balance transaction as it stands now: `available` once its `available_on` has come. */
  private shown(transaction: StripeObject): StripeObject {
    const available = (transaction.available_on as number) * 1000 <= this.options.now();
    return { ...transaction, status: available ? 'available' : 'pending' };
  }

  private confirm(intent: StripeObject, paymentMethod: Entity | undefined): StripeObject {
    if (intent.status === 'succeeded')
      throw refused(
        'payment_intent_unexpected_state',
        'This PaymentIntent has already succeeded; it cannot be confirmed again.',
      );
    if (!paymentMethod)
      throw refused(
        'payment_intent_unexpected_state',
        "You cannot confirm this PaymentIntent because it's missing a payment method.",
        'payment_method',
      );
    const charge = this.charge({
      amount: intent.amount as number,
      currency: intent.currency as string,
      customer: intent.customer as string | null,
      card: paymentMethod.hidden?.card ?? 'visa',
      description: intent.description as string | null,
      metadata: intent.metadata as Record<string, string>,
      receiptEmail: intent.receipt_email as string | null,
      paymentIntent: intent.id,
      paymentMethod: paymentMethod.object.id,
      withSource: false,
    });
    const ok = charge.status === 'succeeded';
    const confirmed: StripeObject = {
      ...intent,
      payment_method: paymentMethod.object.id,
      latest_charge: charge.id,
      amount_received: ok ? intent.amount : 0,
      status: ok ? 'succeeded' : 'requires_payment_method',
      last_payment_error: ok
        ? null
        : {
            type: 'card_error',
            code: 'card_declined',
            decline_code: 'generic_decline',
            message: 'Your card was declined.',
            charge: charge.id,
          },
    };
    this.stage({ object: confirmed });
    if (!ok) throw declined({ charge: charge.id, payment_intent: confirmed }, 'The card was declined.');
    return confirmed;
  }

  private charge(input: {
    amount: number;
    currency: string;
    customer: string | null;
    card: string;
    description: string | null;
    metadata: Record<string, string>;
    receiptEmail: string | null;
    paymentIntent: string | null;
    paymentMethod: string;
    withSource: boolean;
  }): StripeObject {
    const card = TEST_CARDS[input.card] ?? (TEST_CARDS.visa as { brand: string; last4: string });
    const ok = !('declined' in card);
    const details = {
      brand: card.brand,
      country: 'US',
      exp_month: 12,
      exp_year: new Date(this.options.now()).getUTCFullYear() + 3,
      funding: 'credit',
      last4: card.last4,
      network: card.brand,
    };
    const charge = this.newObject('ch', 'charge', {
      amount: input.amount,
      amount_captured: ok ? input.amount : 0,
      amount_refunded: 0,
      application: null,
      application_fee: null,
      application_fee_amount: null,
      balance_transaction: ok ? newId('txn') : null,
      billing_details: {
        address: { city: null, country: null, line1: null, line2: null, postal_code: null, state: null },
        email: null,
        name: null,
        phone: null,
      },
      calculated_statement_descriptor: 'CASEBOOK',
      captured: ok,
      currency: input.currency,
      customer: input.customer,
      description: input.description,
      disputed: false,
      failure_balance_transaction: null,
      failure_code: ok ? null : 'card_declined',
      failure_message: ok ? null : 'Your card was declined.',
      fraud_details: {},
      livemode: false,
      metadata: input.metadata,
      on_behalf_of: null,
      outcome: ok
        ? {
            network_status: 'approved_by_network',
            reason: null,
            risk_level: 'normal',
            seller_message: 'Payment complete.',
            type: 'authorized',
          }
        : {
            network_status: 'declined_by_network',
            reason: 'generic_decline',
            risk_level: 'normal',
            seller_message: 'The bank did not return any further details with this decline.',
            type: 'issuer_declined',
          },
      paid: ok,
      payment_intent: input.paymentIntent,
      payment_method: input.paymentMethod,
      payment_method_details: { card: details, type: 'card' },
      receipt_email: input.receiptEmail,
      receipt_number: null,
      receipt_url: null,
      refunded: false,
      review: null,
      shipping: null,
      source: input.withSource
        ? { id: input.paymentMethod, object: 'card', ...details, customer: input.customer }
        : null,
      source_transfer: null,
      statement_descriptor: null,
      statement_descriptor_suffix: null,
      status: ok ? 'succeeded' : 'failed',
      transfer_data: null,
      transfer_group: null,
    });
    this.stage({ object: charge, hidden: { card: input.card } });
    if (ok)
      this.balanceTransaction(charge.balance_transaction as string, {
        amount: input.amount,
        fee: stripeFee(input.amount),
        currency: input.currency,
        type: 'charge',
        source: charge.id,
        description: input.description,
      });
    return charge;
  }

  /** The charge a refund request names, directly or through its PaymentIntent. */
  private refundedCharge(params: Params): Entity {
    const chargeId = optionalString(params, 'charge');
    const intentId = optionalString(params, 'payment_intent');
    if (!chargeId && !intentId) throw missingParamOneOf(['payment_intent', 'charge']);
    if (intentId) {
      const intent = this.find(intentId, 'payment_intent', 'payment_intent', 'payment_intent').object;
      if (intent.status !== 'succeeded' || !intent.latest_charge)
        throw refused(
          'payment_intent_unexpected_state',
          `This PaymentIntent (${intentId}) does not have a successful charge to refund.`,
          'payment_intent',
        );
      if (chargeId && chargeId !== intent.latest_charge)
        throw refused(
          'parameter_invalid',
          `Charge ${chargeId} does not belong to PaymentIntent ${intentId}.`,
          'charge',
        );
      return this.find(intent.latest_charge as string, 'charge', 'charge', 'charge');
    }
    const entity = this.find(chargeId as string, 'charge', 'charge', 'charge');
    if (entity.object.status !== 'succeeded')
      throw refused(
        'charge_not_refundable',
        `Charge ${chargeId} has not succeeded and cannot be refunded.`,
        'charge',
      );
    return entity;
  }

  /** Pending and succeeded refunds count against the charge; a failed one gives its amount back. */
  private adjustRefunded(charge: Entity, delta: number): void {
    const current = this.staged.get(charge.object.id) ?? charge;
    const refunded = (current.object.amount_refunded as number) + delta;
    this.stage({
      ...current,
      object: {
        ...current.object,
        amount_refunded: refunded,
        refunded: refunded === current.object.amount_captured,
      },
    });
  }

  /**
   * A charge's amount as Stripe takes it: at most eight digits of minor units, and at least the
   * currency's minimum charge (Stripe's "Minimum and maximum charge amounts").
   */
  private amountAndCurrency(params: Params): { amount: number; cur: string } {
    const amount = requiredInteger(params, 'amount', 1);
    const cur = currency(params);
    if (amount > MAX_CHARGE)
      throw refused(
        'amount_too_large',
        `Amount must be no more than ${formatMoney(MAX_CHARGE, cur)}`,
        'amount',
      );
    const least = MINIMUM_CHARGE[cur];
    if (least !== undefined && amount < least)
      throw refused(
        'amount_too_small',
        `Amount must be at least ${formatMoney(least, cur)} ${cur}`,
        'amount',
      );
    return { amount, cur };
  }

  private optionalCustomer(params: Params): string | null {
    const id = optionalString(params, 'customer');
    if (!id) return null;
    this.find(id, 'customer', 'customer', 'customer');
    return id;
  }

  /** `pm_card_visa` becomes a new PaymentMethod, as in Stripe's test mode; a `pm_…` made earlier is reused. */
  private paymentMethod(params: Params): Entity | undefined {
    const given = optionalString(params, 'payment_method');
    if (!given) return undefined;
    if (!given.startsWith('pm_card_'))
      return this.find(given, 'payment_method', 'PaymentMethod', 'payment_method');
    const card = testCard(given, 'pm_card_', 'PaymentMethod', 'payment_method');
    const entity: Entity = {
      object: this.newObject('pm', 'payment_method', {
        type: 'card',
        livemode: false,
        customer: null,
        metadata: {},
      }),
      hidden: { card },
    };
    this.stage(entity);
    return entity;
  }

  private list(url: string, params: Params, keep: (o: StripeObject) => boolean): StripeList {
    const limit = optionalInteger(params, 'limit', 1) ?? 10;
    if (limit > 100)
      throw refused('parameter_invalid_integer', 'This value must be less than or equal to 100.', 'limit');
    const inPeriod = createdFilter(params);
    // Newest first, like Stripe; the map keeps creation order.
    const all = [...this.entities.values()]
      .map((e) => e.object)
      .filter((o) => keep(o) && inPeriod(o.created))
      .reverse();
    const after = optionalString(params, 'starting_after');
    const before = optionalString(params, 'ending_before');
    let start = 0;
    let end = all.length;
    if (after) start = indexOrThrow(all, after, 'starting_after') + 1;
    if (before) {
      end = indexOrThrow(all, before, 'ending_before');
      start = Math.max(0, end - limit);
    }
    const data = all.slice(start, Math.min(end, start + limit));
    const hasMore = before ? start > 0 : start + data.length < end;
    return { object: 'list', data, has_more: hasMore, url };
  }

  private find(id: string, object: string, kind: string, param: string): Entity {
    const entity = this.staged.get(id) ?? this.entities.get(id);
    if (!entity || entity.object.object !== object) throw noSuch(kind, id, param);
    return entity;
  }

  private stage(entity: Entity): void {
    this.staged.set(entity.object.id, entity);
  }

  private newObject(prefix: string, object: string, fields: Record<string, unknown>): StripeObject {
    return { id: newId(prefix), object, created: Math.floor(this.options.now() / 1000), ...fields };
  }
}

function testCard(given: string, prefix: string, kind: string, param: string): string {
  const name = given.slice(prefix.length);
  if (!given.startsWith(prefix) || !(name in TEST_CARDS)) throw noSuch(kind, given, param);
  return name;
}

function declined(extra: Record<string, unknown>, message: string): StripeApiError {
  return new StripeApiError(
    402,
    { type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', message, ...extra },
    true,
  );
}

function missingParamOneOf(names: string[]): StripeApiError {
  const message = `One of the following params should be provided for this request: ${names.join(' or ')}.`;
  return invalidParam(names.join(' or '), message, 'parameter_missing');
}

const DAY_SECONDS = 24 * 60 * 60;

function startOfDay(unix: number): number {
  return unix - (unix % DAY_SECONDS);
}

/**
 * Stripe's standard fee on a card charge as its test mode shows it: 2.9% plus 30 minor units,
 * rounded to the minor unit. The stand-in applies it to every currency.
 */
export function stripeFee(amount: number): number {
  return Math.round(amount * 0.029) + 30;
}

function indexOrThrow(list: StripeObject[], id: string, param: string): number {
  const index = list.findIndex((o) => o.id === id);
  if (index < 0) throw noSuch('object', id, param);
  return index;
}

/** Stripe's ids: a prefix and 24 random base62 characters. */
function newId(prefix: string): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  const bytes = randomBytes(24);
  let out = '';
  for (const byte of bytes) out += alphabet[byte % 62];
  return `${prefix}_${out}`;
}

/** `$21.45`, `¥500`: how Stripe writes amounts in its messages. */
function formatMoney(minor: number, cur: string): string {
  const format = new Intl.NumberFormat('en-US', { style: 'currency', currency: cur.toUpperCase() });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(minor / 10 ** digits);
}
