/**
 * The emails Casebook sends: approval requests to the triangle, notices to customers. Customer
 * notices never carry internal labels or alert text; they use the source's `customer_summary`
 * wording or a plain default.
 */
import { escapeHtml, isolated } from './html.ts';
import type { Incident } from './incident.ts';
import { canonicalJson, sha256Hex } from './json.ts';
import type { MailMessage } from './ports.ts';
import { subjectLine, withoutBidiControls } from './text.ts';
import type { ApproverRole } from './vocabulary.ts';
import { ROLE_LABEL } from './vocabulary.ts';

/**
 * The email that asks one approver to decide on the plan. The alert's title comes from outside:
 * the subject and the plain text carry it without bidi controls (they cannot isolate it), the
 * HTML isolates it.
 */
export function approvalRequestEmail(
  incident: Incident,
  role: ApproverRole,
  to: string,
  link: string,
): MailMessage {
  const plan = incident.plan;
  const subject = subjectLine(
    `[${incident.severity}] ${incident.id}: ${ROLE_LABEL[role]} approval needed — ${incident.title}`,
  );
  const effects =
    plan?.effects.map((e) => `- ${withoutBidiControls(e.description)} (${e.world}, ${e.safety})`) ?? [];
  const text = [
    `${incident.id} (${incident.severity}, ${incident.world}) needs ${ROLE_LABEL[role]}'s decision on its remediation plan.`,
    '',
    `Incident: ${withoutBidiControls(incident.title)}`,
    `Plan v${plan?.version ?? '?'}: ${plan?.summary ?? '(no plan)'}`,
    ...effects,
    '',
    `Open the case and approve or reject: ${link}`,
    '',
    'Opening the link changes nothing; only the form on the page records a decision.',
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif">
<p><strong>${escapeHtml(incident.id)}</strong> (${escapeHtml(incident.severity)}, ${escapeHtml(incident.world)}) needs <strong>${escapeHtml(ROLE_LABEL[role])}</strong>'s decision on its remediation plan.</p>
<p>Incident: ${isolated(incident.title)}</p>
<p>Plan v${escapeHtml(plan?.version ?? '?')}: ${escapeHtml(plan?.summary ?? '(no plan)')}</p>
<ul>${(plan?.effects ?? []).map((e) => `<li>${isolated(e.description)} (${escapeHtml(e.world)}, ${escapeHtml(e.safety)})</li>`).join('')}</ul>
<p><a href="${escapeHtml(link)}" target="_blank" rel="noopener">Open the case to approve or reject</a></p>
<p style="color:#555">Opening the link changes nothing; only the form on the page records a decision.</p>
</body></html>`;
  return { to, subject, text, html };
}

/** The apology and explanation a customer receives (template `apology`). */
export function customerNoticeEmail(incident: Incident, to: string): MailMessage {
  const what =
    incident.customerSummary ??
    'an error on our side affected your account, and we want you to hear it from us first.';
  const subject = subjectLine(`About your account: we made a mistake (ref ${incident.id})`);
  const text = [
    'Hello,',
    '',
    `We are writing because ${what}`,
    '',
    'We are sorry. We have stopped the cause and are correcting its effects; if anything is owed to you, we will confirm it in a separate message.',
    '',
    `If you have questions, reply to this email and quote reference ${incident.id}.`,
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif">
<p>Hello,</p>
<p>We are writing because ${escapeHtml(what)}</p>
<p>We are sorry. We have stopped the cause and are correcting its effects; if anything is owed to you, we will confirm it in a separate message.</p>
<p>If you have questions, reply to this email and quote reference ${escapeHtml(incident.id)}.</p>
</body></html>`;
  return { to, subject, text, html };
}

/** SHA-256 of an email's recipient, subject and bodies. */
export function messageHash(message: MailMessage): string {
  return sha256Hex(canonicalJson(message));
}
