/**
 * What each workroom action does to an incident (seed 004's statuses and severity changes, seed
 * 000's impact axes, seed 001's decisions): pure functions from the incident as read, the person
 * and the action's fields to what changes — the fields to write, the timeline events, the entry
 * for the Decision Log or the Effect Ledger, and what the state machine's current wait must hear.
 * The use case writes these; nothing here touches a store.
 */
import { describeRule } from './approval-policy.ts';
import type { Deadline, DeadlineRules } from './deadlines.ts';
import { DEFAULT_DEADLINE_POLICY, deadlines, impactSize } from './deadlines.ts';
import { ConflictError, InvalidInputError } from './errors.ts';
import type { Incident, TimelineEvent } from './incident.ts';
import { statusChanged } from './incident.ts';
import type { LedgerEntryDraft } from './ledger.ts';
import type { IncidentChange } from './ports.ts';
import type { Status } from './vocabulary.ts';
import { PHASE_WORLD } from './vocabulary.ts';
import type { WaitStep } from './waits.ts';
import type { ActionFields, LinkAction, WorkAction, WorkRole } from './workroom.ts';
import { LINK_ACTIONS } from './workroom.ts';

/** Whoever holds a workroom link. */
export interface Person {
  readonly email: string;
  readonly role: WorkRole;
}

/** What the state machine's current wait must hear after an action. */
export type Wake =
  /** What the wait waits for may be there now: the wait ends if its step is settled. */
  | 'settled'
  /** The deadlines moved (a severity change; the regulatory clock started): the wait is entered again, timed by them. */
  | 'deadline-moved'
  /** The incident was cancelled: the execution ends. */
  | 'cancelled';

export interface ActionOutcome {
  readonly change: IncidentChange;
  readonly events: readonly TimelineEvent[];
  /** A Decision Log entry: who decided what, and why. */
  readonly decision?: LedgerEntryDraft;
  /** An Effect Ledger entry (time worked, which finance prices). */
  readonly effect?: LedgerEntryDraft;
  readonly wake?: Wake;
  /** A person's workroom link to reissue or revoke, once the decision is recorded. */
  readonly link?: LinkChange;
}

export interface LinkChange {
  readonly kind: 'reissue' | 'revoke';
  /** Whose link: one of the incident's people. */
  readonly email: string;
  readonly reason: string;
}

/** The actions decided here; `customers`, `plan` and `postmortem` also write what they carry. */
export type RuleAction = Exclude<WorkAction, 'customers' | 'plan'>;

const NOTHING: ActionOutcome = { change: {}, events: [] };

function isLinkAction(action: WorkAction): action is LinkAction {
  return (LINK_ACTIONS as readonly WorkAction[]).includes(action);
}

/** The label of a person in the records: their address and the role their link gives them. */
export function actorOf(person: Person): string {
  return `${person.email} (${person.role === 'sre_lead' ? 'SRE lead' : 'responder'})`;
}

function event(
  incident: Incident,
  type: TimelineEvent['type'],
  key: string,
  at: string,
  summary: string,
  detail?: TimelineEvent['detail'],
): TimelineEvent {
  return {
    key,
    at,
    world: PHASE_WORLD[incident.phase],
    type,
    phase: incident.phase,
    summary,
    ...(detail ? { detail } : {}),
  };
}

/**
 * Any first action meets the response deadline (seed 004: someone is aware and on it), but only
 * Acknowledge (`leads`) makes its person the incident's lead: an SRE lead changing the severity of
 * a declared incident is not taking it on. Afterwards this changes nothing.
 */
export function acknowledgement(
  incident: Incident,
  person: Person,
  now: string,
  leads = false,
): ActionOutcome {
  const first = !incident.acknowledgedAt;
  const takesLead = leads && !incident.commander;
  if (!first && !takesLead) return NOTHING;
  const status: Status = incident.status === 'OPEN' ? 'INVESTIGATING' : incident.status;
  return {
    change: {
      ...(first ? { acknowledgedAt: now } : {}),
      ...(takesLead ? { commander: person.email } : {}),
      ...(status !== incident.status ? { status } : {}),
    },
    events: [
      event(
        incident,
        'acknowledged',
        first ? 'acknowledged' : `leads:${now}`,
        now,
        takesLead
          ? `${person.email} acknowledged and leads the incident`
          : `${person.email} acted first (the response deadline is met); nobody leads until someone acknowledges`,
        { by: person.email, leads: takesLead },
      ),
      ...(status !== incident.status
        ? [statusChanged(incident, status, person.email, 'acknowledged', now, 'acknowledged')]
        : []),
    ],
  };
}

/** One outcome after another, as if the second were taken on the incident the first left. */
export function combine(first: ActionOutcome, second: ActionOutcome): ActionOutcome {
  const decision = second.decision ?? first.decision;
  const effect = second.effect ?? first.effect;
  const wake = second.wake ?? first.wake;
  const link = second.link ?? first.link;
  return {
    change: { ...first.change, ...second.change },
    events: [...first.events, ...second.events],
    ...(decision ? { decision } : {}),
    ...(effect ? { effect } : {}),
    ...(wake ? { wake } : {}),
    ...(link ? { link } : {}),
  };
}

/** What the incident looks like once `outcome` is written. */
export function applied(incident: Incident, outcome: ActionOutcome): Incident {
  return { ...incident, ...outcome.change } as Incident;
}

/** A Decision Log entry by a person in the workroom. */
function decisionEntry(
  incident: Incident,
  person: Person,
  kind: LedgerEntryDraft['kind'],
  key: string,
  at: string,
  summary: string,
  detail: LedgerEntryDraft['detail'],
): LedgerEntryDraft {
  return {
    log: 'decision',
    kind,
    world: PHASE_WORLD[incident.phase],
    phase: incident.phase,
    at,
    actor: actorOf(person),
    idempotencyKey: key,
    summary,
    role: person.role,
    decision: kind,
    detail,
  };
}

type Rule<A extends RuleAction> = (
  incident: Incident,
  person: Person,
  fields: ActionFields<A>,
  now: string,
  people: readonly string[],
) => ActionOutcome;

const RULES: { readonly [A in RuleAction]: Rule<A> } = {
  acknowledge: () => NOTHING,

  contain: (incident, person, { actions, contained }, now) => {
    const risky = actions.filter((a) => a.safety === 'RISKY');
    const key = `contain:${now}:${person.email}`;
    const mitigates = contained && !incident.mitigatedAt;
    const status: Status = mitigates ? 'MITIGATED' : incident.status;
    return {
      change: mitigates ? { mitigatedAt: now, status } : {},
      events: [
        event(
          incident,
          'containment_reported',
          key,
          now,
          `${person.email} reported ${actions.length} containment action${actions.length === 1 ? '' : 's'}${contained ? '; the incident is contained' : '; not contained yet'}`,
          { by: person.email, contained, actions },
        ),
        ...(status !== incident.status
          ? [statusChanged(incident, status, person.email, 'contained', now, key)]
          : []),
      ],
      ...(risky.length > 0
        ? {
            decision: decisionEntry(
              incident,
              person,
              'containment',
              key,
              now,
              `Took ${risky.length} risky containment action${risky.length === 1 ? '' : 's'}: ${risky.map((a) => a.description).join('; ')}`.slice(
                0,
                2000,
              ),
              { actions: risky },
            ),
          }
        : {}),
      ...(contained ? { wake: 'settled' as const } : {}),
    };
  },

  impact: (incident, person, fields, now) => {
    if (fields.to && Date.parse(fields.to) < Date.parse(fields.from)) {
      throw new InvalidInputError({ field: 'to', message: 'must not be before from' });
    }
    const bySize = impactSize(fields);
    const size = incident.size?.overriddenBy ? incident.size : { size: bySize.size, because: bySize.because };
    const pii = fields.assets.includes('pii') && !incident.piiAwareAt;
    const key = `impact:${now}:${person.email}`;
    return {
      change: {
        impact: { ...fields, by: person.email, at: now },
        size,
        ...(pii ? { piiAwareAt: now } : {}),
      },
      // The regulatory clock is a new deadline: the wait is entered again to be timed by it.
      ...(pii ? { wake: 'deadline-moved' as const } : {}),
      events: [
        event(
          incident,
          'impact_assessed',
          key,
          now,
          `${person.email} assessed the impact: ${fields.users} users, ${fields.transactions} transactions, ${fields.assets.join(', ')} at risk — ${size.size}${size.overriddenBy ? ' (size set by the SRE lead)' : ''}`,
          {
            by: person.email,
            users: fields.users,
            transactions: fields.transactions,
            assets: [...fields.assets],
            size: size.size,
          },
        ),
        ...(pii
          ? [
              event(
                incident,
                'impact_assessed',
                `regulatory-clock:${now}`,
                now,
                'Personal data is involved: the regulatory clock started (GDPR Art. 33).',
              ),
            ]
          : []),
      ],
    };
  },

  size: (incident, person, { size, reason }, now) => {
    const key = `size:${now}:${person.email}`;
    const summary = `Size set to ${size}${incident.size ? ` (was ${incident.size.size})` : ''}: ${reason}`;
    return {
      change: { size: { size, because: reason, overriddenBy: person.email } },
      events: [
        event(incident, 'size_set', key, now, `${person.email}: ${summary}`, { by: person.email, size }),
      ],
      decision: decisionEntry(incident, person, 'size_override', key, now, summary.slice(0, 2000), {
        from: incident.size?.size ?? null,
        to: size,
        reason,
      }),
    };
  },

  severity: (incident, person, { severity, reason }, now) => {
    if (severity === incident.severity) {
      throw new InvalidInputError({ field: 'severity', message: `is ${severity} already` });
    }
    const key = `severity:${now}:${person.email}`;
    const summary = `Severity ${incident.severity} → ${severity}: ${reason}`;
    return {
      change: { severity },
      events: [
        event(incident, 'severity_changed', key, now, `${person.email}: ${summary}`, {
          by: person.email,
          from: incident.severity,
          to: severity,
        }),
      ],
      decision: decisionEntry(incident, person, 'severity_change', key, now, summary.slice(0, 2000), {
        from: incident.severity,
        to: severity,
        reason,
      }),
      wake: 'deadline-moved',
    };
  },

  cancel: (incident, person, { reason, outcome, world }, now) => {
    const key = `cancel:${now}:${person.email}`;
    const summary =
      outcome === 'false_alarm'
        ? `Cancelled as a false alarm: ${reason}`
        : `Downscoped to ${world} and cancelled as an RML3 incident: ${reason}`;
    return {
      change: { status: 'CANCELLED', cancelled: { outcome, reason, world, by: person.email, at: now } },
      events: [
        statusChanged(incident, 'CANCELLED', person.email, summary, now, key),
        event(incident, 'cancelled', key, now, `${person.email}: ${summary}`, {
          by: person.email,
          outcome,
          world,
        }),
      ],
      decision: decisionEntry(
        incident,
        person,
        outcome === 'false_alarm' ? 'cancel' : 'downscope',
        key,
        now,
        summary.slice(0, 2000),
        { outcome, world, reason },
      ),
      wake: 'cancelled',
    };
  },

  note: (incident, person, { text }, now) => ({
    change: {},
    events: [
      event(incident, 'note', `note:${now}:${person.email}`, now, `${person.email}: ${text}`, {
        by: person.email,
      }),
    ],
  }),

  handoff: (incident, person, { to }, now, people) => {
    if (!people.includes(to)) {
      throw new InvalidInputError({ field: 'to', message: 'must be one of the responders or the SRE lead' });
    }
    if (to === incident.commander)
      throw new InvalidInputError({ field: 'to', message: `${to} leads already` });
    return {
      change: { commander: to },
      events: [
        event(
          incident,
          'handoff',
          `handoff:${now}:${person.email}`,
          now,
          `${person.email} handed the incident over to ${to}`,
          { by: person.email, from: incident.commander ?? null, to },
        ),
      ],
    };
  },

  time: (incident, person, { role, minutes, note }, now) => {
    const key = `time:${now}:${person.email}`;
    return {
      change: {},
      events: [
        event(
          incident,
          'time_logged',
          key,
          now,
          `${person.email} logged ${minutes} min as ${role}: ${note}`,
          {
            by: person.email,
            role,
            minutes,
          },
        ),
      ],
      effect: {
        log: 'effect',
        kind: 'ops_labour',
        world: 'RML2',
        phase: incident.phase,
        at: now,
        actor: actorOf(person),
        idempotencyKey: key,
        summary: `${minutes} min of ${role} work: ${note}`.slice(0, 2000),
        detail: { minutes, role, by: person.email },
      },
    };
  },

  regulator: (incident, person, { reference, notifiedAt }, now) => ({
    change: { regulatorNotified: { at: notifiedAt, reference, by: person.email } },
    events: [
      event(
        incident,
        'regulator_notified',
        `regulator:${now}`,
        now,
        `${person.email} recorded that the regulator was notified at ${notifiedAt} (${reference})`,
        { by: person.email, reference },
      ),
    ],
  }),

  'submit-plan': (incident, person, { reply }, now) => {
    const plan = incident.plan;
    if (!plan) throw new ConflictError('There is no plan to submit: write one with the plan form first');
    if (!incident.impact) throw new ConflictError('Record the impact before submitting the plan');
    if (incident.planSubmitted?.version === plan.version) return { ...NOTHING, wake: 'settled' };
    const sentBack = incident.planRejected;
    if (sentBack?.version === plan.version) {
      throw new ConflictError(
        `Plan v${plan.version} was rejected (${sentBack.reason}); write a revised plan`,
      );
    }
    if (!reply && isUnchanged(incident)) {
      throw new ConflictError(
        `Plan v${plan.version} is unchanged from v${sentBack?.version}, which the approvers sent back (${sentBack?.reason}): change it, or reply to their request`,
      );
    }
    return {
      change: {
        planSubmitted: { version: plan.version, at: now, by: person.email, ...(reply ? { reply } : {}) },
      },
      events: [
        event(
          incident,
          'plan_submitted',
          `plan-submitted:${plan.version}`,
          now,
          `${person.email} submitted plan v${plan.version} for approval${reply ? `, replying to the change request: ${reply}` : ''}`,
          { by: person.email, planVersion: plan.version, planHash: plan.hash, ...(reply ? { reply } : {}) },
        ),
      ],
      wake: 'settled',
    };
  },

  'reissue-link': (incident, person, fields, now, people) =>
    linkChange(incident, person, 'reissue', fields, now, people),

  'revoke-link': (incident, person, fields, now, people) =>
    linkChange(incident, person, 'revoke', fields, now, people),

  postmortem: (incident, person, fields, now) => {
    if (incident.postmortemAt)
      throw new ConflictError(`The postmortem is in already (${incident.postmortemAt})`);
    return {
      change: { postmortemAt: now },
      events: [
        event(
          incident,
          'postmortem_submitted',
          'postmortem',
          now,
          `${person.email} submitted the postmortem “${fields.title}” with ${fields.actionItems.length} action item${fields.actionItems.length === 1 ? '' : 's'}`,
          { by: person.email },
        ),
      ],
      wake: 'settled',
    };
  },
};

/**
 * Whether the current plan version does what the version the approvers sent back did: the same
 * rules, template and effects, apart from effect ids and version numbers.
 */
export function isUnchanged(incident: Incident): boolean {
  const sentBack = incident.planRejected?.substance;
  const input = incident.planInput;
  return (
    sentBack !== undefined &&
    input !== undefined &&
    input.version === incident.plan?.version &&
    input.substance === sentBack
  );
}

/**
 * A reissue or revoke of one person's link, for the Decision Log and the timeline; the link itself
 * changes once these are recorded. The SRE lead may not revoke their own link: nobody could give
 * them a new one from the workroom (reissuing their own is fine: the new link is e-mailed to them).
 */
function linkChange(
  incident: Incident,
  person: Person,
  kind: LinkChange['kind'],
  { person: whose, reason }: ActionFields<LinkAction>,
  now: string,
  people: readonly string[],
): ActionOutcome {
  const email = people.find((p) => p.toLowerCase() === whose.toLowerCase());
  if (!email) {
    throw new InvalidInputError({
      field: 'person',
      message: 'must be one of the responders or the SRE lead',
    });
  }
  if (kind === 'revoke' && email.toLowerCase() === person.email.toLowerCase()) {
    throw new InvalidInputError({
      field: 'person',
      message: 'is your own link: revoking it would lock you out (reissue it instead)',
    });
  }
  const key = `${kind}-link:${now}:${email}`;
  const done = kind === 'reissue' ? 'reissued' : 'revoked';
  const summary = `${kind === 'reissue' ? 'Reissued' : 'Revoked'} the workroom link of ${email}: ${reason}`;
  return {
    change: {},
    events: [
      event(
        incident,
        `link_${done}`,
        key,
        now,
        `${person.email} ${done} the workroom link of ${email}: ${reason}`,
        {
          by: person.email,
          person: email,
        },
      ),
    ],
    decision: decisionEntry(incident, person, `link_${done}`, key, now, summary.slice(0, 2000), {
      person: email,
      reason,
    }),
    link: { kind, email, reason },
  };
}

/**
 * What `action` does, acknowledging the incident first if nobody has yet — unless it is about a
 * person's link, which is not working the incident.
 */
export function takeAction<A extends RuleAction>(
  incident: Incident,
  person: Person,
  action: A,
  fields: ActionFields<A>,
  now: string,
  people: readonly string[],
): ActionOutcome {
  const ack = isLinkAction(action)
    ? NOTHING
    : acknowledgement(incident, person, now, action === 'acknowledge');
  return combine(ack, (RULES[action] as Rule<A>)(applied(incident, ack), person, fields, now, people));
}

/** The facts of an incident its deadlines follow: the whole incident, or the console's summary of it. */
export type DeadlineSource = Pick<
  Incident,
  'severity' | 'detectedAt' | 'acknowledgedAt' | 'resolvedAt' | 'piiAwareAt' | 'postmortemAt'
> & { readonly regulatorNotified?: { readonly at: string } };

/** The incident's deadlines now (they follow its severity; none is stored). */
export function incidentDeadlines(
  incident: DeadlineSource,
  rules: DeadlineRules = DEFAULT_DEADLINE_POLICY,
): Deadline[] {
  return deadlines(
    {
      severity: incident.severity,
      detectedAt: incident.detectedAt,
      ...(incident.acknowledgedAt ? { acknowledgedAt: incident.acknowledgedAt } : {}),
      ...(incident.resolvedAt ? { resolvedAt: incident.resolvedAt } : {}),
      ...(incident.piiAwareAt ? { piiAwareAt: incident.piiAwareAt } : {}),
      ...(incident.regulatorNotified ? { regulatorNotifiedAt: incident.regulatorNotified.at } : {}),
      ...(incident.postmortemAt ? { postmortemAt: incident.postmortemAt } : {}),
    },
    rules,
  );
}

// The waits' names live in waits.ts; the workroom still finds the wait of a phase here.
export { WAIT_OF_PHASE } from './waits.ts';

/**
 * Whether what a wait waits for is on the incident: containment, a submitted plan, the approval
 * round decided, the postmortem. (Act's wait is settled when no question about an effect is open: a store knows.)
 */
export function settledOnIncident(step: WaitStep, incident: Incident): boolean {
  switch (step) {
    case 'contain':
      return incident.mitigatedAt !== undefined;
    case 'understand':
      return incident.plan !== undefined && incident.planSubmitted?.version === incident.plan.version;
    case 'learn':
      return incident.postmortemAt !== undefined;
    case 'decide': {
      const round = incident.approvalRound;
      return round?.round === incident.decideRound && round.decided !== undefined;
    }
    default:
      return false;
  }
}

/** Seed 004's MTTx of one incident, in seconds from detection; absent until reached. */
export interface CaseMetrics {
  readonly timeToAcknowledgeSeconds?: number;
  readonly timeToMitigateSeconds?: number;
  readonly timeToResolveSeconds?: number;
}

export function caseMetrics(incident: Incident): CaseMetrics {
  const since = (at: string | undefined) =>
    at === undefined ? undefined : Math.round((Date.parse(at) - Date.parse(incident.detectedAt)) / 1000);
  const out: Record<string, number> = {};
  const put = (name: keyof CaseMetrics, value: number | undefined) => {
    if (value !== undefined) out[name] = value;
  };
  put('timeToAcknowledgeSeconds', since(incident.acknowledgedAt));
  put('timeToMitigateSeconds', since(incident.mitigatedAt));
  put('timeToResolveSeconds', since(incident.resolvedAt));
  return out;
}

/** What the workroom asks of a person first: the thing to do now, and by when. */
export interface Ask {
  readonly summary: string;
  /** The action that does it, when there is one. */
  readonly action?: WorkAction;
  readonly due?: string;
}

/** What is asked of `role` on `incident` now (the first thing its workroom page says). */
export function whatIsAsked(incident: Incident, role: WorkRole, all: readonly Deadline[]): Ask {
  const due = (kind: Deadline['kind']) => {
    const d = all.find((x) => x.kind === kind && !x.metAt);
    return d ? { due: d.due } : {};
  };
  if (incident.status === 'CLOSED')
    return { summary: 'The incident is closed; its records stay as they are.' };
  if (incident.status === 'CANCELLED') {
    return { summary: `The incident was cancelled: ${incident.cancelled?.reason ?? ''}` };
  }
  if (!incident.commander) {
    return {
      summary: 'Acknowledge the incident: the first to do so leads it.',
      action: 'acknowledge',
      ...due('response'),
    };
  }
  // Once contained, the next thing is Understand's, even before the state machine has moved
  // there: impact and customers are taken in Contain too.
  const phase = incident.mitigatedAt && incident.phase === 'Contain' ? 'Understand' : incident.phase;
  switch (phase) {
    case 'Detect':
    case 'Contain':
      return {
        summary:
          'Contain it: stop further history from being written, and report what you did and whether it is contained.',
        action: 'contain',
        ...due('resolution'),
      };
    case 'Understand':
      if (!incident.impact)
        return {
          summary: 'Assess the impact: who and what is affected, since when.',
          action: 'impact',
          ...due('resolution'),
        };
      if (!incident.plan) {
        return {
          summary:
            'List the affected customers (when the plan reaches customers), then write the remediation plan.',
          action: incident.customerList ? 'plan' : 'customers',
          ...due('resolution'),
        };
      }
      if (incident.planRejected?.version === incident.plan.version) {
        return {
          summary: `Revise plan v${incident.plan.version}: the approvers sent it back (${incident.planRejected.reason}). The plan form opens with it filled in.`,
          action: 'plan',
          ...due('resolution'),
        };
      }
      return {
        summary: isUnchanged(incident)
          ? `Plan v${incident.plan.version} is unchanged from the version the approvers sent back: reply to their request when you submit it, or revise it.`
          : `Submit plan v${incident.plan.version} for approval, or revise it.`,
        action: 'submit-plan',
        ...due('resolution'),
      };
    case 'Decide': {
      const rule =
        incident.approvalRound?.round === incident.decideRound ? incident.approvalRound.rule : undefined;
      return {
        summary: `${rule ? describeRule(rule) : 'The approvers the policy names decide'} — on plan v${incident.plan?.version ?? '?'}; nothing is asked of you${role === 'sre_lead' ? ' unless the incident must be cancelled or downscoped' : ''}.`,
      };
    }
    case 'Act':
      return {
        summary:
          'Casebook is carrying out the approved plan; answer any question about an effect it e-mails you.',
        ...due('resolution'),
      };
    case 'Learn':
      return {
        summary: 'Write the postmortem: submitting it closes the incident.',
        action: 'postmortem',
        ...due('postmortem'),
      };
  }
}
