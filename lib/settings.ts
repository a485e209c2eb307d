/**
 * Deployment settings that differ per installation (who mails, who approves). They come from CDK
 * context so that `cdk.json` carries working defaults and `-c` overrides them per deployment.
 * Addresses are checked with the functions' own rule, so a synth that passes never deploys a
 * function that refuses its configuration at cold start.
 */
import { z } from 'zod';
import { deadlineConfig, labourRatesConfig } from '../functions/adapters/config.ts';
import { parseAlertPolicy } from '../functions/domain/alert-policy.ts';
import { parseApprovalPolicy } from '../functions/domain/approval-policy.ts';
import { emailAddress, isEmailAddress } from '../functions/domain/email-address.ts';
import { ENV } from '../functions/env-names.ts';

/** Approval addresses, one per seat of the governance triangle (seed 001 RACI). */
export interface Approvers {
  readonly legal: string;
  readonly business: string;
  readonly sre: string;
}

/** CDK context keys holding the settings. */
export const CONTEXT_KEYS = {
  mailFrom: 'casebook:mailFrom',
  approvers: 'casebook:approvers',
  responders: 'casebook:responders',
  sreLead: 'casebook:sreLead',
  paymentsProvider: 'casebook:paymentsProvider',
  mailRatePerSecond: 'casebook:mailRatePerSecond',
  paymentsRatePerSecond: 'casebook:paymentsRatePerSecond',
  anchorIntervalMinutes: 'casebook:anchorIntervalMinutes',
  anchorRetention: 'casebook:anchorRetention',
  /** Optional: deadline targets overriding seed 003's, in minutes (the shape of `CASEBOOK_DEADLINES`). */
  deadlines: 'casebook:deadlines',
  /**
   * Optional: the approval policy (the shape of `CASEBOOK_APPROVAL_POLICY`): who approves by size
   * and severity, quorum, vetoes, the roster; roles it names nobody for fall back to `casebook:approvers`.
   */
  approvalPolicy: 'casebook:approvalPolicy',
  /** Optional: the classification policy (the shape of `CASEBOOK_ALERT_POLICY`); without it, the default. */
  alertPolicy: 'casebook:alertPolicy',
  /**
   * Optional: the OpenID Connect issuer the console signs people in with, `{"issuerUrl": "https://…",
   * "clientId": "…"}`; without it the stack creates a Cognito user pool and its app client.
   */
  oidc: 'casebook:oidc',
  /** Optional: the Cognito hosted sign-in domain prefix of that pool (default `casebook-<account id>`). */
  cognitoDomainPrefix: 'casebook:cognitoDomainPrefix',
  /** Optional: the Glue database finance queries (default `casebook`; one per account and region). */
  financeDatabase: 'casebook:financeDatabase',
  /** Optional: the Athena workgroup of the finance queries (default `casebook-finance`). */
  financeWorkGroup: 'casebook:financeWorkGroup',
  /**
   * Optional: each role's hourly rate for labour on the P&L, the shape of `CASEBOOK_LABOUR_RATES`:
   * `{"SRE": {"amount": "120.00", "currency": "EUR"}}`.
   */
  labourRates: 'casebook:labourRates',
} as const;

/**
 * How people and providers are reached: who answers questions about effects and who is told when
 * a wait passes its deadline; which payments provider Act uses, and at what rates it calls SES and
 * the provider; how often the ledger is anchored, and how long digests are locked.
 */
const operationsSchema = z.object({
  [CONTEXT_KEYS.responders]: z.array(emailAddress).min(1, 'must name at least one responder'),
  [CONTEXT_KEYS.sreLead]: emailAddress,
  [CONTEXT_KEYS.paymentsProvider]: z.enum(['stripe', 'manual'], { error: "must be 'stripe' or 'manual'" }),
  [CONTEXT_KEYS.mailRatePerSecond]: z.number().positive('must be a positive number'),
  [CONTEXT_KEYS.paymentsRatePerSecond]: z.number().positive('must be a positive number'),
  [CONTEXT_KEYS.anchorIntervalMinutes]: z.number().int().min(1).max(1440, 'must be 1 to 1440 minutes'),
  [CONTEXT_KEYS.deadlines]: z.unknown().transform((value, ctx) => {
    if (value === undefined) return undefined;
    const text = JSON.stringify(value);
    const parsed = deadlineConfig.safeParse({ [ENV.deadlines]: text });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
      return z.NEVER;
    }
    return text;
  }),
  [CONTEXT_KEYS.labourRates]: z.unknown().transform((value, ctx) => {
    if (value === undefined) return undefined;
    const text = JSON.stringify(value);
    const parsed = labourRatesConfig.safeParse({ [ENV.labourRates]: text });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
      return z.NEVER;
    }
    return text;
  }),
  [CONTEXT_KEYS.anchorRetention]: z
    .object({
      /** COMPLIANCE in production (nobody can shorten it, not even root); GOVERNANCE in development. */
      mode: z.enum(['COMPLIANCE', 'GOVERNANCE']),
      days: z.number().int().min(1).max(36_500),
    })
    .strict(),
});
type OperationsSettings = z.output<typeof operationsSchema>;

/** Settings the stateless stack needs besides the stateful resources. */
export interface CasebookSettings {
  /** Plain address (no display name): SES permissions are scoped to it and to its domain. */
  readonly mailFrom: string;
  readonly approvers: Approvers;
  /** `CASEBOOK_APPROVAL_POLICY` for the function that opens approval rounds, when one is configured. */
  readonly approvalPolicy?: string;
}

/** How people and providers are reached, for the stateless stack. */
export interface OperationsSettingsOut {
  readonly responders: readonly string[];
  readonly sreLead: string;
  readonly paymentsProvider: 'stripe' | 'manual';
  readonly rates: { readonly mail: number; readonly payments: number };
  readonly anchorIntervalMinutes: number;
  /** `CASEBOOK_DEADLINES` for the functions that read the clock, when targets are overridden. */
  readonly deadlines?: string;
  /** `CASEBOOK_LABOUR_RATES` (JSON text), when rates are configured. */
  readonly labourRates?: string;
}

/** Parses the operational settings from CDK context by key, collecting every problem. */
export function parseOperationsSettings(
  context: (key: string) => unknown,
):
  | { readonly ok: true; readonly settings: OperationsSettingsOut }
  | { readonly ok: false; readonly problems: readonly string[] } {
  const parsed = operationsSchema.safeParse(
    Object.fromEntries(Object.keys(operationsSchema.shape).map((key) => [key, fromContext(context(key))])),
  );
  if (!parsed.success)
    return { ok: false, problems: parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`) };
  const o = parsed.data;
  return {
    ok: true,
    settings: {
      responders: o[CONTEXT_KEYS.responders],
      sreLead: o[CONTEXT_KEYS.sreLead],
      paymentsProvider: o[CONTEXT_KEYS.paymentsProvider],
      rates: { mail: o[CONTEXT_KEYS.mailRatePerSecond], payments: o[CONTEXT_KEYS.paymentsRatePerSecond] },
      anchorIntervalMinutes: o[CONTEXT_KEYS.anchorIntervalMinutes],
      ...(o[CONTEXT_KEYS.deadlines] ? { deadlines: o[CONTEXT_KEYS.deadlines] } : {}),
      ...(o[CONTEXT_KEYS.labourRates] ? { labourRates: o[CONTEXT_KEYS.labourRates] } : {}),
    },
  };
}

/** How anchors are locked in S3: the mode and for how many days. */
export type AnchorRetention = OperationsSettings[typeof CONTEXT_KEYS.anchorRetention];

/**
 * The production default: COMPLIANCE, so nobody — the account's root user included — can delete or
 * overwrite an anchor before its time; seven years, as financial records are kept.
 */
export const DEFAULT_ANCHOR_RETENTION: AnchorRetention = { mode: 'COMPLIANCE', days: 2555 };

/** How long anchors are locked in S3, read by the stateful stack; unset, {@link DEFAULT_ANCHOR_RETENTION}. */
export function parseAnchorRetention(raw: unknown): AnchorRetention {
  if (raw === undefined) return DEFAULT_ANCHOR_RETENTION;
  const parsed = operationsSchema.shape[CONTEXT_KEYS.anchorRetention].safeParse(
    typeof raw === 'string' ? JSON.parse(raw) : raw,
  );
  if (!parsed.success)
    throw new Error(
      `${CONTEXT_KEYS.anchorRetention} must be {"mode": "COMPLIANCE"|"GOVERNANCE", "days": n}: ${z.prettifyError(parsed.error)}`,
    );
  return parsed.data;
}

const APPROVER_ROLES = ['legal', 'business', 'sre'] as const;

/** The outcome of parsing raw context values: settings, or every problem found. */
export type SettingsResult =
  | { readonly ok: true; readonly settings: CasebookSettings }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Parses raw context values, collecting every problem instead of stopping at the first. */
export function parseSettings(raw: {
  readonly mailFrom: unknown;
  readonly approvers: unknown;
  readonly approvalPolicy?: unknown;
}): SettingsResult {
  const problems: string[] = [];
  const { mailFrom } = raw;
  if (!isEmailAddress(mailFrom)) {
    problems.push(`${CONTEXT_KEYS.mailFrom} must be a plain email address, got ${JSON.stringify(mailFrom)}`);
  }

  // `cdk -c key=value` passes strings, so an approvers object may arrive as JSON text.
  let approvers = raw.approvers;
  if (typeof approvers === 'string') {
    try {
      approvers = JSON.parse(approvers);
    } catch {
      problems.push(`${CONTEXT_KEYS.approvers} is not valid JSON: ${JSON.stringify(approvers)}`);
      approvers = undefined;
    }
  }
  const seats: Partial<Record<(typeof APPROVER_ROLES)[number], string>> = {};
  if (typeof approvers !== 'object' || approvers === null || Array.isArray(approvers)) {
    problems.push(
      `${CONTEXT_KEYS.approvers} must be an object with ${APPROVER_ROLES.join(', ')} email addresses`,
    );
  } else {
    const given = approvers as Record<string, unknown>;
    for (const role of APPROVER_ROLES) {
      const address = given[role];
      if (!isEmailAddress(address)) {
        problems.push(
          `${CONTEXT_KEYS.approvers}.${role} must be an email address, got ${JSON.stringify(address)}`,
        );
      } else {
        seats[role] = address;
      }
    }
    for (const key of Object.keys(given)) {
      if (!(APPROVER_ROLES as readonly string[]).includes(key)) {
        problems.push(
          `${CONTEXT_KEYS.approvers}.${key} is not an approver role (${APPROVER_ROLES.join(', ')})`,
        );
      }
    }
  }

  // The policy is checked by the functions' own rule, over the approvers as its fallback roster.
  const policy = raw.approvalPolicy === undefined ? undefined : fromContext(raw.approvalPolicy);
  if (policy !== undefined) {
    const parsed = parseApprovalPolicy(policy, seats, (r) => `${CONTEXT_KEYS.approvers}.${r}`);
    if (!parsed.ok) problems.push(...parsed.problems.map((p) => `${CONTEXT_KEYS.approvalPolicy} ${p}`));
  }

  if (problems.length > 0 || typeof mailFrom !== 'string' || !seats.legal || !seats.business || !seats.sre) {
    return { ok: false, problems };
  }
  return {
    ok: true,
    settings: {
      mailFrom,
      approvers: { legal: seats.legal, business: seats.business, sre: seats.sre },
      ...(policy === undefined ? {} : { approvalPolicy: JSON.stringify(policy) }),
    },
  };
}

/**
 * Lambda holds 4 KB of environment in all per function; the policy must leave room for the rest
 * (table names, ARNs), so a larger one fails at synth, not at deploy.
 */
export const ALERT_POLICY_MAX_BYTES = 2048;

/** The classification policy from context, checked by the functions' own rule: its JSON, or every problem. */
export function parseAlertPolicySetting(value: unknown): {
  readonly json?: string;
  readonly problems: string[];
} {
  if (value === undefined) return { problems: [] };
  const policy = fromContext(value);
  const parsed = parseAlertPolicy(policy);
  if (!parsed.ok) return { problems: parsed.problems.map((p) => `${CONTEXT_KEYS.alertPolicy} ${p}`) };
  const json = JSON.stringify(policy);
  const bytes = Buffer.byteLength(json);
  if (bytes > ALERT_POLICY_MAX_BYTES) {
    return {
      problems: [
        `${CONTEXT_KEYS.alertPolicy} is ${bytes} bytes as JSON, over the ${ALERT_POLICY_MAX_BYTES} a function's environment leaves for it`,
      ],
    };
  }
  return { json, problems: [] };
}

/** `cdk -c key=value` passes strings: a value that reads as JSON is taken as JSON. */
function fromContext(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}
