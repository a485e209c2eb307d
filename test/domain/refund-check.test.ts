import { describe, expect, it } from 'vitest';
import type { PaymentAnswer, PlannedRefund } from '../../functions/domain/refund-check.ts';
import { checkRefunds, describeProblems, MAX_REFUND_MINOR } from '../../functions/domain/refund-check.ts';

const refund = (n: number, customerRef: string, minor: number, currency: string, paymentRef?: string) =>
  ({
    effectId: `P2-E${n}`,
    customerRef,
    counterparty: `cp_${String(n).padStart(32, '0')}`,
    amount: { minor, currency },
    ...(paymentRef ? { paymentRef } : {}),
  }) satisfies PlannedRefund;

const paid = (ref: string, currency: string, captured: number, refunded = 0): [string, PaymentAnswer] => [
  ref,
  { found: true, payment: { ref, currency, captured, refunded } },
];

describe('the refunds of a plan, checked before approval', () => {
  it('passes refunds that fit their payments, several on one payment included', () => {
    const payments = new Map([paid('ch_a', 'EUR', 5000, 1000), paid('ch_b', 'JPY', 1200)]);
    expect(
      checkRefunds(
        [
          refund(1, 'cus_ada', 2000, 'EUR', 'ch_a'),
          refund(2, 'cus_ada', 2000, 'EUR', 'ch_a'),
          refund(3, 'cus_grace', 1200, 'JPY', 'ch_b'),
        ],
        payments,
      ),
    ).toEqual([]);
  });

  it('refuses an amount of 0, below 0, or above 99,999,999 minor units, with or without the provider', () => {
    const refunds = [
      refund(1, 'cus_zero', 0, 'EUR', 'ch_a'),
      refund(2, 'cus_minus', -5, 'EUR', 'ch_a'),
      refund(3, 'cus_huge', MAX_REFUND_MINOR + 1, 'EUR', 'ch_a'),
      refund(4, 'cus_most', MAX_REFUND_MINOR, 'EUR', 'ch_b'),
    ];
    for (const payments of [
      undefined,
      new Map([paid('ch_a', 'EUR', 1000), paid('ch_b', 'EUR', MAX_REFUND_MINOR)]),
    ]) {
      const problems = checkRefunds(refunds, payments);
      expect(problems.map((p) => [p.customerRef, p.code])).toEqual([
        ['cus_zero', 'amount-not-positive'],
        ['cus_minus', 'amount-not-positive'],
        ['cus_huge', 'amount-too-large'],
      ]);
      expect(problems[0]?.detail).toBe('a refund of EUR 0.00: a refund must be more than 0');
      expect(problems[2]?.detail).toBe(
        'a refund of EUR 1000000.00: a single refund is at most EUR 999999.99',
      );
    }
  });

  it('names every refund on a payment the plan refunds more of than is left, counting what was refunded already', () => {
    const payments = new Map([paid('ch_a', 'EUR', 2000, 500), paid('ch_b', 'EUR', 2000)]);
    const problems = checkRefunds(
      [
        refund(1, 'cus_ada', 1000, 'EUR', 'ch_a'),
        refund(2, 'cus_alan', 600, 'EUR', 'ch_a'),
        refund(3, 'cus_bo', 2000, 'EUR', 'ch_b'),
      ],
      payments,
    );
    expect(problems.map((p) => [p.customerRef, p.code])).toEqual([
      ['cus_ada', 'over-refund'],
      ['cus_alan', 'over-refund'],
    ]);
    expect(problems[0]?.detail).toBe(
      'payment ch_a has EUR 15.00 left to refund (EUR 20.00 paid, EUR 5.00 refunded already); this plan refunds EUR 16.00 on it in 2 refunds',
    );
  });

  it('refuses a refund in another currency than its payment, and a payment the provider does not know', () => {
    const payments = new Map<string, PaymentAnswer>([
      paid('ch_a', 'EUR', 2000),
      ['ch_gone', { found: false, why: "Stripe knows no such payment (No such charge: 'ch_gone')" }],
    ]);
    const problems = checkRefunds(
      [
        refund(1, 'cus_ada', 1000, 'USD', 'ch_a'),
        refund(2, 'cus_grace', 1000, 'EUR', 'ch_gone'),
        {
          effectId: 'P2-E3',
          customerRef: 'cus_nopay',
          counterparty: 'cp_x',
          amount: { minor: 10, currency: 'EUR' },
        },
      ],
      payments,
    );
    expect(problems.map((p) => [p.customerRef, p.code, p.detail])).toEqual([
      ['cus_ada', 'currency-mismatch', 'a refund of USD 10.00 on payment ch_a, which is in EUR'],
      [
        'cus_grace',
        'payment-not-found',
        "payment ch_gone: Stripe knows no such payment (No such charge: 'ch_gone')",
      ],
      ['cus_nopay', 'no-payment', 'no payment to refund (payment_ref is empty)'],
    ]);
  });

  it('without the provider (manual), still refuses refunds on one payment in different currencies', () => {
    const problems = checkRefunds([
      refund(1, 'cus_ada', 1000, 'EUR', 'ch_a'),
      refund(2, 'cus_ada', 500, 'USD', 'ch_a'),
    ]);
    expect(problems.map((p) => [p.customerRef, p.code])).toEqual([
      ['cus_ada', 'currency-mismatch'],
      ['cus_ada', 'currency-mismatch'],
    ]);
    expect(checkRefunds([refund(1, 'cus_ada', 10_000_000, 'EUR', 'ch_a')])).toEqual([]);
  });

  it('orders problems as the plan made the effects, and the change request names each customer within its limit', () => {
    const refunds = Array.from({ length: 300 }, (_, i) =>
      refund(i + 1, `cus_${i + 1}`, 0, 'EUR', `ch_${i + 1}`),
    );
    const problems = checkRefunds(refunds);
    expect(problems.slice(8, 11).map((p) => p.effectId)).toEqual(['P2-E9', 'P2-E10', 'P2-E11']);
    const text = describeProblems(problems);
    expect(text.length).toBeLessThanOrEqual(2000);
    expect(text.split('\n')[0]).toBe(
      '300 refunds of the plan would be refused by the payments provider; correct them and submit a revised plan:',
    );
    expect(text).toContain('- cus_1 (P2-E1): a refund of EUR 0.00: a refund must be more than 0');
    expect(text).toMatch(/\n- and \d+ more$/);
    const shown = text.split('\n').filter((l) => l.startsWith('- cus_')).length;
    expect(text.endsWith(`- and ${300 - shown} more`)).toBe(true);
  });
});
