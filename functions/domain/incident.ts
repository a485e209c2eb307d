/**
 * The incident (the case file of seed 000 §4) and the rules for moving it through the phases.
 * Pure functions: each takes the current incident and returns what changes, so the rules are
 * tested without a database.
 */
import type { Classification, NormalizedAlert } from './alert.ts';
import type { RoundRule, RoundVerdict } from './approval-policy.ts';
import type { Impact, ImpactSize } from './deadlines.ts';
import type { JsonObject } from './json.ts';
import { STATUS_LABEL } from './labels.ts';
import type { LedgerEntryDraft } from './ledger.ts';
import { LIMITS } from './limits.ts';
import type { RemediationPlan } from './plan.ts';
import type { ArchivedPayload } from './ports.ts';
import type { Truncation } from './text.ts';
import type { Phase, Rml3Category, Severity, Status, World } from './vocabulary.ts';
import { FINAL_STATUSES, PHASE_WORLD } from './vocabulary.ts';

/** Why a lifecycle execution stopped before closing the incident. */
export type HaltReason = 'rounds-exhausted' | 'failed';

/** How far the incident reaches, as a responder assessed it (seed 000's axes), and by whom. */
export interface AssessedImpact extends Impact {
  readonly by: string;
  readonly at: string;
}

/** The size the approval policy keys on: by the rules, or set by the SRE lead with a reason. */
export interface SizeCall {
  readonly size: ImpactSize;
  readonly because: string;
  /** The SRE lead who overrode the rules' size; absent when the rules set it. */
  readonly overriddenBy?: string;
}

/**
 * The approval round under way (or the last one): the rule it was opened under — chosen by the
 * approval policy for the incident's size and severity — the policy's version, the plan it
 * decides on, and once it is decided, how.
 */
export interface ApprovalRound {
  readonly round: number;
  readonly openedAt: string;
  readonly policyVersion: string;
  readonly size: ImpactSize;
  readonly severity: Severity;
  readonly rule: RoundRule;
  readonly planVersion: number;
  readonly planHash: string;
  readonly decided?: { readonly verdict: RoundVerdict; readonly reason: string; readonly at: string };
}

export interface Incident {
  readonly id: string;
  readonly title: string;
  readonly description?: string;
  readonly status: Status;
  readonly phase: Phase;
  readonly severity: Severity;
  readonly world: World;
  readonly categories: readonly Rml3Category[];
  readonly classificationReason: string;
  readonly source: string;
  readonly correlationKey: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly externalUrl?: string;
  /**
   * How many customer addresses the alert named (annotation `customer_contacts`). Casebook keeps
   * no address from an alert: the affected customers are uploaded in the workroom.
   */
  readonly alertNamedCustomers?: number;
  readonly customerSummary?: string;
  readonly productArea?: string;
  /** What the classification policy says the trouble touches (its rule's `assets`). */
  readonly assets?: readonly string[];
  /** Values from the alert that were cut to their bounds: where, how large, and their SHA-256. */
  readonly truncated?: readonly Truncation[];
  /** The whole alert as it arrived, when something in it had to be cut. */
  readonly originalPayload?: ArchivedPayload;
  /** When the trouble began, as the source reports it. */
  readonly startedAt: string;
  /** When Casebook opened the incident. */
  readonly detectedAt: string;
  readonly updatedAt: string;
  readonly phaseEnteredAt: Readonly<Partial<Record<Phase, string>>>;
  /** The current list of affected customers: its version, how many it holds, their amounts per currency. */
  readonly customerList?: {
    readonly version: number;
    /** Where its rows are stored (`<version>-<ULID>`); absent on lists stored before version ids. */
    readonly versionId?: string;
    readonly count: number;
    readonly totals?: readonly {
      readonly currency: string;
      readonly minor: number;
      readonly count: number;
    }[];
  };
  readonly plan?: RemediationPlan;
  /** The plan version a responder submitted for approval, when and by whom. */
  readonly planSubmitted?: {
    readonly version: number;
    readonly at: string;
    readonly by: string;
    /** The responder's answer to the change request, when the plan goes back to the approvers unchanged. */
    readonly reply?: string;
  };
  /**
   * The current plan version's own words (its rules and template, never its explicit effects) and
   * the hash of what it does apart from ids and version numbers: the form opens with them, and a
   * version whose `substance` is the one sent back is unchanged.
   */
  readonly planInput?: PlanInputRecord;
  /** Where the effects of the current plan stand, per kind: Act writes it after each run. */
  readonly effectProgress?: EffectProgressRecord;
  /** The last plan version a round rejected, and why: a revised plan is needed. */
  readonly planRejected?: {
    readonly version: number;
    readonly reason: string;
    readonly at: string;
    /** The sent-back version's {@link PlanInputRecord.substance}: the same again is unchanged. */
    readonly substance?: string;
  };
  /** Approval rounds opened so far; each entry into Decide opens one. */
  readonly decideRound: number;
  /** The state entry that opened the current round, so a retried step does not open another. */
  readonly decideEntry?: string;
  /** When the current round opened: its deadline runs from here. */
  readonly decideRoundAt?: string;
  /** Who decides the current round and how it ended (set once its approvers are asked). */
  readonly approvalRound?: ApprovalRound;
  readonly halted?: {
    readonly reason: HaltReason;
    readonly at: string;
    readonly error?: string;
    readonly cause?: string;
  };
  /** The first responder's acknowledgement (seed 004: MTTA ends here). */
  readonly acknowledgedAt?: string;
  /** The incident commander: the first responder to acknowledge, or whom they handed off to. */
  readonly commander?: string;
  /** When a responder reported the bleeding stopped (status MITIGATED). */
  readonly mitigatedAt?: string;
  readonly impact?: AssessedImpact;
  readonly size?: SizeCall;
  /** When Casebook learnt personal data is involved: the regulatory clock starts here. */
  readonly piiAwareAt?: string;
  /** When the SRE lead recorded that the regulator was told, and the reference they gave. */
  readonly regulatorNotified?: { readonly at: string; readonly reference: string; readonly by: string };
  /** When the resolution target passed unmet (an SLO breach). */
  readonly sloBreachedAt?: string;
  readonly cancelled?: {
    readonly outcome: 'false_alarm' | 'downscoped';
    readonly reason: string;
    readonly world: World;
    readonly by: string;
    readonly at: string;
  };
  /** When the postmortem came in, and who submitted it. */
  readonly postmortemAt?: string;
  /**
   * What a person's last action still owes the logs and the timeline: written with the change it
   * comes from, in one conditional write, and delivered after it (each record keyed, so delivering
   * twice changes nothing). A failure between the two leaves it here for the next action to deliver.
   */
  readonly pendingRecords?: PendingRecords;
  readonly resolvedAt?: string;
  readonly closedAt?: string;
  /** Name of the lifecycle execution that runs (or last ran) this incident. */
  readonly executionName: string;
}

/** What a plan version was written from (see `Incident.planInput`). */
export interface PlanInputRecord {
  readonly version: number;
  /** The plan form's fields but its explicit effects: summary, rules, and whatever else it carries. */
  readonly fields: JsonObject;
  readonly substance: string;
}

/** How many effects of a plan version stand where, per kind (see `Incident.effectProgress`). */
export interface EffectProgressRecord {
  readonly planVersion: number;
  readonly at: string;
  readonly rows: readonly { readonly kind: string; readonly progress: string; readonly count: number }[];
}

/** The records an action owes the Decision Log, the Effect Ledger and the timeline. */
export interface PendingRecords {
  readonly decision?: LedgerEntryDraft;
  readonly effect?: LedgerEntryDraft;
  readonly events: readonly TimelineEvent[];
}

/** What happened, in the timeline's words (seed 004: status changes are events of their own). */
export const TIMELINE_TYPES = [
  'detection',
  'alert_folded',
  'signals_resolved',
  'invited',
  'acknowledged',
  'status_changed',
  'phase_entered',
  'containment_reported',
  'impact_assessed',
  'size_set',
  'severity_changed',
  'customers_listed',
  'plan_proposed',
  'plan_submitted',
  'plan_checked',
  'plan_rejected',
  'approval_requested',
  'approval_reminded',
  'approval_decided',
  'approval_round_decided',
  'effect_carried_out',
  'effect_needs_person',
  'effect_settled_by_person',
  'notice_event',
  'note',
  'handoff',
  'time_logged',
  'regulator_notified',
  'deadline_shown',
  'escalated',
  'slo_breached',
  'cancelled',
  'postmortem_submitted',
  'halted',
  'lifecycle_resumed',
  'closed',
  'link_reissued',
  'link_revoked',
  'people_told',
] as const;
export type TimelineType = (typeof TIMELINE_TYPES)[number];

/** One line of the incident's timeline; `key` makes recording it idempotent. */
export interface TimelineEvent {
  readonly key: string;
  readonly at: string;
  readonly world: World;
  readonly type: TimelineType;
  readonly phase: Phase;
  readonly summary: string;
  readonly detail?: JsonObject;
}

const ID = new RegExp(`^INC-(\\d{4})-(\\d{4,${LIMITS.incidentSequenceDigits}})$`);

/** `INC-2026-0001`: readable, sortable within a year, as in seed 000's case file. */
export function formatIncidentId(year: number, sequence: number): string {
  return `INC-${year}-${String(sequence).padStart(4, '0')}`;
}

/**
 * The year and sequence number of an id Casebook could have issued, written exactly as it writes
 * it: at most `LIMITS.incidentSequenceDigits` digits and no extra leading zeros, so
 * `INC-2026-00001` is not another name for `INC-2026-0001`, and no id reaches DynamoDB past its
 * key-size limit. Undefined for anything else.
 */
export function parseIncidentId(value: string): { year: number; sequence: number } | undefined {
  const m = ID.exec(value);
  const year = Number(m?.[1]);
  const sequence = Number(m?.[2]);
  return m && sequence >= 1 && formatIncidentId(year, sequence) === value ? { year, sequence } : undefined;
}

export function isIncidentId(value: string): boolean {
  return parseIncidentId(value) !== undefined;
}

/** A new incident from a triaged alert; it starts in Detect, OPEN. */
export function openIncident(
  id: string,
  alert: NormalizedAlert,
  classification: Classification,
  now: string,
  originalPayload?: ArchivedPayload,
): Incident {
  return {
    id,
    title: alert.title,
    ...(alert.description ? { description: alert.description } : {}),
    status: 'OPEN',
    phase: 'Detect',
    severity: classification.severity,
    world: classification.world,
    categories: classification.categories,
    classificationReason: classification.reason,
    source: alert.source,
    correlationKey: alert.correlationKey,
    labels: alert.labels,
    annotations: withoutCustomerContacts(alert.annotations),
    ...(alert.externalUrl ? { externalUrl: alert.externalUrl } : {}),
    ...(alert.customerContacts.length > 0 ? { alertNamedCustomers: alert.customerContacts.length } : {}),
    ...(alert.customerSummary ? { customerSummary: alert.customerSummary } : {}),
    ...(classification.productArea ? { productArea: classification.productArea } : {}),
    ...(classification.assets.length > 0 ? { assets: classification.assets } : {}),
    ...(alert.truncated?.length ? { truncated: alert.truncated } : {}),
    ...(originalPayload ? { originalPayload } : {}),
    startedAt: alert.startedAt,
    detectedAt: now,
    updatedAt: now,
    phaseEnteredAt: { Detect: now },
    decideRound: 0,
    executionName: id,
  };
}

/**
 * An alert's annotations without `customer_contacts`: customers' addresses belong in the customer
 * list (which can be erased), not in an incident's copy of what an alerting system said.
 */
function withoutCustomerContacts(annotations: Readonly<Record<string, string>>): Record<string, string> {
  const { customer_contacts: _dropped, ...kept } = annotations;
  return kept;
}

/** The name of the next execution of an incident's lifecycle: `INC-2026-0001-r2`, `-r3`, … */
export function nextExecutionName(incident: Pick<Incident, 'id' | 'executionName'>): string {
  const m = /-r(\d+)$/.exec(incident.executionName);
  return `${incident.id}-r${m ? Number(m[1]) + 1 : 2}`;
}

/** Whether new alerts of the same group still fold into this incident. */
export function isOpen(incident: Pick<Incident, 'status'>): boolean {
  return !FINAL_STATUSES.includes(incident.status);
}

/**
 * The status an incident has on entering a phase. Only Learn changes it (Act is done: RESOLVED);
 * INVESTIGATING and MITIGATED are people's to claim — an acknowledgement, a containment — since
 * the workflow alone cannot say anyone is looking or that the bleeding stopped.
 */
export function statusOnEntering(phase: Phase, current: Status): Status {
  return phase === 'Learn' ? 'RESOLVED' : current;
}

/** What changes when an incident enters a phase (idempotent for the same state entry). */
export interface PhaseEntry {
  readonly status: Status;
  readonly phase: Phase;
  readonly at: string;
  readonly events: readonly TimelineEvent[];
  /** Set when entering Decide opens a new approval round. */
  readonly decideRound?: number;
}

/**
 * Enters `phase` on the state entry `entry` (the execution and the time the state machine entered
 * the state: the same on a retried step, new on every entry); refuses an incident that is closed
 * or cancelled.
 */
export function enterPhase(incident: Incident, phase: Phase, entry: string, now: string): PhaseEntry {
  if (incident.status === 'CLOSED' || incident.status === 'CANCELLED') {
    throw new Error(`${incident.id} is ${incident.status}; it cannot enter ${phase}`);
  }
  const status = statusOnEntering(phase, incident.status);
  const opensRound = phase === 'Decide' && incident.decideEntry !== entry;
  const decideRound =
    phase === 'Decide' ? (opensRound ? incident.decideRound + 1 : incident.decideRound) : undefined;
  const world = PHASE_WORLD[phase];
  const entered: TimelineEvent = {
    key: `phase:${phase}:${entry}`,
    at: now,
    world,
    type: 'phase_entered',
    phase,
    summary: phase === 'Decide' ? `Entered Decide (approval round ${decideRound})` : `Entered ${phase}`,
  };
  const changed =
    status === incident.status
      ? []
      : [statusChanged(incident, status, 'casebook', `${phase} began`, now, `phase:${phase}:${entry}`)];
  return {
    status,
    phase,
    at: now,
    ...(decideRound !== undefined ? { decideRound } : {}),
    events: [entered, ...changed],
  };
}

/** The `status_changed` event seed 004 asks for: from, to, who and why. */
export function statusChanged(
  incident: Pick<Incident, 'status' | 'phase'>,
  to: Status,
  by: string,
  why: string,
  at: string,
  key: string,
): TimelineEvent {
  return {
    key: `status:${to}:${key}`,
    at,
    world: 'RML2',
    type: 'status_changed',
    phase: incident.phase,
    summary: `Status ${STATUS_LABEL[incident.status]} → ${STATUS_LABEL[to]} by ${by}: ${why}`,
    detail: { from: incident.status, to, by, why },
  };
}
