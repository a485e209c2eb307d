/**
 * The configuration that carries rules — the approval and classification policies, labour and
 * exchange rates, the close's lag — each parsed by its domain module, which only the functions
 * that read it then carry in their bundles (a schema built at module load is never shaken out).
 */
import * as z from 'zod';
import { parseAlertPolicy } from '../domain/alert-policy.ts';
import { parseApprovalPolicy } from '../domain/approval-policy.ts';
import { emailAddress as email } from '../domain/email-address.ts';
import type { LabourRate } from '../domain/labour-rates.ts';
import { LabourRatesError, parseLabourRates } from '../domain/labour-rates.ts';
import type { Conversion } from '../domain/pnl-report.ts';
import { parseExchangeRates, ReportInputError } from '../domain/pnl-report.ts';
import type { ApproverRole } from '../domain/vocabulary.ts';
import { APPROVER_ROLES } from '../domain/vocabulary.ts';
import { ENV } from '../env-names.ts';
import { jsonText } from './config.ts';

/** Where each role's approver address is configured when the approval policy names nobody for it. */
export const APPROVER_ADDRESS_ENV: Readonly<Record<ApproverRole, string>> = {
  legal: ENV.approverLegal,
  business: ENV.approverBusiness,
  sre: ENV.approverSre,
};

/**
 * The approval policy (`CASEBOOK_APPROVAL_POLICY`, optional: seed 001's rules) over the roles'
 * addresses in `CASEBOOK_APPROVER_*`, which stand for the roster wherever the policy names nobody.
 * Every problem is listed, each under the variable it is in.
 */
export const approvalPolicyConfig = z
  .object({
    [ENV.approvalPolicy]: z.string().optional(),
    [ENV.approverLegal]: z.string().optional(),
    [ENV.approverBusiness]: z.string().optional(),
    [ENV.approverSre]: z.string().optional(),
  })
  // One transform checks every part, so a wrong address does not hide a missing one or the policy's problems.
  .transform((env, ctx) => {
    const fallback: Partial<Record<ApproverRole, string>> = {};
    for (const r of APPROVER_ROLES) {
      const name = APPROVER_ADDRESS_ENV[r];
      const value = (env as Record<string, string | undefined>)[name];
      if (value === undefined) continue;
      // A wrong address is reported here; the policy is checked as if it were right.
      fallback[r] = value;
      const address = email.safeParse(value);
      if (!address.success) {
        for (const i of address.error.issues)
          ctx.addIssue({ code: 'custom', path: [name], message: i.message });
      }
    }
    const text = env[ENV.approvalPolicy];
    const raw = text === undefined ? undefined : jsonText.safeParse(text);
    if (raw && !raw.success) {
      ctx.addIssue({ code: 'custom', path: [ENV.approvalPolicy], message: 'must be JSON' });
      return z.NEVER;
    }
    const result = parseApprovalPolicy(raw?.data, fallback, (r) => APPROVER_ADDRESS_ENV[r]);
    if (!result.ok) {
      for (const message of result.problems)
        ctx.addIssue({ code: 'custom', path: [ENV.approvalPolicy], message });
      return z.NEVER;
    }
    return { approvalPolicy: result.policy };
  });

/**
 * The classification policy (`CASEBOOK_ALERT_POLICY`, optional: the default policy), every problem
 * listed under the variable.
 */
export const alertPolicyConfig = z
  .object({ [ENV.alertPolicy]: z.string().optional() })
  .transform((env, ctx) => {
    const text = env[ENV.alertPolicy];
    const raw = text === undefined ? undefined : jsonText.safeParse(text);
    if (raw && !raw.success) {
      ctx.addIssue({ code: 'custom', path: [ENV.alertPolicy], message: 'must be JSON' });
      return z.NEVER;
    }
    const result = parseAlertPolicy(raw?.data);
    if (!result.ok) {
      for (const message of result.problems)
        ctx.addIssue({ code: 'custom', path: [ENV.alertPolicy], message });
      return z.NEVER;
    }
    return { alertPolicy: result.policy };
  });

/** Days after a month before it may be closed, when nobody says otherwise. */
export const DEFAULT_CLOSE_LAG_DAYS = 5;

/**
 * What a month's close needs beyond the ledger: the lag (`CASEBOOK_CLOSE_LAG_DAYS`) and the
 * exchange rates it keeps (`CASEBOOK_EXCHANGE_RATES`, optional: a close without them converts
 * nothing and says so with `null`).
 */
export const closeConfig = z
  .object({
    [ENV.closeLagDays]: z
      .string()
      .optional()
      .transform((raw, ctx) => {
        const text = raw?.trim() ?? '';
        if (text === '') return DEFAULT_CLOSE_LAG_DAYS;
        if (!/^\d{1,3}$/.test(text) || Number(text) > 366) {
          ctx.addIssue({
            code: 'custom',
            message: `must be a whole number of days from 0 to 366, not "${raw}"`,
          });
          return z.NEVER;
        }
        return Number(text);
      }),
    [ENV.exchangeRates]: z
      .string()
      .optional()
      .transform((text, ctx): Conversion | undefined => {
        if (text === undefined || text.trim() === '') return undefined;
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          value = undefined;
        }
        const shape = z.object({ currency: z.string(), rates: z.unknown() }).strict().safeParse(value);
        if (!shape.success) {
          ctx.addIssue({
            code: 'custom',
            message: 'must be JSON {"currency": "EUR", "rates": {"USD": "0.92"}}',
          });
          return z.NEVER;
        }
        try {
          return parseExchangeRates(shape.data.currency, shape.data.rates);
        } catch (error) {
          if (!(error instanceof ReportInputError)) throw error;
          ctx.addIssue({ code: 'custom', message: error.message });
          return z.NEVER;
        }
      }),
  })
  .transform((env): { closeLagDays: number; exchangeRates?: Conversion } => {
    const rates = env[ENV.exchangeRates];
    return { closeLagDays: env[ENV.closeLagDays], ...(rates ? { exchangeRates: rates } : {}) };
  });

/**
 * Labour rates (`CASEBOOK_LABOUR_RATES`), each problem an issue of its own; none when unset, so
 * every role's time is listed as unpriced rather than priced at zero.
 */
export const labourRatesConfig = z
  .object({ [ENV.labourRates]: z.string().optional() })
  .transform((env, ctx): { labourRates: readonly LabourRate[] } => {
    const text = env[ENV.labourRates];
    if (text === undefined || text.trim() === '') return { labourRates: [] };
    try {
      return { labourRates: parseLabourRates(text) };
    } catch (error) {
      if (!(error instanceof LabourRatesError)) throw error;
      for (const message of error.problems)
        ctx.addIssue({ code: 'custom', message, path: [ENV.labourRates] });
      return z.NEVER;
    }
  });
