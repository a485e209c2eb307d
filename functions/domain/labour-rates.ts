/**
 * Labour rates: each role's hourly rate, from configuration (`CASEBOOK_LABOUR_RATES`, or
 * `casebook:labourRates` on AWS), as JSON `{"SRE": {"amount": "120.00", "currency": "EUR"}, …}`.
 * Labour cost is derived from them at report time and never stored, so a changed rate reprices
 * every open period the next time a report runs.
 */
import * as z from 'zod';
import type { Money } from './money.ts';
import { currencySchema, parseMajorAmount } from './money.ts';

/** One role's hourly rate. */
export interface LabourRate {
  /** As configured; the workroom's free-text role matches it case-insensitively, spaces trimmed. */
  readonly role: string;
  /** Per hour, in minor units. */
  readonly rate: Money;
}

/** Rates that cannot be used; the message names every problem at once. */
export class LabourRatesError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`labour rates: ${problems.join('; ')}`);
    this.name = 'LabourRatesError';
    this.problems = problems;
  }
}

const rateSchema = z.strictObject(
  {
    amount: z.string({ error: 'must be a decimal string, e.g. "120.00"' }),
    currency: currencySchema,
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? 'has a field other than amount and currency'
        : 'must be {"amount": "120.00", "currency": "EUR"}',
  },
);

const ratesSchema = z.record(z.string(), rateSchema, { error: 'must be an object of role → rate' });

/** The key a free-text role is matched by: the same in the SQL (`lower(trim(role))`). */
export const roleKey = (role: string): string => role.trim().toLowerCase();

/**
 * Checks configured rates (already parsed from JSON, or JSON text); throws {@link LabourRatesError}
 * naming every problem: a role that is blank or given twice, an amount that is not a positive
 * decimal in its currency's minor unit, a currency that is not ISO 4217, a field that is unknown.
 */
export function parseLabourRates(value: unknown): LabourRate[] {
  let input = value;
  if (typeof value === 'string') {
    try {
      input = JSON.parse(value);
    } catch {
      throw new LabourRatesError(['must be JSON, e.g. {"SRE": {"amount": "120.00", "currency": "EUR"}}']);
    }
  }
  const parsed = ratesSchema.safeParse(input);
  if (!parsed.success) {
    throw new LabourRatesError(
      parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')} ${i.message}` : i.message)),
    );
  }
  const problems: string[] = [];
  const rates: LabourRate[] = [];
  const seen = new Map<string, string>();
  for (const [role, { amount, currency }] of Object.entries(parsed.data)) {
    const key = roleKey(role);
    if (!key) {
      problems.push(`"${role}" is not a role (blank)`);
      continue;
    }
    const earlier = seen.get(key);
    if (earlier !== undefined) problems.push(`${role} is the same role as ${earlier}`);
    seen.set(key, role);
    try {
      const rate = parseMajorAmount(amount, currency);
      if (rate.minor <= 0) problems.push(`${role}.amount must be more than 0`);
      else rates.push({ role, rate });
    } catch (error) {
      problems.push(`${role}.amount ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new LabourRatesError(problems);
  return rates;
}
