/**
 * The incident console's list: every incident at a glance — open ones first, then newest — with
 * who it waits on and its next deadline, filtered by status and severity and cut into pages. It
 * is built from each incident's own item only (never its ledger or timeline), so a thousand
 * incidents are one read.
 */

import { incidentDeadlines } from './casework.ts';
import type { Deadline, DeadlineRules } from './deadlines.ts';
import { DEFAULT_DEADLINE_POLICY } from './deadlines.ts';
import { InvalidInputError } from './errors.ts';
import type { Incident } from './incident.ts';
import type { Severity, Status } from './vocabulary.ts';
import { FINAL_STATUSES, ROLE_LABEL, SEVERITIES, STATUSES } from './vocabulary.ts';

/** What the console reads of an incident: its own item's facts, never its logs. */
export type IncidentSummary = Pick<
  Incident,
  | 'id'
  | 'title'
  | 'severity'
  | 'status'
  | 'phase'
  | 'commander'
  | 'detectedAt'
  | 'acknowledgedAt'
  | 'mitigatedAt'
  | 'resolvedAt'
  | 'piiAwareAt'
  | 'postmortemAt'
  | 'closedAt'
  | 'decideRound'
> & {
  readonly regulatorNotified?: { readonly at: string };
  readonly impactAt?: string;
  readonly planVersion?: number;
  readonly planSubmittedVersion?: number;
  readonly approvalRound?: {
    readonly round: number;
    readonly roles: readonly string[];
    readonly decided: boolean;
  };
  readonly halted?: boolean;
};

/** Reads every incident's summary (a port: the operational table on AWS and locally). */
export interface IncidentSummaries {
  listSummaries(): Promise<IncidentSummary[]>;
}

/** The status filter: one status, or every open (not yet final) incident. */
export const STATUS_FILTERS = ['open', ...STATUSES] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

export interface ConsoleQuery {
  readonly status?: StatusFilter;
  readonly severity?: Severity;
  /** 1-based. */
  readonly page: number;
}

/** Incidents a page shows: enough to scan on a phone, few enough to read at a glance. */
export const CONSOLE_PAGE_SIZE = 25;

/**
 * The console's query string, checked: an unknown status or severity, or a page that is not a
 * whole number from 1, is a 400 naming the field. Empty values mean "any" (the form's default).
 */
export function parseConsoleQuery(query: Readonly<Record<string, string | undefined>>): ConsoleQuery {
  const issues: { field: string; message: string }[] = [];
  const status = query.status || undefined;
  const severity = query.severity || undefined;
  if (status !== undefined && !(STATUS_FILTERS as readonly string[]).includes(status))
    issues.push({ field: 'status', message: `must be one of ${STATUS_FILTERS.join(', ')}` });
  if (severity !== undefined && !(SEVERITIES as readonly string[]).includes(severity))
    issues.push({ field: 'severity', message: `must be one of ${SEVERITIES.join(', ')}` });
  const rawPage = query.page || undefined;
  const page = rawPage === undefined ? 1 : /^[1-9]\d{0,5}$/.test(rawPage) ? Number(rawPage) : Number.NaN;
  if (Number.isNaN(page)) issues.push({ field: 'page', message: 'must be a whole number from 1' });
  if (issues.length > 0) throw new InvalidInputError(issues);
  return {
    ...(status ? { status: status as StatusFilter } : {}),
    ...(severity ? { severity: severity as Severity } : {}),
    page,
  };
}

export function isOpen(status: Status): boolean {
  return !FINAL_STATUSES.includes(status);
}

/** Who the incident waits on now, and for what: a person reads it in the console's list. */
export function waitingOn(incident: IncidentSummary): string {
  const lead = incident.commander ?? 'the responders';
  if (incident.status === 'CLOSED' || incident.status === 'CANCELLED') return 'Nobody';
  if (incident.halted) return 'The SRE lead: the lifecycle halted';
  if (!incident.acknowledgedAt) return 'The responders: acknowledge';
  const phase = incident.mitigatedAt && incident.phase === 'Contain' ? 'Understand' : incident.phase;
  switch (phase) {
    case 'Detect':
    case 'Contain':
      return `${lead}: contain`;
    case 'Understand':
      if (!incident.impactAt) return `${lead}: assess the impact`;
      if (incident.planVersion === undefined) return `${lead}: write the plan`;
      if (incident.planSubmittedVersion !== incident.planVersion)
        return `${lead}: submit plan v${incident.planVersion}`;
      return 'Casebook: checking the plan';
    case 'Decide': {
      const round = incident.approvalRound;
      if (round && round.round === incident.decideRound && !round.decided) {
        const roles = round.roles.map((r) => ROLE_LABEL[r as keyof typeof ROLE_LABEL] ?? r);
        return `Approvers: ${roles.join(', ')}`;
      }
      return 'Approvers';
    }
    case 'Act':
      return 'Casebook: carrying out the plan';
    case 'Learn':
      return incident.postmortemAt ? 'Casebook: closing' : `${lead}: postmortem`;
  }
}

/** The earliest deadline not yet met; none once the incident is closed or cancelled. */
export function nextDeadline(incident: IncidentSummary, rules: DeadlineRules): Deadline | undefined {
  if (incident.status === 'CLOSED' || incident.status === 'CANCELLED') return undefined;
  return incidentDeadlines(incident, rules)
    .filter((d) => !d.metAt)
    .sort((a, b) => a.due.localeCompare(b.due))[0];
}

/** One row of the console's list. */
export interface ConsoleRow {
  readonly incident: IncidentSummary;
  readonly waitingOn: string;
  readonly next?: Deadline & { readonly missed: boolean };
}

export interface ConsoleList {
  readonly rows: readonly ConsoleRow[];
  readonly query: ConsoleQuery;
  /** How many incidents match the filters, over every page. */
  readonly matching: number;
  readonly pages: number;
  /** How many incidents are open, whatever the filters. */
  readonly open: number;
}

/** Open incidents first, then newest first; the filters applied; one page of rows. */
export function consoleList(
  all: readonly IncidentSummary[],
  query: ConsoleQuery,
  now: Date,
  rules: DeadlineRules = DEFAULT_DEADLINE_POLICY,
): ConsoleList {
  const matching = all.filter(
    (i) =>
      (query.status === undefined ||
        (query.status === 'open' ? isOpen(i.status) : i.status === query.status)) &&
      (query.severity === undefined || i.severity === query.severity),
  );
  const sorted = [...matching].sort((a, b) => {
    const open = Number(isOpen(b.status)) - Number(isOpen(a.status));
    return open !== 0 ? open : b.detectedAt.localeCompare(a.detectedAt) || b.id.localeCompare(a.id);
  });
  const pages = Math.max(1, Math.ceil(sorted.length / CONSOLE_PAGE_SIZE));
  const start = (query.page - 1) * CONSOLE_PAGE_SIZE;
  const rows = sorted.slice(start, start + CONSOLE_PAGE_SIZE).map((incident): ConsoleRow => {
    const next = nextDeadline(incident, rules);
    return {
      incident,
      waitingOn: waitingOn(incident),
      ...(next ? { next: { ...next, missed: Date.parse(next.due) <= now.getTime() } } : {}),
    };
  });
  return { rows, query, matching: sorted.length, pages, open: all.filter((i) => isOpen(i.status)).length };
}
