/**
 * Deployment settings that differ per installation (who mails, who approves). They come from CDK
 * context so that `cdk.json` carries working defaults and `-c` overrides them per deployment.
 * Addresses are checked with the functions' own rule, so a synth that passes never deploys a
 * function that refuses its configuration at cold start.
 */
import { isEmailAddress } from '../functions/domain/email-address.ts';

/** Approval addresses, one per seat of the governance triangle (seed 001 RACI). */
export interface Approvers {
  readonly legal: string;
  readonly business: string;
  readonly sre: string;
}

/** Settings the stateless stack needs besides the stateful resources. */
export interface CasebookSettings {
  /** Plain address (no display name): SES permissions are scoped to it and to its domain. */
  readonly mailFrom: string;
  readonly approvers: Approvers;
}

/** CDK context keys holding the settings. */
export const CONTEXT_KEYS = {
  mailFrom: 'casebook:mailFrom',
  approvers: 'casebook:approvers',
} as const;

const APPROVER_ROLES = ['legal', 'business', 'sre'] as const;

/** The outcome of parsing raw context values: settings, or every problem found. */
export type SettingsResult =
  | { readonly ok: true; readonly settings: CasebookSettings }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Parses raw context values, collecting every problem instead of stopping at the first. */
export function parseSettings(raw: {
  readonly mailFrom: unknown;
  readonly approvers: unknown;
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

  if (problems.length > 0 || typeof mailFrom !== 'string' || !seats.legal || !seats.business || !seats.sre) {
    return { ok: false, problems };
  }
  return {
    ok: true,
    settings: { mailFrom, approvers: { legal: seats.legal, business: seats.business, sre: seats.sre } },
  };
}
