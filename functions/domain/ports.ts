/**
 * The ports the use cases talk to. Adapters in `functions/adapters/` implement them over
 * DynamoDB, SES and Step Functions; tests implement them in memory or run the adapters against
 * the emulators.
 */
import type { Approval, ApprovalStatus } from './approval.ts';
import type { Incident, TimelineEvent } from './incident.ts';
import type { LedgerEntry, LedgerEntryDraft } from './ledger.ts';

/** Incidents, their correlation keys and timelines (the operational table). */
export interface IncidentStore {
  /**
   * The highest incident number of `year` recorded as taken (0 if none). A number is taken by
   * writing its incident; this is a hint that can lag behind, never a reservation.
   */
  lastIncidentNumber(year: number): Promise<number>;
  /** Records `sequence` as taken in `year`, unless a higher number already is. */
  recordIncidentNumber(year: number, sequence: number): Promise<void>;
  /** The incident currently holding a correlation key, and the alert occurrences it has seen. */
  findCorrelation(correlationKey: string): Promise<Correlation | undefined>;
  /**
   * Points `correlationKey` at `incidentId` (with the occurrences that opened it) if it points
   * nowhere or still points at `replacing`; otherwise returns the incident it points at now
   * (another delivery won the race).
   */
  claimCorrelation(
    correlationKey: string,
    incidentId: string,
    replacing: string | undefined,
    occurrences: readonly string[],
  ): Promise<{ readonly claimed: true } | { readonly claimed: false; readonly incidentId: string }>;
  /**
   * Gives a claim back after the incident it named could not be written: points the key at
   * `previous` again (or at nothing), only if it still points at `incidentId`.
   */
  releaseCorrelation(
    correlationKey: string,
    incidentId: string,
    previous: Correlation | undefined,
  ): Promise<void>;
  /** Adds alert occurrences to the set a correlation key has seen (up to `LIMITS.occurrencesKept`). */
  addOccurrences(correlationKey: string, occurrences: readonly string[]): Promise<void>;
  /** Writes a new incident; does nothing if it already exists. */
  createIncident(incident: Incident): Promise<void>;
  getIncident(id: string): Promise<Incident | undefined>;
  /** Replaces the incident's mutable fields. */
  saveIncident(incident: Incident): Promise<void>;
  /** Newest first. */
  listIncidents(
    limit: number,
    cursor?: string,
  ): Promise<{ readonly items: Incident[]; readonly cursor?: string }>;
  /** Records a timeline event once per key. */
  addTimelineEvent(incidentId: string, event: TimelineEvent): Promise<void>;
  /** In time order. */
  listTimeline(incidentId: string): Promise<TimelineEvent[]>;
}

/** Which incident a correlation key points at, and which alert occurrences it has absorbed. */
export interface Correlation {
  readonly incidentId: string;
  readonly occurrences: readonly string[];
}

/** Approvals and the task tokens that go with them (the operational table; tokens never leave it but for Step Functions). */
export interface ApprovalStore {
  /** Creates the approval, or returns the one already there for the same incident, round and role. */
  createApproval(
    approval: Approval,
    taskToken: string,
  ): Promise<{ readonly created: boolean; readonly approval: Approval }>;
  /** Stores the task token of a retried request for an existing approval. */
  refreshTaskToken(ref: ApprovalKey, taskToken: string): Promise<void>;
  /** Replaces the link secret of an approval whose email was never sent. */
  markEmailed(ref: ApprovalKey, linkSecretHash: string, at: string): Promise<void>;
  getApproval(ref: ApprovalKey): Promise<Approval | undefined>;
  listApprovals(incidentId: string, round: number): Promise<Approval[]>;
  /** The task token to resume the workflow with; only use cases that resume call this. */
  getTaskToken(ref: ApprovalKey): Promise<string | undefined>;
  /** Remembers that the workflow was answered for the approval's decision. */
  recordWorkflowAnswer(ref: ApprovalKey, answer: NonNullable<Approval['workflowAnswer']>): Promise<void>;
  /**
   * Moves a PENDING approval to `status`; returns false (and changes nothing) when it is no longer
   * PENDING, so two racing decisions cannot both win.
   */
  settleApproval(
    ref: ApprovalKey,
    status: Exclude<ApprovalStatus, 'PENDING'>,
    fields: Pick<Approval, 'decision' | 'withdrawnReason'>,
  ): Promise<boolean>;
}

export interface ApprovalKey {
  readonly incidentId: string;
  readonly round: number;
  readonly role: Approval['role'];
}

/** The Effect Ledger and Decision Log: append and read, nothing else. */
export interface Ledger {
  /** Appends once per idempotency key; `created` is false when the key was already there. */
  append(
    incidentId: string,
    draft: LedgerEntryDraft,
  ): Promise<{ readonly created: boolean; readonly entry: LedgerEntry }>;
  /** Every entry of the incident, in seq order. */
  read(incidentId: string): Promise<LedgerEntry[]>;
}

/** Where a whole original payload was kept, outside the tables. */
export interface ArchivedPayload {
  /** The object key in the payload bucket. */
  readonly key: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** Whole alert payloads whose values Casebook cut to their bounds, kept outside DynamoDB (S3). */
export interface PayloadArchive {
  /** Stores `body` under a key made of its SHA-256, so keeping it again changes nothing. */
  keep(source: string, body: string): Promise<ArchivedPayload>;
}

/** An email to send. */
export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface Mailer {
  /**
   * Sends one email. Throws DeliveryRejectedError when the provider refused it (nothing sent);
   * any other error leaves it unknown whether the email went out.
   */
  send(message: MailMessage): Promise<{ readonly messageId: string }>;
}

/** The lifecycle state machine. */
export interface Workflow {
  /** Starts the execution `name`; an execution of that name that already exists is not an error. */
  start(name: string, input: Record<string, unknown>): Promise<{ readonly started: boolean }>;
  /** Resumes a waiting task; `false` if the task no longer waits (timed out, cancelled, already resumed). */
  completeTask(taskToken: string, output: Record<string, unknown>): Promise<boolean>;
  failTask(taskToken: string, error: string, cause: string): Promise<boolean>;
  /** Status of the execution `name`, or undefined if there is none. */
  executionStatus(name: string): Promise<ExecutionStatus | undefined>;
}

export type ExecutionStatus =
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'TIMED_OUT'
  | 'ABORTED'
  | 'PENDING_REDRIVE';

export interface Clock {
  now(): Date;
}
