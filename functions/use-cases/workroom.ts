/**
 * Use cases behind a person's workroom link: seeing the case (GET, which changes nothing) and
 * taking an action (POST).
 *
 * Primary course (act):
 *  1. Check the link: unknown or forged → 404, expired → 410.
 *  2. Check the action against the incident: closed or cancelled, or a phase that does not allow
 *     it → 409 (saying which phase does); a role that may not take it → 403; fields that are wrong
 *     → 400 naming them. Nothing is written on any of these.
 *  3. Work out what it changes (the casework rules, `functions/domain/casework.ts`), acknowledging
 *     the incident first if nobody has.
 *  4. Write what it carries (the customer list, the plan's effects, the postmortem), then the
 *     incident in one conditional write together with the Decision Log or Effect Ledger entry and
 *     the timeline events it owes, then those (a failure between leaves them on the incident,
 *     and the next action delivers them before anything else).
 *  5. Tell the state machine's current wait, found on the server by incident and step: settled,
 *     deadline moved (the wait is entered again with the new deadline), or cancelled.
 */

import { zodIssues } from '../domain/alert.ts';
import type { Approval } from '../domain/approval.ts';
import type { ActionOutcome, Ask, CaseMetrics, Person } from '../domain/casework.ts';
import {
  acknowledgement,
  applied,
  caseMetrics,
  combine,
  incidentDeadlines,
  takeAction,
  WAIT_OF_PHASE,
  whatIsAsked,
} from '../domain/casework.ts';
import { parseCustomersCsv, parseCustomersJson } from '../domain/customers.ts';
import type { Deadline, DeadlinePolicy } from '../domain/deadlines.ts';
import {
  ConcurrentChangeError,
  ConflictError,
  ERROR_NAMES,
  ForbiddenError,
  GoneError,
  InvalidInputError,
  NotFoundError,
} from '../domain/errors.ts';
import type { Incident, PendingRecords, PlanInputRecord, TimelineEvent } from '../domain/incident.ts';
import type { LedgerEntry } from '../domain/ledger.ts';
import type { Customer, RemediationPlan } from '../domain/plan.ts';
import { PlanRuleError, versionIdOf } from '../domain/plan.ts';
import type {
  ApprovalStore,
  Clock,
  EffectStore,
  IncidentStore,
  Ledger,
  Mailer,
  MailMessage,
  PostmortemStore,
  QuestionStore,
  WaitStore,
  Workflow,
  WorkLinkStore,
} from '../domain/ports.ts';
import type { WorkLink } from '../domain/work-link.ts';
import { linkStanding, parseWorkLinkId, personKey } from '../domain/work-link.ts';
import type { ActionFields, SubmittedPostmortem, WorkAction, WorkRole } from '../domain/workroom.ts';
import { allowedActions, isWorkAction, refusal, WORK_ACTIONS } from '../domain/workroom.ts';
import { changeWorkLink } from './change-work-link.ts';
import { withdrawPending } from './enter-phase.ts';
import { endWait, isSettled, settledEnding } from './hold-for-people.ts';
import type { People } from './invite-people.ts';
import { roster } from './invite-people.ts';
import { noticePreview } from './notice-samples.ts';
import { planProposedEvent, proposePlanVersion, writeCustomerList } from './propose-plan.ts';
import { retryOnConflict } from './retry-on-conflict.ts';

export interface WorkroomDeps {
  readonly incidents: IncidentStore;
  readonly links: WorkLinkStore;
  readonly postmortems: PostmortemStore;
  readonly effects: EffectStore;
  readonly approvals: ApprovalStore;
  readonly ledger: Ledger;
  readonly waits: WaitStore;
  readonly questions: Pick<QuestionStore, 'openQuestions'>;
  readonly workflow: Workflow;
  /** The customer's pseudonym (`cp_…`), as the ledger names them. */
  readonly pseudonym: (customerRef: string) => Promise<string>;
  readonly people: People;
  /** Sends a reissued link to its person: the invitations' mailer. */
  readonly mailer: Mailer;
  /**
   * Where links point (the public API's base URL); absent, the handler gives the one the request
   * came in on.
   */
  readonly publicBaseUrl?: string;
  readonly policy: DeadlinePolicy;
  readonly clock: Clock;
}

/** Customers shown per page of the workroom. */
export const CUSTOMERS_PER_PAGE = 50;
/** Ledger entries per page of the workroom (newest first); the whole ledger is on the case API. */
export const LEDGER_PER_PAGE = 20;

/** Where the effects of one kind stand, as the workroom sums them up. */
export interface EffectSummary {
  readonly kind: string;
  readonly total: number;
  readonly confirmed: number;
  /** Planned, or on their way (intent recorded, a refund pending). */
  readonly pending: number;
  /** Waiting for a person: in doubt, refused, or to be done by hand. */
  readonly attention: number;
  readonly voided: number;
}

/** One ledger entry as the workroom lists it: with its customer's reference when it names one. */
export type LedgerRow = LedgerEntry & { readonly customerRef?: string };

/** Everything the workroom shows one person. */
export interface WorkroomView {
  readonly person: Person;
  readonly incident: Incident;
  readonly asked: Ask;
  readonly deadlines: readonly (Deadline & { readonly missed: boolean })[];
  readonly metrics: CaseMetrics;
  /** Newest first. */
  readonly timeline: readonly TimelineEvent[];
  /** A page of the current customer list, and the cursor of the next. */
  readonly customers: { readonly items: readonly Customer[]; readonly cursor?: string };
  readonly approvals: readonly (Omit<Approval, 'linkSecretHash' | 'backup'> & {
    readonly backup?: Omit<NonNullable<Approval['backup']>, 'linkSecretHash'>;
  })[];
  /**
   * The ledger: how many entries, the effects summed up per kind from their progress (as Act last
   * counted them; before Act, the approved plan's), and one page of entries, newest first.
   */
  readonly ledger: {
    readonly count: number;
    readonly summary: readonly EffectSummary[];
    readonly summaryAt?: string;
    readonly page: readonly LedgerRow[];
    readonly cursor?: string;
  };
  readonly postmortem?: SubmittedPostmortem;
  /** What this person may do now. */
  readonly actions: readonly WorkAction[];
  /** The incident's people and the state of their links: the SRE lead's to reissue or revoke. */
  readonly people?: readonly PersonLink[];
  /** The plan's notices as its first customers get them, exactly as Act would send them. */
  readonly notices?: readonly MailMessage[];
  readonly now: string;
}

/** One person's workroom link as the SRE lead sees it. */
export interface PersonLink {
  readonly email: string;
  readonly role: WorkRole;
  /** Absent while the person has no link yet (the invitation is on its way). */
  readonly issuedAt?: string;
  readonly expiresAt?: string;
  readonly emailedAt?: string;
  readonly revokedAt?: string;
}

/** What an action's request carries: JSON (forms are turned into it) or a CSV customer list. */
export type ActionBody = { readonly json: unknown } | { readonly csv: string };

async function authorize(
  deps: Pick<WorkroomDeps, 'links' | 'clock'>,
  linkId: string,
): Promise<{ link: WorkLink; person: Person }> {
  const ref = parseWorkLinkId(linkId);
  const link = ref ? await deps.links.getWorkLink(ref.incidentId, ref.person) : undefined;
  // One answer for malformed, unknown and forged links: nothing says which part was wrong. A
  // secret that was this link's once (reissued since), a revoked or an expired link says so.
  const standing = ref ? linkStanding(link, ref.secret, deps.clock.now()) : undefined;
  if (!ref || !link || !standing || standing.status === 404) throw new NotFoundError('No such workroom link');
  if (standing.status === 410) throw new GoneError(standing.message);
  return { link, person: { email: link.email, role: link.role } };
}

/** The state of each person's link, for the SRE lead (never a secret or its hash). */
async function linksOfPeople(deps: WorkroomDeps, incidentId: string): Promise<PersonLink[]> {
  return Promise.all(
    roster(deps.people).map(async ({ email, role }) => {
      const link = await deps.links.getWorkLink(incidentId, personKey(incidentId, email));
      return {
        email,
        role,
        ...(link
          ? {
              issuedAt: link.issuedAt,
              expiresAt: link.expiresAt,
              ...(link.emailedAt ? { emailedAt: link.emailedAt } : {}),
              ...(link.revoked ? { revokedAt: link.revoked.at } : {}),
            }
          : {}),
      };
    }),
  );
}

/** The workroom as one person sees it. Reads only, and as much whatever the incident's size. */
export async function viewWorkroom(
  deps: WorkroomDeps,
  linkId: string,
  options: { readonly customersCursor?: string; readonly ledgerCursor?: string } = {},
): Promise<WorkroomView> {
  const { link, person } = await authorize(deps, linkId);
  const incident = await deps.incidents.getIncident(link.incidentId);
  if (!incident) throw new NotFoundError('No such workroom link');
  const list = incident.customerList;
  const [timeline, head, page, customers, approvals, postmortem, people, notices] = await Promise.all([
    deps.incidents.listTimeline(incident.id),
    deps.ledger.readHead(incident.id),
    deps.ledger.readPage(incident.id, {
      limit: LEDGER_PER_PAGE,
      ...(options.ledgerCursor ? { cursor: options.ledgerCursor } : {}),
    }),
    list
      ? deps.effects.listCustomers(
          incident.id,
          versionIdOf(list),
          options.customersCursor,
          CUSTOMERS_PER_PAGE,
        )
      : Promise.resolve({ items: [] as Customer[] }),
    incident.decideRound > 0
      ? deps.approvals.listApprovals(incident.id, incident.decideRound)
      : Promise.resolve([]),
    incident.postmortemAt ? deps.postmortems.getPostmortem(incident.id) : Promise.resolve(undefined),
    person.role === 'sre_lead' ? linksOfPeople(deps, incident.id) : Promise.resolve(undefined),
    noticePreview(deps, incident),
  ]);
  const now = deps.clock.now();
  const all = incidentDeadlines(incident, deps.policy);
  const progress =
    incident.effectProgress?.planVersion === incident.plan?.version ? incident.effectProgress : undefined;
  return {
    person,
    incident,
    asked: whatIsAsked(incident, person.role, all),
    deadlines: all.map((d) => ({ ...d, missed: !d.metAt && Date.parse(d.due) <= now.getTime() })),
    metrics: caseMetrics(incident),
    timeline: [...timeline].reverse(),
    customers,
    // Neither the link's hash nor the approver's client address is the responders' business.
    approvals: approvals.map(({ linkSecretHash: _, backup, decision, ...a }) => ({
      ...a,
      ...(backup ? { backup: withoutSecretHash(backup) } : {}),
      ...(decision ? { decision: withoutClient(decision) } : {}),
    })),
    ledger: {
      count: head?.size ?? 0,
      summary: effectSummary(incident, progress),
      ...(progress ? { summaryAt: progress.at } : {}),
      page: await withCustomerRefs(deps, incident, page.items),
      ...(page.cursor ? { cursor: page.cursor } : {}),
    },
    ...(postmortem ? { postmortem } : {}),
    // Acknowledge is offered until someone leads; posting it again changes nothing.
    actions: isFinal(incident)
      ? []
      : allowedActions(person.role, incident.phase).filter((a) => a !== 'acknowledge' || !incident.commander),
    ...(people ? { people } : {}),
    ...(notices.length > 0 ? { notices } : {}),
    now: now.toISOString(),
  };
}

/**
 * The effects per kind: as Act last counted them, or, before Act has run, every effect of the
 * approved plan still planned. Notices and other effects without money count like the rest.
 */
export function effectSummary(incident: Incident, progress: Incident['effectProgress']): EffectSummary[] {
  const rows = new Map<string, { -readonly [K in keyof EffectSummary]: EffectSummary[K] }>();
  const row = (kind: string) => {
    const found = rows.get(kind) ?? { kind, total: 0, confirmed: 0, pending: 0, attention: 0, voided: 0 };
    rows.set(kind, found);
    return found;
  };
  if (progress) {
    for (const { kind, progress: where, count } of progress.rows) {
      const r = row(kind);
      r.total += count;
      if (where === 'confirmed') r.confirmed += count;
      else if (where === 'attention') r.attention += count;
      else if (where === 'voided') r.voided += count;
      else r.pending += count;
    }
  } else if (incident.plan && ['Act', 'Learn'].includes(incident.phase)) {
    for (const total of incident.plan.totals) {
      const r = row(total.kind);
      r.total += total.count;
      r.pending += total.count;
    }
  }
  return [...rows.values()];
}

/** Names the customer of each entry of the current plan (entries name the pseudonym alone). */
async function withCustomerRefs(
  deps: Pick<WorkroomDeps, 'effects'>,
  incident: Incident,
  entries: readonly LedgerEntry[],
): Promise<LedgerRow[]> {
  const plan = incident.plan;
  return Promise.all(
    entries.map(async (entry) => {
      const effectId = 'effectId' in entry ? entry.effectId : undefined;
      if (!plan || !effectId?.startsWith(`P${plan.version}-`)) return entry;
      const effect = await deps.effects.getEffect(incident.id, versionIdOf(plan), effectId);
      return effect ? { ...entry, customerRef: effect.customerRef } : entry;
    }),
  );
}

function withoutSecretHash({
  linkSecretHash: _,
  ...backup
}: NonNullable<Approval['backup']>): Omit<NonNullable<Approval['backup']>, 'linkSecretHash'> {
  return backup;
}

function withoutClient({
  client: _,
  ...decision
}: NonNullable<Approval['decision']>): Omit<NonNullable<Approval['decision']>, 'client'> {
  return decision;
}

function isFinal(incident: Incident): boolean {
  return incident.status === 'CLOSED' || incident.status === 'CANCELLED';
}

export interface ActResult {
  readonly incident: Incident;
  readonly action: WorkAction;
  /** Whether the state machine's wait heard of it (false when it was not waiting on this). */
  readonly resumedWorkflow: boolean;
}

/** Takes `action` for the link's person. */
export async function act(
  deps: WorkroomDeps,
  linkId: string,
  action: string,
  body: ActionBody,
): Promise<ActResult> {
  // 1.
  const { link, person } = await authorize(deps, linkId);
  if (!isWorkAction(action)) {
    throw new NotFoundError(
      `No action ${action}; the workroom's actions are ${Object.keys(WORK_ACTIONS).join(', ')}`,
    );
  }
  // Two people acting at once: the one whose write found the incident changed reads it again.
  return retryOnConflict(() => actOn(deps, link.incidentId, person, action, body));
}

async function actOn(
  deps: WorkroomDeps,
  incidentId: string,
  person: Person,
  action: WorkAction,
  body: ActionBody,
): Promise<ActResult> {
  const read = await deps.incidents.getIncident(incidentId);
  if (!read) throw new NotFoundError('No such workroom link');
  const incident = await deliverPending(deps, read);

  // 2.
  if (isFinal(incident)) {
    throw new ConflictError(`${incident.id} is ${incident.status}; nothing more can be recorded on it`);
  }
  const refused = refusal(action, person.role, incident.phase);
  if (refused?.status === 403) throw new ForbiddenError(refused.message);
  if (refused) throw new ConflictError(refused.message);
  const now = deps.clock.now().toISOString();

  // 3. and 4.
  const outcome = await carryOut(deps, incident, person, action, body, now);
  const after = await record(deps, incident, outcome);

  // The link changes once its decision is on record: a failure after leaves the Decision Log
  // saying more than happened, never less.
  if (outcome.link) {
    const { publicBaseUrl } = deps;
    if (!publicBaseUrl) throw new Error('No base URL to build a workroom link on');
    await changeWorkLink({ ...deps, publicBaseUrl }, after, outcome.link, person);
  }

  // 5.
  const resumedWorkflow = outcome.wake ? await wake(deps, after, outcome.wake, person) : false;
  return { incident: after, action, resumedWorkflow };
}

/** Steps 3 and 4 for one action: its outcome, with what it carries already written. */
async function carryOut(
  deps: WorkroomDeps,
  incident: Incident,
  person: Person,
  action: WorkAction,
  body: ActionBody,
  now: string,
): Promise<ActionOutcome> {
  if (action === 'customers') {
    const customers = 'csv' in body ? parseCustomersCsv(body.csv) : parseCustomersJson(body.json);
    // The list is written under its new version; the incident points at it once `record` writes it.
    const customerList = await writeCustomerList(deps, incident, customers);
    return combine(acknowledgement(incident, person, now), {
      change: { customerList },
      events: [
        {
          key: `customers:${customerList.version}`,
          at: now,
          world: 'RML3',
          type: 'customers_listed',
          phase: incident.phase,
          summary: `${person.email} listed ${customers.length} affected customer${customers.length === 1 ? '' : 's'} (list v${customerList.version})`,
          detail: {
            by: person.email,
            version: customerList.version,
            count: customers.length,
            totals: (customerList.totals ?? []).map((t) => ({ ...t })),
          },
        },
      ],
    });
  }
  const fields = parseFields(action, 'json' in body ? body.json : undefined);
  if (action === 'plan') {
    const ack = acknowledgement(incident, person, now);
    const { plan, input } = await writePlan(deps, applied(incident, ack), fields as PlanFields, person.email);
    return combine(ack, {
      change: { plan, planInput: input, planSubmitted: undefined },
      events: [planProposedEvent(plan)],
    });
  }
  const outcome = takeAction(
    incident,
    person,
    action,
    fields as never,
    now,
    roster(deps.people).map((p) => p.email),
  );
  if (action === 'postmortem') {
    // The incident says whether it is in (takeAction refused it above if so). One already on file
    // is an earlier attempt whose incident write never happened (a throttle, a kill): it stays as
    // written, and this attempt records it, or nobody could and Learn would wait for ever.
    await deps.postmortems.putPostmortem(incident.id, {
      ...(fields as ActionFields<'postmortem'>),
      by: person.email,
      at: now,
    });
  }
  return outcome;
}

type PlanFields = ActionFields<'plan'>;

function parseFields(action: WorkAction, json: unknown): unknown {
  const parsed = WORK_ACTIONS[action].schema.safeParse(json ?? {});
  if (!parsed.success) throw new InvalidInputError(zodIssues(parsed.error));
  return parsed.data;
}

/** The plan's effects written under its new version; the plan itself is saved with the incident. */
async function writePlan(
  deps: WorkroomDeps,
  incident: Incident,
  fields: PlanFields,
  by: string,
): Promise<{ readonly plan: RemediationPlan; readonly input: PlanInputRecord }> {
  try {
    return await proposePlanVersion(deps, incident, fields, by);
  } catch (error) {
    if (error instanceof PlanRuleError)
      throw new InvalidInputError({
        field: error.field,
        message: error.message.slice(error.field.length + 2),
      });
    throw error;
  }
}

/**
 * Step 4: the incident's change and the records it owes the logs and the timeline, in one
 * conditional write; then those records. A failure after the write loses nothing: the records
 * wait on the incident for the next action to deliver.
 */
async function record(deps: WorkroomDeps, incident: Incident, outcome: ActionOutcome): Promise<Incident> {
  const owed: PendingRecords = {
    ...(outcome.decision ? { decision: outcome.decision } : {}),
    ...(outcome.effect ? { effect: outcome.effect } : {}),
    events: outcome.events,
  };
  const owes = owed.decision !== undefined || owed.effect !== undefined || owed.events.length > 0;
  if (Object.keys(outcome.change).length === 0 && !owes) return incident;
  const after = await deps.incidents.updateIncident(incident, {
    ...outcome.change,
    ...(owes ? { pendingRecords: owed } : {}),
    updatedAt: deps.clock.now().toISOString(),
  });
  return deliverPending(deps, after);
}

/**
 * Writes the records an action left on the incident (each keyed: writing one twice changes
 * nothing), then clears them — unless another action replaced them meanwhile, whose own
 * delivery then follows.
 */
async function deliverPending(deps: WorkroomDeps, incident: Incident): Promise<Incident> {
  const owed = incident.pendingRecords;
  if (!owed) return incident;
  for (const draft of [owed.decision, owed.effect]) {
    if (draft) await deps.ledger.append(incident.id, draft);
  }
  for (const event of owed.events) await deps.incidents.addTimelineEvent(incident.id, event);
  try {
    return await deps.incidents.updateIncident(incident, { pendingRecords: undefined });
  } catch (error) {
    if (error instanceof ConcurrentChangeError) return incident;
    throw error;
  }
}

/** Step 5: tells the current wait; true when the state machine was waiting on it and heard. */
async function wake(
  deps: WorkroomDeps,
  incident: Incident,
  wake: NonNullable<ActionOutcome['wake']>,
  person: Person,
): Promise<boolean> {
  const step = WAIT_OF_PHASE[incident.phase];
  if (!step) return false;
  if (wake === 'settled') {
    return (
      (await isSettled(deps, incident, step)) &&
      endWait(
        deps,
        incident.id,
        step,
        settledEnding(incident, step, { settledBy: person.email, at: incident.updatedAt }),
      )
    );
  }
  const error = wake === 'cancelled' ? ERROR_NAMES.cancelled : ERROR_NAMES.deadlineMoved;
  const cause = wake === 'cancelled' ? `Cancelled by ${person.email}` : `Deadlines moved by ${person.email}`;
  // A cancelled incident's approval requests close, so their pages say so.
  if (wake === 'cancelled')
    await withdrawPending(deps, incident, `The incident was cancelled by ${person.email}.`);
  return endWait(deps, incident.id, step, { error, cause });
}
