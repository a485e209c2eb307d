/**
 * The configured labour rates as an object in the exports bucket, so that SQL on AWS prices labour
 * as the CLI does: Athena's `labour_rates` table reads it, with the columns the P&L's SQL names
 * ({@link LABOUR_RATES_COLUMNS}). Rates are configuration, not history: the export rewrites the
 * object each run, and a report prices time with the rates in force when it runs.
 */
import type { LABOUR_RATES_COLUMNS } from './finance-sql.ts';
import type { LabourRate } from './labour-rates.ts';

/** The folder Athena's `labour_rates` table reads; versioned, as the ledger's is. */
export const LABOUR_RATES_PREFIX = 'labour-rates/v1/';

/** The one object in {@link LABOUR_RATES_PREFIX}. */
export const LABOUR_RATES_KEY = `${LABOUR_RATES_PREFIX}labour-rates.json`;

/** Its content type: one JSON object per line, as Athena's JSON SerDe and DuckDB's `read_json` read it. */
export const LABOUR_RATES_CONTENT_TYPE = 'application/x-ndjson';

type LabourRatesRow = Record<(typeof LABOUR_RATES_COLUMNS)[number]['name'], string | number>;

/** One line per role, `{"role":…,"currency":…,"rate_minor":…}`; no rates, no lines. */
export function labourRatesObject(rates: readonly LabourRate[]): string {
  return rates
    .map((rate) => {
      const row: LabourRatesRow = {
        role: rate.role,
        currency: rate.rate.currency,
        rate_minor: rate.rate.minor,
      };
      return `${JSON.stringify(row)}\n`;
    })
    .join('');
}
