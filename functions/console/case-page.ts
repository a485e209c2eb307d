/**
 * `GET /console/incidents/{id}`: one incident's case, read-only, top-down — the summary, its
 * deadlines, the impact, the plan, the approvals, the timeline newest first, the effects summed
 * up by kind and where they stand, and the ledger's entries a page at a time. What it cost is a
 * page of its own (`/cost`): the P&L reads every entry. Acting on the case stays in the
 * workroom, whose links are capabilities bound to one person.
 */
import type { Approval } from '../domain/approval.ts';
import { escapeHtml as e, isolated, table, timeHtml } from '../domain/html.ts';
import type { TimelineEvent } from '../domain/incident.ts';
import {
  APPROVAL_STATUS_LABEL,
  ASSET_LABEL,
  CANCEL_OUTCOME_LABEL,
  DEADLINE_LABEL,
  HALT_LABEL,
  KIND_LABEL,
  LEDGER_KIND_LABEL,
  LEDGER_LOG_LABEL,
  labelOf,
  OBLIGATION_LABEL,
  PHASE_LABEL,
  RESULT_LABEL,
  ROLE_LABEL,
  SEVERITY_LABEL,
  SIZE_LABEL,
  STATUS_LABEL,
  VERDICT_LABEL,
} from '../domain/labels.ts';
import type { LedgerEntry } from '../domain/ledger.ts';
import { effectState } from '../domain/ledger.ts';
import type { PlanTotal, ShownTotal } from '../domain/plan.ts';
import { formatMoney, shownTotals } from '../domain/plan.ts';
import type { PnlLine, PnlTotal } from '../domain/profit-and-loss.ts';
import { layout } from '../pages/layout.ts';
import type { ConsoleCase, ConsoleCost } from '../use-cases/console.ts';
import type { Viewer } from './list-page.ts';
import { consoleHeader } from './list-page.ts';

/** Timeline events shown before the rest is folded away. */
const TIMELINE_SHOWN = 10;

function facts(rows: readonly (readonly [string, string])[]): string {
  return table<readonly [string, string]>(
    [
      { header: 'Fact', cell: (r) => e(r[0]) },
      { header: 'Value', cell: (r) => r[1] },
    ],
    rows,
  );
}

function summary(c: ConsoleCase, now: Date): string {
  const i = c.incident;
  const rows: [string, string][] = [
    ['Severity', e(i.severity)],
    ['Status', e(STATUS_LABEL[i.status])],
    ['Phase', e(i.phase)],
    ['Lead', i.commander ? isolated(i.commander) : 'Nobody yet'],
    ['Detected', timeHtml(i.detectedAt, now)],
    ['Began (as the source said)', timeHtml(i.startedAt, now)],
    ['Source', isolated(i.source)],
  ];
  if (i.description) rows.push(['Description', isolated(i.description)]);
  if (i.cancelled)
    rows.push([
      'Cancelled',
      `${e(CANCEL_OUTCOME_LABEL[i.cancelled.outcome])}: ${isolated(i.cancelled.reason)}`,
    ]);
  if (i.halted) rows.push(['Halted', `${e(HALT_LABEL[i.halted.reason])} at ${timeHtml(i.halted.at, now)}`]);
  if (i.closedAt) rows.push(['Closed', timeHtml(i.closedAt, now)]);
  return facts(rows);
}

function deadlinesSection(c: ConsoleCase, now: Date): string {
  return table(
    [
      { header: 'Deadline', cell: (d: ConsoleCase['deadlines'][number]) => e(DEADLINE_LABEL[d.kind]) },
      { header: 'Due', cell: (d) => timeHtml(d.due, now) },
      {
        header: 'State',
        cell: (d) =>
          d.metAt
            ? `Met ${timeHtml(d.metAt, now)}${Date.parse(d.metAt) > Date.parse(d.due) ? ' (late)' : ''}`
            : d.missed
              ? '<strong>Missed</strong>'
              : 'Open',
      },
    ],
    c.deadlines,
  );
}

function impactSection(c: ConsoleCase, now: Date): string {
  const impact = c.incident.impact;
  if (!impact) return '<p class="meta">Not assessed yet.</p>';
  return facts([
    ['Users', e(impact.users)],
    ['Transactions', e(impact.transactions)],
    ['At risk', e(impact.assets.map((a) => ASSET_LABEL[a]).join(', '))],
    ['Since', timeHtml(impact.from, now)],
    ...(impact.to ? [['Until', timeHtml(impact.to, now)] as [string, string]] : []),
    ['Summary', isolated(impact.summary)],
    ['Assessed by', `${isolated(impact.by)}, ${timeHtml(impact.at, now)}`],
    ...(c.incident.size
      ? [
          ['Size', `${e(SIZE_LABEL[c.incident.size.size])}: ${isolated(c.incident.size.because)}`] as [
            string,
            string,
          ],
        ]
      : []),
  ]);
}

/** The plan's money: refunds and credits per kind, line and currency, as every page shows it. */
function planMoney(totals: readonly PlanTotal[]): string {
  return table<ShownTotal>(
    [
      { header: 'Kind', cell: (t) => e(labelOf(KIND_LABEL, t.kind)) },
      { header: 'Line', cell: (t) => e(OBLIGATION_LABEL[t.obligation]) },
      { header: 'Effects', cell: (t) => e(t.count) },
      { header: 'Amount', cell: (t) => (t.money ? e(formatMoney(t.money)) : '—') },
    ],
    shownTotals(totals).filter((t) => t.money),
    'No money in this plan.',
  );
}

function planSection(c: ConsoleCase, now: Date): string {
  const plan = c.incident.plan;
  if (!plan) return '<p class="meta">No plan yet.</p>';
  const submitted = c.incident.planSubmitted;
  const rejected = c.incident.planRejected;
  return `${facts([
    ['Version', `v${e(plan.version)}`],
    ['Summary', isolated(plan.summary)],
    ['Proposed', `${isolated(plan.proposedBy)}, ${timeHtml(plan.proposedAt, now)}`],
    ['Effects', e(plan.effectCount)],
    [
      'Submitted',
      submitted
        ? `v${e(submitted.version)} by ${isolated(submitted.by)}, ${timeHtml(submitted.at, now)}`
        : 'Not yet',
    ],
    ...(rejected
      ? [['Sent back', `v${e(rejected.version)}: ${isolated(rejected.reason)}`] as [string, string]]
      : []),
  ])}<h3>Money the plan pays out</h3>${planMoney(plan.totals)}`;
}

function approvalsSection(c: ConsoleCase, now: Date): string {
  const round = c.incident.approvalRound;
  const rule = round
    ? `<p>Round ${e(round.round)} on plan v${e(round.planVersion)}${
        round.decided
          ? `: ${e(VERDICT_LABEL[round.decided.verdict])} — ${isolated(round.decided.reason)}`
          : ': waiting for the approvers'
      }.</p>`
    : '';
  return `${rule}${table<Approval>(
    [
      { header: 'Round', cell: (a) => e(a.round) },
      { header: 'Role', cell: (a) => e(ROLE_LABEL[a.role]) },
      { header: 'Approver', cell: (a) => isolated(a.decision?.name ?? a.approverName) },
      { header: 'Decision', cell: (a) => e(APPROVAL_STATUS_LABEL[a.status]) },
      { header: 'Comment', cell: (a) => (a.decision?.comment ? isolated(a.decision.comment) : '—') },
      {
        header: 'When',
        cell: (a) => (a.decision ? timeHtml(a.decision.at, now) : timeHtml(a.requestedAt, now)),
      },
    ],
    [...c.approvals].sort((a, b) => b.round - a.round || a.role.localeCompare(b.role)),
    'No approval asked yet.',
  )}`;
}

function timelineSection(c: ConsoleCase, now: Date): string {
  const newest = [...c.timeline].reverse();
  const columns = [
    { header: 'When', cell: (t: TimelineEvent) => timeHtml(t.at, now) },
    { header: 'Phase', cell: (t: TimelineEvent) => e(t.phase) },
    { header: 'What happened', cell: (t: TimelineEvent) => isolated(t.summary) },
  ];
  const rest = newest.slice(TIMELINE_SHOWN);
  return `${table(columns, newest.slice(0, TIMELINE_SHOWN))}${
    rest.length > 0
      ? `<details><summary>${rest.length} earlier event${rest.length === 1 ? '' : 's'}</summary>${table(columns, rest)}</details>`
      : ''
  }`;
}

/** The effects per kind as Act last counted them: "Refunds: 3 confirmed, 0 pending, …". */
function effectsSection(c: ConsoleCase, now: Date): string {
  const { summary, summaryAt } = c.ledger;
  if (summary.length === 0) return '<p class="meta">No effect carried out yet.</p>';
  return `<ul>${summary
    .map(
      (r) =>
        `<li><strong>${e(`${labelOf(KIND_LABEL, r.kind)}s`)}</strong>: ${e(r.confirmed)} confirmed, ${e(r.pending)} pending, ${e(r.attention)} waiting for a person${r.voided ? `, ${e(r.voided)} voided` : ''} (of ${e(r.total)})</li>`,
    )
    .join(
      '',
    )}</ul>${summaryAt ? `<p class="meta">As Act counted them ${timeHtml(summaryAt, now)}.</p>` : ''}`;
}

/** One page of the ledger, both logs, newest first, with links to the older and the newest page. */
function ledgerSection(c: ConsoleCase, now: Date): string {
  const base = `/console/incidents/${encodeURIComponent(c.incident.id)}`;
  const rows = table<LedgerEntry>(
    [
      { header: '#', cell: (l) => e(l.seq) },
      { header: 'When', cell: (l) => timeHtml(l.at, now) },
      {
        header: 'Kind',
        cell: (l) =>
          `${e(labelOf(LEDGER_KIND_LABEL, l.kind))}<br><span class="meta">${e(LEDGER_LOG_LABEL[l.log])}</span>`,
      },
      { header: 'State', cell: (l) => e(labelOf(RESULT_LABEL, effectState(l) ?? '')) || '—' },
      // Summaries carry pseudonyms and references no column is wide enough for: they may break.
      {
        header: 'What',
        cell: (l) =>
          `<span class="long">${isolated(l.summary)}</span><br><span class="meta long">By ${isolated(l.actor)}</span>`,
      },
    ],
    c.ledger.page,
    'Nothing on the ledger yet.',
  );
  const links = [
    c.ledger.older ? `<a href="${e(base)}#ledger">Newest entries</a>` : '',
    c.ledger.cursor
      ? `<a href="${e(`${base}?ledger=${encodeURIComponent(c.ledger.cursor)}`)}#ledger">Older entries</a>`
      : '',
  ].filter(Boolean);
  return `<p class="meta">${e(c.ledger.count)} entries in all, newest first.</p>${rows}${
    links.length > 0 ? `<nav class="pager" aria-label="Ledger pages">${links.join('')}</nav>` : ''
  }`;
}

function pnlSection(c: ConsoleCost): string {
  const totals = table<PnlTotal>(
    [
      { header: 'Kind', cell: (t) => e(labelOf(LEDGER_KIND_LABEL, t.kind)) },
      { header: 'Line', cell: (t) => (t.obligation ? e(OBLIGATION_LABEL[t.obligation]) : '—') },
      { header: 'Entries', cell: (t) => e(t.count) },
      { header: 'Amount', cell: (t) => e(formatMoney({ minor: t.minor, currency: t.currency })) },
    ],
    c.pnl.totals,
    'Nothing paid or spent yet.',
  );
  const lines = table<PnlLine>(
    [
      { header: 'Line', cell: (l) => (l.obligation ? e(OBLIGATION_LABEL[l.obligation]) : '—') },
      { header: 'Amount', cell: (l) => e(formatMoney({ minor: l.minor, currency: l.currency })) },
    ],
    c.pnl.lines,
    '',
  );
  return c.pnl.totals.length > 0 ? `${totals}<h3>By line</h3>${lines}` : totals;
}

export function consoleCasePage(c: ConsoleCase, viewer: Viewer, now: Date): string {
  const i = c.incident;
  const id = e(i.id);
  return layout(
    `${i.id} ${i.title} — Casebook`,
    `${consoleHeader(viewer)}<div class="console"><h1>${id}: ${isolated(i.title)}</h1>
<p class="meta">${e(SEVERITY_LABEL[i.severity])} · ${e(STATUS_LABEL[i.status])} · ${e(PHASE_LABEL[i.phase])} · <a href="/console/incidents/${id}/case-file.txt">Case file (text)</a></p>
<h2>Summary</h2>${summary(c, now)}
<h2>Deadlines</h2>${deadlinesSection(c, now)}
${
  c.postmortem
    ? `<h2>Postmortem</h2>${facts([
        ['Title', isolated(c.postmortem.title)],
        ['Summary', isolated(c.postmortem.summary)],
        ['Root cause', isolated(c.postmortem.rootCause)],
      ])}`
    : ''
}
<h2>Impact</h2>${impactSection(c, now)}
<h2>Plan</h2>${planSection(c, now)}
<h2>Approvals</h2>${approvalsSection(c, now)}
<h2>Timeline, newest first</h2>${timelineSection(c, now)}
<h2>Effects</h2>${effectsSection(c, now)}
<h2 id="ledger">Ledger entries</h2>${ledgerSection(c, now)}
<h2>What it cost</h2><p><a href="/console/incidents/${id}/cost">What it cost</a>: the P&amp;L of every entry of the Effect Ledger, corrections netted out.</p></div>`,
  );
}

export function consoleNotFoundPage(id: string, viewer: Viewer): string {
  return layout(
    'No such incident — Casebook',
    `${consoleHeader(viewer)}<h1>No such incident</h1><p>Casebook has no incident ${isolated(id)}.</p>`,
  );
}

/** `GET /console/incidents/{id}/cost`: the P&L of the whole Effect Ledger, corrections netted out. */
export function consoleCostPage(c: ConsoleCost, viewer: Viewer): string {
  const id = e(c.incident.id);
  return layout(
    `What ${c.incident.id} cost — Casebook`,
    `${consoleHeader(viewer)}<div class="console"><h1>What ${id} cost</h1>
<p class="meta"><a href="/console/incidents/${id}">${id}: ${isolated(c.incident.title)}</a></p>
<p>Money paid out or spent, from every confirmed entry of the Effect Ledger that stands: a correction replaces the amount it corrects, or voids it when it has none, and is counted under the kind of the entry it corrects. ${e(c.entries)} entries read; ${e(c.corrected)} replaced or voided by a later correction.</p>
<h2>By kind</h2>${pnlSection(c)}</div>`,
  );
}
