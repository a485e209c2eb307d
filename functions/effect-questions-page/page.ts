/** The page behind a question about an effect: what Act knows, and the form for the answer. */
import { escapeHtml as e, timeHtml } from '../domain/html.ts';
import { ATTENTION_LABEL, KIND_LABEL, labelOf, OBLIGATION_LABEL, SEVERITY_LABEL } from '../domain/labels.ts';
import { formatMajorAmount } from '../domain/money.ts';
import { layout } from '../pages/layout.ts';
import type { PageNotes } from '../pages/page-handler.ts';
import type { QuestionView, ResendOutcome } from '../use-cases/effect-questions.ts';

const ANSWER_LABEL: Readonly<Record<string, string>> = {
  sent: 'It was sent (say how you know)',
  'not-sent': 'It was not sent (say what showed it): send it again',
  retry: 'Retry it (the cause is fixed)',
  'check-again': 'Check again: the stored effects are restored',
  'done-by-hand': 'Done by hand: record the provider reference',
  void: 'Void it: it will not be carried out (say why)',
  resend: 'Send it again, word for word, to another address from the customer list:',
};

export function questionPage(view: QuestionView, notes: PageNotes = {}): string {
  const { question, incident, effect } = view;
  const answered = question.answered;
  const form = notes.form ?? {};
  const errors = [
    ...(notes.conflict ? [`<p>${e(notes.conflict)}</p>`] : []),
    ...(notes.issues ?? []).map((i) => `<p><code>${e(i.field)}</code> ${e(i.message)}</p>`),
  ];
  const body = answered
    ? `<div class="box ok"><strong>Answered "${e(labelOf(ANSWER_LABEL, answered.answer))}"</strong> by ${e(answered.by)} at ${timeHtml(answered.at, view.now)}${answered.note ? `: ${e(answered.note)}` : ''}${answered.reference ? ` (reference ${e(answered.reference)})` : ''}</div>${resendLine(view)}`
    : `<form method="post" class="box">
<p>Asked of <strong>${e(view.askedOf)}</strong>. Opening this page changed nothing.</p>
<fieldset><legend>Your answer</legend>
${view.answers.map((a) => `<label><input type="radio" name="answer" value="${e(a)}" required${form.answer === a ? ' checked' : ''}> ${e(ANSWER_LABEL[effect || a !== 'retry' ? a : 'check-again'] ?? a)}</label>${a === 'resend' ? addressChoice(view, form.address) : ''}`).join('\n')}
</fieldset>
${noOtherAddress(view)}
${view.answers.includes('done-by-hand') ? `<label for="reference">Provider reference (for "done by hand")</label><input type="text" id="reference" name="reference" maxlength="200" value="${e(form.reference ?? '')}">` : ''}
<label for="note">Note: on what basis (required for "sent", "not-sent" and "void")</label><textarea id="note" name="note" maxlength="2000">${e(form.note ?? '')}</textarea>
<button type="submit">Record my answer</button>
</form>`;
  const subject = effect
    ? `${KIND_LABEL[effect.kind]} ${effect.effectId}`
    : `plan v${question.effectId.slice(1)}`;
  return layout(
    `${incident.id}: ${effect?.effectId ?? subject} needs you`,
    `<h1>${e(incident.id)} — ${e(subject)}</h1>
<p class="meta">${e(incident.title)} · ${e(SEVERITY_LABEL[incident.severity])}${effect ? ` · plan v${e(effect.planVersion)}` : ''} · attempt ${e(question.attempt)}</p>
${errors.length > 0 ? `<div class="box errors"><strong>Nothing was recorded:</strong>${errors.join('')}</div>` : ''}
<div class="box"><strong>Why you are asked (${e(ATTENTION_LABEL[question.reason])}):</strong> ${e(question.detail)}</div>
${effect ? effectTable(view, effect) : ''}
${body}`,
  );
}

/** What became of a resend the answer asked for: whether the customer was sent it, and what is asked now. */
function resendLine(view: QuestionView): string {
  const r = view.resend;
  const answered = view.question.answered;
  if (!r || !answered) return '';
  const to = `<code>${e(answered.address ?? '')}</code>`;
  const asked = r.asked
    ? `The responders were e-mailed a question about attempt ${e(r.attempt)}.`
    : `The question about attempt ${e(r.attempt)} could not be e-mailed yet; record the same answer again to send it.`;
  const mine = view.askedOf === answered.by;
  const line: Record<ResendOutcome['outcome'], string> = {
    sending: `Attempt ${e(r.attempt)} to ${to} is being sent; look again in a minute.`,
    sent: `Attempt ${e(r.attempt)} went to ${to}: SES took it${r.providerRef ? ` (<code>${e(r.providerRef)}</code>)` : ''}.`,
    refused: `Attempt ${e(r.attempt)} was not sent: SES refused it. ${e(r.detail ?? '')} ${asked}`,
    'in-doubt': `Attempt ${e(r.attempt)} to ${to} ended without SES's answer: it is not known whether SES took it, and Casebook does not send it twice on a guess. ${asked}`,
    stalled: `Sending attempt ${e(r.attempt)} to ${to} did not finish, and nothing is at it now. ${
      mine
        ? 'Record the same answer again: Casebook sends it, or asks about it as in doubt where SES may have taken it.'
        : `${e(answered.by)}, who answered, can finish it from their link.`
    }`,
    later: 'Later attempts of this notice were asked about in questions of their own.',
  };
  const again =
    r.outcome === 'stalled' && mine
      ? `\n<form method="post" class="box"><input type="hidden" name="answer" value="resend"><input type="hidden" name="address" value="${e(answered.address ?? '')}"><button type="submit">Record the same answer again</button></form>`
      : '';
  return `\n<div class="box">${line[r.outcome]}</div>${again}`;
}

/**
 * The other addresses "resend" may go to, one radio each (no script: the form posts the choice).
 * None is chosen beforehand, even when there is one: a notice goes only where a person said.
 */
function addressChoice(view: QuestionView, chosen: string | undefined): string {
  const addresses = view.otherAddresses ?? [];
  return `<fieldset class="addresses"><legend>Other address (for "send it again")</legend>
${addresses.map((a) => `<label><input type="radio" name="address" value="${e(a)}"${chosen === a ? ' checked' : ''}> ${e(a)}</label>`).join('\n')}
</fieldset>`;
}

/** Where a bounced notice cannot be sent anywhere else, the page says why before the other answers. */
function noOtherAddress(view: QuestionView): string {
  if (view.question.reason !== 'bounced' || view.answers.includes('resend')) return '';
  const why =
    view.otherAddresses && view.otherAddresses.length > 0
      ? 'Casebook cannot send it again from here.'
      : view.otherAddresses
        ? 'The customer list holds no other address for this customer (its <code>other_emails</code> column).'
        : 'The customer is not on the current customer list.';
  return `<p class="note">${why} Reach them another way and record how (done by hand), or void it.</p>`;
}

function effectTable(view: QuestionView, effect: NonNullable<QuestionView['effect']>): string {
  const money = effect.amount ? `${effect.amount.currency} ${formatMajorAmount(effect.amount)}` : '—';
  return `<table>
<tr><th>Customer</th><td>${e(effect.customerRef)}${view.customerEmail ? ` <code>&lt;${e(view.customerEmail)}&gt;</code>` : ''} (<code>${e(effect.counterparty)}</code> in the ledger)</td></tr>
<tr><th>Amount</th><td>${e(money)} (${e(OBLIGATION_LABEL[effect.obligation])})</td></tr>
<tr><th>Payment</th><td>${e(effect.paymentRef ?? '—')}</td></tr>
<tr><th>Provider reference so far</th><td>${e(effect.providerRef ?? 'none')}</td></tr>
<tr><th>Intent recorded</th><td>${effect.intentAt ? timeHtml(effect.intentAt, view.now) : '—'}</td></tr>
${view.question.reason === 'in-doubt' ? `<tr><th>What the mail log says</th><td>${mailLogLine(view, effect)}</td></tr>` : ''}
</table>`;
}

/**
 * What the mail service's own log knows about the notice, as a person would read it. A log that
 * holds no such message is never read as "not sent": the local emulator forgets everything when it
 * restarts, so the page says since when it knows and what a person must check instead.
 */
function mailLogLine(view: QuestionView, effect: NonNullable<QuestionView['effect']>): string {
  const check =
    'Check the customer’s mailbox (ask the customer) or the mail provider’s log (SES sending events, the mail server’s log) before you answer; answer that it was not sent only if one of them shows so.';
  const log = view.mailLog;
  if (!log) return `Casebook cannot read the mail service’s log here. ${check}`;
  const since = `since the mail emulator started at ${timeHtml(log.since, view.now)}`;
  if (log.messages.length > 0)
    return `The mail emulator took ${log.messages.length} message(s) with this subject to this customer ${since}: ${log.messages
      .map((m) => `${e(m.messageId)} at ${timeHtml(m.at, view.now)}`)
      .join('; ')}.`;
  const intentAt = effect.intentAt ? Date.parse(effect.intentAt) : Number.NaN;
  const startedLate =
    Number.isNaN(intentAt) || Date.parse(log.since) > intentAt
      ? ' It started after this notice’s intent was recorded, and its store is kept in memory only: it cannot show whether the notice went out before then.'
      : ' Its store is kept in memory only and can have been cleared.';
  return `None ${since}.${startedLate} That is no evidence that it was not sent. ${check}`;
}

export function questionNotFoundPage(): string {
  return layout(
    'Not found',
    '<h1>No such question</h1><p>Check that you opened the whole link from the email.</p>',
  );
}
