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
  /** The Effect Ledger entries. */
  readonly ledger: readonly LedgerEntry[];
  /** The Decision Log entries. */
  readonly decisions: readonly LedgerEntry[];
  /** What the incident cost so far, corrections netted out: per kind, currency and line. */
  readonly pnl: ProfitAndLoss;
  /** Its deadlines now (they follow the severity), each met, missed or open. */
  readonly deadlines: readonly (Deadline & { readonly missed: boolean })[];
  /** Seed 004's MTTA, time to mitigate and MTTR, in seconds from detection. */
  readonly metrics: CaseMetrics;
  /** The postmortem, once it is in. */
  readonly postmortem?: SubmittedPostmortem;
}

export async function getCase(deps: ReadIncidentsDeps, incidentId: string): Promise<CaseView> {
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

/** The incident's case file, as YAML. */
export async function getCaseFile(deps: ReadIncidentsDeps, incidentId: string): Promise<string> {
  return renderCaseFile(buildCaseFile(await getCase(deps, incidentId)));
}

export async function listIncidents(
  deps: Pick<ReadIncidentsDeps, 'incidents'>,
  limit: number,
  cursor?: string,
): Promise<{ readonly items: Incident[]; readonly cursor?: string }> {
  return deps.incidents.listIncidents(limit, cursor);
}
