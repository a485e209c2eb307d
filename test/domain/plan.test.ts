import { describe, expect, it } from 'vitest';
import { parseCustomersCsv, parseCustomersJson } from '../../functions/domain/customers.ts';
import { pseudonym } from '../../functions/domain/ledger.ts';
import { customerNotice, messageHash } from '../../functions/domain/messages.ts';
import { formatMajorAmount, parseMajorAmount } from '../../functions/domain/money.ts';
import type { Customer, PlanInput, PlanSnapshot } from '../../functions/domain/plan.ts';
import {
  describeTotal,
  effectsHasher,
  expandPlan,
  moneyLines,
  newVersionId,
  PlanRuleError,
  planChanges,
  plannedEffectOf,
  sealPlan,
  shownTotals,
} from '../../functions/domain/plan.ts';

const KEY = Buffer.alloc(32, 9);
const incident = { id: 'INC-2026-0001', customerSummary: 'you were charged twice for order 1234.' };
const customers: Customer[] = [
  {
    customerRef: 'cus_ada',
    email: 'ada@example.com',
    name: 'Ada',
    amount: { minor: 1299, currency: 'EUR' },
    paymentRef: 'ch_1',
  },
  {
    customerRef: 'cus_grace',
    email: 'grace@example.com',
    name: 'Grace',
    amount: { minor: 500, currency: 'JPY' },
    paymentRef: 'pi_2',
  },
  {
    customerRef: 'cus_lin',
    email: 'lin@example.com',
    amount: { minor: 1250, currency: 'BHD' },
    paymentRef: 'ch_3',
  },
];

function expand(input: PlanInput, list = customers, version = 1) {
  return expandPlan(
    version,
    input,
    list,
    (ref) => pseudonym(KEY, ref),
    (effect, customer) =>
      messageHash(customerNotice(incident, effect.template ?? 'apology', customer, effect.amount)),
  );
}

describe('money', () => {
  it('converts decimals exactly by the ISO 4217 exponent and refuses more decimals than the currency has', () => {
    expect(parseMajorAmount('12.99', 'EUR')).toEqual({ minor: 1299, currency: 'EUR' });
    expect(parseMajorAmount('500', 'JPY')).toEqual({ minor: 500, currency: 'JPY' });
    expect(parseMajorAmount('1.250', 'BHD')).toEqual({ minor: 1250, currency: 'BHD' });
    expect(parseMajorAmount('0.1', 'USD')).toEqual({ minor: 10, currency: 'USD' });
    expect(() => parseMajorAmount('1.5', 'JPY')).toThrow(/JPY has 0 decimal places/);
    expect(() => parseMajorAmount('1.005', 'EUR')).toThrow(/EUR has 2 decimal places/);
    expect(() => parseMajorAmount('1e3', 'EUR')).toThrow(/not a decimal/);
    expect(() => parseMajorAmount('1', 'XYZ')).toThrow(/not an ISO 4217/);
    expect(formatMajorAmount({ minor: 1250, currency: 'BHD' })).toBe('1.250');
    expect(formatMajorAmount({ minor: 5, currency: 'EUR' })).toBe('0.05');
    expect(formatMajorAmount({ minor: 500, currency: 'JPY' })).toBe('500');
  });
});

describe('a remediation plan', () => {
  const input: PlanInput = {
    summary: 'Refund the double charge, a goodwill credit, and tell each customer.',
    apply: [
      { kind: 'refund', amount: 'affected', obligation: 'tos' },
      { kind: 'notice', obligation: 'brand', template: 'refund_confirmation' },
    ],
    effects: [
      { customerRef: 'cus_ada', kind: 'credit', amount: '5.00', currency: 'EUR', obligation: 'brand' },
    ],
  };

  it('expands the rules over every customer, one effect per customer and rule, naming customers only by pseudonym', () => {
    const effects = expand(input);
    expect(
      effects.map((e) => [
        e.effectId,
        e.kind,
        e.customerRef,
        e.amount?.minor,
        e.amount?.currency,
        e.obligation,
      ]),
    ).toEqual([
      ['P1-E1', 'refund', 'cus_ada', 1299, 'EUR', 'tos'],
      ['P1-E2', 'refund', 'cus_grace', 500, 'JPY', 'tos'],
      ['P1-E3', 'refund', 'cus_lin', 1250, 'BHD', 'tos'],
      ['P1-E4', 'notice', 'cus_ada', 1299, 'EUR', 'brand'],
      ['P1-E5', 'notice', 'cus_grace', 500, 'JPY', 'brand'],
      ['P1-E6', 'notice', 'cus_lin', 1250, 'BHD', 'brand'],
      ['P1-E7', 'credit', 'cus_ada', 500, 'EUR', 'brand'],
    ]);
    expect(effects[0]?.counterparty).toBe(pseudonym(KEY, 'cus_ada'));
    expect(JSON.stringify(effects)).not.toMatch(/@example\.com|Ada|Grace/);
    expect(effects[3]?.contentHash).toBe(
      messageHash(
        customerNotice(incident, 'refund_confirmation', customers[0] as Customer, {
          minor: 1299,
          currency: 'EUR',
        }),
      ),
    );
  });

  it('totals each kind per currency and per obligation: the ToS line apart from the brand line', () => {
    const plan = sealPlan(
      { version: 1, summary: input.summary, proposedAt: 't', proposedBy: 'sre' },
      expand(input),
    );
    expect(plan.effectCount).toBe(7);
    // A notice carries its customer's amount for its wording: counted, never shown as money.
    expect(shownTotals(plan.totals).map(describeTotal)).toEqual([
      'Goodwill credit EUR 5.00 (Brand line, 1 customer)',
      'Notice (Brand line, 3 customers)',
      'Refund BHD 1.250 (ToS line, 1 customer)',
      'Refund EUR 12.99 (ToS line, 1 customer)',
      'Refund JPY 500 (ToS line, 1 customer)',
    ]);
    expect(moneyLines(plan.totals)).toEqual([
      { obligation: 'tos', money: { currency: 'BHD', minor: 1250 } },
      { obligation: 'tos', money: { currency: 'EUR', minor: 1299 } },
      { obligation: 'tos', money: { currency: 'JPY', minor: 500 } },
      { obligation: 'brand', money: { currency: 'EUR', minor: 500 } },
    ]);
  });

  it('is hashed over every effect: changing one amount or one recipient changes the hash', () => {
    const content = { version: 1, summary: input.summary, proposedAt: 't', proposedBy: 'sre' };
    const plan = sealPlan(content, expand(input));
    expect(sealPlan(content, expand(input)).hash).toBe(plan.hash);
    const cheaper = customers.map((c, i) =>
      i === 1 ? { ...c, amount: { minor: 499, currency: 'JPY' } } : c,
    );
    expect(sealPlan(content, expand(input, cheaper)).hash).not.toBe(plan.hash);
    const elsewhere = customers.map((c, i) => (i === 2 ? { ...c, email: 'someone-else@example.com' } : c));
    expect(sealPlan(content, expand(input, elsewhere)).hash).not.toBe(plan.hash);
  });

  it('refuses a rule it cannot carry out, naming the field', () => {
    const noPayment = [
      { customerRef: 'cus_x', email: 'x@example.com', amount: { minor: 1, currency: 'EUR' } },
    ];
    const cases: [PlanInput, RegExp][] = [
      [
        { summary: 's', apply: [{ kind: 'refund', amount: 'affected', obligation: 'tos' }], effects: [] },
        /apply\[0\]: refund for cus_x needs the customer's payment_ref/,
      ],
      [
        {
          summary: 's',
          apply: [{ kind: 'credit', amount: '1.001', currency: 'EUR', obligation: 'brand' }],
          effects: [],
        },
        /apply\[0\]\.amount: EUR has 2 decimal places/,
      ],
      [
        {
          summary: 's',
          apply: [],
          effects: [{ customerRef: 'cus_nobody', kind: 'notice', obligation: 'brand' }],
        },
        /effects\[0\]\.customerRef: cus_nobody is not in the customer list/,
      ],
    ];
    for (const [bad, message] of cases) {
      expect(() => expand(bad, noPayment)).toThrow(PlanRuleError);
      expect(() => expand(bad, noPayment)).toThrow(message);
    }
  });

  it('refuses a rule amount no payment can carry: 1 to 99,999,999 minor units', () => {
    const credit = (amount: string, currency = 'EUR'): PlanInput => ({
      summary: 's',
      apply: [{ kind: 'credit', amount, currency, obligation: 'brand' }],
      effects: [],
    });
    for (const [amount, currency] of [
      ['0.00', 'EUR'],
      ['1000000.00', 'EUR'],
      ['90071992547409.91', 'EUR'],
      ['100000000', 'JPY'],
    ] as const)
      expect(() => expand(credit(amount, currency))).toThrow(
        /apply\[0\]\.amount: must be between (0\.01 EUR and 999999\.99 EUR|1 JPY and 99999999 JPY)/,
      );
    expect(expand(credit('999999.99'))[0]?.amount).toEqual({ minor: 99_999_999, currency: 'EUR' });
    expect(expand(credit('99999999', 'JPY'))[0]?.amount).toEqual({ minor: 99_999_999, currency: 'JPY' });
  });

  it('hashes a stored effect as it was planned, whatever Act added to it since', () => {
    const effects = expand({
      summary: 's',
      apply: [{ kind: 'refund', amount: 'affected', obligation: 'tos' }],
      effects: [],
    });
    const sealed = sealPlan(
      { version: 1, versionId: newVersionId(1), summary: 's', proposedAt: 't', proposedBy: 'p' },
      effects,
    );
    const stored = effects.map((e) => ({ ...e, progress: 'confirmed', attempt: 2, providerRef: 're_1' }));
    const hasher = effectsHasher();
    for (const e of stored) hasher.add(plannedEffectOf(e));
    expect(hasher.digest()).toBe(sealed.effectsHash);
    expect(sealed.versionId).toMatch(/^1-[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(newVersionId(1)).not.toBe(newVersionId(1));
  });
});

describe('a customer list', () => {
  it('refuses, naming the line or item, an amount no payment can carry and nothing else', () => {
    const csv = (amount: string, currency = 'EUR') =>
      `customer_ref,amount,currency\ncus_a,1.00,EUR\ncus_b,${amount},${currency}`;
    for (const amount of ['0.00', '0', '1000000.00', '90071992547409.91'])
      expect(() => parseCustomersCsv(csv(amount))).toThrow(
        /line 3: amount must be between 0\.01 EUR and 999999\.99 EUR/,
      );
    expect(() => parseCustomersCsv(csv('100000000', 'JPY'))).toThrow(/line 3: amount must be between 1 JPY/);
    expect(parseCustomersCsv(csv('999999.99'))[1]?.amount).toEqual({ minor: 99_999_999, currency: 'EUR' });
    expect(() =>
      parseCustomersJson({ customers: [{ customer_ref: 'x', amount: 1e9, currency: 'EUR' }] }),
    ).toThrow(/customers\[0\]: amount must be between/);
  });
});

describe('what changed between two plan versions', () => {
  const v1: PlanSnapshot = {
    version: 1,
    summary: 'Apologise.',
    effectCount: 2,
    totals: [{ kind: 'notice', currency: null, obligation: 'brand', count: 2, minor: 0 }],
  };

  it('names the summary, the effect count and each total that came, went or moved', () => {
    const v2: PlanSnapshot = {
      version: 2,
      summary: 'Refund and apologise.',
      effectCount: 4,
      totals: [
        { kind: 'notice', currency: null, obligation: 'brand', count: 2, minor: 0 },
        { kind: 'refund', currency: 'EUR', obligation: 'tos', count: 2, minor: 1975 },
      ],
    };
    expect(planChanges(v1, v2)).toEqual([
      'Summary was: Apologise.',
      'Effects: 2 → 4',
      'Added Refund EUR (ToS line): 2, EUR 19.75',
    ]);
    const v3: PlanSnapshot = {
      ...v2,
      version: 3,
      effectCount: 3,
      totals: [{ kind: 'refund', currency: 'EUR', obligation: 'tos', count: 3, minor: 2500 }],
    };
    expect(planChanges(v2, v3)).toEqual([
      'Effects: 4 → 3',
      'Refund EUR (ToS line): 2, EUR 19.75 → 3, EUR 25.00',
      'Removed Notice (Brand line): was 2',
    ]);
  });

  it("says when the customers' notice changed, and what its subject was", () => {
    const notice = { subject: 'Your refund', body: 'Paid on 22 November' };
    const v2: PlanSnapshot = { ...v1, version: 2, notice };
    expect(
      planChanges({ ...v1, notice }, { ...v2, notice: { ...notice, body: 'Paid on 6 December' } }),
    ).toEqual(["The customers' notice changed: read it again below"]);
    expect(planChanges(v1, v2)).toEqual([
      "The customers' notice changed; its subject was: the template's own",
    ]);
    expect(planChanges({ ...v1, notice }, v2)).toEqual([]);
  });

  it('finds nothing to say about a plan that is the same but for its version', () => {
    expect(planChanges(v1, { ...v1, version: 2 })).toEqual([]);
  });
});
