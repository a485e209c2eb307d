/**
 * The words people read for Casebook's enums, in one place: every page and e-mail names a kind, a
 * template, a status or a line by its label here, never by the value the code and the ledger keep
 * (`refund_confirmation`, `tos`, `CHANGES_REQUESTED`). A value without a label is shown through
 * {@link labelOf}, which still turns it into words.
 */
import type { ApprovalStatus } from './approval.ts';
import type { Decision } from './approval-policy.ts';
import { VERDICT_LABEL } from './approval-policy.ts';
import type { DeadlineKind, IMPACT_ASSETS, ImpactSize } from './deadlines.ts';
import type { AttentionReason, EffectProgress } from './effects.ts';
import type { HaltReason, Incident } from './incident.ts';
import type { DecisionKind, EffectKind } from './ledger.ts';
import type { NoticeTemplate, Obligation, PlanEffectKind } from './plan.ts';
import type { ActionSafety, Phase, Rml3Category, Severity, Status, World } from './vocabulary.ts';
import { ROLE_LABEL } from './vocabulary.ts';

export { ROLE_LABEL, VERDICT_LABEL };

/** What a plan does for a customer. */
export const KIND_LABEL: Readonly<Record<PlanEffectKind, string>> = {
  refund: 'Refund',
  credit: 'Goodwill credit',
  notice: 'Notice',
  correction: 'Correction',
};

/** The customer messages a plan can send. */
export const TEMPLATE_LABEL: Readonly<Record<NoticeTemplate, string>> = {
  apology: 'Apology',
  refund_confirmation: 'Refund confirmation',
  correction: 'Correction',
};

/** The P&L lines (seed 001 §7.2). */
export const OBLIGATION_LABEL: Readonly<Record<Obligation, string>> = {
  tos: 'ToS line',
  brand: 'Brand line',
};

export const STATUS_LABEL: Readonly<Record<Status, string>> = {
  OPEN: 'Open',
  INVESTIGATING: 'Investigating',
  MITIGATED: 'Mitigated',
  RESOLVED: 'Resolved',
  CANCELLED: 'Cancelled',
  CLOSED: 'Closed',
};

export const APPROVAL_STATUS_LABEL: Readonly<Record<ApprovalStatus, string>> = {
  PENDING: 'Waiting',
  APPROVED: 'Approved',
  REJECTED: 'Rejected',
  CHANGES_REQUESTED: 'Changes requested',
  WITHDRAWN: 'Closed',
};

export const DECISION_LABEL: Readonly<Record<Decision, string>> = {
  approve: 'Approve',
  reject: 'Reject',
  'request-changes': 'Ask for changes',
};

export const PHASE_LABEL: Readonly<Record<Phase, string>> = {
  Detect: 'Detect',
  Contain: 'Contain',
  Understand: 'Understand',
  Decide: 'Decide',
  Act: 'Act',
  Learn: 'Learn',
};

/** Seed 000 §0's worlds, with what each means beside its name. */
export const WORLD_LABEL: Readonly<Record<World, string>> = {
  RML1: 'RML1 (closed)',
  RML2: 'RML2 (dialog)',
  RML3: 'RML3 (history)',
};

export const SEVERITY_LABEL: Readonly<Record<Severity, string>> = {
  SEV1: 'SEV1',
  SEV2: 'SEV2',
  SEV3: 'SEV3',
  SEV4: 'SEV4',
};

export const SAFETY_LABEL: Readonly<Record<ActionSafety, string>> = {
  SAFE_REVERSIBLE: 'Safe and reversible',
  RISKY: 'Risky',
  INFO_ONLY: 'Information only',
};

export const DEADLINE_LABEL: Readonly<Record<DeadlineKind, string>> = {
  response: 'Response (acknowledged)',
  resolution: 'Resolution (Act done)',
  regulatory: 'Regulator notified (GDPR Art. 33)',
  postmortem: 'Postmortem filed',
  decision: 'Decision on the plan',
  answers: 'Answers about effects',
};

export const PROGRESS_LABEL: Readonly<Record<EffectProgress, string>> = {
  planned: 'Planned',
  intent: 'Intent recorded',
  executed: 'Executed',
  confirmed: 'Confirmed',
  attention: 'Waiting for a person',
  voided: 'Voided',
};

export const ATTENTION_LABEL: Readonly<Record<AttentionReason, string>> = {
  'in-doubt': 'in doubt',
  refused: 'refused',
  manual: 'by hand',
  'plan-mismatch': 'plan mismatch',
  bounced: 'bounced',
};

export const ASSET_LABEL: Readonly<Record<(typeof IMPACT_ASSETS)[number], string>> = {
  money: 'Money',
  pii: 'Personal data',
  legal: 'Legal exposure',
  operational_integrity: 'Operational integrity',
};

export const CATEGORY_LABEL: Readonly<Record<Rml3Category, string>> = {
  financial_discrepancy: 'Financial discrepancy',
  external_misdelivery: 'External misdelivery',
  regulatory_breach: 'Regulatory breach',
  security_suspicion: 'Security suspicion',
};

export const SIZE_LABEL: Readonly<Record<ImpactSize, string>> = {
  small: 'Small',
  medium: 'Medium',
  large: 'Large',
};

/** Every kind the Effect Ledger and the Decision Log record. */
export const LEDGER_KIND_LABEL: Readonly<Record<EffectKind | DecisionKind, string>> = {
  ...KIND_LABEL,
  charge: 'Charge',
  access_grant: 'Access grant',
  manual_operation: 'Manual operation',
  ops_labour: 'Ops labour',
  legal_fee: 'Legal fee',
  other_cost: 'Other cost',
  detection: 'Detection',
  notice_event: 'What became of a notice',
  approval: 'Approval',
  approval_round: 'Approval round',
  approval_round_decided: 'Approval round decided',
  severity_change: 'Severity change',
  size_override: 'Size override',
  cancel: 'Cancellation',
  downscope: 'Downscope',
  containment: 'Containment',
  effect_reconciled: 'Effect reconciled',
  effect_retry: 'Effect retried',
  link_reissued: 'Link reissued',
  link_revoked: 'Link revoked',
  plan_check: 'Plan check',
};

export const LEDGER_LOG_LABEL: Readonly<Record<'effect' | 'decision', string>> = {
  effect: 'Effect Ledger',
  decision: 'Decision Log',
};

export const RESULT_LABEL: Readonly<Record<'intent' | 'executed' | 'confirmed' | 'failed', string>> = {
  intent: 'Intent',
  executed: 'Executed',
  confirmed: 'Confirmed',
  failed: 'Failed',
};

/** Why an incident was cancelled. */
export const CANCEL_OUTCOME_LABEL: Readonly<Record<NonNullable<Incident['cancelled']>['outcome'], string>> = {
  false_alarm: 'False alarm',
  downscoped: 'Downscoped',
};

/** Why the lifecycle stopped and waits for the SRE lead. */
export const HALT_LABEL: Readonly<Record<HaltReason, string>> = {
  'rounds-exhausted': 'Approval rounds exhausted',
  failed: 'A step failed',
};

/**
 * A value's label from `labels`, or — for a value the table does not know (a kind recorded by a
 * newer version) — the value in words: `refund_confirmation` reads "Refund confirmation".
 */
export function labelOf(labels: Readonly<Record<string, string>>, value: string): string {
  const known = labels[value];
  if (known !== undefined) return known;
  const words = value.replace(/[_-]+/g, ' ').toLowerCase();
  return `${words.charAt(0).toUpperCase()}${words.slice(1)}`;
}

/** Every table above, by the name a test or a page looks it up under. */
export const LABELS = {
  kind: KIND_LABEL,
  template: TEMPLATE_LABEL,
  obligation: OBLIGATION_LABEL,
  status: STATUS_LABEL,
  approvalStatus: APPROVAL_STATUS_LABEL,
  decision: DECISION_LABEL,
  verdict: VERDICT_LABEL,
  phase: PHASE_LABEL,
  world: WORLD_LABEL,
  severity: SEVERITY_LABEL,
  safety: SAFETY_LABEL,
  deadline: DEADLINE_LABEL,
  progress: PROGRESS_LABEL,
  attention: ATTENTION_LABEL,
  asset: ASSET_LABEL,
  size: SIZE_LABEL,
  category: CATEGORY_LABEL,
  ledgerKind: LEDGER_KIND_LABEL,
  ledgerLog: LEDGER_LOG_LABEL,
  role: ROLE_LABEL,
  cancelOutcome: CANCEL_OUTCOME_LABEL,
  halt: HALT_LABEL,
  result: RESULT_LABEL,
} as const;
