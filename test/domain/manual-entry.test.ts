import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../functions/domain/errors.ts';
import { labourCost, parseManualEntry } from '../../functions/domain/manual-entry.ts';
import { legalFee } from '../support/manual-entries.ts';

/** The fields named in the 400 for `body`, in order. */
function issuesOf(body: unknown): string[] {
  try {
    parseManualEntry(body);
  } catch (error) {
    if (error instanceof InvalidInputError) return error.issues.map((i) => `${i.field}: ${i.message}`);
    throw error;
  }
  throw new Error('accepted');
}

describe('a manual ledger entry', () => {
  it('converts the amount exactly, by the currency’s exponent, and defaults the world to RML3', () => {
    expect(parseManualEntry(legalFee)).toEqual({
      kind: 'legal_fee',
      actor: legalFee.actor,
      reason: legalFee.reason,
      evidence: legalFee.evidence,
      amount: { minor: 125_000, currency: 'EUR' },
      obligation: 'tos',
      productArea: 'payments',
      effectiveAt: '2026-11-23T09:00:00.000Z',
      world: 'RML3',
    });
    expect(parseManualEntry({ ...legalFee, amount: '1250', currency: 'JPY' }).amount).toEqual({
      minor: 1250,
      currency: 'JPY',
    });
    expect(parseManualEntry({ ...legalFee, amount: '0.1', currency: 'BHD' }).amount).toEqual({
      minor: 100,
      currency: 'BHD',
    });
    // 0.1 + 0.2 in binary floating point is 0.30000000000000004; here it is 30 cents.
    expect(parseManualEntry({ ...legalFee, amount: '0.30' }).amount?.minor).toBe(30);
  });

  it('prices ops labour as hours × rate, rounded half up to the minor unit once', () => {
    const labour = parseManualEntry({
      ...legalFee,
      kind: 'ops_labour',
      amount: undefined,
      hours: '1.5',
      rate: '33.33',
      obligation: 'brand',
    });
    expect(labour.amount).toEqual({ minor: 5000, currency: 'EUR' });
    expect(labour.labour).toEqual({ hours: '1.5', rate: { minor: 3333, currency: 'EUR' } });
    expect(labourCost('2.25', { minor: 8000, currency: 'EUR' })).toEqual({ minor: 18_000, currency: 'EUR' });
    expect(labourCost('0.01', { minor: 49, currency: 'EUR' }).minor).toBe(0);
    expect(labourCost('0.01', { minor: 50, currency: 'EUR' }).minor).toBe(1);
    expect(labourCost('3', { minor: 12_000, currency: 'JPY' })).toEqual({ minor: 36_000, currency: 'JPY' });
  });

  it('takes refunds, credits and corrections done outside Casebook with their reference and customer', () => {
    const refund = parseManualEntry({
      ...legalFee,
      kind: 'refund',
      providerRef: 're_admin_123',
      customerRef: 'cus_ada',
    });
    expect(refund).toMatchObject({ kind: 'refund', providerRef: 're_admin_123', customerRef: 'cus_ada' });
    const correction = parseManualEntry({
      ...legalFee,
      kind: 'correction',
      amount: '0',
      corrects: '01KAZ3NDEKTSV4RRFFQ69G5FAV',
      providerRef: 'INV-0042-C',
    });
    expect(correction).toMatchObject({
      amount: { minor: 0, currency: 'EUR' },
      corrects: '01KAZ3NDEKTSV4RRFFQ69G5FAV',
    });
    const operation = parseManualEntry({
      ...legalFee,
      kind: 'manual_operation',
      amount: undefined,
      currency: undefined,
      world: 'RML2',
    });
    expect(operation).not.toHaveProperty('amount');
    expect(operation.world).toBe('RML2');
  });

  it('names every field that is wrong, and each rule between fields', () => {
    expect(issuesOf({})).toEqual([
      'kind: is required',
      'actor: is required',
      'reason: is required',
      'evidence: is required',
      'obligation: is required',
      'productArea: is required',
      'effectiveAt: is required',
    ]);
    expect(
      issuesOf({
        ...legalFee,
        kind: 'notice',
        evidence: 'http://invoices.corp.example/1',
        obligation: 'both',
        effectiveAt: '2026-02-30T10:00:00Z',
        glCode: '',
        corrects: 'seq-3',
        email: 'ada@example.com',
      }),
    ).toEqual([
      'kind: must be one of manual_operation, ops_labour, legal_fee, other_cost, refund, credit, correction (the effects Casebook carries out itself are recorded by Act)',
      'evidence: must be an https URL',
      "obligation: must be 'tos' (the contractual minimum) or 'brand' (chosen beyond it)",
      'effectiveAt: must be a real RFC 3339 date-time such as 2026-11-22T10:00:00Z',
      'glCode: must be a general-ledger code: letters, digits and ._:/-, at most 64',
      'corrects: must be the id (a ULID) of the Effect Ledger entry it corrects',
      'email: is not a field of a manual ledger entry',
    ]);
    expect(issuesOf({ ...legalFee, amount: '12.345' })).toEqual([
      'amount: EUR has 2 decimal places, "12.345" has more',
    ]);
    expect(issuesOf({ ...legalFee, amount: 12.5 })).toEqual([
      'amount: must be a decimal string such as "1250.00"',
    ]);
    expect(issuesOf({ ...legalFee, amount: '-5' })).toEqual([
      'amount: must be a decimal string in the major unit, such as "1250.00"',
    ]);
    expect(issuesOf({ ...legalFee, amount: '0' })).toEqual([
      'amount: must be more than 0 (0 only replaces an amount it corrects)',
    ]);
    expect(issuesOf({ ...legalFee, currency: 'eur' })).toEqual([
      'currency: must be an ISO 4217 currency code (upper case, e.g. EUR)',
    ]);
    expect(issuesOf({ ...legalFee, amount: undefined })).toEqual([
      'amount: is required for legal_fee',
      'currency: is only given with an amount or a rate',
    ]);
    expect(issuesOf({ ...legalFee, currency: undefined })).toEqual(['currency: is required with amount']);
    expect(issuesOf({ ...legalFee, kind: 'ops_labour' })).toEqual([
      'amount: is hours × rate for ops_labour: send hours and rate',
      'hours: is required for ops_labour',
      'rate: is required for ops_labour (finance’s hourly rate)',
    ]);
    expect(issuesOf({ ...legalFee, amount: undefined, kind: 'ops_labour', hours: '0', rate: '80' })).toEqual([
      'hours: must be more than 0 and at most 10000',
    ]);
    expect(issuesOf({ ...legalFee, hours: '2' })).toEqual(['hours: is only for ops_labour']);
    expect(issuesOf({ ...legalFee, kind: 'refund' })).toEqual([
      'providerRef: is required for a refund done outside Casebook (its reference there)',
      'customerRef: is required for a refund: the customer it went to',
    ]);
  });

  it('keeps customers’ addresses and unsafe text out of the entry', () => {
    expect(
      issuesOf({ ...legalFee, kind: 'credit', providerRef: 'x', customerRef: 'ada@example.com' }),
    ).toEqual([
      "customerRef: must be the company's reference for the customer (cus_…, an account number), not an e-mail address",
    ]);
    expect(issuesOf({ ...legalFee, reason: 'Refunded ada@example.com by hand' })).toEqual([
      'reason: must not hold an e-mail address: name a customer by customerRef',
    ]);
    expect(
      issuesOf({ ...legalFee, productArea: 'ada@example.com', providerRef: 'paypal:ada@example.com' }),
    ).toEqual([
      'productArea: must not hold an e-mail address',
      'providerRef: must not hold an e-mail address',
    ]);
    expect(
      issuesOf({ ...legalFee, evidence: 'https://crm.corp.example/search?q=ada%40example.com' }),
    ).toEqual(['evidence: must not hold an e-mail address']);
    expect(issuesOf({ ...legalFee, actor: 'Grace\u202E' })).toEqual([
      'actor: must be one line without control or bidirectional formatting characters',
    ]);
    expect(issuesOf({ ...legalFee, reason: 'lone \uD800 surrogate' })).toEqual([
      'reason: must be valid Unicode (it holds a lone surrogate)',
    ]);
    expect(issuesOf({ ...legalFee, reason: '   ' })).toEqual(['reason: must not be blank']);
    expect(issuesOf({ ...legalFee, reason: 'é'.repeat(1001) })).toEqual([
      'reason: must be at most 2000 bytes of UTF-8',
    ]);
    expect(parseManualEntry({ ...legalFee, reason: 'line one\nline two\ttabbed' }).reason).toContain('\n');
    expect(issuesOf({ ...legalFee, evidence: 'https://localhost/x' })).toEqual([
      'evidence: must be an https URL',
    ]);
    expect(issuesOf({ ...legalFee, effectiveAt: '9999-12-31T23:59:59-23:59' })).toEqual([
      'effectiveAt: must be a real RFC 3339 date-time such as 2026-11-22T10:00:00Z',
    ]);
    expect(
      issuesOf(JSON.parse(`{"__proto__": {"kind": "refund"}, ${JSON.stringify(legalFee).slice(1)}`)),
    ).toEqual(['__proto__: is not a field of a manual ledger entry']);
    expect(issuesOf([legalFee])).toEqual(['(body): Invalid input: expected object, received array']);
  });
});
