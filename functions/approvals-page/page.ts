import { approverAt } from '../domain/approval.ts';
import { describeRule } from '../domain/approval-policy.ts';
import { escapeHtml as e, isolated as t, table, timeHtml } from '../domain/html.ts';
import { humanDuration } from '../domain/human-time.ts';
import {
  APPROVAL_STATUS_LABEL,
  ASSET_LABEL,
  CATEGORY_LABEL,
  KIND_LABEL,
  LEDGER_KIND_LABEL,
  LEDGER_LOG_LABEL,
  labelOf,
  OBLIGATION_LABEL,
  PHASE_LABEL,
  ROLE_LABEL,
  SEVERITY_LABEL,
  SIZE_LABEL,
  STATUS_LABEL,
  VERDICT_LABEL,
  WORLD_LABEL,
} from '../domain/labels.ts';
import { LIMITS } from '../domain/limits.ts';
import { formatMoney, moneyLines, shownTotals } from '../domain/plan.ts';
import { counted } from '../domain/text.ts';
import { layout } from '../pages/layout.ts';
import type { PageNotes } from '../pages/page-handler.ts';
import type { ApprovalView } from '../use-cases/approval-decisions.ts';

/** The words customers would receive, so Legal and Business approve the message, not a summary of it. */
function noticePreview(view: ApprovalView): string {
  return view.sampleNotices
    .map(
      ({
        label,
        count,
        message,
      }) => `<h2>What each customer receives: ${e(label)} (${e(counted(count, 'customer'))})</h2>
<p class="meta">Shown as sent to ${t(message.to)}; every recipient gets the same words, with their own name, amounts and payment date.</p>
<div class="box"><p><strong>Subject:</strong> ${t(message.subject)}</p><pre dir="auto" class="message"><bdi>${e(message.text)}</bdi></pre></div>`,
    )
    .join('\n');
}

/** A page that says only that there is nothing here (unknown, malformed or forged links alike). */
export function notFoundPage(): string {
  return layout(
    'Not found',
    '<h1>No such approval request</h1><p>Check that you opened the whole link from the email.</p>',
  );
}

/** `Lou Legal (lou@example.com)` */
function person(who: { readonly name: string; readonly email: string }): string {
  return `${t(who.name)} (${e(who.email)})`;
}

/** What happens if the viewer does not decide in time: their backup is asked, or the SRE lead told. */
function ifLate(view: ApprovalView): string {
  const { approval, seat } = view;
  const role = ROLE_LABEL[approval.role];
  if (seat === 'backup') {
    return `You are asked as ${e(role)}'s backup, because ${person(approverAt(approval, 'primary'))} had not decided by the round's deadline: whichever of you decides first decides for ${e(role)}. If nobody has decided by then, the SRE lead and the responders are told, and the round keeps waiting.`;
  }
  const backup = approval.backup;
  return backup
    ? `${person(backup)} was asked too, as your backup, when the deadline passed: whichever of you decides first decides for ${e(role)}. The round keeps waiting, and your decision still counts.`
    : `If you have not decided by then, ${e(role)}'s backup on the roster, if there is one, is asked too, and later the SRE lead and the responders are told; the round keeps waiting, and your decision still counts.`;
}

/** The decision deadline the severity gives, and the resolution deadline (said plainly once it has passed). */
function deadlines(view: ApprovalView): string {
  const { resolution, now } = view;
  const passed = !resolution.metAt && Date.parse(resolution.due) <= now.getTime();
  const decision = `<p>Decision deadline ${timeHtml(view.decisionDue, now)}: a ${e(SEVERITY_LABEL[view.incident.severity])} incident's approvers have ${e(humanDuration(view.decisionMinutes * 60_000))}.</p>`;
  const resolved = resolution.metAt
    ? `<p>Resolution deadline ${timeHtml(resolution.due, now)}; resolved ${timeHtml(resolution.metAt, now)}.</p>`
    : passed
      ? `<p><strong>The resolution target has already passed</strong> (${timeHtml(resolution.due, now)}): the customers wait for this decision.</p>`
      : `<p>Resolution deadline ${timeHtml(resolution.due, now)}; Act starts only once the plan is approved.</p>`;
  return decision + resolved;
}

/** What is asked of the viewer and by when, or what became of the request: the first thing on the page. */
function ask(view: ApprovalView): string {
  const { approval, now } = view;
  const role = ROLE_LABEL[approval.role];
  const decided = approval.decision;
  if (view.canDecide)
    return `<div class="box"><p><strong>Your decision is needed by ${timeHtml(view.dueAt, now)}:</strong> as ${e(role)}, approve remediation plan v${e(approval.planVersion)}, reject it, or ask for changes (round ${e(approval.round)}). Read what it does and what customers will receive, then <a href="#decide">decide at the end of the page</a>.</p>
${deadlines(view)}
<p class="meta">This link is for ${person(approverAt(approval, view.seat))} alone: do not forward it. Opening this page changed nothing. ${ifLate(view)}</p></div>`;
  if (decided) {
    const by = approverAt(approval, decided.seat);
    const other =
      decided.seat === view.seat
        ? ''
        : ` <span class="meta">(the first decision for ${e(role)} counts: this link can no longer decide)</span>`;
    return `<div class="box ${decided.decision === 'approve' ? 'ok' : 'no'}"><strong>${e(APPROVAL_STATUS_LABEL[approval.status])}</strong> by ${t(decided.name)} (${e(by.email)})${decided.seat === 'backup' ? ', as backup,' : ''} at ${timeHtml(decided.at, now)}${decided.comment ? `: ${t(decided.comment)}` : ''}${decided.basis ? ` <span class="meta">(basis: ${t(decided.basis)})</span>` : ''}${other}</div>`;
  }
  return `<div class="box no"><strong>Closed.</strong> ${t(approval.status === 'WITHDRAWN' ? (approval.withdrawnReason ?? 'The approval round closed.') : (view.over ?? 'This request can no longer be decided.'))}</div>`;
}

/** Who decides the round, under which rule, and where each stands. */
function roundSection(view: ApprovalView): string {
  const { approval, round, now } = view;
  const rows = table(
    [
      { header: 'Role', cell: (a) => e(ROLE_LABEL[a.role]) },
      {
        header: 'Approver',
        cell: (a) =>
          `${person(approverAt(a, 'primary'))}${a.backup ? `; backup ${person(a.backup)}, asked ${timeHtml(a.backup.requestedAt, now)}` : ''}`,
      },
      { header: 'Status', cell: (a) => e(APPROVAL_STATUS_LABEL[a.status]) },
      {
        header: 'Decided',
        cell: (a) =>
          a.decision
            ? `${timeHtml(a.decision.at, now)} by ${t(a.decision.name)}${a.decision.comment ? `: ${t(a.decision.comment)}` : ''}`
            : '',
      },
    ],
    view.roundApprovals,
  );
  const rule = round
    ? `<p>${e(describeRule(round.rule))}. Approval policy ${e(round.policyVersion)}, for a ${e(SIZE_LABEL[round.size].toLowerCase())} ${e(SEVERITY_LABEL[round.severity])} incident.</p>`
    : '';
  const outcome = round?.decided
    ? `<p><strong>${e(VERDICT_LABEL[round.decided.verdict])}</strong> ${timeHtml(round.decided.at, now)}: ${t(round.decided.reason)}</p>`
    : '';
  return `<h2>Who decides round ${e(approval.round)}</h2>
${rule}${outcome}${rows}`;
}

/** What changed since the plan version this approver saw in an earlier round. */
function changesSection(view: ApprovalView): string {
  const changes = view.changes;
  if (!changes) return '';
  const since = `plan v${changes.since}, which you saw in round ${view.approval.lastSeen?.round ?? '?'}`;
  return changes.lines.length === 0
    ? `<h2>What changed</h2><p>Nothing in the totals changed since ${e(since)}.</p>`
    : `<h2>What changed since ${e(since)}</h2><ul>${changes.lines.map((l) => `<li>${t(l)}</li>`).join('')}</ul>`;
}

/**
 * How far the incident reaches as the responders assessed it (users, transactions, what is at
 * risk, the window, their summary), then, apart, what the alert said: its own figures are a
 * metric's, not the case's.
 */
function impact(view: ApprovalView): string {
  const { incident, now } = view;
  const customers = incident.customerList?.count ?? 0;
  const assessed = incident.impact;
  const size = incident.size;
  const theirs = assessed
    ? `<ul>
<li>${e(counted(assessed.users, 'user'))}, ${e(counted(assessed.transactions, 'transaction'))}</li>
<li>At risk: ${e(assessed.assets.map((a) => ASSET_LABEL[a]).join(', ') || 'nothing named')}</li>
<li>From ${timeHtml(assessed.from, now)}${assessed.to ? ` until ${timeHtml(assessed.to, now)}` : ', still going on'}</li>
${size ? `<li>Size ${e(SIZE_LABEL[size.size].toLowerCase())}: ${t(size.because)}${size.overriddenBy ? ` (set by ${e(size.overriddenBy)})` : ''}</li>` : ''}
<li>${e(counted(customers, 'affected customer'))} listed</li>
</ul>
<p>${t(assessed.summary)}</p>
<p class="meta">Assessed by ${e(assessed.by)} ${timeHtml(assessed.at, now)}.</p>`
    : `<p>Not assessed by the responders yet. ${e(counted(customers, 'affected customer'))} listed.</p>`;
  return `<h2>Impact</h2>
${theirs}
<h3>What the alert said</h3>
<p>${t(incident.description ?? incident.classificationReason)}</p>
<ul>
<li>Began ${timeHtml(incident.startedAt, now)}, as ${e(incident.source)} reports it</li>
<li>${e(SEVERITY_LABEL[incident.severity])}, ${e(WORLD_LABEL[incident.world])}: ${e(incident.categories.map((c) => CATEGORY_LABEL[c]).join(', ') || 'no category')}${incident.productArea ? `, product area ${t(incident.productArea)}` : ''}</li>
${incident.description ? `<li>Why it is history-grade: ${t(incident.classificationReason)}</li>` : ''}
</ul>`;
}

/** The case and, while the approval is open, the decision form, which ends the page. */
export function approvalPage(view: ApprovalView, notes: PageNotes = {}): string {
  const { incident, approval, now } = view;
  const role = ROLE_LABEL[approval.role];
  const plan = incident.plan;
  const errors = [
    ...(notes.conflict ? [`<p>${e(notes.conflict)}</p>`] : []),
    ...(notes.issues ?? []).map((i) => `<p><code>${e(i.field)}</code> ${e(i.message)}</p>`),
  ];
  const form = notes.form ?? {};
  const checked = (v: string) => (form.decision === v ? ' checked' : '');
  const decisionForm = view.canDecide
    ? `<form method="post" class="box" id="decide">
<h2>Your decision</h2>
<p>You are deciding as <strong>${e(role)}</strong>${view.seat === 'backup' ? ' (backup)' : ''} — ${person(approverAt(approval, view.seat))} — on plan v${e(approval.planVersion)}, round ${e(approval.round)}. A decision is final: this link decides once.</p>
<fieldset><legend>Decision</legend>
<label><input type="radio" name="decision" value="approve" required${checked('approve')}> Approve the plan</label>
<label><input type="radio" name="decision" value="reject"${checked('reject')}> Reject the plan</label>
<label><input type="radio" name="decision" value="request-changes"${checked('request-changes')}> Ask for changes (back to the responders for a revised plan)</label></fieldset>
<label for="comment">Reason (required to reject or ask for changes)</label><textarea id="comment" name="comment" dir="auto" maxlength="${LIMITS.decisionCommentChars}">${e(form.comment ?? '')}</textarea>
<label for="basis">Basis, if any (a ToS clause, a regulation, a policy)</label><input type="text" id="basis" name="basis" dir="auto" maxlength="${LIMITS.decisionBasisChars}" value="${e(form.basis ?? '')}">
<button type="submit">Record my decision</button>
</form>`
    : '';
  const totals = table(
    [
      { header: 'Kind', cell: (row) => e(KIND_LABEL[row.kind]) },
      { header: 'Total', cell: (row) => e(row.money ? formatMoney(row.money) : '—') },
      { header: 'Line', cell: (row) => e(OBLIGATION_LABEL[row.obligation]) },
      { header: 'Customers', cell: (row) => e(row.count) },
    ],
    shownTotals(plan?.totals ?? []),
    'The plan has no effects.',
  );
  const lines = moneyLines(plan?.totals ?? []);
  const timeline = table(
    [
      { header: 'At', cell: (event) => timeHtml(event.at, now) },
      { header: 'World', cell: (event) => e(WORLD_LABEL[event.world]) },
      { header: 'Phase', cell: (event) => e(PHASE_LABEL[event.phase]) },
      { header: 'Event', cell: (event) => t(event.summary) },
    ],
    view.timeline,
  );
  const ledger = table(
    [
      { header: '#', cell: (l) => e(l.seq) },
      { header: 'At', cell: (l) => timeHtml(l.at, now) },
      { header: 'Log', cell: (l) => e(LEDGER_LOG_LABEL[l.log]) },
      { header: 'Kind', cell: (l) => e(labelOf(LEDGER_KIND_LABEL, l.kind)) },
      { header: 'World', cell: (l) => e(WORLD_LABEL[l.world]) },
      { header: 'Entry', cell: (l) => t(l.summary) },
    ],
    view.ledger,
  );
  return layout(
    `${incident.id}: ${role} approval`,
    `<h1>${e(incident.id)} — ${t(incident.title)}</h1>
<p class="meta">${e(SEVERITY_LABEL[incident.severity])} · ${e(WORLD_LABEL[incident.world])} · status ${e(STATUS_LABEL[incident.status])} · phase ${e(PHASE_LABEL[incident.phase])} · detected ${timeHtml(incident.detectedAt, now)}</p>
${ask(view)}
${errors.length > 0 ? `<div class="box errors"><strong>Nothing was recorded:</strong>${errors.join('')}${view.canDecide ? '<p><a href="#decide">Back to the form</a></p>' : ''}</div>` : ''}
${changesSection(view)}
${view.reply ? `<div class="box" id="reply"><h2>The responders' reply to the change request</h2><p>Changes were requested: ${t(view.reply.request)}</p><p>${e(view.reply.by)} replied: ${t(view.reply.reply)}</p></div>` : ''}
${impact(view)}
<h2>Remediation plan v${e(plan?.version ?? '?')}</h2>
<p>${t(plan?.summary ?? 'No plan.')}</p>
<p class="meta">${e(counted(plan?.effectCount ?? 0, 'effect'))}, each in RML3 (history) and risky: one per customer and rule.</p>
${totals}
<p>${lines.length > 0 ? lines.map((l) => `<strong>${e(OBLIGATION_LABEL[l.obligation])}</strong> ${e(formatMoney(l.money))}`).join(' · ') : 'No money: the plan refunds and credits nothing.'}</p>
<p class="meta">Plan hash <code>${e(approval.planHash)}</code>: the decision is recorded against exactly this plan.</p>
${noticePreview(view)}
${roundSection(view)}
<details><summary>Timeline (${e(counted(view.timeline.length, 'event'))})</summary>
${timeline}</details>
<details><summary>Effect Ledger and Decision Log (${e(counted(view.ledger.length, 'entry', 'entries'))})</summary>
${ledger}</details>
${decisionForm}`,
  );
}
