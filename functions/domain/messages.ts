/**
 * The emails Casebook sends: approval requests to the triangle, notices to customers. Customer
 * notices never carry internal labels or alert text; they use the source's `customer_summary`
 * wording or a plain default.
 */
import type { Approver, RoundRule } from './approval-policy.ts';
import { describeRule } from './approval-policy.ts';
import type { Deadline } from './deadlines.ts';
import type { AttentionReason, EffectRecord } from './effects.ts';
import { escapeHtml, isolated } from './html.ts';
import { humanDuration, humanInstant } from './human-time.ts';
import type { Incident } from './incident.ts';
import { canonicalJson, sha256Hex } from './json.ts';
import { ATTENTION_LABEL, KIND_LABEL, labelOf } from './labels.ts';
import type { Money } from './money.ts';
import { formatMajorAmount } from './money.ts';
import type { Customer, NoticePlaceholder, NoticeTemplate, NoticeText, PlannedEffect } from './plan.ts';
import { describeTotal, formatMoney, PLACEHOLDER, shownTotals } from './plan.ts';
import type { MailMessage } from './ports.ts';
import { plainTextBody, subjectLine, withoutBidiControls } from './text.ts';
import type { ApproverRole } from './vocabulary.ts';
import { ROLE_LABEL } from './vocabulary.ts';

/** What an approval request e-mail says besides the case: whom, where, under which rule, by when. */
export interface ApprovalAsk {
  readonly role: ApproverRole;
  readonly to: Approver;
  readonly link: string;
  readonly rule: RoundRule;
  readonly round: number;
  readonly dueAt: string;
  /** How long the incident's severity gives its approvers: the deadline policy's decision target. */
  readonly decisionMinutes: number;
  /** The round's decision deadline (a backup is asked to decide by the later final timeout). */
  readonly decisionDue: string;
  /** The incident's resolution deadline: the approver is told when it has already passed. */
  readonly resolution: Pick<Deadline, 'due' | 'metAt'>;
  /** When the e-mail is written. */
  readonly now: string;
  /** What changed since the plan version this approver saw last, when they saw one. */
  readonly changes?: { readonly since: number; readonly lines: readonly string[] };
  /** Set when this approver is the role's backup: the primary, and the deadline they let pass. */
  readonly backupFor?: { readonly primary: Approver; readonly deadline: string };
  /** The responder's reply to the change request this plan answers. */
  readonly reply?: { readonly request: string; readonly reply: string; readonly by: string };
}

/** Why a backup is asked, and that the role still decides once: the same words in text and HTML. */
function backupNote(ask: ApprovalAsk): string {
  if (!ask.backupFor) return '';
  const deadline = new Date(ask.backupFor.deadline);
  const role = ROLE_LABEL[ask.role];
  return `You are asked as ${role}'s backup: ${withoutBidiControls(ask.backupFor.primary.name)} (${ask.backupFor.primary.email}) had not decided by ${humanInstant(deadline, deadline)}. Whichever of you decides first decides for ${role}; the other's link then shows who did.`;
}

/**
 * The decision deadline the severity gives and the incident's resolution deadline, in the same
 * words on the page and in the e-mail: an approver asked after the resolution target passed is
 * told so, not left to think there is time.
 */
export function deadlineLines(
  incident: Pick<Incident, 'severity'>,
  ask: Pick<ApprovalAsk, 'decisionDue' | 'decisionMinutes' | 'resolution' | 'now'>,
): string[] {
  const now = new Date(ask.now);
  const at = (instant: string) => humanInstant(new Date(instant), new Date(instant));
  const resolution = ask.resolution;
  const passed = !resolution.metAt && Date.parse(resolution.due) <= now.getTime();
  return [
    `Decision deadline: ${at(ask.decisionDue)} (a ${incident.severity} incident's approvers have ${humanDuration(ask.decisionMinutes * 60_000)}).`,
    resolution.metAt
      ? `Resolution deadline: ${at(resolution.due)}; the incident was resolved at ${at(resolution.metAt)}.`
      : passed
        ? `Resolution deadline: ${at(resolution.due)} — it has already passed (${humanDuration(now.getTime() - Date.parse(resolution.due))} ago): the customers wait for this decision.`
        : `Resolution deadline: ${at(resolution.due)}; Act starts only once the plan is approved.`,
  ];
}

/**
 * The email that asks one approver to decide on the plan. The alert's title comes from outside:
 * the subject and the plain text carry it without bidi controls (they cannot isolate it), the
 * HTML isolates it.
 */
export function approvalRequestEmail(incident: Incident, ask: ApprovalAsk): MailMessage {
  const plan = incident.plan;
  const role = ROLE_LABEL[ask.role];
  const subject = subjectLine(
    `[${incident.severity}] ${incident.id}: ${role} approval needed — ${incident.title}`,
  );
  const shown = shownTotals(plan?.totals ?? []);
  const totals = shown.map((t) => `- ${describeTotal(t)}`);
  const dueAt = new Date(ask.dueAt);
  const due = humanInstant(dueAt, dueAt);
  const when = deadlineLines(incident, ask);
  const changed = ask.changes
    ? ask.changes.lines.length > 0
      ? [
          `What changed since plan v${ask.changes.since}, which you saw:`,
          ...ask.changes.lines.map((l) => `- ${l}`),
        ]
      : [`Nothing in the totals changed since plan v${ask.changes.since}, which you saw.`]
    : [];
  const text = plainTextBody([
    `${ask.to.name}, ${incident.id} (${incident.severity}, ${incident.world}) needs your decision as ${role} on its remediation plan, by ${due}.`,
    `Round ${ask.round}: ${describeRule(ask.rule)}.`,
    ...when,
    ...(ask.backupFor ? ['', backupNote(ask)] : []),
    '',
    `Incident: ${withoutBidiControls(incident.title)}`,
    `Plan v${plan?.version ?? '?'}: ${withoutBidiControls(plan?.summary ?? '(no plan)')}`,
    ...totals,
    ...(changed.length > 0 ? ['', ...changed.map(withoutBidiControls)] : []),
    ...(ask.reply
      ? [
          '',
          withoutBidiControls(`Changes were requested: ${ask.reply.request}`),
          withoutBidiControls(`${ask.reply.by} replied: ${ask.reply.reply}`),
        ]
      : []),
    '',
    `Open the case to approve, reject or ask for changes: ${ask.link}`,
    '',
    `This link is for you (${ask.to.email}) alone, for this round: do not forward it. Opening it changes nothing; only the form on the page records a decision.`,
  ]);
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif">
<p>${isolated(ask.to.name)}, <strong>${escapeHtml(incident.id)}</strong> (${escapeHtml(incident.severity)}, ${escapeHtml(incident.world)}) needs your decision as <strong>${escapeHtml(role)}</strong> on its remediation plan, by ${escapeHtml(due)}.</p>
<p>Round ${escapeHtml(ask.round)}: ${escapeHtml(describeRule(ask.rule))}.</p>
${when.map((l) => `<p>${escapeHtml(l)}</p>`).join('\n')}
${ask.backupFor ? `<p>${escapeHtml(backupNote(ask))}</p>\n` : ''}<p>Incident: ${isolated(incident.title)}</p>
<p>Plan v${escapeHtml(plan?.version ?? '?')}: ${isolated(plan?.summary ?? '(no plan)')}</p>
<ul>${shown.map((t) => `<li>${escapeHtml(describeTotal(t))}</li>`).join('')}</ul>
${
  changed.length > 0
    ? `<p>${escapeHtml(changed[0] ?? '')}</p><ul>${changed
        .slice(1)
        .map((l) => `<li>${isolated(l.slice(2))}</li>`)
        .join('')}</ul>`
    : ''
}
${ask.reply ? `<p>Changes were requested: ${isolated(ask.reply.request)}</p>\n<p>${escapeHtml(ask.reply.by)} replied: ${isolated(ask.reply.reply)}</p>\n` : ''}<p><a href="${escapeHtml(ask.link)}" target="_blank" rel="noopener noreferrer">Open the case to approve, reject or ask for changes</a></p>
<p style="color:#555">This link is for you (${escapeHtml(ask.to.email)}) alone, for this round: do not forward it. Opening it changes nothing; only the form on the page records a decision.</p>
</body></html>`;
  return { to: ask.to.email, subject, text, html };
}

/** Fills the template a notice effect names for its customer: what Act sends, and what approvers read. */
export function customerNotice(
  incident: Pick<Incident, 'id' | 'customerSummary'>,
  template: NoticeTemplate,
  customer: Pick<Customer, 'email' | 'name'>,
  amount?: Money,
): MailMessage {
  const to = customer.email ?? '';
  const greeting = customer.name ? `Hello ${withoutBidiControls(customer.name)},` : 'Hello,';
  const what = withoutBidiControls(
    incident.customerSummary ??
      'an error on our side affected your account, and we want you to hear it from us first.',
  );
  const money = amount ? `${amount.currency} ${formatMajorAmount(amount)}` : undefined;
  const [subject, ...paragraphs] = {
    apology: [
      `About your account: we made a mistake (ref ${incident.id})`,
      `We are writing because ${what}`,
      'We are sorry. We have stopped the cause and are correcting its effects; if anything is owed to you, we will confirm it in a separate message.',
    ],
    refund_confirmation: [
      `Your refund is on its way (ref ${incident.id})`,
      `We are writing because ${what}`,
      money
        ? `We have refunded ${money} to the card or account you paid with. Depending on your bank it can take 5–10 days to show.`
        : 'We have refunded what you were charged by mistake. Depending on your bank it can take 5–10 days to show.',
    ],
    correction: [
      `A correction to our earlier message (ref ${incident.id})`,
      `We wrote to you earlier about this: ${what}`,
      'Part of that message was wrong, and we want the record to be right. Please rely on this message instead; nothing else changes for you.',
    ],
  }[template];
  const closing = `If you have questions, reply to this email and quote reference ${incident.id}.`;
  const text = plainTextBody([greeting, '', ...paragraphs.flatMap((p) => [p, '']), closing]);
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif">
<p>${escapeHtml(greeting)}</p>
${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
<p>${escapeHtml(closing)}</p>
</body></html>`;
  return { to, subject: subject as string, text, html };
}

/** The customer's payment date as a notice names it: "6 December 2026". */
export function paymentDate(paidAt: string): string {
  const at = new Date(paidAt);
  if (Number.isNaN(at.getTime())) return paidAt;
  return at.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
}

/**
 * The plan's notice text filled for one customer: `{{name}}` (or "there" for a customer the list
 * names no name for), `{{amount_refunded}}` and `{{credit}}` (what this plan refunds and credits
 * them), `{{incident}}`, `{{paid_at}}` (their own payment date from the list). A credit the text
 * does not name is still told, in a paragraph of its own: nobody gets money they are not told of.
 * Paragraphs are split at blank lines. What the approvers read and what Act sends are this, byte
 * for byte.
 */
export function planNotice(
  incidentId: string,
  text: NoticeText,
  customer: Pick<Customer, 'email' | 'name' | 'paidAt'>,
  money: { readonly amount?: Money; readonly credit?: Money },
): MailMessage {
  const values: Readonly<Record<NoticePlaceholder, string | undefined>> = {
    name: customer.name ? withoutBidiControls(customer.name) : 'there',
    amount_refunded: money.amount ? formatMoney(money.amount) : undefined,
    credit: money.credit ? formatMoney(money.credit) : undefined,
    incident: incidentId,
    paid_at: customer.paidAt ? paymentDate(customer.paidAt) : undefined,
  };
  const fill = (template: string) =>
    template.replace(PLACEHOLDER, (_, name: string) => values[name as NoticePlaceholder] ?? '');
  const names = (template: string, placeholder: NoticePlaceholder) =>
    [...template.matchAll(PLACEHOLDER)].some(([, name]) => name === placeholder);
  // Filled line by line, each line then kept one line: a value (a name) cannot start a line of its own.
  const paragraphs = text.body
    .replace(/\r\n?/g, '\n')
    .split(/\n[ \t]*\n+/)
    .map((p) =>
      p
        .split('\n')
        .map((line) => subjectLine(fill(line)).trim())
        .filter(Boolean),
    )
    .filter((lines) => lines.length > 0);
  if (money.credit && !names(text.body, 'credit')) {
    paragraphs.push([
      `We have also added a goodwill credit of ${formatMoney(money.credit)} to your account: you do not need to do anything.`,
    ]);
  }
  const subject = subjectLine(fill(text.subject));
  const body = paragraphs.map((lines) => lines.join('\n')).join('\n\n');
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif">
${paragraphs.map((lines) => `<p>${lines.map(escapeHtml).join('<br>')}</p>`).join('\n')}
</body></html>`;
  return { to: customer.email ?? '', subject, text: body, html };
}

/**
 * The message a notice or correction effect sends its customer: the plan's own words for a notice
 * when the plan has them, else the built-in template. Proposing (its content hash), the approval
 * page, Act and the mail-log lookup all render it here.
 */
export function effectNotice(
  incident: Pick<Incident, 'id' | 'customerSummary'>,
  notice: NoticeText | undefined,
  effect: Pick<PlannedEffect, 'kind' | 'template' | 'amount' | 'credit'>,
  customer: Pick<Customer, 'email' | 'name' | 'paidAt'>,
): MailMessage {
  if (notice && effect.kind === 'notice') {
    return planNotice(incident.id, notice, customer, {
      ...(effect.amount ? { amount: effect.amount } : {}),
      ...(effect.credit ? { credit: effect.credit } : {}),
    });
  }
  return customerNotice(incident, effect.template ?? 'apology', customer, effect.amount);
}

/**
 * The first draft of a plan's notice text, as the plan form offers it: the built-in template's
 * words, with the alert's `customer_summary` as the reason — only a draft, which the responders
 * edit (the date of a payment, what was wrong) before anyone approves it.
 */
export function draftNoticeText(
  incident: Pick<Incident, 'customerSummary'>,
  template: NoticeTemplate = 'refund_confirmation',
): NoticeText {
  const what = withoutBidiControls(
    incident.customerSummary ??
      'an error on our side affected your account, and we want you to hear it from us first.',
  );
  const closing = 'If you have questions, reply to this email and quote reference {{incident}}.';
  const drafts: Readonly<Record<NoticeTemplate, NoticeText>> = {
    apology: {
      subject: 'About your account: we made a mistake (ref {{incident}})',
      body: `Hello {{name}},\n\nWe are writing because ${what}\n\nWe are sorry. We have stopped the cause and are correcting its effects.\n\n${closing}`,
    },
    refund_confirmation: {
      subject: 'Your refund is on its way (ref {{incident}})',
      body: `Hello {{name}},\n\nWe are writing because ${what}\n\nWe have refunded {{amount_refunded}} to the card or account you paid with. Depending on your bank it can take 5–10 days to show.\n\n${closing}`,
    },
    correction: {
      subject: 'A correction to our earlier message (ref {{incident}})',
      body: `Hello {{name}},\n\nWe wrote to you earlier about this: ${what}\n\nPart of that message was wrong, and we want the record to be right. Please rely on this message instead; nothing else changes for you.\n\n${closing}`,
    },
  };
  return drafts[template];
}

/** SHA-256 of an email's recipient, subject and bodies. */
export function messageHash(message: MailMessage): string {
  return sha256Hex(canonicalJson(message));
}

const QUESTION_ASKS: Readonly<Record<AttentionReason, string>> = {
  'in-doubt':
    'Was it sent? Check the customer’s mailbox (ask the customer) or the mail provider’s log (SES sending events, the mail server’s log), then answer on the page. An empty local mail emulator shows nothing: it forgets what it took when it restarts.',
  refused: 'Decide: retry it (after fixing the cause), record it as done by hand, or void it.',
  manual: "Carry it out in the company's own system, then record its reference on the page.",
  'plan-mismatch':
    "Nothing was paid or sent. Restore the plan's effects in the operational table (its point-in-time recovery) and answer retry to have Act check them again; until they match, Act carries out none of them.",
  bounced:
    'The customer was not told: their address bounced the notice (or SES rejected it). On the page, send it again to another of their addresses on the customer list, or reach them another way (the phone, the support ticket) and record how, or void it.',
};

/** The e-mail that asks a responder about an effect Act could not settle by itself. */
export function effectQuestionEmail(
  incident: Pick<Incident, 'id' | 'title' | 'severity'>,
  effect: Pick<EffectRecord, 'effectId' | 'kind' | 'counterparty' | 'amount'>,
  reason: AttentionReason,
  detail: string,
  to: string,
  link: string,
): MailMessage {
  const kind = labelOf(KIND_LABEL, effect.kind);
  const what = `${kind.toLowerCase()} ${effect.effectId}${effect.amount ? ` of ${effect.amount.currency} ${formatMajorAmount(effect.amount)}` : ''}`;
  const subject = `[${incident.severity}] ${incident.id}: ${kind}${what.slice(kind.length)} needs you (${labelOf(ATTENTION_LABEL, reason)})`;
  const text = plainTextBody([
    `${incident.id} — ${withoutBidiControls(incident.title)}`,
    '',
    `Act could not settle ${what} (customer ${effect.counterparty}) by itself: ${detail}`,
    '',
    QUESTION_ASKS[reason],
    '',
    `Open the effect: ${link}`,
    '',
    'Opening the link changes nothing; only the form on the page records an answer. The other effects go on meanwhile.',
  ]);
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif">
<p><strong>${escapeHtml(incident.id)}</strong> — ${isolated(incident.title)}</p>
<p>Act could not settle ${escapeHtml(what)} (customer ${escapeHtml(effect.counterparty)}) by itself: ${escapeHtml(detail)}</p>
<p>${escapeHtml(QUESTION_ASKS[reason])}</p>
<p><a href="${escapeHtml(link)}" target="_blank" rel="noopener">Open the effect</a></p>
<p style="color:#555">Opening the link changes nothing; only the form on the page records an answer.</p>
</body></html>`;
  return { to, subject, text, html };
}

/** The e-mail that asks the SRE lead about a plan whose stored effects are not the approved ones. */
export function planMismatchEmail(
  incident: Pick<Incident, 'id' | 'title' | 'severity'>,
  planVersion: number,
  detail: string,
  to: string,
  link: string,
): MailMessage {
  const what = `plan v${planVersion}`;
  const subject = `[${incident.severity}] ${incident.id}: ${what} needs you (${ATTENTION_LABEL['plan-mismatch']})`;
  const text = [
    `${incident.id} — ${withoutBidiControls(incident.title)}`,
    '',
    `Act stopped before carrying out ${what}: ${detail}`,
    '',
    QUESTION_ASKS['plan-mismatch'],
    '',
    `Open the question: ${link}`,
    '',
    'Opening the link changes nothing; only the form on the page records an answer.',
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif">
<p><strong>${escapeHtml(incident.id)}</strong> — ${isolated(incident.title)}</p>
<p>Act stopped before carrying out ${escapeHtml(what)}: ${escapeHtml(detail)}</p>
<p>${escapeHtml(QUESTION_ASKS['plan-mismatch'])}</p>
<p><a href="${escapeHtml(link)}" target="_blank" rel="noopener">Open the question</a></p>
<p style="color:#555">Opening the link changes nothing; only the form on the page records an answer.</p>
</body></html>`;
  return { to, subject, text, html };
}

/**
 * An e-mail to Casebook's own people (responders, the SRE lead): paragraphs, an optional list and
 * an optional link, as plain text and as HTML. The incident's title comes from outside: isolated in
 * HTML, bidi controls stripped in text.
 */
export function staffEmail(
  incident: Pick<Incident, 'id' | 'title' | 'severity'>,
  to: string,
  subject: string,
  body: {
    readonly paragraphs: readonly string[];
    readonly list?: readonly string[];
    readonly link?: { readonly href: string; readonly label: string };
    readonly footer: string;
  },
): MailMessage {
  const text = plainTextBody([
    `${incident.id} — ${withoutBidiControls(incident.title)}`,
    '',
    ...body.paragraphs.flatMap((p) => [p, '']),
    ...(body.list?.length ? [...body.list.map((l) => `- ${l}`), ''] : []),
    ...(body.link ? [`${body.link.label}: ${body.link.href}`, ''] : []),
    body.footer,
  ]);
  const html = `<!doctype html><html><body style="font-family:system-ui,sans-serif">
<p><strong>${escapeHtml(incident.id)}</strong> — ${isolated(incident.title)}</p>
${body.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n')}
${body.list?.length ? `<ul>${body.list.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>` : ''}
${body.link ? `<p><a href="${escapeHtml(body.link.href)}" target="_blank" rel="noopener">${escapeHtml(body.link.label)}</a></p>` : ''}
<p style="color:#555">${escapeHtml(body.footer)}</p>
</body></html>`;
  return { to, subject: subjectLine(`[${incident.severity}] ${incident.id}: ${subject}`), text, html };
}

/** The invitation to an incident's workroom: a personal link, for a responder or the SRE lead. */
export function workroomInvitation(
  incident: Pick<Incident, 'id' | 'title' | 'severity' | 'world'>,
  role: 'responder' | 'sre_lead',
  to: string,
  link: string,
  respondBy: { readonly due: string; readonly now: Date } | undefined,
): MailMessage {
  const when = respondBy
    ? `by ${humanInstant(new Date(respondBy.due), respondBy.now)}`
    : 'as soon as you can';
  return staffEmail(
    incident,
    to,
    `you are ${role === 'sre_lead' ? 'SRE lead' : 'a responder'} — ${incident.title}`,
    {
      paragraphs: [
        `${incident.id} (${incident.severity}, ${incident.world}) is open and needs people. Acknowledge it ${when}: the first responder to acknowledge leads it.`,
        role === 'sre_lead'
          ? 'As SRE lead you can also change its severity, set its size, cancel it as a false alarm or downscope it, and record that the regulator was told.'
          : 'In the workroom you contain it, assess its impact, list the affected customers, write the remediation plan and, at the end, the postmortem.',
      ],
      link: { href: link, label: 'Open the workroom' },
      footer: 'This link is yours alone: it records what you do under your name. Do not forward it.',
    },
  );
}

/**
 * What Legal is told of the regulatory clock (GDPR Art. 33): that it runs and by when the
 * regulator must be notified, or that it ran out with no notification recorded. Legal holds no
 * workroom link: the SRE lead records the notification.
 */
export function regulatoryClockEmail(
  incident: Pick<Incident, 'id' | 'title' | 'severity'>,
  clock: { readonly due: string; readonly missed: boolean },
  sreLead: string,
  to: string,
): MailMessage {
  return staffEmail(
    incident,
    to,
    clock.missed
      ? `escalated — the regulatory clock ran out (due ${clock.due}) without the regulator told`
      : `regulatory clock — notify the regulator by ${clock.due}`,
    {
      paragraphs: [
        clock.missed
          ? `The regulatory clock of ${incident.id} ran out at ${clock.due}, and no notification of the regulator is recorded. The incident keeps waiting for people; nothing moves on by itself.`
          : `Personal data is involved in ${incident.id}. The regulatory clock runs from the moment Casebook learnt of it: the regulator must be notified by ${clock.due} (GDPR Art. 33).`,
        `Once the regulator is notified, tell the SRE lead (${sreLead}) the reference and the time: they record it in the incident's workroom, and that stops the clock.`,
      ],
      footer: 'You receive this as Legal: the regulatory clock of an incident is yours to watch.',
    },
  );
}

/** What a reminder tells an approver who has not decided by half the round's deadline. */
export interface ApprovalReminder {
  readonly role: ApproverRole;
  readonly to: Approver;
  readonly round: number;
  readonly planVersion: number;
  /** The round's deadline. */
  readonly dueAt: string;
  /** Its final timeout, when the SRE lead is told. */
  readonly finalAt: string;
  /** When the request with the link was e-mailed. */
  readonly requestedAt: string;
  /** Who is asked at the deadline if this approver has not decided by then. */
  readonly backup?: Approver;
}

/**
 * The reminder at half a round's deadline. It carries no link: a link is e-mailed once (a
 * reminder forwarded or scanned decides nothing), and the request it points to still works —
 * the page finds the round's current wait on the server.
 */
export function approvalReminderEmail(
  incident: Pick<Incident, 'id' | 'title' | 'severity'>,
  reminder: ApprovalReminder,
): MailMessage {
  const role = ROLE_LABEL[reminder.role];
  const at = (instant: string) => humanInstant(new Date(instant), new Date(instant));
  const due = at(reminder.dueAt);
  const sent = at(reminder.requestedAt);
  return staffEmail(incident, reminder.to.email, `reminder — ${role} approval needed by ${due}`, {
    paragraphs: [
      `${withoutBidiControls(reminder.to.name)}, your decision as ${role} on remediation plan v${reminder.planVersion} (round ${reminder.round}) is still needed, by ${due}: half of the round's time has passed.`,
      `Open the link in the approval request e-mailed to you at ${sent} ("${incident.id}: ${role} approval needed"). This reminder carries no link of its own: each link is sent once.`,
      reminder.backup
        ? `If you have not decided by ${due}, ${withoutBidiControls(reminder.backup.name)} (${reminder.backup.email}) is asked as your backup; whichever of you decides first decides for ${role}.`
        : `If nobody has decided for ${role} by ${at(reminder.finalAt)}, the SRE lead is told; the round waits on.`,
    ],
    footer: `You receive this as ${role} approver on Casebook's roster.`,
  });
}

/** The e-mail that tells the SRE lead and the responders that a deadline passed. */
export function escalationEmail(
  incident: Pick<Incident, 'id' | 'title' | 'severity'>,
  what: string,
  waitingOn: readonly string[],
  to: string,
): MailMessage {
  return staffEmail(incident, to, `escalated — ${what}`, {
    paragraphs: [`${what}. The incident keeps waiting for people; nothing moves on by itself.`],
    ...(waitingOn.length > 0 ? { list: waitingOn } : {}),
    footer: 'Act on it through your workroom link (in the invitation) or the links in the earlier e-mails.',
  });
}

/** A new workroom link, after the SRE lead reissued it: the earlier link no longer works. */
export function workroomLinkReissued(
  incident: Pick<Incident, 'id' | 'title' | 'severity'>,
  role: 'responder' | 'sre_lead',
  to: string,
  link: string,
  by: string,
  expiresAt: string,
): MailMessage {
  return staffEmail(incident, to, `your new workroom link — ${incident.title}`, {
    paragraphs: [
      `${by} (SRE lead) issued you a new link to the workroom of ${incident.id}, as ${role === 'sre_lead' ? 'SRE lead' : 'a responder'}. Your earlier link no longer works.`,
      `This link works until ${expiresAt}.`,
    ],
    link: { href: link, label: 'Open the workroom' },
    footer: 'This link is yours alone: it records what you do under your name. Do not forward it.',
  });
}
