/**
 * The workroom page: what is asked of this person and by when comes first, then the forms the
 * phase and their role allow, then the case (deadlines, impact, customers, plan, approvals,
 * timeline, ledger). Server-rendered, no scripts; every control labelled.
 */
import type { InputIssue } from '../domain/errors.ts';
import { type Column, escapeHtml as e, isolated as t, table, timeHtml } from '../domain/html.ts';
import { humanDuration } from '../domain/human-time.ts';
import { formatMajorAmount } from '../domain/money.ts';
import { NOTICE_TEMPLATES, PLAN_EFFECT_KINDS } from '../domain/plan.ts';
import { ACTION_SAFETY, ROLE_LABEL, SEVERITIES, WORLDS } from '../domain/vocabulary.ts';
import type { WorkAction } from '../domain/workroom.ts';
import { layout } from '../pages/layout.ts';
import type { WorkroomView } from '../use-cases/workroom.ts';
import { FORM_ROWS } from './forms.ts';

/** Why nothing was recorded, shown above the forms. */
export interface WorkroomNotes {
  readonly action?: string;
  readonly issues?: readonly InputIssue[];
  readonly refused?: string;
}

const DEADLINE_LABEL: Readonly<Record<string, string>> = {
  response: 'Response (acknowledged)',
  resolution: 'Resolution (Act done)',
  regulatory: 'Regulator notified (GDPR Art. 33)',
  postmortem: 'Postmortem filed',
};

const money = (minor: number, currency: string | null) =>
  currency ? `${e(currency)} ${e(formatMajorAmount({ minor, currency }))}` : '—';

/** The case's time-to figures, as the metrics line names them. */
const METRICS = [
  ['timeToAcknowledgeSeconds', 'acknowledged'],
  ['timeToMitigateSeconds', 'mitigated'],
  ['timeToResolveSeconds', 'resolved'],
] as const satisfies readonly (readonly [keyof WorkroomView['metrics'], string])[];

const CUSTOMER_COLUMNS: readonly Column<WorkroomView['customers']['items'][number]>[] = [
  { header: 'Customer', cell: (c) => t(c.customerRef) },
  { header: 'Name', cell: (c) => t(c.name ?? '') },
  { header: 'E-mail', cell: (c) => t(c.email ?? '') },
  { header: 'Amount', cell: (c) => (c.amount ? money(c.amount.minor, c.amount.currency) : '') },
  { header: 'Payment', cell: (c) => t(c.paymentRef ?? '') },
];

const TOTAL_COLUMNS: readonly Column<NonNullable<WorkroomView['incident']['plan']>['totals'][number]>[] = [
  { header: 'Kind', cell: (x) => e(x.kind) },
  { header: 'Total', cell: (x) => money(x.minor, x.currency) },
  { header: 'Line', cell: (x) => (x.obligation === 'tos' ? 'ToS line' : 'brand line') },
  { header: 'Effects', cell: (x) => e(x.count) },
];

const options = (values: readonly string[], selected?: string) =>
  values.map((v) => `<option value="${e(v)}"${v === selected ? ' selected' : ''}>${e(v)}</option>`).join('');

function field(id: string, label: string, control: string): string {
  return `<label for="${e(id)}">${e(label)}</label>${control}`;
}

const input = (name: string, type = 'text', extra = '') =>
  `<input type="${type}" id="${e(name)}" name="${e(name)}"${extra}>`;
const area = (name: string, extra = '') =>
  `<textarea id="${e(name)}" name="${e(name)}" dir="auto"${extra}></textarea>`;

/** One form per action: its fields, as `functions/workroom/forms.ts` reads them. */
const FORMS: {
  readonly [A in WorkAction]: {
    readonly title: string;
    readonly body: (view: WorkroomView) => string;
    readonly multipart?: boolean;
  };
} = {
  acknowledge: {
    title: 'Acknowledge',
    body: () => '<p>Say you are on it. The first to acknowledge leads the incident.</p>',
  },
  contain: {
    title: 'Report containment',
    body: () =>
      `${Array.from({ length: FORM_ROWS.containActions }, (_, n) => {
        const i = n + 1;
        return `<fieldset><legend>Action ${i}${i > 1 ? ' (optional)' : ''}</legend>
${field(`description_${i}`, 'What was done', input(`description_${i}`, 'text', i === 1 ? ' required' : ''))}
${field(`safety_${i}`, 'Safety', `<select id="safety_${i}" name="safety_${i}">${options(ACTION_SAFETY)}</select>`)}
${field(`world_${i}`, 'World', `<select id="world_${i}" name="world_${i}">${options(WORLDS, 'RML2')}</select>`)}</fieldset>`;
      }).join('')}
<p><label><input type="checkbox" name="contained" value="yes"> The incident is contained: no new history is being written</label></p>`,
  },
  impact: {
    title: 'Assess the impact',
    body: () => `${field('users', 'Users affected', input('users', 'number', ' min="0" required'))}
${field('transactions', 'Transactions affected', input('transactions', 'number', ' min="0" required'))}
<fieldset><legend>At risk</legend>${['money', 'pii', 'legal', 'operational_integrity']
      .map(
        (a) => `<label><input type="checkbox" name="assets" value="${a}"> ${e(a.replace('_', ' '))}</label>`,
      )
      .join('')}</fieldset>
${field('from', 'Since (UTC)', input('from', 'datetime-local', ' required'))}
${field('to', 'Until (UTC, empty if ongoing)', input('to', 'datetime-local'))}
${field('summary', 'Summary', area('summary', ' required'))}`,
  },
  customers: {
    title: 'Upload the affected customers',
    multipart: true,
    body: () => `<p>A CSV file with the header <code>customer_ref,email,name,amount,currency,product_area,payment_ref</code>. A re-upload replaces the list for the next plan.</p>
${field('file', 'CSV file', '<input type="file" id="file" name="file" accept=".csv,text/csv" required>')}`,
  },
  plan: {
    title: 'Write the remediation plan',
    body: () => `${field('summary', 'Summary', area('summary', ' required'))}
${Array.from({ length: FORM_ROWS.planRules }, (_, n) => {
  const i = n + 1;
  return `<fieldset><legend>Rule ${i}: one effect per customer${i > 1 ? ' (optional)' : ''}</legend>
${field(`kind_${i}`, 'Kind', `<select id="kind_${i}" name="kind_${i}"><option value="">—</option>${options(PLAN_EFFECT_KINDS)}</select>`)}
${field(`amount_${i}`, 'Amount (decimal, or "affected": each customer\'s own)', input(`amount_${i}`))}
${field(`currency_${i}`, 'Currency (with a decimal amount)', input(`currency_${i}`, 'text', ' maxlength="3"'))}
${field(`obligation_${i}`, 'P&L line', `<select id="obligation_${i}" name="obligation_${i}"><option value="tos">ToS (owed by contract)</option><option value="brand">brand (chosen beyond it)</option></select>`)}
${field(`template_${i}`, 'Notice template', `<select id="template_${i}" name="template_${i}"><option value="">—</option>${options(NOTICE_TEMPLATES)}</select>`)}</fieldset>`;
}).join('')}`,
  },
  'submit-plan': {
    title: 'Submit the plan for approval',
    body: (v) =>
      `<p>Plan v${e(v.incident.plan?.version ?? '?')} goes, exactly as shown below, to the approvers the approval policy names for a ${e(v.incident.size?.size ?? 'large')} ${e(v.incident.severity)} incident (by default: SRE and Business when small, all three when medium, all three with Legal's veto when large).</p>`,
  },
  severity: {
    title: 'Change the severity',
    body: (
      v,
    ) => `${field('severity', 'Severity', `<select id="severity" name="severity">${options(SEVERITIES, v.incident.severity)}</select>`)}
${field('reason', 'Reason (goes to the Decision Log)', area('reason', ' required'))}`,
  },
  size: {
    title: 'Override the size',
    body: (
      v,
    ) => `${field('size', 'Size', `<select id="size" name="size">${options(['small', 'medium', 'large'], v.incident.size?.size)}</select>`)}
${field('reason', 'Reason (goes to the Decision Log)', area('reason', ' required'))}`,
  },
  regulator: {
    title: 'Record that the regulator was notified',
    body: () => `${field('reference', 'Reference', input('reference', 'text', ' required'))}
${field('notifiedAt', 'Notified at (UTC)', input('notifiedAt', 'datetime-local', ' required'))}`,
  },
  cancel: {
    title: 'Cancel or downscope',
    body: () => `${field('outcome', 'Outcome', '<select id="outcome" name="outcome"><option value="false_alarm">false alarm</option><option value="downscoped">downscoped</option></select>')}
${field('world', 'World it belongs to', `<select id="world" name="world">${options(WORLDS, 'RML2')}</select>`)}
${field('reason', 'Reason (goes to the Decision Log)', area('reason', ' required'))}`,
  },
  note: { title: 'Add a note', body: () => field('text', 'Note', area('text', ' required')) },
  handoff: {
    title: 'Hand the incident over',
    body: () => field('to', "To (a responder's address)", input('to', 'email', ' required')),
  },
  time: {
    title: 'Log time worked',
    body: () => `${field('role', 'As', input('role', 'text', ' required'))}
${field('minutes', 'Minutes', input('minutes', 'number', ' min="1" required'))}
${field('note', 'On what', input('note', 'text', ' required'))}`,
  },
  postmortem: {
    title: 'Submit the postmortem',
    body: () => `${field('title', 'Title', input('title', 'text', ' required'))}
${field('summary', 'Summary and impact', area('summary', ' required'))}
${field('rootCause', 'Root cause', area('rootCause', ' required'))}
${field('contributingFactors', 'Contributing factors (one per line)', area('contributingFactors'))}
${field('whatWentWell', 'What went well (one per line)', area('whatWentWell'))}
${field('lessonsTechnical', 'Lessons: technical (one per line)', area('lessonsTechnical'))}
${field('lessonsProcess', 'Lessons: process (one per line)', area('lessonsProcess'))}
${field('lessonsGovernance', 'Lessons: governance (one per line)', area('lessonsGovernance'))}
${field('actionItems', 'Action items (one per line: item | owner | YYYY-MM-DD)', area('actionItems'))}`,
  },
};

function form(view: WorkroomView, action: WorkAction, base: string): string {
  const spec = FORMS[action];
  return `<form method="post" action="${e(`${base}/${action}`)}" class="box" id="${e(action)}"${spec.multipart ? ' enctype="multipart/form-data"' : ''}>
<h3>${e(spec.title)}</h3>${spec.body(view)}<button type="submit">${e(spec.title)}</button></form>`;
}

/** The page at `/work/{linkId}`; its forms post to `/work/{linkId}/{action}`. */
export function workroomPage(view: WorkroomView, linkId: string, notes: WorkroomNotes = {}): string {
  const { incident, person } = view;
  const now = new Date(view.now);
  const when = (at: string) => timeHtml(at, now);
  const base = `/work/${encodeURIComponent(linkId)}`;
  const asked = view.asked;
  const primary = asked.action && view.actions.includes(asked.action) ? asked.action : undefined;
  const others = view.actions.filter((a) => a !== primary);
  const problems = [
    ...(notes.refused ? [`<p>${e(notes.refused)}</p>`] : []),
    ...(notes.issues ?? []).map((i) => `<p><code>${e(i.field)}</code> ${e(i.message)}</p>`),
  ];
  const plan = incident.plan;
  const list = incident.customerList;
  return layout(
    `${incident.id}: workroom`,
    `<h1>${e(incident.id)} — ${t(incident.title)}</h1>
<p class="meta">${e(incident.severity)} · ${e(incident.world)} · status <strong>${e(incident.status)}</strong> · phase ${e(incident.phase)} · you: ${e(person.email)} (${person.role === 'sre_lead' ? 'SRE lead' : 'responder'})${incident.commander ? ` · led by ${e(incident.commander)}` : ''}</p>
<div class="box"><strong>Asked of you:</strong> ${e(asked.summary)}${asked.due ? ` <strong>By ${when(asked.due)}.</strong>` : ''}</div>
${problems.length > 0 ? `<div class="box errors" role="alert"><strong>Nothing was recorded${notes.action ? ` (${e(notes.action)})` : ''}:</strong>${problems.join('')}</div>` : ''}
${primary ? form(view, primary, base) : ''}
<h2>Deadlines</h2>
${table<WorkroomView['deadlines'][number]>(
  [
    { header: 'Deadline', cell: (d) => e(DEADLINE_LABEL[d.kind] ?? d.kind) },
    { header: 'Due', cell: (d) => when(d.due) },
    {
      header: 'State',
      cell: (d) => (d.metAt ? `met ${when(d.metAt)}` : d.missed ? '<strong>missed</strong>' : 'open'),
    },
  ],
  view.deadlines,
)}
<p class="meta">${METRICS.flatMap(([key, label]) => {
      const seconds = view.metrics[key];
      return seconds === undefined ? [] : [`${label} after ${humanDuration(seconds * 1000)}`];
    }).join(' · ')}</p>
<h2>Impact</h2>
${
  incident.impact
    ? `<p>${e(incident.impact.users)} users, ${e(incident.impact.transactions)} transactions; at risk: ${e(incident.impact.assets.join(', '))}; since ${when(incident.impact.from)}${incident.impact.to ? ` until ${when(incident.impact.to)}` : ''}.</p><p>${t(incident.impact.summary)}</p>
<p>Size <strong>${e(incident.size?.size ?? '?')}</strong>: ${t(incident.size?.because ?? '')}${incident.size?.overriddenBy ? ` (set by ${e(incident.size.overriddenBy)})` : ''}</p>`
    : '<p class="meta">Not assessed yet.</p>'
}
<h2>Affected customers</h2>
${
  list
    ? `<p>${e(list.count)} customer${list.count === 1 ? '' : 's'} (list v${e(list.version)})${(list.totals ?? []).map((x) => `; ${money(x.minor, x.currency)} over ${e(x.count)}`).join('')}.</p>
${table(CUSTOMER_COLUMNS, view.customers.items)}${view.customers.cursor ? `<p><a href="${e(`${base}?customers=${encodeURIComponent(view.customers.cursor)}`)}">Next customers</a></p>` : ''}`
    : '<p class="meta">No list uploaded.</p>'
}
<h2>Remediation plan</h2>
${
  plan
    ? `<p>v${e(plan.version)} by ${e(plan.proposedBy)}: ${t(plan.summary)}${incident.planSubmitted?.version === plan.version ? ' <strong>(submitted)</strong>' : ''}</p>
${table(TOTAL_COLUMNS, plan.totals)}
<p class="meta">Plan hash <code>${e(plan.hash)}</code>.</p>`
    : '<p class="meta">No plan yet.</p>'
}
${
  view.approvals.length > 0
    ? `<h2>Approvals, round ${e(incident.decideRound)}</h2>${table<WorkroomView['approvals'][number]>(
        [
          { header: 'Role', cell: (a) => e(ROLE_LABEL[a.role]) },
          { header: 'Approver', cell: (a) => `${t(a.approverName)} (${e(a.approverEmail)})` },
          { header: 'Status', cell: (a) => e(a.status) },
          {
            header: 'Decided',
            cell: (a) => (a.decision ? `${t(a.decision.name)}, ${when(a.decision.at)}` : ''),
          },
        ],
        view.approvals,
      )}`
    : ''
}
${others.length > 0 ? `<h2>What else you can do</h2>${others.map((a) => form(view, a, base)).join('\n')}` : ''}
<h2>Timeline</h2>
${table<WorkroomView['timeline'][number]>(
  [
    { header: 'When', cell: (ev) => when(ev.at) },
    { header: 'World', cell: (ev) => e(ev.world) },
    { header: 'Phase', cell: (ev) => e(ev.phase) },
    { header: 'Event', cell: (ev) => t(ev.summary) },
  ],
  view.timeline,
)}
<h2>Effect Ledger (${e(view.ledger.count)} entries; the newest)</h2>
${table<WorkroomView['ledger']['newest'][number]>(
  [
    { header: '#', cell: (l) => e(l.seq) },
    { header: 'When', cell: (l) => when(l.at) },
    { header: 'Kind', cell: (l) => e(l.kind) },
    { header: 'State', cell: (l) => e(('state' in l ? l.state : undefined) ?? '') },
    { header: 'Entry', cell: (l) => t(l.summary) },
  ],
  view.ledger.newest,
)}
<h2>Decision Log</h2>
${table<WorkroomView['decisions'][number]>(
  [
    { header: '#', cell: (l) => e(l.seq) },
    { header: 'When', cell: (l) => when(l.at) },
    { header: 'Who', cell: (l) => t(l.actor) },
    { header: 'Decision', cell: (l) => t(l.summary) },
  ],
  view.decisions,
)}
${
  view.postmortem
    ? `<h2>Postmortem: ${t(view.postmortem.title)}</h2><p>${t(view.postmortem.summary)}</p><h3>Root cause</h3><p>${t(view.postmortem.rootCause)}</p>`
    : ''
}`,
  );
}

export function notFoundWorkroomPage(message: string): string {
  return layout(
    'Not found',
    `<h1>Not found</h1><p>${e(message)}. Check that you opened the whole link from the e-mail.</p>`,
  );
}

export function goneWorkroomPage(message: string): string {
  return layout('Link expired', `<h1>This link has expired</h1><p>${e(message)}.</p>`);
}
