import { escapeHtml as e, isolated as t } from '../domain/html.ts';
import { LIMITS } from '../domain/limits.ts';
import { formatMajorAmount } from '../domain/money.ts';
import { ROLE_LABEL } from '../domain/vocabulary.ts';
import { layout } from '../pages/layout.ts';
import type { PageNotes } from '../pages/page-handler.ts';
import type { ApprovalView } from '../use-cases/approval-decisions.ts';

/** The words customers would receive, so Legal and Business approve the message, not a summary of it. */
function noticePreview(view: ApprovalView): string {
  return view.sampleNotices
    .map(
      ({
        template,
        count,
        message,
      }) => `<h2>What each customer receives: ${e(template)} (${e(count)} customer${count === 1 ? '' : 's'})</h2>
<p class="meta">Shown as sent to ${t(message.to)}; every recipient gets the same words, with their own name and amount.</p>
<div class="box"><p><strong>Subject:</strong> ${t(message.subject)}</p><pre dir="auto" style="white-space:pre-wrap;font:inherit"><bdi>${e(message.text)}</bdi></pre></div>`,
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

/** The case and, while the approval is open, the decision form. */
export function approvalPage(view: ApprovalView, notes: PageNotes = {}): string {
  const { incident, approval } = view;
  const role = ROLE_LABEL[approval.role];
  const plan = incident.plan;
  const decided = approval.decision;
  const status =
    approval.status === 'PENDING'
      ? view.canDecide
        ? '<div class="box"><strong>Your decision is needed.</strong> Opening this page changed nothing.</div>'
        : '<div class="box no">The plan changed after this request was sent; this request can no longer be decided.</div>'
      : approval.status === 'WITHDRAWN'
        ? `<div class="box no"><strong>Withdrawn.</strong> ${e(approval.withdrawnReason ?? 'The approval round closed.')}</div>`
        : `<div class="box ${approval.status === 'APPROVED' ? 'ok' : 'no'}"><strong>${e(approval.status)}</strong> by ${t(decided?.name ?? '?')} (${e(approval.approverEmail)}) at ${e(decided?.at ?? '?')}${decided?.comment ? `: ${t(decided.comment)}` : ''}</div>`;
  const errors = [
    ...(notes.conflict ? [`<p>${e(notes.conflict)}</p>`] : []),
    ...(notes.issues ?? []).map((i) => `<p><code>${e(i.field)}</code> ${e(i.message)}</p>`),
  ];
  const form = notes.form ?? {};
  const checked = (v: string) => (form.decision === v ? ' checked' : '');
  const decisionForm = view.canDecide
    ? `<form method="post" class="box">
<p>You are deciding as <strong>${e(role)}</strong> (${e(approval.approverEmail)}) on plan v${e(approval.planVersion)}, round ${e(approval.round)}.</p>
<fieldset><legend>Decision</legend>
<label><input type="radio" name="decision" value="approve" required${checked('approve')}> Approve the plan</label>
<label><input type="radio" name="decision" value="reject"${checked('reject')}> Reject the plan</label></fieldset>
<label for="name">Your name</label><input type="text" id="name" name="name" dir="auto" required maxlength="${LIMITS.deciderNameChars}" value="${e(form.name ?? '')}">
<label for="comment">Reason (required to reject)</label><textarea id="comment" name="comment" dir="auto" maxlength="${LIMITS.decisionCommentChars}">${e(form.comment ?? '')}</textarea>
<button type="submit">Record my decision</button>
</form>`
    : '';
  const approvals = view.roundApprovals
    .map(
      (a) =>
        `<tr><td>${e(ROLE_LABEL[a.role])}</td><td>${e(a.approverEmail)}</td><td>${e(a.status)}</td><td>${a.decision ? `${t(a.decision.name)}, ${e(a.decision.at)}` : ''}</td></tr>`,
    )
    .join('');
  const totals = (plan?.totals ?? [])
    .map(
      (row) =>
        `<tr><td>${e(row.kind)}</td><td>${e(row.currency ? `${row.currency} ${formatMajorAmount({ minor: row.minor, currency: row.currency })}` : '—')}</td><td>${e(row.obligation === 'tos' ? 'ToS line' : 'brand line')}</td><td>${e(row.count)}</td></tr>`,
    )
    .join('');
  const timeline = view.timeline
    .map(
      (event) =>
        `<tr><td>${e(event.at)}</td><td>${e(event.world)}</td><td>${e(event.phase)}</td><td>${t(event.summary)}</td></tr>`,
    )
    .join('');
  const ledger = view.ledger
    .map(
      (l) =>
        `<tr><td>${e(l.seq)}</td><td>${e(l.at)}</td><td>${e(l.log)}</td><td>${e(l.kind)}</td><td>${e(l.world)}</td><td>${t(l.summary)}</td></tr>`,
    )
    .join('');
  return layout(
    `${incident.id}: ${role} approval`,
    `<h1>${e(incident.id)} — ${t(incident.title)}</h1>
<p class="meta">${e(incident.severity)} · ${e(incident.world)} · status ${e(incident.status)} · phase ${e(incident.phase)} · detected ${e(incident.detectedAt)}</p>
${status}
${errors.length > 0 ? `<div class="box errors"><strong>Nothing was recorded:</strong>${errors.join('')}</div>` : ''}
${decisionForm}
<h2>Remediation plan v${e(plan?.version ?? '?')}</h2>
<p>${t(plan?.summary ?? 'No plan.')}</p>
<p class="meta">${e(plan?.effectCount ?? 0)} effect(s), each RML3 and RISKY: one per customer and rule.</p>
<table><tr><th>Kind</th><th>Total</th><th>Line</th><th>Customers</th></tr>${totals}</table>
<p class="meta">Plan hash <code>${e(approval.planHash)}</code>: the decision is recorded against exactly this plan.</p>
${noticePreview(view)}
<h2>Approvals, round ${e(approval.round)}</h2>
<table><tr><th>Role</th><th>Approver</th><th>Status</th><th>Decided</th></tr>${approvals}</table>
<h2>What happened</h2>
<p>${t(incident.description ?? incident.classificationReason)}</p>
<table><tr><th>At (UTC)</th><th>World</th><th>Phase</th><th>Event</th></tr>${timeline}</table>
<h2>Effect Ledger and Decision Log</h2>
<table><tr><th>#</th><th>At (UTC)</th><th>Log</th><th>Kind</th><th>World</th><th>Entry</th></tr>${ledger}</table>`,
  );
}
