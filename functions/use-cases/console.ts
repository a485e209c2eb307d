/**
 * Use cases of the incident console: a page of the incident list (from their own items only,
 * never their ledgers), one incident's case (one page of its ledger and the effects' summary Act
 * keeps, never the whole ledger), what the incident cost (the one page that reads every entry),
 * and its case file.
 */
import type { Approval } from '../domain/approval.ts';
import type { CaseMetrics } from '../domain/casework.ts';
import { caseMetrics, incidentDeadlines } from '../domain/casework.ts';
import type { ConsoleList, ConsoleQuery, IncidentSummaries } from '../domain/console.ts';
import { consoleList } from '../domain/console.ts';
import type { Deadline } from '../domain/deadlines.ts';
import { InvalidInputError, NotFoundError } from '../domain/errors.ts';
import type { Incident, TimelineEvent } from '../domain/incident.ts';
import { isIncidentId } from '../domain/incident.ts';
import type { LedgerEntry } from '../domain/ledger.ts';
import type { ApprovalStore } from '../domain/ports.ts';
import type { ProfitAndLoss } from '../domain/profit-and-loss.ts';
import { profitAndLoss, standingEntries } from '../domain/profit-and-loss.ts';
import type { SubmittedPostmortem } from '../domain/workroom.ts';
import type { ReadIncidentsDeps } from './read-incidents.ts';
import { getCaseFile } from './read-incidents.ts';
import type { EffectSummary } from './workroom.ts';
import { effectSummary } from './workroom.ts';

export interface ConsoleDeps extends ReadIncidentsDeps {
  readonly summaries: IncidentSummaries;
  readonly approvals: Pick<ApprovalStore, 'listApprovals'>;
}

/** Ledger entries a page of the case shows (both logs, newest first). */
export const CONSOLE_LEDGER_PAGE = 25;

/** One page of the console's list, filtered. */
export function listForConsole(deps: ConsoleDeps, query: ConsoleQuery): Promise<ConsoleList> {
  return consoleList(deps.summaries, query, deps.clock.now(), deps.policy);
}

/** The case as the console shows it: as much to read whatever the incident's size. */
export interface ConsoleCase {
  readonly incident: Incident;
  readonly timeline: readonly TimelineEvent[];
  readonly deadlines: readonly (Deadline & { readonly missed: boolean })[];
  readonly metrics: CaseMetrics;
  readonly postmortem?: SubmittedPostmortem;
  /** Every round's approval requests. */
  readonly approvals: readonly Approval[];
  readonly ledger: {
    /** How many entries both logs hold in all. */
    readonly count: number;
    /** The effects per kind, as Act last counted them (before Act, the approved plan's). */
    readonly summary: readonly EffectSummary[];
    readonly summaryAt?: string;
    /** One page of entries, both logs, newest first, and where the next (older) page starts. */
    readonly page: readonly LedgerEntry[];
    readonly cursor?: string;
    /** The page shown is not the newest. */
    readonly older: boolean;
  };
}

/** A ledger cursor as the case page links to it: the seq the older page ends before. */
function ledgerCursor(text: string | undefined): string | undefined {
  if (text === undefined || text === '') return undefined;
  if (!/^[1-9]\d{0,9}$/.test(text))
    throw new InvalidInputError({ field: 'ledger', message: 'must be a page this console linked to' });
  return text;
}

/** The case with one page of its ledger: what it reads does not grow with the ledger. */
export async function caseForConsole(
  deps: ConsoleDeps,
  incidentId: string,
  options: { readonly ledgerCursor?: string } = {},
): Promise<ConsoleCase> {
  const cursor = ledgerCursor(options.ledgerCursor);
  if (!isIncidentId(incidentId)) throw new NotFoundError(`No incident ${incidentId}`);
  const incident = await deps.incidents.getIncident(incidentId);
  if (!incident) throw new NotFoundError(`No incident ${incidentId}`);
  const rounds = Array.from({ length: incident.decideRound }, (_, n) => n + 1);
  const [timeline, head, page, postmortem, approvals] = await Promise.all([
    deps.incidents.listTimeline(incidentId),
    deps.ledger.readHead(incidentId),
    deps.ledger.readPage(incidentId, { limit: CONSOLE_LEDGER_PAGE, ...(cursor ? { cursor } : {}) }),
    incident.postmortemAt ? deps.postmortems.getPostmortem(incidentId) : Promise.resolve(undefined),
    Promise.all(rounds.map((r) => deps.approvals.listApprovals(incidentId, r))),
  ]);
  const now = deps.clock.now().getTime();
  const progress =
    incident.effectProgress?.planVersion === incident.plan?.version ? incident.effectProgress : undefined;
  return {
    incident,
    timeline,
    deadlines: incidentDeadlines(incident, deps.policy).map((d) => ({
      ...d,
      missed: !d.metAt && Date.parse(d.due) <= now,
    })),
    metrics: caseMetrics(incident),
    ...(postmortem ? { postmortem } : {}),
    approvals: approvals.flat(),
    ledger: {
      count: head?.size ?? 0,
      summary: effectSummary(incident, progress),
      ...(progress ? { summaryAt: progress.at } : {}),
      page: page.items,
      ...(page.cursor ? { cursor: page.cursor } : {}),
      older: cursor !== undefined,
    },
  };
}

/** What the incident cost: the P&L of every entry of its Effect Ledger, corrections netted out. */
export interface ConsoleCost {
  readonly incident: Incident;
  readonly pnl: ProfitAndLoss;
  /** Effect Ledger entries read. */
  readonly entries: number;
  /** Entries that no longer stand: a later correction replaced or voided them. */
  readonly corrected: number;
}

/**
 * The P&L needs every entry (a correction may name any earlier one), so it is a page of its own,
 * read when asked for, not a part of every look at the case.
 */
export async function costForConsole(deps: ConsoleDeps, incidentId: string): Promise<ConsoleCost> {
  if (!isIncidentId(incidentId)) throw new NotFoundError(`No incident ${incidentId}`);
  const [incident, entries] = await Promise.all([
    deps.incidents.getIncident(incidentId),
    deps.ledger.read(incidentId),
  ]);
  if (!incident) throw new NotFoundError(`No incident ${incidentId}`);
  const effects = entries.filter((e) => e.log === 'effect');
  return {
    incident,
    pnl: profitAndLoss(effects),
    entries: effects.length,
    corrected: effects.length - standingEntries(effects).length,
  };
}

export function caseFileForConsole(deps: ConsoleDeps, incidentId: string): Promise<string> {
  return getCaseFile(deps, incidentId);
}
