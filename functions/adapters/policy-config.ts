/**
 * The policies' configuration: each parsed by its domain module, which only the functions that
 * read that policy carry in their bundles (a schema built at module load is never shaken out).
 */
import * as z from 'zod';
import { parseAlertPolicy } from '../domain/alert-policy.ts';
import { parseApprovalPolicy } from '../domain/approval-policy.ts';
import { emailAddress as email } from '../domain/email-address.ts';
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
