/**
 * The check a submitted plan's refunds go through before any approver is asked: what the payments
 * provider would refuse at Act — a refund of nothing, more than a payment can take, a payment that
 * does not exist, another currency than the payment's, more than is left of the payment once the
 * plan's other refunds on it are counted — is sent back to the responders instead of approved.
 * Pure: the provider's word on each payment is looked up elsewhere and passed in.
 */
import type { Money } from './money.ts';
import { formatMajorAmount } from './money.ts';
import type { PaymentRef, RefundablePayment } from './payments.ts';

/** The most a single refund (or charge) can be at the provider: eight digits of minor units. */
export const MAX_REFUND_MINOR = 99_999_999;

/** A refund of the plan, as the check needs it. */
export interface PlannedRefund {
  readonly effectId: string;
  /** The customer as the responders know them in the workroom (never an address or a name). */
  readonly customerRef: string;
  /** The customer's pseudonym, for the Decision Log. */
  readonly counterparty: string;
  readonly amount?: Money;
  readonly paymentRef?: PaymentRef;
}

/** What the provider answered about one payment: the payment, or why it has none to refund. */
export type PaymentAnswer =
  | { readonly found: true; readonly payment: RefundablePayment }
  | { readonly found: false; readonly why: string };

export const REFUND_PROBLEMS = [
  'amount-not-positive',
  'amount-too-large',
  'no-payment',
  'payment-not-found',
  'currency-mismatch',
  'over-refund',
] as const;
export type RefundProblemCode = (typeof REFUND_PROBLEMS)[number];

/** One thing wrong with one refund of the plan. */
export interface RefundProblem {
  readonly effectId: string;
  readonly customerRef: string;
  readonly counterparty: string;
  readonly code: RefundProblemCode;
  /** What is wrong, in words a responder can act on. */
  readonly detail: string;
}

function money(m: Money): string {
  return `${m.currency} ${formatMajorAmount(m)}`;
}

/**
 * What is wrong with each refund taken alone, without asking the provider: an amount that is not
 * a whole number of minor units above 0 and at most {@link MAX_REFUND_MINOR}, or no payment to
 * refund.
 */
export function refundAmountProblems(refund: PlannedRefund): RefundProblem[] {
  const problem = (code: RefundProblemCode, detail: string): RefundProblem => ({
    effectId: refund.effectId,
    customerRef: refund.customerRef,
    counterparty: refund.counterparty,
    code,
    detail,
  });
  const out: RefundProblem[] = [];
  const amount = refund.amount;
  if (!amount || !Number.isSafeInteger(amount.minor) || amount.minor <= 0)
    out.push(
      problem(
        'amount-not-positive',
        `a refund of ${amount && Number.isSafeInteger(amount.minor) ? money(amount) : 'no amount'}: a refund must be more than 0`,
      ),
    );
  else if (amount.minor > MAX_REFUND_MINOR)
    out.push(
      problem(
        'amount-too-large',
        `a refund of ${money(amount)}: a single refund is at most ${money({ minor: MAX_REFUND_MINOR, currency: amount.currency })}`,
      ),
    );
  if (!refund.paymentRef) out.push(problem('no-payment', 'no payment to refund (payment_ref is empty)'));
  return out;
}

/**
 * Every problem of the plan's refunds. With `payments` (the provider's answer for each payment the
 * refunds name) each payment must exist, be in the refund's currency, and keep what was refunded
 * already plus all of this plan's refunds on it within what was paid. Without it (the `manual`
 * provider: nothing to look up) only what needs no provider is checked: each amount, and that the
 * refunds on one payment agree on its currency.
 */
export function checkRefunds(
  refunds: readonly PlannedRefund[],
  payments?: ReadonlyMap<PaymentRef, PaymentAnswer>,
): RefundProblem[] {
  const problems: RefundProblem[] = [];
  const alone = new Map<string, RefundProblem[]>();
  for (const refund of refunds) {
    const found = refundAmountProblems(refund);
    alone.set(refund.effectId, found);
    problems.push(...found);
  }
  const byPayment = new Map<PaymentRef, PlannedRefund[]>();
  for (const refund of refunds) {
    if (!refund.paymentRef) continue;
    byPayment.set(refund.paymentRef, [...(byPayment.get(refund.paymentRef) ?? []), refund]);
  }
  const problem = (refund: PlannedRefund, code: RefundProblemCode, detail: string) =>
    problems.push({
      effectId: refund.effectId,
      customerRef: refund.customerRef,
      counterparty: refund.counterparty,
      code,
      detail,
    });
  for (const [ref, onPayment] of byPayment) {
    const answer = payments?.get(ref);
    if (!payments || !answer) {
      const currencies = new Set(onPayment.flatMap((r) => (r.amount ? [r.amount.currency] : [])));
      if (currencies.size > 1)
        for (const refund of onPayment)
          problem(
            refund,
            'currency-mismatch',
            `refunds on payment ${ref} are in ${[...currencies].sort().join(' and ')}: one payment has one currency`,
          );
      continue;
    }
    if (!answer.found) {
      for (const refund of onPayment) problem(refund, 'payment-not-found', `payment ${ref}: ${answer.why}`);
      continue;
    }
    const payment = answer.payment;
    let planned = 0;
    const countable: PlannedRefund[] = [];
    for (const refund of onPayment) {
      const amount = refund.amount;
      if (amount && amount.currency !== payment.currency) {
        problem(
          refund,
          'currency-mismatch',
          `a refund of ${money(amount)} on payment ${ref}, which is in ${payment.currency}`,
        );
        continue;
      }
      // An amount already found wrong on its own says nothing about what is left of the payment.
      if (amount && (alone.get(refund.effectId)?.length ?? 0) === 0) {
        planned += amount.minor;
        countable.push(refund);
      }
    }
    const left = Math.max(0, payment.captured - payment.refunded);
    if (planned > left) {
      const what = `payment ${ref} has ${money({ minor: left, currency: payment.currency })} left to refund (${money({ minor: payment.captured, currency: payment.currency })} paid, ${money({ minor: payment.refunded, currency: payment.currency })} refunded already)`;
      const plan = `this plan refunds ${money({ minor: planned, currency: payment.currency })} on it${countable.length > 1 ? ` in ${countable.length} refunds` : ''}`;
      for (const refund of countable) problem(refund, 'over-refund', `${what}; ${plan}`);
    }
  }
  return problems.sort((a, b) => compareEffectIds(a.effectId, b.effectId) || a.code.localeCompare(b.code));
}

/** `P2-E10` after `P2-E9`: effect ids in the order the plan made them. */
function compareEffectIds(a: string, b: string): number {
  const n = (id: string) => Number(/-E(\d+)$/.exec(id)?.[1] ?? 0);
  return n(a) - n(b) || a.localeCompare(b);
}

/**
 * The change request the responders get: each customer (by their reference) and what is wrong,
 * one per line, within `limit` characters; what does not fit is counted, never cut mid-line.
 */
export function describeProblems(problems: readonly RefundProblem[], limit = 2000): string {
  const head = `${problems.length} refund${problems.length === 1 ? '' : 's'} of the plan would be refused by the payments provider; correct ${problems.length === 1 ? 'it' : 'them'} and submit a revised plan:`;
  const lines: string[] = [head];
  let used = head.length;
  for (const [i, p] of problems.entries()) {
    const line = `- ${p.customerRef} (${p.effectId}): ${p.detail}`;
    const rest = problems.length - i;
    const more = `- and ${rest} more`;
    if (used + 1 + line.length + (rest > 1 ? 1 + more.length : 0) > limit) {
      lines.push(more);
      break;
    }
    lines.push(line);
    used += 1 + line.length;
  }
  return lines.join('\n');
}
