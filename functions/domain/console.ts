/**
 * The incident console's list: the incidents at a glance — open ones first, then newest — with
 * who each waits on and its next deadline, filtered by status and severity, a page at a time.
 * It is built from each incident's own item only (never its ledger or timeline), and a page reads
 * only as far down the byCreation index as its rows (and one more, to know a next page is there).
 */

import { incidentDeadlines } from './casework.ts';
import type { Deadline, DeadlineRules } from './deadlines.ts';
import { DEFAULT_DEADLINE_POLICY } from './deadlines.ts';
import { InvalidInputError } from './errors.ts';
import type { Incident } from './incident.ts';
import { isIncidentId } from './incident.ts';
import { isUtcInstant } from './time.ts';
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

/**
 * The two parts of the list, read one after the other: the open incidents (not yet resolved,
 * cancelled or closed), then the others. Each part is newest first.
 */
export const LIST_PARTS = ['open', 'final'] as const;
export type ListPart = (typeof LIST_PARTS)[number];

/** Where a page of the list starts: in a part, after an incident (none: the part's newest). */
export interface ConsoleCursor {
  readonly part: ListPart;
  readonly after?: { readonly detectedAt: string; readonly id: string };
}

/** One read of a part of the list. */
export interface SummaryRequest {
  readonly part: ListPart;
  readonly status?: Status;
  readonly severity?: Severity;
  /** Only incidents listed after this one (older, or as old with a smaller id). */
  readonly after?: ConsoleCursor['after'];
  readonly limit: number;
}

/**
 * Reads incidents' summaries (a port: the operational table's byCreation index on AWS and
 * locally): the part's incidents that match, newest first, at most `limit` of them.
 */
export interface IncidentSummaries {
  pageSummaries(request: SummaryRequest): Promise<IncidentSummary[]>;
}

/** The status filter: one status, or every open (not yet final) incident. */
export const STATUS_FILTERS = ['open', ...STATUSES] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

export interface ConsoleQuery {
  readonly status?: StatusFilter;
  readonly severity?: Severity;
  /** Where the page starts; none for the first page. */
  readonly cursor?: ConsoleCursor;
}

/** Incidents a page shows: enough to scan on a phone, few enough to read at a glance. */
export const CONSOLE_PAGE_SIZE = 25;

/** A cursor as the page's links carry it: base64url of a small JSON object. */
export function encodeConsoleCursor(cursor: ConsoleCursor): string {
  const json = cursor.after
    ? { p: cursor.part, d: cursor.after.detectedAt, i: cursor.after.id }
    : { p: cursor.part };
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

/** A cursor this console wrote, or undefined for anything else (only its own links are read). */
export function decodeConsoleCursor(text: string): ConsoleCursor | undefined {
  if (text.length > 200 || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (json === null || typeof json !== 'object') return undefined;
  const { p, d, i } = json as Record<string, unknown>;
  if (!(LIST_PARTS as readonly unknown[]).includes(p)) return undefined;
  const part = p as ListPart;
  let cursor: ConsoleCursor | undefined;
  if (d === undefined && i === undefined) cursor = { part };
  else if (typeof d === 'string' && typeof i === 'string' && isUtcInstant(d) && isIncidentId(i))
    cursor = { part, after: { detectedAt: d, id: i } };
  // One cursor, one text: anything not written by encodeConsoleCursor is refused.
  return cursor && encodeConsoleCursor(cursor) === text ? cursor : undefined;
}

/**
 * The console's query string, checked: an unknown status or severity, or a cursor this console
 * did not write, is a 400 naming the field. Empty values mean "any" (the form's default).
 */
export function parseConsoleQuery(query: Readonly<Record<string, string | undefined>>): ConsoleQuery {
  const issues: { field: string; message: string }[] = [];
  const status = query.status || undefined;
  const severity = query.severity || undefined;
  if (status !== undefined && !(STATUS_FILTERS as readonly string[]).includes(status))
    issues.push({ field: 'status', message: `must be one of ${STATUS_FILTERS.join(', ')}` });
  if (severity !== undefined && !(SEVERITIES as readonly string[]).includes(severity))
    issues.push({ field: 'severity', message: `must be one of ${SEVERITIES.join(', ')}` });
  const rawCursor = query.cursor || undefined;
  const cursor = rawCursor === undefined ? undefined : decodeConsoleCursor(rawCursor);
  if (rawCursor !== undefined && !cursor)
    issues.push({
      field: 'cursor',
      message: 'is not a page this console linked to; start from the first page',
    });
  if (issues.length > 0) throw new InvalidInputError(issues);
  return {
    ...(status ? { status: status as StatusFilter } : {}),
    ...(severity ? { severity: severity as Severity } : {}),
    ...(cursor ? { cursor } : {}),
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
  /** Where the next page starts, when there is one. */
  readonly next?: ConsoleCursor;
}

/** The parts a query reads, in order: a status is in one part; no status or "open" as named. */
export function partsOf(query: Pick<ConsoleQuery, 'status'>): ListPart[] {
  if (query.status === undefined) return ['open', 'final'];
  if (query.status === 'open') return ['open'];
  return [isOpen(query.status) ? 'open' : 'final'];
}

/**
 * One page of the console's list: open incidents first, then the others, each part newest first,
 * the filters applied by the reads. Open-first holds across pages because the parts are read in
 * turn: a cursor names its part, and the final part is read only once the open one is used up.
 * A page reads its rows and one more (to know whether a next page is there), never the rest.
 */
export async function consoleList(
  summaries: IncidentSummaries,
  query: ConsoleQuery,
  now: Date,
  rules: DeadlineRules = DEFAULT_DEADLINE_POLICY,
): Promise<ConsoleList> {
  const parts = partsOf(query);
  const first = query.cursor ? parts.indexOf(query.cursor.part) : 0;
  const want = CONSOLE_PAGE_SIZE + 1;
  const found: { readonly incident: IncidentSummary; readonly part: ListPart }[] = [];
  for (const part of first < 0 ? [] : parts.slice(first)) {
    if (found.length >= want) break;
    const after = part === query.cursor?.part ? query.cursor.after : undefined;
    const status = query.status === 'open' ? undefined : query.status;
    const read = await summaries.pageSummaries({
      part,
      ...(status ? { status } : {}),
      ...(query.severity ? { severity: query.severity } : {}),
      ...(after ? { after } : {}),
      limit: want - found.length,
    });
    for (const incident of read.slice(0, want - found.length)) found.push({ incident, part });
  }
  const shown = found.slice(0, CONSOLE_PAGE_SIZE);
  const last = shown.at(-1);
  const rows = shown.map(({ incident }): ConsoleRow => {
    const next = nextDeadline(incident, rules);
    return {
      incident,
      waitingOn: waitingOn(incident),
      ...(next ? { next: { ...next, missed: Date.parse(next.due) <= now.getTime() } } : {}),
    };
  });
  return {
    rows,
    query,
    ...(found.length > CONSOLE_PAGE_SIZE && last
      ? {
          next: {
            part: last.part,
            after: { detectedAt: last.incident.detectedAt, id: last.incident.id },
          },
        }
      : {}),
  };
}
