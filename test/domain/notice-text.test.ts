/**
 * The plan's own notice text: named placeholders filled per customer with what the plan refunds
 * and credits them and their own payment date, a credit told even where the text does not name
 * it, an unknown placeholder refused by name, and the text sealed in the plan's hash and in each
 * notice's content hash.
 */
import { describe, expect, it } from 'vitest';
import { parseCustomersCsv } from '../../functions/domain/customers.ts';
import { effectNotice, messageHash, planNotice } from '../../functions/domain/messages.ts';
import type { Customer, NoticeText, PlanInput } from '../../functions/domain/plan.ts';
import { expandPlan, PlanRuleError, sealPlan } from '../../functions/domain/plan.ts';

const incident = {
  id: 'INC-2026-0042',
  customerSummary: 'a payment you made on 22 November was charged twice.',
};

const TEXT: NoticeText = {
  subject: 'Your refund of {{amount_refunded}} (ref {{incident}})',
  body: 'Hello {{name}},\n\nThe payment you made on {{paid_at}} was charged twice. We have refunded {{amount_refunded}}.\n\nReply to this e-mail and quote {{ incident }}.',
};

const customers: Customer[] = [
  {
    customerRef: 'cus_ada',
    email: 'ada@example.com',
    name: 'Ada',
    amount: { minor: 9873, currency: 'EUR' },
    paymentRef: 'ch_1',
    paidAt: '2026-12-06',
  },
  {
    customerRef: 'cus_lin',
    email: 'lin@example.com',
    amount: { minor: 1250, currency: 'EUR' },
    paymentRef: 'ch_2',
    paidAt: '2026-12-06T10:23:00Z',
  },
];

const PLAN: PlanInput = {
  summary: 'Refund the double charge, credit Ada, tell both',
  notice: TEXT,
  apply: [
    { kind: 'refund', amount: 'affected', obligation: 'tos' },
    { kind: 'notice', obligation: 'tos', template: 'refund_confirmation' },
  ],
  effects: [{ kind: 'credit', amount: '5.00', currency: 'EUR', obligation: 'brand', customerRef: 'cus_ada' }],
};

function expand(input: PlanInput, list = customers) {
  return expandPlan(
    1,
    input,
    list,
    (ref) => `cp_${ref}`,
    (effect, customer) => messageHash(effectNotice(incident, input.notice, effect, customer)),
  );
}

const byRef = (ref: string) => customers.find((c) => c.customerRef === ref) as Customer;

describe("a plan's notice text", () => {
  it('is filled for each customer with their own refund, credit, payment date and name, and tells of a credit it does not name', () => {
    const effects = expand(PLAN);
    const notices = effects.filter((e) => e.kind === 'notice');
    expect(notices.map((n) => [n.customerRef, n.amount, n.credit])).toEqual([
      ['cus_ada', { minor: 9873, currency: 'EUR' }, { minor: 500, currency: 'EUR' }],
      ['cus_lin', { minor: 1250, currency: 'EUR' }, undefined],
    ]);
    const [ada, lin] = notices.map((n) => effectNotice(incident, TEXT, n, byRef(n.customerRef)));
    expect(ada?.to).toBe('ada@example.com');
    expect(ada?.subject).toBe('Your refund of EUR 98.73 (ref INC-2026-0042)');
    expect(ada?.text).toBe(
      [
        'Hello Ada,',
        '',
        'The payment you made on 6 December 2026 was charged twice. We have refunded EUR 98.73.',
        '',
        'Reply to this e-mail and quote INC-2026-0042.',
        '',
        'We have also added a goodwill credit of EUR 5.00 to your account: you do not need to do anything.',
      ].join('\n'),
    );
    // The alert's wording is not the customers': only the plan's text is sent.
    expect(ada?.text).not.toContain('22 November');
    expect(lin?.text).toContain('Hello there,');
    expect(lin?.text).toContain('EUR 12.50');
    expect(lin?.text).not.toContain('credit');
    // Each notice's content hash covers the message exactly as filled.
    for (const n of notices) {
      expect(n.contentHash).toBe(messageHash(effectNotice(incident, TEXT, n, byRef(n.customerRef))));
    }
  });

  it('names the credit where the text puts {{credit}}, and adds nothing', () => {
    const message = planNotice(
      'INC-2026-0042',
      { subject: 'Sorry', body: 'Hello {{name}},\nyour credit of {{credit}} is on your account.' },
      byRef('cus_ada'),
      { credit: { minor: 500, currency: 'EUR' } },
    );
    expect(message.text).toBe('Hello Ada,\nyour credit of EUR 5.00 is on your account.');
    expect(message.html).toContain('<p>Hello Ada,<br>your credit of EUR 5.00 is on your account.</p>');
  });

  it('keeps a value on its own line: a name cannot start a header-like line, in text or HTML', () => {
    const message = planNotice(
      'INC-2026-0042',
      { subject: 'Hi {{name}}', body: 'Hello {{name}},' },
      { email: 'x@example.com', name: 'Eve\r\nBcc: all@example.com <b>' },
      {},
    );
    expect(message.subject).not.toMatch(/[\r\n]/);
    expect(message.text.split('\n')).toHaveLength(1);
    expect(message.html).toContain('&lt;b&gt;');
  });

  it('refuses an unknown placeholder or a stray brace, naming it and the field, before any effect', () => {
    const refused = (notice: NoticeText) => {
      try {
        expand({ ...PLAN, notice });
      } catch (error) {
        expect(error).toBeInstanceOf(PlanRuleError);
        return { field: (error as PlanRuleError).field, message: (error as Error).message };
      }
      throw new Error('expected the plan to be refused');
    };
    expect(refused({ ...TEXT, body: 'We refunded {{amount}}.' })).toEqual({
      field: 'notice.body',
      message: expect.stringContaining('unknown placeholder {{amount}}'),
    });
    expect(refused({ ...TEXT, subject: 'Ref {{ incident_id }}' })).toEqual({
      field: 'notice.subject',
      message: expect.stringContaining('unknown placeholder {{incident_id}}'),
    });
    expect(refused({ ...TEXT, body: 'Hello {{name}, hi' }).field).toBe('notice.body');
  });

  it('refuses a placeholder a notified customer has no value for, naming the customer', () => {
    const noDate = customers.map(({ paidAt: _, ...c }) => c);
    expect(() => expand(PLAN, noDate)).toThrow(/\{\{paid_at\}\}: cus_ada .*has no paid_at/);
    expect(() => expand({ ...PLAN, notice: { ...TEXT, body: 'Your credit: {{credit}}' } })).toThrow(
      /\{\{credit\}\}: cus_lin .*gets no credit in this plan/,
    );
  });

  it('is sealed in the plan hash: the same effects under other words are another plan', () => {
    const effects = expand(PLAN);
    const content = { version: 1, summary: PLAN.summary, proposedAt: 't', proposedBy: 'sre' };
    const a = sealPlan({ ...content, notice: TEXT }, effects);
    const b = sealPlan({ ...content, notice: { ...TEXT, subject: 'Your refund' } }, effects);
    expect(a.notice).toEqual(TEXT);
    expect(a.hash).not.toBe(b.hash);
    // And each notice's content hash moves with the words it was filled from.
    const reworded = expand({ ...PLAN, notice: { ...TEXT, subject: 'Your refund' } });
    expect(reworded.find((e) => e.kind === 'notice')?.contentHash).not.toBe(
      effects.find((e) => e.kind === 'notice')?.contentHash,
    );
  });
});

describe('the customer list’s paid_at column', () => {
  it('is optional, takes a date or a UTC time, and refuses anything else naming the line', () => {
    const list = parseCustomersCsv(
      'customer_ref,email,paid_at\ncus_1,a@example.com,2026-12-06\ncus_2,b@example.com,2026-12-06T10:23:00Z\ncus_3,c@example.com,\n',
    );
    expect(list.map((c) => c.paidAt)).toEqual(['2026-12-06', '2026-12-06T10:23:00Z', undefined]);
    expect(() => parseCustomersCsv('customer_ref,paid_at\ncus_1,06/12/2026\n')).toThrow(
      expect.objectContaining({
        issues: [
          { field: 'line 2', message: expect.stringMatching(/^paid_at must be a date such as 2026-12-06/) },
        ],
      }),
    );
  });
});
