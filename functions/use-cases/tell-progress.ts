/**
 * Use case: tell the incident's people how it goes, by e-mail — the plan sent back, approved, Act
 * finished, the postmortem due, the incident closed.
 *
 * Primary course, per piece of news:
 *  1. Unless the timeline says it was told, for each person it is for who has no mark of it yet:
 *     add a further secret to their workroom link (when they hold one), e-mail them, and once the
 *     e-mail was accepted, mark them told.
 *  2. Once everyone was told, put it on the timeline (`people_told`).
 *
 * A failed send leaves that person unmarked and fails the step after the others were tried: its
 * retry e-mails only those without a mark. A provider that refuses an address (nothing sent) is
 * final for that person and said on the timeline. A crash between a send and its mark sends that
 * one e-mail again: one person told twice rather than never.
 */
import { incidentDeadlines } from '../domain/casework.ts';
import type { DeadlineRules } from '../domain/deadlines.ts';
import { DeliveryRejectedError, retryLater } from '../domain/errors.ts';
import type { Incident } from '../domain/incident.ts';
import type {
  ApprovalStore,
  Clock,
  IncidentStore,
  Mailer,
  MailMessage,
  ToldMarks,
  WorkLinkStore,
} from '../domain/ports.ts';
import type { ProgressKind } from '../domain/progress-mail.ts';
import {
  actFinishedEmail,
  actOutcome,
  changesRequestedEmail,
  closedEmail,
  planApprovedEmail,
  postmortemDueEmail,
  utcMinute,
} from '../domain/progress-mail.ts';
import { personKey } from '../domain/work-link.ts';
import type { People } from './invite-people.ts';
import { furtherLinkUrl, roster } from './invite-people.ts';

export interface TellDeps {
  readonly incidents: Pick<IncidentStore, 'getIncident' | 'addTimelineEvent' | 'listTimeline'>;
  readonly approvals: Pick<ApprovalStore, 'listApprovals'>;
  readonly links: WorkLinkStore;
  readonly told: ToldMarks;
  readonly mailer: Mailer;
  readonly people: People;
  readonly policy: DeadlineRules;
  /** Where links point: the public API's base URL. */
  readonly publicBaseUrl: string;
  readonly clock: Clock;
}

/** The responders, the SRE lead and the incident's lead: whom the plan's progress concerns. */
function workingPeople(deps: Pick<TellDeps, 'people'>, incident: Incident): string[] {
  return unique([
    ...roster(deps.people).map((p) => p.email),
    ...(incident.commander ? [incident.commander] : []),
  ]);
}

function unique(addresses: readonly string[]): string[] {
  const seen = new Map<string, string>();
  for (const a of addresses) if (!seen.has(a.toLowerCase())) seen.set(a.toLowerCase(), a);
  return [...seen.values()];
}

/** Everyone who took part: the working people and every approver who was asked in any round. */
async function everyone(deps: TellDeps, incident: Incident): Promise<string[]> {
  const approvers: string[] = [];
  for (let round = 1; round <= incident.decideRound; round++) {
    for (const a of await deps.approvals.listApprovals(incident.id, round)) {
      approvers.push(a.approverEmail, ...(a.backup ? [a.backup.email] : []));
    }
  }
  return unique([...workingPeople(deps, incident), ...approvers]);
}

/** What one piece of news is: its key, whom it goes to, and the message for each. */
interface News {
  readonly key: string;
  readonly summary: string;
  readonly to: readonly string[];
  /** The message for `to`, with their own workroom link when they hold one. */
  readonly message: (to: string, link: string | undefined) => MailMessage;
}

async function news(deps: TellDeps, incident: Incident, kind: ProgressKind): Promise<News | undefined> {
  const plan = incident.plan;
  switch (kind) {
    case 'changes-requested': {
      const back = incident.planRejected;
      if (!back) return undefined;
      return {
        key: `${kind}:${incident.decideRound}`,
        summary: `plan v${back.version} came back`,
        to: workingPeople(deps, incident),
        message: (to, link) =>
          changesRequestedEmail(incident, to, { ...back, round: incident.decideRound }, link),
      };
    }
    case 'plan-approved':
      if (!plan) return undefined;
      return {
        key: `${kind}:${incident.decideRound}`,
        summary: `plan v${plan.version} approved`,
        to: workingPeople(deps, incident),
        message: (to, link) =>
          planApprovedEmail(incident, to, { version: plan.version, round: incident.decideRound }, link),
      };
    case 'act-finished': {
      if (!plan) return undefined;
      const outcome = actOutcome(
        incident.effectProgress?.planVersion === plan.version ? incident.effectProgress : undefined,
      );
      return {
        key: `${kind}:${plan.version}`,
        summary: `Act finished plan v${plan.version}: ${outcome}`,
        to: workingPeople(deps, incident),
        message: (to, link) => actFinishedEmail(incident, to, { version: plan.version, outcome }, link),
      };
    }
    case 'postmortem-due': {
      const due = incidentDeadlines(incident, deps.policy).find((d) => d.kind === 'postmortem')?.due;
      return {
        key: kind,
        summary: `the postmortem is due${due ? ` by ${utcMinute(due)}` : ''}`,
        to: workingPeople(deps, incident),
        message: (to, link) => postmortemDueEmail(incident, to, due, link),
      };
    }
    case 'closed':
      return {
        key: kind,
        summary: 'the incident is closed',
        to: await everyone(deps, incident),
        message: (to, link) =>
          closedEmail(incident, to, incident.closedAt ?? deps.clock.now().toISOString(), link),
      };
  }
}

/** The person's own workroom link with a further secret, when they hold a link that still opens. */
async function ownLink(deps: TellDeps, incidentId: string, person: string): Promise<string | undefined> {
  const link = await deps.links.getWorkLink(incidentId, person);
  return link ? furtherLinkUrl(deps, link) : undefined;
}

/** Tells `kind` about the incident to the people it concerns, once however often it is called. */
export async function tellProgress(deps: TellDeps, incidentId: string, kind: ProgressKind): Promise<boolean> {
  const incident = await deps.incidents.getIncident(incidentId);
  if (!incident) return false;
  const told = await news(deps, incident, kind);
  if (!told) return false;
  const event = `told:${told.key}`;
  if ((await deps.incidents.listTimeline(incident.id)).some((e) => e.key === event)) return false;
  // 1.
  const marked = new Set(await deps.told.toldOf(incident.id, told.key));
  const refused: string[] = [];
  let failed: unknown;
  for (const to of told.to) {
    const person = personKey(incident.id, to);
    if (marked.has(person)) continue;
    try {
      await deps.mailer.send(told.message(to, await ownLink(deps, incident.id, person)));
    } catch (error) {
      if (error instanceof DeliveryRejectedError && !error.busy) refused.push(to);
      else failed ??= error instanceof DeliveryRejectedError ? retryLater(error) : error;
      continue;
    }
    await deps.told.markTold(incident.id, told.key, person, deps.clock.now().toISOString());
  }
  if (failed) throw failed;
  // 2.
  const sent = told.to.filter((to) => !refused.includes(to));
  return deps.incidents.addTimelineEvent(incident.id, {
    key: event,
    at: deps.clock.now().toISOString(),
    world: 'RML2',
    type: 'people_told',
    phase: incident.phase,
    summary:
      `E-mailed ${sent.join(', ') || 'nobody'}${refused.length ? ` (the mail provider refused ${refused.join(', ')})` : ''}: ${told.summary}`.slice(
        0,
        2000,
      ),
    detail: { news: kind, to: sent, ...(refused.length ? { refused } : {}) },
  });
}
