/**
 * The approval page: the case an approver decides on, and the form. Server-rendered HTML with no
 * scripts, so it works from any mail client's browser and under a strict CSP. Text from outside
 * (alert titles and wording, addresses from alerts, what approvers typed) is escaped and isolated
 * with `t()` (`<bdi>`), form fields take `dir="auto"`, and the `<title>`, which cannot hold
 * markup, loses its bidi controls: none of it can reorder the page around it.
 */
import type { InputIssue } from '../domain/errors.ts';
import { escapeHtml as e, isolated as t } from '../domain/html.ts';
import { LIMITS } from '../domain/limits.ts';
import { customerNoticeEmail } from '../domain/messages.ts';
import { withoutBidiControls } from '../domain/text.ts';
import { ROLE_LABEL } from '../domain/vocabulary.ts';
import type { ApprovalView } from '../use-cases/approval-decisions.ts';

const STYLE = `body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.4rem;margin-bottom:.2rem}.meta{color:#555;margin-top:0}table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}
th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}th{background:#f6f6f6}
.box{border:2px solid #333;border-radius:6px;padding:1rem;margin:1rem 0}.ok{border-color:#1b7f3b}.no{border-color:#b3261e}
.errors{border-color:#b3261e;background:#fdecea}label{display:block;margin:.5rem 0 .2rem;font-weight:600}
input[type=text],textarea{width:100%;box-sizing:border-box;padding:.4rem;font:inherit}textarea{min-height:6rem}
button{font:inherit;padding:.5rem 1.2rem;margin-top:.8rem}code{font-size:.85em}`;

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex"><title>${e(withoutBidiControls(title))}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

/** The words customers would receive, so Legal and Business approve the message, not a summary of it. */
function noticePreview(view: ApprovalView): string {
  const first = view.incident.plan?.effects.find((x) => x.kind === 'customer_notice');
  if (!first) return '';
  const mail = customerNoticeEmail(view.incident, first.to);
  return `<h2>What each customer receives</h2>
<p class="meta">Shown as sent to ${t(first.to)}; every recipient gets the same words.</p>
<div class="box"><p><strong>Subject:</strong> ${t(mail.subject)}</p><pre dir="auto" style="white-space:pre-wrap;font:inherit"><bdi>${e(mail.text)}</bdi></pre></div>`;
}

/** A page that says only that there is nothing here (unknown, malformed or forged links alike). */
export function notFoundPage(): string {
  return layout(
    'Not found',
    '<h1>No such approval request</h1><p>Check that you opened the whole link from the email.</p>',
  );
}

export interface PageNotes {
  readonly issues?: readonly InputIssue[];
  readonly conflict?: string;
  readonly form?: Readonly<Record<string, string>>;
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
  const effects = (plan?.effects ?? [])
    .map(
      (x) =>
        `<tr><td>${e(x.effectId)}</td><td>${e(x.kind)}</td><td>${t(x.description)}</td><td>${e(x.world)}</td><td>${e(x.safety)}</td></tr>`,
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
<table><tr><th>Effect</th><th>Kind</th><th>What</th><th>World</th><th>Safety</th></tr>${effects}</table>
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
