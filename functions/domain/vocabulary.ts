/**
 * The words Casebook shares with the seeds (000, 001, 003, 004): worlds, phases, statuses,
 * severities, roles. Everything here is plain data so every layer (handlers, ASL tests, pages)
 * speaks the same vocabulary.
 */

/** Which world an event, action or ledger entry lives in (seed 000 §0). */
export const WORLDS = ['RML1', 'RML2', 'RML3'] as const;
export type World = (typeof WORLDS)[number];

/** The six phases of seed 001 §3 / seed 000 §2, in order. */
export const PHASES = ['Detect', 'Contain', 'Understand', 'Decide', 'Act', 'Learn'] as const;
export type Phase = (typeof PHASES)[number];

/**
 * The world each phase mostly lives in (seed 000 §2: detection and containment are RML2 work,
 * understanding, deciding and acting touch history, learning feeds back into RML1/2).
 */
export const PHASE_WORLD: Readonly<Record<Phase, World>> = {
  Detect: 'RML2',
  Contain: 'RML2',
  Understand: 'RML3',
  Decide: 'RML3',
  Act: 'RML3',
  Learn: 'RML2',
};

/** Incident statuses (seed 004); CLOSED only once the postmortem is in. */
export const STATUSES = ['OPEN', 'INVESTIGATING', 'MITIGATED', 'RESOLVED', 'CANCELLED', 'CLOSED'] as const;
export type Status = (typeof STATUSES)[number];

/** Statuses after which an incident no longer absorbs new alerts. */
export const FINAL_STATUSES: readonly Status[] = ['RESOLVED', 'CANCELLED', 'CLOSED'];

export const SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The governance triangle (seed 001 §2) as approver roles of the remediation plan. */
export const APPROVER_ROLES = ['legal', 'business', 'sre'] as const;
export type ApproverRole = (typeof APPROVER_ROLES)[number];

export const ROLE_LABEL: Readonly<Record<ApproverRole, string>> = {
  legal: 'Legal',
  business: 'Business',
  sre: 'SRE',
};

/** Default-to-RML3 categories (seed 001 §4.1): treat as history-grade unless proven otherwise. */
export const RML3_CATEGORIES = [
  'financial_discrepancy',
  'external_misdelivery',
  'regulatory_breach',
  'security_suspicion',
] as const;
export type Rml3Category = (typeof RML3_CATEGORIES)[number];

/** Action safety classes (seed 004). */
export const ACTION_SAFETY = ['SAFE_REVERSIBLE', 'RISKY', 'INFO_ONLY'] as const;
export type ActionSafety = (typeof ACTION_SAFETY)[number];
