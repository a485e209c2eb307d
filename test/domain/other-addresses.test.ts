/**
 * A customer's other addresses: the list's `other_emails` column (CSV and JSON), each address
 * checked like `email`; which of them a bounced notice may still go to; and the answer "resend",
 * refused, naming the field, for an address that is not one of them.
 */
import { describe, expect, it } from 'vitest';
import { parseCustomersCsv, parseCustomersJson } from '../../functions/domain/customers.ts';
import { ATTENTION_ANSWERS, otherAddresses } from '../../functions/domain/effects.ts';
import { parseAnswer } from '../../functions/use-cases/effect-questions.ts';

const issuesOf = (run: () => unknown) => {
  try {
    run();
  } catch (error) {
    return (error as { issues?: unknown }).issues;
  }
  throw new Error('it was accepted');
};

describe("a customer's other addresses on the list", () => {
  it('are read from other_emails, separated by ; or spaces, each once and never the email itself', () => {
    const [ada, bo] = parseCustomersCsv(
      'customer_ref,email,other_emails\ncus_ada,ada@example.com,ada@work.example; ADA@example.com  ada@home.example;ada@work.example\ncus_bo,bo@example.com,\n',
    );
    expect(ada?.otherEmails).toEqual(['ada@work.example', 'ada@home.example']);
    expect(bo).not.toHaveProperty('otherEmails');
    const [cy] = parseCustomersJson({
      customers: [{ customer_ref: 'cus_cy', email: 'cy@example.com', other_emails: ['cy@work.example'] }],
    });
    expect(cy?.otherEmails).toEqual(['cy@work.example']);
  });

  it('refuses an upload with an other address that is not one, naming the line and the column', () => {
    expect(
      issuesOf(() =>
        parseCustomersCsv('customer_ref,email,other_emails\ncus_ada,ada@example.com,ada@work.example;nope\n'),
      ),
    ).toEqual([
      { field: 'line 2', message: expect.stringMatching(/^other_emails\.1 must be an email address/) },
    ]);
  });

  it('still to try: the other addresses less the ones the notice already went to, without case', () => {
    const customer = { email: 'ada@example.com', otherEmails: ['ada@work.example', 'ada@home.example'] };
    expect(otherAddresses(customer, [])).toEqual(['ada@work.example', 'ada@home.example']);
    expect(otherAddresses(customer, ['ADA@work.example'])).toEqual(['ada@home.example']);
    expect(otherAddresses({ email: 'bo@example.com' }, [])).toEqual([]);
  });
});

describe('the answer "resend" to a bounced notice', () => {
  const allowed = ATTENTION_ANSWERS.bounced;

  it('takes one of the other addresses, as the list spells it', () => {
    expect(
      parseAnswer({ answer: 'resend', address: ' Ada@Work.example ' }, allowed, ['ada@work.example']),
    ).toEqual({ answer: 'resend', address: 'ada@work.example', note: '' });
  });

  it('refuses an address that is not on the list, or none, naming the field', () => {
    for (const address of ['mallory@example.com', '']) {
      expect(
        issuesOf(() => parseAnswer({ answer: 'resend', address }, allowed, ['ada@work.example'])),
      ).toEqual([
        {
          field: 'address',
          message: "must be one of the customer's other addresses on the list: ada@work.example",
        },
      ]);
    }
  });

  it('is not an answer where it is not offered', () => {
    expect(
      issuesOf(() => parseAnswer({ answer: 'resend', address: 'a@b.example' }, ['done-by-hand', 'void'])),
    ).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'answer' })]));
  });
});
