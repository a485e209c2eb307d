/**
 * Words for the values the console shows: people read "Investigating" and "Refund confirmation",
 * never `INVESTIGATING` or `refund_confirmation`.
 */
import type { DeadlineKind } from '../domain/deadlines.ts';
import type { Status } from '../domain/vocabulary.ts';

export const STATUS_LABEL: Readonly<Record<Status, string>> = {
  OPEN: 'Open',
  INVESTIGATING: 'Investigating',
  MITIGATED: 'Mitigated',
  RESOLVED: 'Resolved',
  CANCELLED: 'Cancelled',
  CLOSED: 'Closed',
};

export const DEADLINE_LABEL: Readonly<Record<DeadlineKind, string>> = {
  response: 'Response',
  resolution: 'Resolution',
  regulatory: 'Regulator notice',
  postmortem: 'Postmortem',
  decision: 'Decision',
  answers: 'Answers',
};

const SPECIAL: Readonly<Record<string, string>> = {
  tos: 'ToS line',
  brand: 'Brand line',
  ops_labour: 'Ops labour',
  pii: 'Personal data',
  sre: 'SRE',
  sre_lead: 'SRE lead',
  // An approver's decision, as the approvals table reads it.
  approve: 'Approved',
  reject: 'Rejected',
  'request-changes': 'Changes requested',
  unreachable: 'Quorum out of reach',
};

/** Any other stored word as a person reads it: `CHANGES_REQUESTED` → "Changes requested". */
export function label(value: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—';
  if (value in SPECIAL) return SPECIAL[value] as string;
  const words = value.replaceAll(/[_-]+/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
