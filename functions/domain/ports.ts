/**
 * The ports the use cases talk to. Adapters in `functions/adapters/` implement them over
 * DynamoDB, SES and Step Functions. Tests use the same adapters, not in-memory stand-ins: the
 * DynamoDB ones against dynalite, the SES and Step Functions ones over clients mocked with
 * aws-sdk-client-mock (or, end to end, against the local stack's emulators); only the Clock is
 * replaced, by a test clock.
 */

import type { AnchorDigest, SignedAnchor, StoredAnchor } from './anchor.ts';
import type { Approval, ApprovalStatus, BackupRequest, SeatName } from './approval.ts';
import type { AttentionReason, EffectQuestion, EffectRecord } from './effects.ts';
import type { Incident, TimelineEvent } from './incident.ts';
import type { LedgerEntry, LedgerEntryDraft, LedgerHead } from './ledger.ts';
import type { Customer, PlannedEffect } from './plan.ts';
import type { LinkRevocation, WorkLink } from './work-link.ts';
import type { SubmittedPostmortem } from './workroom.ts';

/** Incidents, their correlation keys and timelines (the operational table). */
export interface IncidentStore {
  /**
   * The highest incident number of `year` recorded as taken (0 if none). A number is taken by
   * writing its incident; this is a hint that can lag behind, never a reservation.
   */
  lastIncidentNumber(year: number): Promise<number>;
  /**
   * {@link IncidentStore.lastIncidentNumber} and what holds `correlationKey`, read in one request:
   * an instance that must read the counter learns the key's holder at no extra cost.
   */
  lastIncidentNumberAndKey(
    year: number,
    correlationKey: string,
  ): Promise<{ readonly last: number; readonly held?: Correlation }>;
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
    at?: string,
    links?: Pick<Correlation, 'cross' | 'owner'>,
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
  /**
   * One write for a notification about a correlation key: counts it as a repeat, adds its
   * occurrences (and those it reports resolved), and answers what the key held before — only while
   * the key's incident is open and the key remembers fewer than `LIMITS.occurrencesKept`
   * occurrences. With `proposed`, a key nobody holds is claimed for that incident id (the answer
   * is then `{ claimed: true }`). Refused when the key is held but not open (its incident is
   * closed, or it was claimed before keys carried the flag), over its bound, or (a cross-source
   * key) held by the claimer's own source: the caller takes the long way. A refused claim of a
   * cross-source key answers who held it, so that nobody reads it again to learn that.
   */
  noteSignal(signal: CorrelationSignal): Promise<SignalNoted | SignalRefused>;
  /**
   * Points a key this delivery claimed at another incident id, only while it still names `from`;
   * with `via`, the key joins another source's incident through that cross-source key (and is
   * added to the cross-source key's joined keys).
   */
  moveClaim(correlationKey: string, from: string, to: string, via?: string): Promise<boolean>;
  /**
   * Marks, on a key held by `incidentId`, that its lifecycle was started (Detect ran), that the
   * delivery opening it gave up starting it (so the next delivery starts it at once, not after
   * the opener's grace), that its incident ended (closed or cancelled: no longer open), or that a
   * key claimed before keys carried these marks belongs to an open, started incident.
   */
  markCorrelation(
    correlationKey: string,
    incidentId: string,
    mark: 'started' | 'start-failed' | 'ended' | 'adopted',
  ): Promise<void>;
  /** Writes a new incident unless one with its id exists; true when this call wrote it. */
  createIncident(incident: Incident): Promise<boolean>;
  getIncident(id: string): Promise<Incident | undefined>;
  /**
   * Sets the fields of `change` (`undefined` removes one) on the incident the caller read as
   * `read`, and returns the incident as the caller now knows it (`read` with `change`). Only those
   * fields are written: what another writer changed meanwhile stays. Throws ConcurrentChangeError when
   * another writer changed one of those same fields since `read` (to something other than what
   * `change` sets), so no writer silently undoes another's change; `updatedAt` is not guarded.
   */
  updateIncident(read: Incident, change: IncidentChange): Promise<Incident>;
  /** Newest first. */
  listIncidents(
    limit: number,
    cursor?: string,
  ): Promise<{ readonly items: Incident[]; readonly cursor?: string }>;
  /** Records a timeline event once per key. */
  /** Records the event unless one with its key is there; true when this call recorded it. */
  addTimelineEvent(incidentId: string, event: TimelineEvent): Promise<boolean>;
  /** In time order. */
  listTimeline(incidentId: string): Promise<TimelineEvent[]>;
}

/** The fields of an incident that change after it is opened: all but its id and creation time. */
export type IncidentChange = Partial<Omit<Incident, 'id' | 'detectedAt'>>;

/** Which incident a correlation key points at, and which alert occurrences it has absorbed. */
export interface Correlation {
  readonly incidentId: string;
  readonly occurrences: readonly string[];
  /** Set while its incident is open; keys claimed before the flag existed have none. */
  readonly open?: boolean;
  /** The occurrences a source has reported resolved. */
  readonly resolved?: readonly string[];
  /** Notifications noted on the key by the short way, the one that claimed it included. */
  readonly repeats?: number;
  /** The status the last notification reported. */
  readonly status?: 'firing' | 'resolved';
  /** When the key was claimed for its incident; removed when the opener gave up starting it. */
  readonly claimedAt?: string;
  /** Set by the lifecycle's Detect step: the incident's execution is running. */
  readonly started?: boolean;
  /** On a source's own key: the cross-source key claimed with it. */
  readonly cross?: string;
  /** On a cross-source key: the own key of the delivery that claimed it (whose incident it names). */
  readonly owner?: string;
  /** On a cross-source key: the other sources' own keys that joined its incident. */
  readonly joined?: readonly string[];
  /** On a source's own key that joined another source's incident: the cross-source key it joined by. */
  readonly via?: string;
}

/** A notification as {@link IncidentStore.noteSignal} records it on its correlation key. */
export interface CorrelationSignal {
  readonly correlationKey: string;
  readonly occurrences: readonly string[];
  /** Occurrences the notification reports resolved (a subset of `occurrences`). */
  readonly resolved: readonly string[];
  readonly status: 'firing' | 'resolved';
  readonly at: string;
  /** The incident id to claim a free key for; absent when this notification may not open one. */
  readonly proposed?: string;
  /** Recorded on a key this write claims: `cross` on a source's own key, `owner` on a cross-source key. */
  readonly claim?: { readonly cross?: string; readonly owner?: string };
}

export type SignalNoted =
  | { readonly claimed: true }
  | { readonly claimed: false; readonly before: Correlation };

/**
 * A notification {@link IncidentStore.noteSignal} could not note. `held`, on a refused claim, is
 * the key as it stood; undefined when the store could not say (read the key to know).
 */
export interface SignalRefused {
  readonly refused: true;
  readonly held?: Pick<Correlation, 'incidentId' | 'open'>;
}

/**
 * Requests to approve a plan (the operational table). They hold no task token: the round's one
 * wait keeps its token in the {@link WaitStore}, found by incident and step.
 */
export interface ApprovalStore {
  /** Creates the request, or returns the one already there for the same incident, round and role. */
  createApproval(approval: Approval): Promise<{ readonly created: boolean; readonly approval: Approval }>;
  /**
   * Records that a seat's link was e-mailed (the primary's, or the backup's once asked), with the
   * hash of the secret it carries: the secret just e-mailed is the one that counts.
   */
  markEmailed(ref: ApprovalKey, seat: SeatName, linkSecretHash: string, at: string): Promise<void>;
  /**
   * Asks the backup on a request that is still PENDING and has none yet; answers the request as it
   * now stands (with the backup asked earlier, if one was), or undefined when there is no request.
   */
  askBackup(ref: ApprovalKey, backup: BackupRequest): Promise<Approval | undefined>;
  getApproval(ref: ApprovalKey): Promise<Approval | undefined>;
  listApprovals(incidentId: string, round: number): Promise<Approval[]>;
  /**
   * Moves a PENDING request to `status`; returns false (and changes nothing) when it is no longer
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

/** A page of a long list, and the cursor of the next one. */
export interface Page<T> {
  readonly items: T[];
  readonly cursor?: string;
}

/**
 * Affected customers and the effects of each plan version (the operational table): one item per
 * customer and per effect, so a plan for ten thousand customers is as easy to hold as one for three.
 */
export interface EffectStore {
  /**
   * Writes the customers of a list version under its version id (`<n>-<ULID>`, unique to the
   * request; a customer already there is left as it is). Readers read through the id the
   * incident names.
   */
  putCustomers(incidentId: string, listVersionId: string, customers: readonly Customer[]): Promise<void>;
  listCustomers(
    incidentId: string,
    listVersionId: string,
    cursor?: string,
    limit?: number,
  ): Promise<Page<Customer>>;
  getCustomer(incidentId: string, listVersionId: string, customerRef: string): Promise<Customer | undefined>;
  /**
   * Writes a plan version's effects under its version id (progress `planned`, attempt 1); an
   * effect already there is left as it is.
   */
  putEffects(incidentId: string, planVersionId: string, effects: readonly PlannedEffect[]): Promise<void>;
  /** A plan version's effects in effect id order, a page at a time. */
  listEffects(
    incidentId: string,
    planVersionId: string,
    cursor?: string,
    limit?: number,
  ): Promise<Page<EffectRecord>>;
  getEffect(incidentId: string, planVersionId: string, effectId: string): Promise<EffectRecord | undefined>;
  /**
   * Moves an effect on if it still stands where `from` says; false (and nothing changed) when
   * another run moved it first. Fields set to `undefined` are removed.
   */
  advanceEffect(
    incidentId: string,
    planVersionId: string,
    effectId: string,
    from: Pick<EffectRecord, 'progress' | 'attempt'>,
    change: Partial<Omit<EffectRecord, keyof PlannedEffect>>,
  ): Promise<boolean>;
}

/**
 * What the mail service's log knows about the messages it took to `to` with `subject`, and since
 * when it knows (a log that forgets, as the local emulator's in-memory store does on a restart,
 * shows nothing from before `since`); undefined where it cannot tell (SES on AWS keeps no such
 * log unless event publishing is set up).
 */
export interface SentMailLog {
  find(to: string, subject: string): Promise<SentMailRecord | undefined>;
}

/** What a {@link SentMailLog} found: the messages, and the start of what the log remembers. */
export interface SentMailRecord {
  readonly since: string;
  readonly messages: readonly { readonly messageId: string; readonly at: string }[];
}

/** Questions to people about effects Act could not settle by itself (the operational table). */
export interface QuestionStore {
  /** Writes the question unless one for the same effect and attempt exists; true when written. */
  createQuestion(question: EffectQuestion): Promise<boolean>;
  getQuestion(incidentId: string, effectId: string, attempt: number): Promise<EffectQuestion | undefined>;
  /** Replaces the link hashes of a question whose e-mails never went out. */
  replaceLinks(question: EffectQuestion): Promise<void>;
  markEmailed(incidentId: string, effectId: string, attempt: number, at: string): Promise<void>;
  /** Records the answer unless the question was answered already; false when it was. */
  answerQuestion(
    incidentId: string,
    effectId: string,
    attempt: number,
    answered: NonNullable<EffectQuestion['answered']>,
  ): Promise<boolean>;
  /** Questions of the incident nobody has answered yet. */
  openQuestions(incidentId: string): Promise<EffectQuestion[]>;
}

/**
 * Where a waiting step of the state machine keeps its task token, by incident and step, so that
 * whoever settles the wait finds it on the server; the token never leaves.
 */
export interface WaitStore {
  holdWait(incidentId: string, step: string, taskToken: string, since: string): Promise<void>;
  /** The token of the step's current wait, if it waits; reading it does not end the wait. */
  waitingToken(incidentId: string, step: string): Promise<string | undefined>;
  /** Ends the wait if `taskToken` is still its token (a newer wait is left alone). */
  releaseWait(incidentId: string, step: string, taskToken: string): Promise<void>;
}

/** People's links to incidents' workrooms (the operational table; only the secrets' hashes). */
export interface WorkLinkStore {
  /** Writes the link unless the person has one; false when they have (it stays as it is). */
  putWorkLink(link: WorkLink): Promise<boolean>;
  getWorkLink(incidentId: string, person: string): Promise<WorkLink | undefined>;
  markWorkLinkEmailed(incidentId: string, person: string, at: string): Promise<void>;
  /**
   * Adds a further secret's hash to `link` as it was read; false when the link changed since
   * (reissued, revoked, another secret added), expired by `now`, or holds as many as it may
   * (`MORE_SECRETS_KEPT`).
   */
  addWorkLinkSecret(
    link: Pick<WorkLink, 'incidentId' | 'person' | 'secretHash' | 'moreSecrets'>,
    secretHash: string,
    now: string,
  ): Promise<boolean>;
  /**
   * Writes a reissued link over the one whose secret hash is `previousHash`; false when the link
   * changed meanwhile (another reissue won).
   */
  replaceWorkLink(link: WorkLink, previousHash: string): Promise<boolean>;
  /** Marks the link revoked; false when there is no such link. */
  revokeWorkLink(incidentId: string, person: string, revocation: LinkRevocation): Promise<boolean>;
}

/**
 * Who was told a piece of news about an incident (by person key, see `personKey`): each mark
 * written once their e-mail was accepted, so a retried step tells only the others.
 */
export interface ToldMarks {
  /** The person keys marked for the news `news` of the incident. */
  toldOf(incidentId: string, news: string): Promise<string[]>;
  markTold(incidentId: string, news: string, person: string, at: string): Promise<void>;
}

/** Postmortems, one per incident, kept beside it (they are long: not on the incident's item). */
export interface PostmortemStore {
  /** Writes the postmortem unless one is there; true when this call wrote it. */
  putPostmortem(incidentId: string, postmortem: SubmittedPostmortem): Promise<boolean>;
  getPostmortem(incidentId: string): Promise<SubmittedPostmortem | undefined>;
}

/** The Effect Ledger and Decision Log: append and read, nothing else. */
export interface Ledger {
  /**
   * Appends once per idempotency key; `created` is false when the key was already there. Concurrent
   * calls for one incident may share one commit (one batch item).
   */
  append(
    incidentId: string,
    draft: LedgerEntryDraft,
    options?: AppendOptions,
  ): Promise<{ readonly created: boolean; readonly entry: LedgerEntry }>;
  /** Every entry of the incident, both formats, in log order (`seq` = its 1-based place). */
  read(incidentId: string): Promise<LedgerEntry[]>;
  /**
   * The seq and hash of the incident's last chain item, the log's size and, once it is in format 3,
   * its signed head; undefined when it has none.
   */
  readHead(incidentId: string): Promise<LedgerHead | undefined>;
  /**
   * One page of the incident's entries, newest first (both logs), and the cursor of the next
   * (older) page: what a page shows without reading the whole ledger.
   */
  readPage(incidentId: string, page: LedgerPageRequest): Promise<Page<LedgerEntry>>;
}

export interface AppendOptions {
  /**
   * The caller just created the incident, so its log is most likely empty: append at the genesis
   * head without reading it first (a wrong guess costs a failed write and a read, never an entry).
   */
  readonly newLog?: boolean;
}

/** Which page of a ledger to read: at most `limit` entries, older than the `cursor` a page gave. */
export interface LedgerPageRequest {
  readonly limit: number;
  readonly cursor?: string;
}

/**
 * Where anchors are kept, out of reach of the table's writers (S3 with Object Lock): the signed
 * anchors, and the format 1 digests older tables have.
 */
export interface AnchorStore {
  /** Puts anchor `anchor.number` under its key; throws AnchorTakenError if one is there. */
  put(anchor: SignedAnchor): Promise<{ readonly key: string }>;
  /** The keys of the signed anchors, in order. */
  keys(): Promise<string[]>;
  /** The object at `key`, read as an anchor (or named unreadable). */
  get(key: string): Promise<StoredAnchor>;
  /** Every object under the anchors' prefix, in key order, read as anchors. */
  all(onProgress?: (done: number, total: number) => void): Promise<StoredAnchor[]>;
  /** Every format 1 digest (older tables), by key, in key order. */
  digests(): Promise<ReadonlyMap<string, AnchorDigest>>;
}

/**
 * Marks of which incidents' logs changed in which window: a commit marks its incident (once per
 * window per writer), an anchor reads the windows since the one before it.
 */
export interface ChangeMarks {
  /** Records that `incidentId`'s log changes now (before the commit, so no commit goes unmarked). */
  markChanged(incidentId: string): Promise<void>;
  /** The incidents marked in `window`. */
  changedIn(window: number): Promise<string[]>;
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

/**
 * Asks the responders about an effect that waits for a person (the effects' question path); asking
 * again changes nothing, except that an answer on record a failed request left undone is carried
 * out. Answers the effect as it then stands.
 */
export type AskAboutEffect = (
  incident: Incident,
  effect: EffectRecord,
  reason: AttentionReason,
  detail: string,
) => Promise<EffectRecord | undefined>;

export interface Clock {
  now(): Date;
}
