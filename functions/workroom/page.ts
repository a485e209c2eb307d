/**
 * The workroom page: what is asked of this person and by when comes first, then the forms the
 * phase and their role allow, then the case (deadlines, impact, customers, plan, approvals,
 * timeline, ledger). Server-rendered, no scripts; every control labelled.
 */

import { isUnchanged } from '../domain/casework.ts';
import { IMPACT_ASSETS, IMPACT_SIZES } from '../domain/deadlines.ts';
import type { InputIssue } from '../domain/errors.ts';
import { type Column, escapeHtml as e, isolated as t, table, timeHtml } from '../domain/html.ts';
import { humanDuration } from '../domain/human-time.ts';
import {
  APPROVAL_STATUS_LABEL,
  ASSET_LABEL,
  DEADLINE_LABEL,
  KIND_LABEL,
  LEDGER_KIND_LABEL,
  LEDGER_LOG_LABEL,
  labelOf,
  OBLIGATION_LABEL,
  PHASE_LABEL,
  RESULT_LABEL,
  SEVERITY_LABEL,
  SIZE_LABEL,
  STATUS_LABEL,
  TEMPLATE_LABEL,
  WORLD_LABEL,
} from '../domain/labels.ts';
import { LIMITS } from '../domain/limits.ts';
import { draftNoticeText, paymentDate } from '../domain/messages.ts';
import { formatMajorAmount } from '../domain/money.ts';
import {
  moneyLines,
  NOTICE_PLACEHOLDERS,
  NOTICE_TEMPLATES,
  PLAN_EFFECT_KINDS,
  type ShownTotal,
  shownTotals,
} from '../domain/plan.ts';
import { ACTION_SAFETY, ROLE_LABEL, SEVERITIES, WORLDS } from '../domain/vocabulary.ts';
import { isWorkAction, type WorkAction } from '../domain/workroom.ts';
import { layout } from '../pages/layout.ts';
import type { WorkroomView } from '../use-cases/workroom.ts';
import { controlOf, FORM_ROWS } from './forms.ts';

/** Why nothing was recorded, shown above the forms. */
export interface WorkroomNotes {
  readonly action?: string;
  readonly issues?: readonly InputIssue[];
  readonly refused?: string;
  /** What the failed form posted, shown in it again. */
  readonly posted?: URLSearchParams;
  /** The action the post before this page recorded. */
  readonly recorded?: WorkAction;
  /** The page was asked for an older page of the ledger: its entries are shown open. */
  readonly ledgerPage?: boolean;
}

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
  { header: 'Paid', cell: (c) => t(c.paidAt ? paymentDate(c.paidAt) : '') },
];

const TOTAL_COLUMNS: readonly Column<ShownTotal>[] = [
  { header: 'Kind', cell: (x) => e(KIND_LABEL[x.kind]) },
  { header: 'Total', cell: (x) => (x.money ? money(x.money.minor, x.money.currency) : '—') },
  { header: 'Line', cell: (x) => e(OBLIGATION_LABEL[x.obligation]) },
  { header: 'Effects', cell: (x) => e(x.count) },
];

/** The plan's money per P&L line and currency (seed 001 §7.2): refunds and credits, what the contract owes, what was chosen. */
function lineTotals(totals: NonNullable<WorkroomView['incident']['plan']>['totals']): string {
  const lines = moneyLines(totals);
  return (['tos', 'brand'] as const)
    .map((line) => {
      const amounts = lines
        .filter((l) => l.obligation === line)
        .map((l) => money(l.money.minor, l.money.currency))
        .join(', ');
      return `<strong>${OBLIGATION_LABEL[line]}</strong> ${amounts || 'no money'}`;
    })
    .join(' · ');
}

/**
 * The controls of one form. Ids carry the action (`plan-summary`, `impact-summary`), since one page
 * shows several forms with fields of the same name and a label must point at its own control. On
 * the form whose post failed, each control shows what was posted (nothing typed is lost; a file
 * input cannot be refilled) and the controls named in the issues are marked invalid.
 */
interface Controls {
  readonly id: (name: string) => string;
  /** A labelled `<input>`; `row` ("Rule 2") is how issues name a control of a numbered row. */
  input(name: string, label: string, options?: ControlOptions & { type?: string }): string;
  area(name: string, label: string, options?: ControlOptions): string;
  select(
    name: string,
    label: string,
    choices: readonly (string | readonly [value: string, text: string])[],
    options?: ControlOptions & { selected?: string },
  ): string;
  /**
   * A checkbox inside its label; checked when it was posted, or when `checked` on a fresh form.
   * `group` names the boxes that share its name (issues about them are called by it).
   */
  check(name: string, value: string, label: string, options?: { group?: string; checked?: boolean }): string;
  /** Each control's label as the person reads it, by name: what an issue about it is called. */
  readonly labels: ReadonlyMap<string, string>;
}

interface ControlOptions {
  readonly attrs?: string;
  readonly row?: string;
  /** What a fresh form holds (a failed post shows what was posted instead). */
  readonly value?: string;
}

function controls(
  action: WorkAction,
  posted?: URLSearchParams,
  invalid: ReadonlySet<string> = new Set(),
): Controls {
  const labels = new Map<string, string>();
  const id = (name: string) => `${action}-${name}`;
  const labelled = (name: string, label: string, row: string | undefined, control: string) => {
    labels.set(name, row ? `${row}: ${label}` : label);
    return `<label for="${e(id(name))}">${e(label)}</label>${control}`;
  };
  const common = (name: string, attrs = '') =>
    `id="${e(id(name))}" name="${e(name)}"${invalid.has(name) ? ' aria-invalid="true"' : ''}${attrs}`;
  return {
    id,
    labels,
    input: (name, label, { type = 'text', attrs, row, value } = {}) => {
      const shown = posted ? posted.get(name) : value;
      return labelled(
        name,
        label,
        row,
        `<input type="${type}" ${common(name, attrs)}${shown ? ` value="${e(shown)}"` : ''}>`,
      );
    },
    area: (name, label, { attrs, row, value } = {}) =>
      labelled(
        name,
        label,
        row,
        `<textarea ${common(name, attrs)} dir="auto">${e((posted ? posted.get(name) : value) ?? '')}</textarea>`,
      ),
    select: (name, label, choices, { attrs, row, selected } = {}) => {
      const chosen = posted ? (posted.get(name) ?? '') : selected;
      const list = choices
        .map((c) => (typeof c === 'string' ? [c, c] : c))
        .map(([v, text]) => `<option value="${e(v)}"${v === chosen ? ' selected' : ''}>${e(text)}</option>`)
        .join('');
      return labelled(name, label, row, `<select ${common(name, attrs)}>${list}</select>`);
    },
    check: (name, value, label, { group, checked = false } = {}) => {
      // The first box of a group carries the group's id, so an issue about the group links to it.
      const first = !labels.has(name);
      if (first) labels.set(name, group ?? label);
      const on = posted ? posted.getAll(name).includes(value) : checked;
      return `<label><input type="checkbox" id="${e(first ? id(name) : `${id(name)}-${value}`)}" name="${e(name)}" value="${e(value)}"${on ? ' checked' : ''}> ${e(label)}</label>`;
    },
  };
}

const NO_CHOICE = ['', '—'] as const;

/**
 * Times are typed as text in UTC, 24-hour (`2026-12-06 10:23`): a browser's date-time picker shows
 * the reader's own locale (an AM/PM clock under a "UTC" label).
 */
const UTC_TIME_ATTRS =
  ' inputmode="numeric" placeholder="2026-12-06 10:23" pattern="\\d{4}-\\d{2}-\\d{2}[T ]\\d{2}:\\d{2}(:\\d{2})?Z?" autocomplete="off"';

/** Seed 004's action safety classes, as people read them. */
const SAFETY_LABEL: Readonly<Record<string, string>> = {
  SAFE_REVERSIBLE: 'safe and reversible',
  RISKY: 'risky (goes to the Decision Log)',
  INFO_ONLY: 'information only',
};
const SAFETY_CHOICES = ACTION_SAFETY.map((s) => [s, SAFETY_LABEL[s] ?? s] as const);

/** The incident's people as the link forms offer them, with the state of each one's link. */
function peopleChoices(view: WorkroomView): [string, string][] {
  return (view.people ?? []).map((p) => [
    p.email,
    `${p.email} (${p.role === 'sre_lead' ? 'SRE lead' : 'responder'}, ${linkState(p)})`,
  ]);
}

/** A link's state in a few words: a link whose e-mail failed is one to reissue. */
function linkState(p: NonNullable<WorkroomView['people']>[number]): string {
  if (p.revokedAt) return 'revoked';
  if (!p.expiresAt) return 'no link yet';
  if (!p.emailedAt) return 'link not e-mailed';
  return `link until ${p.expiresAt.slice(0, 10)}`;
}

/**
 * The plan's notice text: what every notified customer reads, with named placeholders. A fresh
 * form holds the current plan's text, or a first draft from the alert's wording to edit.
 */
function noticeFields(view: WorkroomView, c: Controls): string {
  const { incident } = view;
  const current =
    incident.plan?.notice ??
    draftNoticeText(
      incident,
      (incident.customerList?.totals ?? []).length > 0 ? 'refund_confirmation' : 'apology',
    );
  return `<fieldset><legend>The customers’ notice (the plan’s own words)</legend>
<p id="${c.id('placeholders')}" class="meta">Placeholders, filled for each customer: ${NOTICE_PLACEHOLDERS.map((p) => `<code>{{${p}}}</code>`).join(', ')} (<code>{{paid_at}}</code> needs the list’s <code>paid_at</code> column). A customer the plan credits is told of the credit even where the text does not name it. Leave both empty for each template’s built-in words.</p>
${c.input('notice_subject', 'Subject', { value: current.subject, attrs: ` maxlength="200" aria-describedby="${c.id('placeholders')}"` })}
${c.area('notice_body', 'Body (a blank line between paragraphs)', { value: current.body, attrs: ` maxlength="10000" rows="10" aria-describedby="${c.id('placeholders')}"` })}</fieldset>`;
}

/** The plan's notices as its first customers get them, as sent. */
function noticePreviewSection(view: WorkroomView): string {
  const notices = view.notices ?? [];
  if (notices.length === 0) return '';
  return `<h3>What the first customers receive</h3>
${notices
  .map(
    (m) =>
      `<div class="box"><p class="meta">To ${t(m.to)}</p><p><strong>Subject:</strong> ${t(m.subject)}</p><pre dir="auto" class="message"><bdi>${e(m.text)}</bdi></pre></div>`,
  )
  .join('\n')}`;
}

/** One form per action: its fields, as `functions/workroom/forms.ts` reads them. */
const FORMS: {
  readonly [A in WorkAction]: {
    readonly title: string;
    /** What the page says once the action is recorded. */
    readonly recorded: string;
    readonly body: (view: WorkroomView, c: Controls) => string;
    readonly multipart?: boolean;
  };
} = {
  acknowledge: {
    title: 'Acknowledge',
    recorded: 'You acknowledged the incident.',
    body: () => '<p>Say you are on it. The first to acknowledge leads the incident.</p>',
  },
  contain: {
    title: 'Report containment',
    recorded: 'Your containment report is recorded.',
    body: (_, c) =>
      `${Array.from({ length: FORM_ROWS.containActions }, (_, n) => {
        const i = n + 1;
        const row = `Action ${i}`;
        return `<fieldset><legend>${row}${i > 1 ? ' (optional)' : ''}</legend>
${c.input(`description_${i}`, 'What was done', { row, ...(i === 1 ? { attrs: ' required' } : {}) })}
${c.select(`safety_${i}`, 'Safety', SAFETY_CHOICES, { row })}
${c.select(
  `world_${i}`,
  'World',
  WORLDS.map((v) => [v, WORLD_LABEL[v]] as const),
  { row, selected: 'RML2' },
)}</fieldset>`;
      }).join('')}
<p>${c.check('contained', 'yes', 'The incident is contained: no new history is being written')}</p>`,
  },
  impact: {
    title: 'Assess the impact',
    recorded: 'The impact is recorded.',
    body: (_, c) => `${c.input('users', 'Users affected', { type: 'number', attrs: ' min="0" required' })}
${c.input('transactions', 'Transactions affected', { type: 'number', attrs: ' min="0" required' })}
<fieldset><legend>At risk</legend>${IMPACT_ASSETS.map((a) => c.check('assets', a, ASSET_LABEL[a], { group: 'At risk' })).join('')}</fieldset>
${c.input('from', 'Since (UTC, as 2026-12-06 10:23)', { attrs: `${UTC_TIME_ATTRS} required` })}
${c.input('to', 'Until (UTC, as 2026-12-06 10:23; empty if ongoing)', { attrs: UTC_TIME_ATTRS })}
${c.area('summary', 'Summary', { attrs: ' required' })}`,
  },
  customers: {
    title: 'Upload the affected customers',
    recorded: 'The customer list is uploaded.',
    multipart: true,
    body: (
      _,
      c,
    ) => `<p>A CSV file with the header <code>customer_ref,email,name,amount,currency,product_area,payment_ref,paid_at,other_emails</code> (<code>paid_at</code>, the customer's payment date such as <code>2026-12-06</code>, is optional: a notice can name it; so is <code>other_emails</code>, the customer's other addresses separated by <code>;</code>, where a bounced notice may be sent instead). A re-upload replaces the list for the next plan. Up to ${LIMITS.customerListBytes / (1024 * 1024)} MB: about ${LIMITS.customerListRowsAbout.toLocaleString('en-US')} customers.</p>
${c.input('file', 'CSV file', { type: 'file', attrs: ' accept=".csv,text/csv" required' })}`,
  },
  plan: {
    title: 'Write the remediation plan',
    recorded: 'The plan is written: check its totals and the customers’ notices below, then submit it.',
    body: (v, c) => `${c.area('summary', 'Summary', { attrs: ' required' })}
<p id="${c.id('amounts')}" class="meta">Each rule gives every customer on the list one effect. Amount: <code>affected</code> gives each customer their own amount from the list; a decimal such as <code>5.00</code> gives everyone that amount, in the currency beside it. Notices need no amount.</p>
<datalist id="${c.id('amount-choices')}"><option value="affected">each customer's own amount</option></datalist>
${Array.from({ length: FORM_ROWS.planRules }, (_, n) => {
  const i = n + 1;
  const row = `Rule ${i}`;
  const amountAttrs = ` list="${c.id('amount-choices')}" placeholder="affected or 5.00" aria-describedby="${c.id('amounts')}" autocomplete="off"`;
  return `<fieldset><legend>${row}${i > 1 ? ' (optional)' : ''}</legend>
${c.select(`kind_${i}`, 'Kind', [NO_CHOICE, ...PLAN_EFFECT_KINDS.map((k) => [k, KIND_LABEL[k]] as const)], { row })}
${c.input(`amount_${i}`, 'Amount per customer', { row, attrs: amountAttrs })}
${c.input(`currency_${i}`, 'Currency of a decimal amount', { row, attrs: ' maxlength="3" placeholder="EUR" autocapitalize="characters" autocomplete="off"' })}
${c.select(
  `obligation_${i}`,
  'P&L line',
  [
    ['tos', 'ToS line (owed by contract)'],
    ['brand', 'brand line (chosen beyond it)'],
  ],
  { row },
)}
${c.select(`template_${i}`, 'Notice template (notices and corrections)', [['', 'the kind’s default'], ...NOTICE_TEMPLATES.map((t) => [t, TEMPLATE_LABEL[t]] as const)], { row })}</fieldset>`;
}).join('')}
${noticeFields(v, c)}`,
  },
  'submit-plan': {
    title: 'Submit the plan for approval',
    recorded: 'The plan is submitted for approval.',
    // The money is here too, by the button: on a phone the plan's section is screens away.
    body: (v, c) => {
      const { plan, size, severity, planRejected } = v.incident;
      const unchanged = isUnchanged(v.incident);
      return `<p>Plan v${e(plan?.version ?? '?')} goes, exactly as shown under <a href="#plan-section">Remediation plan</a>, to the approvers the approval policy names for a ${e(SIZE_LABEL[size?.size ?? 'large'].toLowerCase())} ${e(SEVERITY_LABEL[severity])} incident (by default: SRE and Business when small, all three when medium, all three with Legal's veto when large): ${e(plan?.effectCount ?? 0)} effects; ${plan ? lineTotals(plan.totals) : ''}.</p>
${
  planRejected
    ? `<p${unchanged ? ' class="box no"' : ''}>${unchanged ? `<strong>This version is unchanged from v${e(planRejected.version)}, which the approvers sent back.</strong> It goes to them again only with your reply to their request.` : `The approvers sent v${e(planRejected.version)} back: you may tell them what you changed.`} They asked: ${t(planRejected.reason)}</p>
${c.area('reply', unchanged ? 'Your reply to their request (required for an unchanged plan)' : 'Your reply to their request (optional)', unchanged ? { attrs: ' required' } : {})}`
    : ''
}`;
    },
  },
  severity: {
    title: 'Change the severity',
    recorded: 'The severity is changed; the deadlines moved with it.',
    body: (v, c) => `${c.select(
      'severity',
      'Severity',
      SEVERITIES.map((v) => [v, SEVERITY_LABEL[v]] as const),
      { selected: v.incident.severity },
    )}
${c.area('reason', 'Reason (goes to the Decision Log)', { attrs: ' required' })}`,
  },
  size: {
    title: 'Override the size',
    recorded: 'The size is set.',
    body: (v, c) => `${c.select(
      'size',
      'Size',
      IMPACT_SIZES.map((v) => [v, SIZE_LABEL[v]] as const),
      { ...(v.incident.size ? { selected: v.incident.size.size } : {}) },
    )}
${c.area('reason', 'Reason (goes to the Decision Log)', { attrs: ' required' })}`,
  },
  regulator: {
    title: 'Record that the regulator was notified',
    recorded: 'The regulator notification is recorded.',
    body: (_, c) => `${c.input('reference', 'Reference', { attrs: ' required' })}
${c.input('notifiedAt', 'Notified at (UTC, as 2026-12-06 10:23)', { attrs: `${UTC_TIME_ATTRS} required` })}`,
  },
  cancel: {
    title: 'Cancel or downscope',
    recorded: 'The incident is cancelled.',
    body: (_, c) => `${c.select('outcome', 'Outcome', [
      ['false_alarm', 'false alarm'],
      ['downscoped', 'downscoped'],
    ])}
${c.select(
  'world',
  'World it belongs to',
  WORLDS.map((v) => [v, WORLD_LABEL[v]] as const),
  { selected: 'RML2' },
)}
${c.area('reason', 'Reason (goes to the Decision Log)', { attrs: ' required' })}`,
  },
  note: {
    title: 'Add a note',
    recorded: 'Your note is on the timeline.',
    body: (_, c) => c.area('text', 'Note', { attrs: ' required' }),
  },
  handoff: {
    title: 'Hand the incident over',
    recorded: 'The incident is handed over.',
    body: (_, c) => c.input('to', "To (a responder's address)", { type: 'email', attrs: ' required' }),
  },
  time: {
    title: 'Log time worked',
    recorded: 'Your time is logged.',
    body: (_, c) => `${c.input('role', 'As', { attrs: ' required' })}
${c.input('minutes', 'Minutes', { type: 'number', attrs: ' min="1" required' })}
${c.input('note', 'On what', { attrs: ' required' })}`,
  },
  'reissue-link': {
    title: 'Reissue a link',
    recorded: 'The new link is e-mailed to its person; their earlier link no longer works.',
    body: (
      v,
      c,
    ) => `<p>A new link goes by e-mail to that person alone; their earlier link stops working. Use it when a link is lost, expired or may have been seen by someone else.</p>
${c.select('person', 'Whose link', peopleChoices(v))}
${c.area('reason', 'Reason (goes to the Decision Log)', { attrs: ' required' })}`,
  },
  'revoke-link': {
    title: 'Revoke a link',
    recorded: 'The link is revoked: it no longer works.',
    body: (
      v,
      c,
    ) => `<p>The link stops working at once; nothing else changes. Your own link cannot be revoked here (you would be locked out): reissue it instead.</p>
${c.select(
  'person',
  'Whose link',
  peopleChoices(v).filter(([email]) => email !== v.person.email),
)}
${c.area('reason', 'Reason (goes to the Decision Log)', { attrs: ' required' })}`,
  },
  postmortem: {
    title: 'Submit the postmortem',
    recorded: 'The postmortem is in.',
    body: (_, c) => `${c.input('title', 'Title', { attrs: ' required' })}
${c.area('summary', 'Summary and impact', { attrs: ' required' })}
${c.area('rootCause', 'Root cause', { attrs: ' required' })}
${c.area('contributingFactors', 'Contributing factors (one per line)')}
${c.area('whatWentWell', 'What went well (one per line)')}
${c.area('lessonsTechnical', 'Lessons: technical (one per line)')}
${c.area('lessonsProcess', 'Lessons: process (one per line)')}
${c.area('lessonsGovernance', 'Lessons: governance (one per line)')}
${c.area('actionItems', 'Action items (one per line: item | owner | YYYY-MM-DD)')}`,
  },
};

/**
 * What a fresh form opens with: the plan form, the current plan version's own fields (its summary,
 * its rules as rows, and any other text field of the plan under its own name, so a field the form
 * adds is filled in once the plan carries it).
 */
function prefilled(view: WorkroomView, action: WorkAction): URLSearchParams | undefined {
  const input = view.incident.planInput;
  if (action !== 'plan' || !input || input.version !== view.incident.plan?.version) return undefined;
  const values = new URLSearchParams();
  for (const [name, value] of Object.entries(input.fields)) {
    if (name === 'apply' && Array.isArray(value)) {
      value.forEach((rule, i) => {
        if (!rule || typeof rule !== 'object' || Array.isArray(rule)) return;
        for (const [field, v] of Object.entries(rule)) {
          if (typeof v === 'string') values.set(`${field}_${i + 1}`, v);
        }
      });
    } else if (typeof value === 'string') values.set(name, value);
    else if (value && typeof value === 'object' && !Array.isArray(value)) {
      // A group of fields (a template: subject and body) fills controls named `group.field` or `group_field`.
      for (const [field, v] of Object.entries(value)) {
        if (typeof v === 'string') {
          values.set(`${name}.${field}`, v);
          values.set(`${name}_${field}`, v);
        }
      }
    }
  }
  return values;
}

/** A form, and what its issues are called: each issue's label (linked to its control) and message. */
function form(
  view: WorkroomView,
  action: WorkAction,
  base: string,
  failed?: { readonly posted?: URLSearchParams; readonly issues: readonly InputIssue[] },
): { html: string; problems: string[] } {
  const spec = FORMS[action];
  const located = (failed?.issues ?? []).map((issue) => ({ issue, ...controlOf(action, issue.field) }));
  const c = controls(action, failed?.posted ?? prefilled(view, action), new Set(located.map((l) => l.name)));
  const html = `<form method="post" action="${e(`${base}/${action}`)}" class="box" id="${e(action)}"${spec.multipart ? ' enctype="multipart/form-data"' : ''}>
<h3>${e(spec.title)}</h3>${spec.body(view, c)}<button type="submit">${e(spec.title)}</button></form>`;
  const problems = located.map(({ issue, name, detail }) => {
    const label = c.labels.get(name);
    const named = label
      ? `<a href="#${e(c.id(name))}">${e(label)}</a>${detail ? ` (<code>${e(detail)}</code>)` : ''}`
      : `<code>${e(issue.field)}</code>`;
    return `<p>${named}: ${e(issue.message)}</p>`;
  });
  return { html, problems };
}

/** Timeline events shown before the rest are folded away. */
const TIMELINE_SHOWN = 10;

/** Annotations of an alert that link to where people look next. */
const LINK_ANNOTATIONS: readonly (readonly [string, string])[] = [
  ['runbook_url', 'Runbook'],
  ['dashboard', 'Dashboard'],
  ['dashboard_url', 'Dashboard'],
  ['grafana_url', 'Dashboard'],
];

const isWebUrl = (value: string | undefined): value is string => !!value && /^https?:\/\/\S+$/i.test(value);

/** The alert's runbook and dashboards, and where it came from: links only when they are web addresses. */
function alertLinks(incident: WorkroomView['incident']): string {
  const links = LINK_ANNOTATIONS.flatMap(([key, label]) => {
    const url = incident.annotations[key];
    return isWebUrl(url) ? [`<a href="${e(url)}" rel="noopener noreferrer">${e(label)}</a>`] : [];
  });
  if (isWebUrl(incident.externalUrl))
    links.push(`<a href="${e(incident.externalUrl)}" rel="noopener noreferrer">Alert source</a>`);
  return links.length > 0 ? `<p>${links.join(' · ')}</p>` : '';
}

/** Who the incident waits on now, in a few words. */
function waitingOn(view: WorkroomView): string {
  const { incident } = view;
  if (incident.status === 'CLOSED' || incident.status === 'CANCELLED') return 'nobody: it is over';
  if (!incident.commander) return 'a responder to acknowledge and lead it';
  switch (incident.phase) {
    case 'Detect':
    case 'Contain':
    case 'Understand':
      return incident.planRejected?.version === incident.plan?.version && incident.planRejected
        ? 'the responders: a revised plan'
        : 'the responders';
    case 'Decide': {
      const pending = view.approvals.filter((a) => a.status === 'PENDING');
      return pending.length > 0
        ? `approvers: ${pending.map((a) => `${a.approverName} (${ROLE_LABEL[a.role]})`).join(', ')}`
        : 'the approvers';
    }
    case 'Act': {
      const attention = view.ledger.summary.reduce((n, r) => n + r.attention, 0);
      return attention > 0
        ? `the responders: ${attention} question${attention === 1 ? '' : 's'} about effects`
        : 'Casebook, carrying out the approved plan';
    }
    case 'Learn':
      return 'the responders: the postmortem';
  }
}

/** "refunds: 5 confirmed, 0 pending, 0 waiting for a person" for each kind of effect. */
function effectSummaryLine(row: WorkroomView['ledger']['summary'][number]): string {
  const kind = `${labelOf(KIND_LABEL, row.kind)}s`;
  return `<li><strong>${e(kind)}</strong>: ${e(row.confirmed)} confirmed, ${e(row.pending)} pending, ${e(row.attention)} waiting for a person${row.voided ? `, ${e(row.voided)} voided` : ''} (of ${e(row.total)})</li>`;
}

interface ContainmentReport {
  readonly at: string;
  readonly by: string;
  readonly contained: boolean;
  readonly actions: readonly { description: string; safety: string; world: string }[];
}

/** The containment reports, as the timeline recorded them (newest first, as the timeline is). */
function containmentReports(view: WorkroomView): ContainmentReport[] {
  return view.timeline.flatMap((ev) => {
    const d = ev.detail as Partial<ContainmentReport> | undefined;
    return ev.type === 'containment_reported' && d && Array.isArray(d.actions)
      ? [{ at: ev.at, by: String(d.by ?? ''), contained: d.contained === true, actions: d.actions }]
      : [];
  });
}

/** The page at `/work/{linkId}`; its forms post to `/work/{linkId}/{action}`. */
export function workroomPage(view: WorkroomView, linkId: string, notes: WorkroomNotes = {}): string {
  const { incident, person } = view;
  const now = new Date(view.now);
  const when = (at: string) => timeHtml(at, now);
  const base = `/work/${encodeURIComponent(linkId)}`;
  const asked = view.asked;
  // The form whose post failed comes first, under what was wrong, with what was posted in it.
  const failed = notes.action && isWorkAction(notes.action) ? notes.action : undefined;
  const forms = new Map(
    view.actions.map((a) => [
      a,
      form(
        view,
        a,
        base,
        a === failed
          ? { issues: notes.issues ?? [], ...(notes.posted ? { posted: notes.posted } : {}) }
          : undefined,
      ),
    ]),
  );
  const lead = [failed, asked.action].find((a) => a !== undefined && forms.has(a));
  const others = view.actions.filter((a) => a !== lead);
  const problems = [
    ...(notes.refused ? [`<p>${e(notes.refused)}</p>`] : []),
    ...(failed && forms.has(failed)
      ? (forms.get(failed)?.problems ?? [])
      : (notes.issues ?? []).map((i) => `<p><code>${e(i.field)}</code>: ${e(i.message)}</p>`)),
  ];
  const metrics = METRICS.flatMap(([key, label]) => {
    const seconds = view.metrics[key];
    return seconds === undefined ? [] : [`${label} after ${humanDuration(seconds * 1000)}`];
  });
  const plan = incident.plan;
  const list = incident.customerList;
  const next = view.deadlines.find((d) => !d.metAt);
  const sentBack = incident.planRejected;
  const backNow = sentBack && incident.phase === 'Understand' && !incident.planSubmitted;
  const containment = containmentReports(view);
  const shown = view.timeline.slice(0, TIMELINE_SHOWN);
  const folded = view.timeline.slice(TIMELINE_SHOWN);
  const timelineTable = (events: readonly WorkroomView['timeline'][number][]) =>
    table<WorkroomView['timeline'][number]>(
      [
        { header: 'When', cell: (ev) => when(ev.at) },
        { header: 'Phase', cell: (ev) => e(PHASE_LABEL[ev.phase]) },
        { header: 'Event', cell: (ev) => t(ev.summary) },
      ],
      events,
    );
  return layout(
    `${incident.id}: workroom`,
    `<h1>${e(incident.id)} — ${t(incident.title)}</h1>
<dl class="summary" id="summary">
<div><dt>Status</dt><dd><strong>${e(STATUS_LABEL[incident.status])}</strong></dd></div>
<div><dt>Severity</dt><dd>${e(SEVERITY_LABEL[incident.severity])} · ${e(WORLD_LABEL[incident.world])}</dd></div>
<div><dt>Phase</dt><dd>${e(PHASE_LABEL[incident.phase])}</dd></div>
<div><dt>Lead</dt><dd>${incident.commander ? e(incident.commander) : 'nobody yet'}</dd></div>
<div><dt>Waiting on</dt><dd>${e(waitingOn(view))}</dd></div>
<div><dt>Next deadline</dt><dd>${next ? `${e(labelOf(DEADLINE_LABEL, next.kind))}: ${when(next.due)}${next.missed ? ' <strong>(missed)</strong>' : ''}` : 'none open'}</dd></div>
</dl>
<p class="meta">You: ${e(person.email)} (${person.role === 'sre_lead' ? 'SRE lead' : 'responder'})</p>
${
  backNow && sentBack
    ? `<div class="box no" id="change-request" role="note"><strong>Plan v${e(sentBack.version)} came back from the approvers</strong> ${when(sentBack.at)}: ${t(sentBack.reason)}</div>`
    : ''
}
${
  view.postmortem
    ? `<div class="box ok" id="postmortem"><h2>Postmortem: ${t(view.postmortem.title)}</h2><p>${t(view.postmortem.summary)}</p><h3>Root cause</h3><p>${t(view.postmortem.rootCause)}</p><p class="meta">By ${e(view.postmortem.by)}, ${when(view.postmortem.at)}.</p></div>`
    : ''
}
<div class="box" id="asked"><strong>Asked of you:</strong> ${e(asked.summary)}${asked.due ? ` <strong>By ${when(asked.due)}.</strong>` : ''}</div>
${notes.recorded ? `<p class="box ok" role="status"><strong>Recorded.</strong> ${e(FORMS[notes.recorded].recorded)}</p>` : ''}
${problems.length > 0 ? `<div class="box errors" role="alert"><strong>Nothing was recorded${failed ? ` (${e(FORMS[failed].title)})` : ''}:</strong>${problems.join('')}</div>` : ''}
${lead ? (forms.get(lead)?.html ?? '') : ''}
${
  others.length > 0
    ? `<h2>What else you can do</h2>\n${others.map((a) => `<details id="more-${e(a)}"><summary>${e(FORMS[a].title)}</summary>${forms.get(a)?.html ?? ''}</details>`).join('\n')}`
    : ''
}
${incident.description ? `<h2>Description</h2><p class="message">${t(incident.description)}</p>` : ''}
${alertLinks(incident)}
<h2>Deadlines</h2>
${table<WorkroomView['deadlines'][number]>(
  [
    { header: 'Deadline', cell: (d) => e(labelOf(DEADLINE_LABEL, d.kind)) },
    { header: 'Due', cell: (d) => when(d.due) },
    {
      header: 'State',
      cell: (d) => (d.metAt ? `met ${when(d.metAt)}` : d.missed ? '<strong>missed</strong>' : 'open'),
    },
  ],
  view.deadlines,
)}
${metrics.length > 0 ? `<p class="meta">${metrics.join(' · ')}</p>` : ''}
<h2>Containment</h2>
${
  containment.length > 0
    ? containment
        .map(
          (r) =>
            `<p>${when(r.at)}, ${e(r.by)}: ${r.contained ? '<strong>contained</strong>' : 'not contained yet'}</p>
<ul>${r.actions.map((a) => `<li>${t(a.description)} <span class="meta">(${e(SAFETY_LABEL[a.safety] ?? a.safety)}, ${e(labelOf(WORLD_LABEL, a.world))})</span></li>`).join('')}</ul>`,
        )
        .join('\n')
    : '<p class="meta">No containment reported yet.</p>'
}
<h2>Impact</h2>
${
  incident.impact
    ? `<p>${e(incident.impact.users)} users, ${e(incident.impact.transactions)} transactions; at risk: ${e(incident.impact.assets.map((a) => ASSET_LABEL[a]).join(', ') || 'nothing named')}; since ${when(incident.impact.from)}${incident.impact.to ? ` until ${when(incident.impact.to)}` : ''}.</p><p>${t(incident.impact.summary)}</p>
<p>Size <strong>${e(incident.size ? SIZE_LABEL[incident.size.size] : '?')}</strong>: ${t(incident.size?.because ?? '')}${incident.size?.overriddenBy ? ` (set by ${e(incident.size.overriddenBy)})` : ''}</p>`
    : '<p class="meta">Not assessed yet.</p>'
}
<h2>Affected customers</h2>
${
  list
    ? `<p>${e(list.count)} customer${list.count === 1 ? '' : 's'} (list v${e(list.version)})${(list.totals ?? []).map((x) => `; ${money(x.minor, x.currency)} over ${e(x.count)}`).join('')}.</p>
${table(CUSTOMER_COLUMNS, view.customers.items)}${view.customers.cursor ? `<p><a href="${e(`${base}?customers=${encodeURIComponent(view.customers.cursor)}`)}">Next customers</a></p>` : ''}`
    : '<p class="meta">No list uploaded.</p>'
}
<h2 id="plan-section">Remediation plan</h2>
${
  plan
    ? `<p>v${e(plan.version)} by ${e(plan.proposedBy)}: ${t(plan.summary)}${incident.planSubmitted?.version === plan.version ? ' <strong>(submitted)</strong>' : ''}</p>
${incident.planSubmitted?.version === plan.version && incident.planSubmitted.reply ? `<p>Reply to the change request: ${t(incident.planSubmitted.reply)}</p>` : ''}
${table(TOTAL_COLUMNS, shownTotals(plan.totals))}
<p>${lineTotals(plan.totals)}</p>
<p class="meta">Plan hash <code>${e(plan.hash)}</code>.</p>
${noticePreviewSection(view)}`
    : '<p class="meta">No plan yet.</p>'
}
${
  view.approvals.length > 0
    ? `<h2>Approvals, round ${e(incident.decideRound)}</h2>${table<WorkroomView['approvals'][number]>(
        [
          { header: 'Role', cell: (a) => e(ROLE_LABEL[a.role]) },
          {
            header: 'Approver',
            cell: (a) =>
              `${t(a.approverName)} (${e(a.approverEmail)})${a.backup ? `; backup ${t(a.backup.name)} (${e(a.backup.email)})` : ''}`,
          },
          { header: 'Status', cell: (a) => e(APPROVAL_STATUS_LABEL[a.status]) },
          {
            header: 'Decided',
            cell: (a) =>
              a.decision
                ? `${t(a.decision.name)}, ${when(a.decision.at)}${a.decision.comment ? `: ${t(a.decision.comment)}` : ''}`
                : '',
          },
        ],
        view.approvals,
      )}`
    : ''
}
<h2 id="ledger">Effects and ledger</h2>
${
  view.ledger.summary.length > 0
    ? `<ul>${view.ledger.summary.map(effectSummaryLine).join('')}</ul>${view.ledger.summaryAt ? `<p class="meta">As Act counted them ${when(view.ledger.summaryAt)}.</p>` : ''}`
    : '<p class="meta">No effect carried out yet.</p>'
}
<details${notes.ledgerPage ? ' open' : ''}><summary>Ledger entries (${e(view.ledger.count)}), newest first</summary>
${table<WorkroomView['ledger']['page'][number]>(
  [
    { header: '#', cell: (l) => e(l.seq) },
    { header: 'When', cell: (l) => when(l.at) },
    { header: 'Log', cell: (l) => e(LEDGER_LOG_LABEL[l.log]) },
    { header: 'Kind', cell: (l) => e(labelOf(LEDGER_KIND_LABEL, l.kind)) },
    { header: 'State', cell: (l) => e(labelOf(RESULT_LABEL, ('state' in l ? l.state : undefined) ?? '')) },
    { header: 'Customer', cell: (l) => t(l.customerRef ?? '') },
    { header: 'Entry', cell: (l) => t(l.summary) },
  ],
  view.ledger.page,
)}${view.ledger.cursor ? `<p><a href="${e(`${base}?ledger=${encodeURIComponent(view.ledger.cursor)}#ledger`)}">Older entries</a></p>` : ''}
</details>
<h2>Timeline, newest first</h2>
${timelineTable(shown)}
${folded.length > 0 ? `<details><summary>${e(folded.length)} earlier event${folded.length === 1 ? '' : 's'}</summary>${timelineTable(folded)}</details>` : ''}`,
  );
}

export function notFoundWorkroomPage(message: string): string {
  return layout(
    'Not found',
    `<h1>Not found</h1><p>${e(message)}. Check that you opened the whole link from the e-mail.</p>`,
  );
}

export function goneWorkroomPage(message: string): string {
  return layout('Link no longer works', `<h1>This link no longer works</h1><p>${e(message)}.</p>`);
}
