/**
 * `GET /console/incidents/{id}`: one incident's case, read-only, top-down — the summary, its
 * deadlines, the impact, the plan, the approvals, the timeline newest first, the Effect Ledger
 * summarised by kind and state, the Decision Log, and what it cost. Acting on it stays in the
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
  LEDGER_KIND_LABEL,
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
import { formatMajorAmount } from '../domain/money.ts';
import type { PlanTotal } from '../domain/plan.ts';
import type { PnlLine, PnlTotal } from '../domain/profit-and-loss.ts';
import { layout } from '../pages/layout.ts';
import type { CaseView } from '../use-cases/read-incidents.ts';
import type { Viewer } from './list-page.ts';
import { consoleHeader } from './list-page.ts';

/** The case as the console shows it: the case, and every approval round's requests. */
export interface ConsoleCase extends CaseView {
  readonly approvals: readonly Approval[];
}

/** Timeline events shown before the rest is folded away. */
const TIMELINE_SHOWN = 10;

/** The money kinds people count as what the incident paid out to customers. */
const MONEY_KINDS = new Set(['refund', 'credit']);

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

function planMoney(totals: readonly PlanTotal[]): string {
  return table<PlanTotal>(
    [
      { header: 'Kind', cell: (t) => e(labelOf(LEDGER_KIND_LABEL, t.kind)) },
      { header: 'Line', cell: (t) => e(OBLIGATION_LABEL[t.obligation]) },
      { header: 'Effects', cell: (t) => e(t.count) },
      {
        header: 'Amount',
        cell: (t) =>
          t.currency
            ? `${e(formatMajorAmount({ minor: t.minor, currency: t.currency }))} ${e(t.currency)}`
            : '—',
      },
    ],
    totals.filter((t) => MONEY_KINDS.has(t.kind)),
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

/**
 * The Effect Ledger by kind and state, each effect counted once at its latest state ("Refund: 3
 * confirmed"), not once per entry it wrote on its way (intent, executed, confirmed).
 */
function ledgerSection(entries: readonly LedgerEntry[]): string {
  const latest = new Map<string, { readonly kind: string; readonly state: string }>();
  for (const entry of entries) {
    // Whatever the entry's format, an effect's entries share its id.
    const effectId = (entry as { readonly effectId?: string }).effectId;
    const key = effectId ? `${entry.kind}:${effectId}` : `entry:${entry.seq}`;
    latest.set(key, { kind: entry.kind, state: effectState(entry) ?? 'recorded' });
  }
  const byKind = new Map<string, Map<string, number>>();
  for (const { kind, state } of latest.values()) {
    const states = byKind.get(kind) ?? new Map<string, number>();
    states.set(state, (states.get(state) ?? 0) + 1);
    byKind.set(kind, states);
  }
  return table<[string, Map<string, number>]>(
    [
      { header: 'Kind', cell: ([kind]) => e(labelOf(LEDGER_KIND_LABEL, kind)) },
      {
        header: 'By latest state',
        cell: ([, states]) =>
          e([...states].map(([state, n]) => `${n} ${labelOf(RESULT_LABEL, state).toLowerCase()}`).join(', ')),
      },
    ],
    [...byKind].sort(([a], [b]) => a.localeCompare(b)),
    'Nothing on the Effect Ledger yet.',
  );
}

function decisionsSection(c: ConsoleCase, now: Date): string {
  return table<LedgerEntry>(
    [
      { header: 'When', cell: (d) => timeHtml(d.at, now) },
      { header: 'Decision', cell: (d) => e(labelOf(LEDGER_KIND_LABEL, d.kind)) },
      { header: 'By', cell: (d) => isolated(d.actor) },
      { header: 'What', cell: (d) => isolated(d.summary) },
    ],
    [...c.decisions].reverse(),
    'No decision recorded yet.',
  );
}

function pnlSection(c: ConsoleCase): string {
  const totals = table<PnlTotal>(
    [
      { header: 'Kind', cell: (t) => e(labelOf(LEDGER_KIND_LABEL, t.kind)) },
      { header: 'Line', cell: (t) => (t.obligation ? e(OBLIGATION_LABEL[t.obligation]) : '—') },
      { header: 'Entries', cell: (t) => e(t.count) },
      { header: 'Amount', cell: (t) => `${e(t.amount)} ${e(t.currency)}` },
    ],
    c.pnl.totals,
    'Nothing paid or spent yet.',
  );
  const lines = table<PnlLine>(
    [
      { header: 'Line', cell: (l) => (l.obligation ? e(OBLIGATION_LABEL[l.obligation]) : '—') },
      { header: 'Amount', cell: (l) => `${e(l.amount)} ${e(l.currency)}` },
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
<h2>Effect Ledger</h2><p class="meta">${e(c.ledgerCount)} entries in all.</p>${ledgerSection(c.ledger)}
<h2>Decision Log, newest first</h2>${decisionsSection(c, now)}
<h2>What it cost</h2>${pnlSection(c)}</div>`,
  );
}

export function consoleNotFoundPage(id: string, viewer: Viewer): string {
  return layout(
    'No such incident — Casebook',
    `${consoleHeader(viewer)}<h1>No such incident</h1><p>Casebook has no incident ${isolated(id)}.</p>`,
  );
}
