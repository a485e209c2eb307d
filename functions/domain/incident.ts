/**
 * The incident (the case file of seed 000 §4) and the rules for moving it through the phases.
 * Pure functions: each takes the current incident and returns what changes, so the rules are
 * tested without a database.
 */
import type { Classification, NormalizedAlert } from './alert.ts';
import type { JsonObject } from './json.ts';
import { LIMITS } from './limits.ts';
import type { RemediationPlan } from './plan.ts';
import type { ArchivedPayload } from './ports.ts';
import type { Truncation } from './text.ts';
import type { Phase, Rml3Category, Severity, Status, World } from './vocabulary.ts';
import { FINAL_STATUSES, PHASE_WORLD } from './vocabulary.ts';

/** Why a lifecycle execution stopped before closing the incident. */
export type HaltReason = 'plan-rejected' | 'approvals-timed-out' | 'failed';

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
  readonly customerContacts: readonly string[];
  readonly customerSummary?: string;
  readonly productArea?: string;
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
  /** The current list of affected customers: its version and how many it holds. */
  readonly customerList?: { readonly version: number; readonly count: number };
  readonly plan?: RemediationPlan;
  /** Approval rounds opened so far; each entry into Decide opens one. */
  readonly decideRound: number;
  /** The execution that opened the current round, so a retried step does not open another. */
  readonly decideExecution?: string;
  readonly halted?: {
    readonly reason: HaltReason;
    readonly at: string;
    readonly error?: string;
    readonly cause?: string;
  };
  readonly resolvedAt?: string;
  readonly closedAt?: string;
  /** Name of the lifecycle execution that runs (or last ran) this incident. */
  readonly executionName: string;
}

/** One line of the incident's timeline; `key` makes recording it idempotent. */
export interface TimelineEvent {
  readonly key: string;
  readonly at: string;
  readonly world: World;
  readonly type:
    | 'detection'
    | 'alert_folded'
    | 'phase_entered'
    | 'plan_proposed'
    | 'approval_requested'
    | 'approval_decided'
    | 'effect_carried_out'
    | 'effect_needs_person'
    | 'effect_settled_by_person'
    | 'escalated'
    | 'halted'
    | 'lifecycle_resumed'
    | 'closed';
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
    annotations: alert.annotations,
    ...(alert.externalUrl ? { externalUrl: alert.externalUrl } : {}),
    customerContacts: alert.customerContacts,
    ...(alert.customerSummary ? { customerSummary: alert.customerSummary } : {}),
    ...(alert.productArea ? { productArea: alert.productArea } : {}),
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
 * The status an incident has on entering a phase. MITIGATED is left to a responder who records
 * containment: the workflow alone cannot claim the bleeding stopped.
 */
export function statusOnEntering(phase: Phase, current: Status): Status {
  if (phase === 'Detect') return current === 'OPEN' ? 'OPEN' : current;
  if (phase === 'Learn') return 'RESOLVED';
  return current === 'MITIGATED' ? 'MITIGATED' : 'INVESTIGATING';
}

/** What changes when an incident enters a phase (idempotent for the same phase). */
export interface PhaseEntry {
  readonly status: Status;
  readonly phase: Phase;
  readonly at: string;
  readonly event: TimelineEvent;
  /** Set when entering Decide opens a new approval round. */
  readonly decideRound?: number;
}

/** Enters `phase`; refuses an incident that is already closed or cancelled. */
export function enterPhase(incident: Incident, phase: Phase, execution: string, now: string): PhaseEntry {
  if (incident.status === 'CLOSED' || incident.status === 'CANCELLED') {
    throw new Error(`${incident.id} is ${incident.status}; it cannot enter ${phase}`);
  }
  const status = statusOnEntering(phase, incident.status);
  const opensRound = phase === 'Decide' && incident.decideExecution !== execution;
  const decideRound =
    phase === 'Decide' ? (opensRound ? incident.decideRound + 1 : incident.decideRound) : undefined;
  return {
    status,
    phase,
    at: now,
    ...(decideRound !== undefined ? { decideRound } : {}),
    event: {
      key: `phase:${phase}:${execution}`,
      at: now,
      world: PHASE_WORLD[phase],
      type: 'phase_entered',
      phase,
      summary:
        phase === 'Decide'
          ? `Entered Decide (approval round ${decideRound})`
          : `Entered ${phase} (status ${status})`,
    },
  };
}
