/**
 * The Stripe payments adapter, loaded at its first call rather than at cold start. Stripe's SDK is
 * a quarter of the biggest bundles and takes longer to evaluate than all the rest of them; a
 * deployment on manual payments never needs it, and one on Stripe pays for it once, on the first
 * refund or lookup, instead of on every cold start of every function that might pay.
 */
import type {
  CreditRequest,
  PaymentLookup,
  PaymentOutcome,
  PaymentRef,
  PaymentsPort,
  RefundablePayment,
  RefundRequest,
} from '../domain/payments.ts';
import type { PaymentsConfig } from './config.ts';
import type { StripePayments } from './stripe-payments.ts';

export class LazyStripePayments implements PaymentsPort, PaymentLookup {
  private readonly config: Extract<PaymentsConfig, { provider: 'stripe' }>;
  private loading: Promise<StripePayments> | undefined;

  constructor(config: Extract<PaymentsConfig, { provider: 'stripe' }>) {
    this.config = config;
  }

  private adapter(): Promise<StripePayments> {
    this.loading ??= import('./stripe-payments.ts').then(
      ({ StripePayments, configuredStripeClient }) => new StripePayments(configuredStripeClient(this.config)),
    );
    return this.loading;
  }

  async refund(request: RefundRequest): Promise<PaymentOutcome> {
    return (await this.adapter()).refund(request);
  }

  async credit(request: CreditRequest): Promise<PaymentOutcome> {
    return (await this.adapter()).credit(request);
  }

  async lookup(reference: string): Promise<PaymentOutcome> {
    return (await this.adapter()).lookup(reference);
  }

  async findByEffectKey(paymentRef: PaymentRef, effectKey: string): Promise<PaymentOutcome | undefined> {
    return (await this.adapter()).findByEffectKey(paymentRef, effectKey);
  }

  async refundable(ref: PaymentRef): Promise<RefundablePayment> {
    return (await this.adapter()).refundable(ref);
  }
}
