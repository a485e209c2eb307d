/**
 * Use case: tell the incident's people how it goes, by e-mail — the plan sent back, approved, Act
 * finished, the postmortem due, the incident closed.
 *
 * Primary course, per piece of news:
 *  1. Claim its key in the operational table (a timeline event written only if absent); a retried
 *     step or a restarted execution finds it claimed and sends nothing.
 *  2. E-mail each person it is for, once each.
 *
 * A crash between the claim and the last e-mail leaves the rest unsent rather than anyone told
 * twice: the timeline says who was to be told.
 */
import { incidentDeadlines } from '../domain/casework.ts';
import type { DeadlineRules } from '../domain/deadlines.ts';
import type { Incident } from '../domain/incident.ts';
import type { ApprovalStore, Clock, IncidentStore, Mailer, MailMessage } from '../domain/ports.ts';
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
import type { People } from './invite-people.ts';
import { roster } from './invite-people.ts';

export interface TellDeps {
  readonly incidents: Pick<IncidentStore, 'getIncident' | 'addTimelineEvent'>;
  readonly approvals: Pick<ApprovalStore, 'listApprovals'>;
  readonly mailer: Mailer;
  readonly people: People;
  readonly policy: DeadlineRules;
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
  readonly message: (to: string) => MailMessage;
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
        message: (to) => changesRequestedEmail(incident, to, { ...back, round: incident.decideRound }),
      };
    }
    case 'plan-approved':
      if (!plan) return undefined;
      return {
        key: `${kind}:${incident.decideRound}`,
        summary: `plan v${plan.version} approved`,
        to: workingPeople(deps, incident),
        message: (to) =>
          planApprovedEmail(incident, to, { version: plan.version, round: incident.decideRound }),
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
        message: (to) => actFinishedEmail(incident, to, { version: plan.version, outcome }),
      };
    }
    case 'postmortem-due': {
      const due = incidentDeadlines(incident, deps.policy).find((d) => d.kind === 'postmortem')?.due;
      return {
        key: kind,
        summary: `the postmortem is due${due ? ` by ${utcMinute(due)}` : ''}`,
        to: workingPeople(deps, incident),
        message: (to) => postmortemDueEmail(incident, to, due),
      };
    }
    case 'closed':
      return {
        key: kind,
        summary: 'the incident is closed',
        to: await everyone(deps, incident),
        message: (to) => closedEmail(incident, to, incident.closedAt ?? deps.clock.now().toISOString()),
      };
  }
}

/** Tells `kind` about the incident to the people it concerns, once however often it is called. */
export async function tellProgress(deps: TellDeps, incidentId: string, kind: ProgressKind): Promise<boolean> {
  const incident = await deps.incidents.getIncident(incidentId);
  if (!incident) return false;
  const told = await news(deps, incident, kind);
  if (!told) return false;
  // 1.
  const claimed = await deps.incidents.addTimelineEvent(incident.id, {
    key: `told:${told.key}`,
    at: deps.clock.now().toISOString(),
    world: 'RML2',
    type: 'people_told',
    phase: incident.phase,
    summary: `E-mailed ${told.to.join(', ')}: ${told.summary}`.slice(0, 2000),
    detail: { news: kind, to: [...told.to] },
  });
  if (!claimed) return false;
  // 2.
  for (const to of told.to) await deps.mailer.send(told.message(to));
  return true;
}
