import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SqlRow } from '../../functions/domain/pnl-report.ts';
import {
  adjustmentRows,
  buildPnlReport,
  convertMinor,
  parseExchangeRates,
  pnlCsv,
  pnlTable,
  ReportInputError,
  rollUp,
} from '../../functions/domain/pnl-report.ts';

describe('exchange rates', () => {
  it('converts in integers across exponents, rounding half away from zero once', () => {
    const eur = parseExchangeRates('EUR', { USD: '0.9', JPY: '0.0061', BHD: '2.45' });
    expect(convertMinor(1999, 'USD', eur)).toBe(1799); // 17.991 EUR
    expect(convertMinor(1995, 'USD', eur)).toBe(1796); // 17.955 → 17.96
    expect(convertMinor(-1995, 'USD', eur)).toBe(-1796);
    expect(convertMinor(10_000, 'JPY', eur)).toBe(6100); // ¥10,000 → 61.00 EUR
    expect(convertMinor(1_000, 'BHD', eur)).toBe(245); // 1.000 BHD → 2.45 EUR
    expect(convertMinor(1234, 'EUR', eur)).toBe(1234);
    const jpy = parseExchangeRates('JPY', { EUR: '163.5' });
    expect(convertMinor(101, 'EUR', jpy)).toBe(165); // 1.01 EUR → ¥165.135
  });

  it('names every problem of a rate table in one error', () => {
    expect(() => parseExchangeRates('EURO', { usd: '0.9', GBP: 1.1, CHF: '-1', SEK: '0' })).toThrow(
      new ReportInputError(
        '--currency EURO is not an ISO 4217 currency code; rates: usd is not an ISO 4217 currency code (upper case, e.g. EUR); rates: GBP must be a decimal string, e.g. "0.92"; rates: CHF must be a decimal, e.g. "0.92"',
      ),
    );
    expect(() => parseExchangeRates('EUR', { SEK: '0.000' })).toThrow('rates: SEK must be more than 0');
    expect(() => parseExchangeRates('EUR', ['0.9'])).toThrow(/rates must be an object of currency → rate/);
  });
});

describe('rolling the finest grouping up', () => {
  const dims = ['category', 'productArea', 'obligation', 'period', 'incident'] as const;
  const arbitraryRow = fc.record({
    category: fc.constantFrom('refunds', 'goodwill_credits', 'ops_labour'),
    product_area: fc.constantFrom('payments', 'notices', null),
    obligation: fc.constantFrom('tos', 'brand', null),
    period: fc.constantFrom('2026-10', '2026-11'),
    incident_id: fc.constantFrom('INC-2026-1', 'INC-2026-2'),
    currency: fc.constantFrom('EUR', 'USD'),
    amount_minor: fc.integer({ min: 0, max: 1_000_000 }),
    entries: fc.integer({ min: 1, max: 5 }),
  });

  it('sums to the same totals per currency, whatever the grouping', () => {
    fc.assert(
      fc.property(fc.array(arbitraryRow, { maxLength: 40 }), fc.subarray([...dims]), (rows, groupBy) => {
        const total = (rs: readonly SqlRow[], currency: string) =>
          rs.filter((r) => r.currency === currency).reduce((sum, r) => sum + Number(r.amount_minor), 0);
        const rolled = rollUp(rows, groupBy);
        for (const currency of ['EUR', 'USD']) expect(total(rolled, currency)).toBe(total(rows, currency));
        const keys = rolled.map((r) =>
          JSON.stringify(r, [...Object.keys(r).filter((k) => k !== 'amount_minor' && k !== 'entries')]),
        );
        expect(new Set(keys).size).toBe(keys.length);
      }),
    );
  });
});

describe('the report', () => {
  const empty = {
    from: '2026-11',
    to: '2026-11',
    groupBy: ['category'] as const,
    rows: [],
    byMonth: [],
    byIncident: [],
    unsettled: [],
    unpriced: [],
  };

  it('refuses a range with no incidents in one line', () => {
    expect(() => buildPnlReport({ ...empty, incidents: [] })).toThrow(
      new ReportInputError('the export has no incidents with entries in 2026-11'),
    );
  });

  it('keeps a spreadsheet from reading a value as a formula', () => {
    const report = buildPnlReport({
      ...empty,
      groupBy: ['productArea'],
      rows: [{ product_area: '=HYPERLINK("x")', currency: 'EUR', amount_minor: 100, entries: 1 }],
      incidents: [{ incident_id: 'INC-2026-1', labour_entries: 1 }],
    });
    expect(pnlCsv(report)).toBe(
      'product_area,currency,amount,amount_minor,entries,minutes\n"\'=HYPERLINK(""x"")",EUR,1.00,100,1,\n',
    );
  });
});

describe('adjustments to closed months', () => {
  const before: SqlRow[] = [
    { period: '2026-11', category: 'refunds', obligation: 'tos', currency: 'EUR', amount_minor: 2500 },
    {
      period: '2026-11',
      category: 'goodwill_credits',
      obligation: 'brand',
      currency: 'EUR',
      amount_minor: 1500,
    },
    { period: '2026-11', category: 'ops_labour', obligation: null, currency: 'EUR', amount_minor: 270 },
  ];
  const after: SqlRow[] = [
    { period: '2026-11', category: 'refunds', obligation: 'tos', currency: 'EUR', amount_minor: 3277 },
    { period: '2026-11', category: 'ops_labour', obligation: null, currency: 'EUR', amount_minor: 270 },
  ];

  it('are what moved between two readings: a late refund, a voided credit, nothing for what stayed', () => {
    expect(adjustmentRows(before, after)).toEqual([
      { period: '2026-11', category: 'refunds', obligation: 'tos', currency: 'EUR', amount_minor: 777 },
      {
        period: '2026-11',
        category: 'goodwill_credits',
        obligation: 'brand',
        currency: 'EUR',
        amount_minor: -1500,
      },
    ]);
  });

  it('count in the month recorded, named after the closed month, in every format', () => {
    const report = buildPnlReport({
      from: '2026-12',
      to: '2026-12',
      groupBy: ['category'],
      rows: [{ category: 'refunds', currency: 'EUR', amount_minor: 1000, entries: 1 }],
      byMonth: [],
      byIncident: [],
      unsettled: [],
      unpriced: [],
      incidents: [{ incident_id: 'INC-2026-2', labour_entries: 1 }],
      adjustments: adjustmentRows(before, after).map((r) => ({
        ...r,
        recorded: '2026-12',
        recorded_on: '2026-12-07',
      })),
    });
    expect(report.totals).toEqual([{ currency: 'EUR', amountMinor: 277, amount: '2.77' }]);
    expect(pnlTable(report)).toMatch(/^Refunds, adjustment to 2026-11, recorded 2026-12-07 +7\.77 EUR$/m);
    expect(pnlTable(report)).toMatch(
      /^Goodwill credits, adjustment to 2026-11, recorded 2026-12-07 +-15\.00 EUR$/m,
    );
    expect(pnlCsv(report)).toBe(
      [
        'category,currency,amount,amount_minor,entries,minutes,adjusts,recorded_on',
        'refunds,EUR,10.00,1000,1,,,',
        'refunds,EUR,7.77,777,,,2026-11,2026-12-07',
        'goodwill_credits,EUR,-15.00,-1500,,,2026-11,2026-12-07',
        '',
      ].join('\n'),
    );
  });

  it('leave a closed month with no incidents of its own to report', () => {
    const report = buildPnlReport({
      from: '2026-11',
      to: '2026-11',
      groupBy: ['category'],
      rows: [{ category: 'refunds', currency: 'EUR', amount_minor: 2500, entries: 1 }],
      byMonth: [],
      byIncident: [],
      unsettled: [],
      unpriced: [],
      incidents: [],
      closed: [{ period: '2026-11', closedAt: '2026-12-06T00:00:00.000Z', hash: 'a'.repeat(64) }],
    });
    expect(pnlTable(report)).toContain('2026-11 is closed (at 2026-12-06T00:00:00.000Z)');
  });
});
