/**
 * Use cases: read one incident as a case (with its timeline, both logs and what it cost), or as
 * its case file (seed 000 §4), or list incidents.
 */
import { buildCaseFile, renderCaseFile } from '../domain/case-file.ts';
import type { CaseMetrics } from '../domain/casework.ts';
import { caseMetrics, incidentDeadlines } from '../domain/casework.ts';
import type { Deadline, DeadlineRules } from '../domain/deadlines.ts';
import { NotFoundError } from '../domain/errors.ts';
import type { Incident, TimelineEvent } from '../domain/incident.ts';
import { isIncidentId } from '../domain/incident.ts';
import type { LedgerEntry } from '../domain/ledger.ts';
import type { Clock, IncidentStore, Ledger, PostmortemStore } from '../domain/ports.ts';
import type { ProfitAndLoss } from '../domain/profit-and-loss.ts';
import { profitAndLoss } from '../domain/profit-and-loss.ts';
import type { SubmittedPostmortem } from '../domain/workroom.ts';

export interface ReadIncidentsDeps {
  readonly incidents: IncidentStore;
  readonly ledger: Ledger;
  readonly postmortems: Pick<PostmortemStore, 'getPostmortem'>;
  /** What the deadlines are computed with: the severity targets and the regulatory clock. */
  readonly policy: DeadlineRules;
  readonly clock: Clock;
}

/** An incident with everything recorded about it. */
export interface CaseView {
  readonly incident: Incident;
  readonly timeline: readonly TimelineEvent[];
  /** A page of the Effect Ledger's entries, in chain order. */
  readonly ledger: readonly LedgerEntry[];
  /** How many entries the Effect Ledger holds in all. */
  readonly ledgerCount: number;
  /** The `seq` the next page of the Effect Ledger starts at, when there is one. */
  readonly ledgerNext?: number;
  /** The Decision Log entries. */
  readonly decisions: readonly LedgerEntry[];
  /** What the incident cost so far (the whole ledger), corrections netted out: per kind, currency and line. */
  readonly pnl: ProfitAndLoss;
  /** Its deadlines now (they follow the severity), each met, missed or open. */
  readonly deadlines: readonly (Deadline & { readonly missed: boolean })[];
  /** Seed 004's MTTA, time to mitigate and MTTR, in seconds from detection. */
  readonly metrics: CaseMetrics;
  /** The postmortem, once it is in. */
  readonly postmortem?: SubmittedPostmortem;
}

/** Which page of the Effect Ledger a case shows: from entry `from` (a seq), at most `limit` entries. */
export interface LedgerPage {
  readonly from?: number;
  readonly limit: number;
}

/**
 * The case with a page of its Effect Ledger: everything else (the P&L included) is read from the
 * whole ledger, which the response does not carry.
 */
export async function getCase(
  deps: ReadIncidentsDeps,
  incidentId: string,
  page: LedgerPage,
): Promise<CaseView> {
  const whole = await readCase(deps, incidentId);
  const from = page.from ?? 1;
  const start = whole.ledger.findIndex((e) => e.seq >= from);
  const rest = start < 0 ? [] : whole.ledger.slice(start);
  const next = rest[page.limit];
  return {
    ...whole,
    ledger: rest.slice(0, page.limit),
    ...(next ? { ledgerNext: next.seq } : {}),
  };
}

/** The case with the whole of its Effect Ledger (the case file is built from it). */
async function readCase(deps: ReadIncidentsDeps, incidentId: string): Promise<CaseView> {
  if (!isIncidentId(incidentId)) throw new NotFoundError(`No incident ${incidentId}`);
  const [incident, timeline, entries, postmortem] = await Promise.all([
    deps.incidents.getIncident(incidentId),
    deps.incidents.listTimeline(incidentId),
    deps.ledger.read(incidentId),
    deps.postmortems.getPostmortem(incidentId),
  ]);
  if (!incident) throw new NotFoundError(`No incident ${incidentId}`);
  const ledger = entries.filter((e) => e.log === 'effect');
  return {
    incident,
    timeline,
    ledger,
    ledgerCount: ledger.length,
    decisions: entries.filter((e) => e.log === 'decision'),
    pnl: profitAndLoss(ledger),
    deadlines: incidentDeadlines(incident, deps.policy).map((d) => ({
      ...d,
      missed: !d.metAt && Date.parse(d.due) <= deps.clock.now().getTime(),
    })),
    metrics: caseMetrics(incident),
    ...(postmortem ? { postmortem } : {}),
  };
}

/**
 * The incident's case file, as YAML, made at the log's signed head: the head is read first and the
 * entries appended after it are left out, so the case file summarises exactly the log its head
 * signs (a log with no signed head yet gives a case file without one).
 */
export async function getCaseFile(deps: ReadIncidentsDeps, incidentId: string): Promise<string> {
  if (!isIncidentId(incidentId)) throw new NotFoundError(`No incident ${incidentId}`);
  const head = (await deps.ledger.readHead(incidentId))?.head;
  const records = await readCase(deps, incidentId);
  if (!head) return renderCaseFile(buildCaseFile(records));
  const atHead = (entries: readonly LedgerEntry[]) => entries.filter((e) => e.seq <= head.size);
  return renderCaseFile(
    buildCaseFile({
      ...records,
      ledger: atHead(records.ledger),
      decisions: atHead(records.decisions),
      head,
    }),
  );
}

export async function listIncidents(
  deps: Pick<ReadIncidentsDeps, 'incidents'>,
  limit: number,
  cursor?: string,
): Promise<{ readonly items: Incident[]; readonly cursor?: string }> {
  return deps.incidents.listIncidents(limit, cursor);
}
