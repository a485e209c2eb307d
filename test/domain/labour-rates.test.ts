import { describe, expect, it } from 'vitest';
import { LabourRatesError, parseLabourRates, roleKey } from '../../functions/domain/labour-rates.ts';

describe('labour rates', () => {
  it('reads each role’s hourly rate in minor units, from JSON text or a parsed object', () => {
    const text =
      '{"SRE": {"amount": "120.00", "currency": "EUR"}, "Legal": {"amount": "20000", "currency": "JPY"}}';
    expect(parseLabourRates(text)).toEqual([
      { role: 'SRE', rate: { minor: 12000, currency: 'EUR' } },
      { role: 'Legal', rate: { minor: 20000, currency: 'JPY' } },
    ]);
    expect(parseLabourRates({})).toEqual([]);
  });

  it('names every problem in one error', () => {
    const bad = {
      SRE: { amount: '120.001', currency: 'EUR' },
      ' sre ': { amount: '100.00', currency: 'EUR' },
      Comms: { amount: '0', currency: 'EUR' },
      Legal: { amount: '50.00', currency: 'EURO' },
      Ops: { amount: 50, currency: 'EUR', extra: true },
    };
    let error: unknown;
    try {
      parseLabourRates(bad);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LabourRatesError);
    const { message } = error as Error;
    expect(message).toMatch(/^labour rates: /);
    expect(message).toContain('Legal.currency must be an ISO 4217 currency code');
    expect(message).toContain('Ops.amount must be a decimal string');
    expect(message).toContain('Ops has a field other than amount and currency');
    // The rest are checked once the shape is right.
    expect(() => parseLabourRates({ SRE: bad.SRE, ' sre ': bad[' sre '], Comms: bad.Comms })).toThrow(
      'labour rates: SRE.amount EUR has 2 decimal places, "120.001" has more;  sre  is the same role as SRE; Comms.amount must be more than 0',
    );
    expect(() => parseLabourRates('{not json')).toThrow(/labour rates: must be JSON/);
  });

  it('matches a role as people type it', () => {
    expect(roleKey('  SRE ')).toBe(roleKey('sre'));
  });
});
