/**
 * `GET /`: the incident console — open incidents first, each row a link to its case page, a plain
 * GET form to filter by status and severity, and pages. No script: it works with JavaScript off
 * and folds into stacked rows on a phone.
 */
import type { ConsoleCursor, ConsoleList, ConsoleQuery, ConsoleRow } from '../domain/console.ts';
import { encodeConsoleCursor, STATUS_FILTERS } from '../domain/console.ts';
import type { InputIssue } from '../domain/errors.ts';
import { escapeHtml as e, isolated, table, timeHtml } from '../domain/html.ts';
import { humanDuration } from '../domain/human-time.ts';
import { DEADLINE_LABEL, STATUS_LABEL } from '../domain/labels.ts';
import { SEVERITIES } from '../domain/vocabulary.ts';
import { layout } from '../pages/layout.ts';

/** Who is signed in and the token their sign-out form carries. */
export interface Viewer {
  readonly who: string;
  readonly csrf: string;
}

/*
 * Headers and cells keep their words whole at 1000 px (the shared layout lets cells break
 * anywhere, which suits hashes, not "Contain"): a cell breaks inside a word only when the word is
 * wider than the whole column. The incident number never wraps.
 */
const CONSOLE_STYLE = `<style>.console th{overflow-wrap:normal;word-break:normal;hyphens:none}
.console td{overflow-wrap:break-word}.console td:first-child a{white-space:nowrap}.bar{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:baseline;justify-content:space-between}
.bar form{margin:0}.bar button{margin-top:0}.filters{display:flex;flex-wrap:wrap;gap:0 1rem;align-items:flex-end}
.filters div{min-width:9rem}.pager{display:flex;gap:1rem;flex-wrap:wrap}.late{color:#b3261e;font-weight:600}
.console .long{overflow-wrap:anywhere}</style>`;

/** The header every console page shares: where you are, who you are, and signing out. */
export function consoleHeader(viewer: Viewer): string {
  return `${CONSOLE_STYLE}<nav class="bar" aria-label="Console"><a href="/">All incidents</a>
<span>Signed in as ${isolated(viewer.who)}</span>
<form method="post" action="/auth/logout"><input type="hidden" name="csrf" value="${e(viewer.csrf)}"><button type="submit">Sign out</button></form></nav>`;
}

function option(value: string, text: string, selected: string | undefined): string {
  return `<option value="${e(value)}"${value === (selected ?? '') ? ' selected' : ''}>${e(text)}</option>`;
}

function filterForm(query: Partial<ConsoleQuery>, raw: Readonly<Record<string, string | undefined>>): string {
  const status = query.status ?? raw.status;
  const severity = query.severity ?? raw.severity;
  return `<form method="get" action="/" class="filters" aria-label="Filter incidents">
<div><label for="status">Status</label><select id="status" name="status">${option('', 'Any', status)}${STATUS_FILTERS.map(
    (s) => option(s, s === 'open' ? 'Open (not yet resolved)' : STATUS_LABEL[s], status),
  ).join('')}</select></div>
<div><label for="severity">Severity</label><select id="severity" name="severity">${option('', 'Any', severity)}${SEVERITIES.map(
    (s) => option(s, s, severity),
  ).join('')}</select></div>
<div><button type="submit">Show</button></div></form>`;
}

function deadlineCell(row: ConsoleRow, now: Date): string {
  if (!row.next) return '—';
  const text = `${DEADLINE_LABEL[row.next.kind]}: ${timeHtml(row.next.due, now)}`;
  return row.next.missed ? `<span class="late">${text} (missed)</span>` : text;
}

function pageHref(query: ConsoleQuery, cursor?: ConsoleCursor): string {
  const params = new URLSearchParams();
  if (query.status) params.set('status', query.status);
  if (query.severity) params.set('severity', query.severity);
  if (cursor) params.set('cursor', encodeConsoleCursor(cursor));
  const text = params.toString();
  return text ? `/?${text}` : '/';
}

export function consoleListPage(list: ConsoleList, viewer: Viewer, now: Date): string {
  const { query } = list;
  const rows = table<ConsoleRow>(
    [
      {
        header: 'Incident',
        cell: (r) =>
          `<a href="/console/incidents/${e(r.incident.id)}">${e(r.incident.id)}</a><br>${isolated(r.incident.title)}`,
      },
      { header: 'Severity', cell: (r) => e(r.incident.severity) },
      {
        header: 'Status',
        cell: (r) =>
          `${e(STATUS_LABEL[r.incident.status])}<br><span class="meta">${e(r.incident.phase)} phase</span>`,
      },
      { header: 'Lead', cell: (r) => (r.incident.commander ? isolated(r.incident.commander) : 'Nobody yet') },
      {
        header: 'Age',
        cell: (r) =>
          `<span title="${e(r.incident.detectedAt)}">${e(humanDuration(now.getTime() - Date.parse(r.incident.detectedAt)))}</span>`,
      },
      { header: 'Next deadline', cell: (r) => deadlineCell(r, now) },
      { header: 'Waiting on', cell: (r) => isolated(r.waitingOn) },
    ],
    list.rows,
    query.cursor ? 'No more incidents match these filters.' : 'No incident matches these filters.',
  );
  const links = [
    query.cursor ? `<a href="${e(pageHref(query))}">First page</a>` : '',
    list.next ? `<a href="${e(pageHref(query, list.next))}">Next page</a>` : '',
  ].filter(Boolean);
  const pager = links.length > 0 ? `<nav class="pager" aria-label="Pages">${links.join('')}</nav>` : '';
  return layout(
    'Incidents — Casebook',
    `${consoleHeader(viewer)}<h1>Incidents</h1>
<p class="meta">Open incidents first, then the others; newest first in each${query.cursor ? ' (a later page)' : ''}.</p>
${filterForm(query, {})}<div class="console">${rows}</div>${pager}`,
  );
}

/** The console answering a filter it cannot read: the form again, the field named. */
export function consoleBadQueryPage(
  issues: readonly InputIssue[],
  raw: Readonly<Record<string, string | undefined>>,
  viewer: Viewer,
): string {
  return layout(
    'Incidents — Casebook',
    `${consoleHeader(viewer)}<h1>Incidents</h1><div class="box errors" role="alert"><p>These filters cannot be read:</p><ul>${issues
      .map((i) => `<li><strong>${e(i.field)}</strong> ${e(i.message)}</li>`)
      .join('')}</ul></div>${filterForm({}, raw)}`,
  );
}
