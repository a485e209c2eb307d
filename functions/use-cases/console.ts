/**
 * Use cases of the incident console: the list of every incident (from their own items only, never
 * their ledgers), one incident's case with its approvals, and its case file.
 */
import type { Approval } from '../domain/approval.ts';
import type { ConsoleList, ConsoleQuery, IncidentSummaries } from '../domain/console.ts';
import { consoleList } from '../domain/console.ts';
import type { ApprovalStore } from '../domain/ports.ts';
import type { CaseView, ReadIncidentsDeps } from './read-incidents.ts';
import { getCase, getCaseFile } from './read-incidents.ts';

export interface ConsoleDeps extends ReadIncidentsDeps {
  readonly summaries: IncidentSummaries;
  readonly approvals: Pick<ApprovalStore, 'listApprovals'>;
}

/** One page of the console's list, filtered. */
export async function listForConsole(deps: ConsoleDeps, query: ConsoleQuery): Promise<ConsoleList> {
  return consoleList(await deps.summaries.listSummaries(), query, deps.clock.now(), deps.policy);
}

/** The case with its whole Effect Ledger (the page summarises it) and every round's approvals. */
export async function caseForConsole(
  deps: ConsoleDeps,
  incidentId: string,
): Promise<CaseView & { readonly approvals: readonly Approval[] }> {
  const c = await getCase(deps, incidentId, { limit: Number.MAX_SAFE_INTEGER });
  const rounds = Array.from({ length: c.incident.decideRound }, (_, n) => n + 1);
  const approvals = (
    await Promise.all(rounds.map((r) => deps.approvals.listApprovals(incidentId, r)))
  ).flat();
  return { ...c, approvals };
}

export function caseFileForConsole(deps: ConsoleDeps, incidentId: string): Promise<string> {
  return getCaseFile(deps, incidentId);
}
