/**
 * The emails Casebook sends: approval requests to the triangle, notices to customers. Customer
 * notices never carry internal labels or alert text; they use the source's `customer_summary`
 * wording or a plain default.
 */
import type { Approver, RoundRule } from './approval-policy.ts';
import { describeRule } from './approval-policy.ts';
import type { AttentionReason, EffectRecord } from './effects.ts';
import { escapeHtml, isolated } from './html.ts';
import { humanInstant } from './human-time.ts';
import type { Incident } from './incident.ts';
import { canonicalJson, sha256Hex } from './json.ts';
import type { Money } from './money.ts';
import { formatMajorAmount } from './money.ts';
import type { Customer, NoticeTemplate } from './plan.ts';
import { describeTotal } from './plan.ts';
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
  const totals = plan?.totals.map((t) => `- ${describeTotal(t)}`) ?? [];
  const dueAt = new Date(ask.dueAt);
  const due = humanInstant(dueAt, dueAt);
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
${ask.backupFor ? `<p>${escapeHtml(backupNote(ask))}</p>\n` : ''}<p>Incident: ${isolated(incident.title)}</p>
<p>Plan v${escapeHtml(plan?.version ?? '?')}: ${isolated(plan?.summary ?? '(no plan)')}</p>
<ul>${(plan?.totals ?? []).map((t) => `<li>${escapeHtml(describeTotal(t))}</li>`).join('')}</ul>
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
  const what = `${effect.kind} ${effect.effectId}${effect.amount ? ` of ${effect.amount.currency} ${formatMajorAmount(effect.amount)}` : ''}`;
  const subject = `[${incident.severity}] ${incident.id}: ${what} needs you (${reason})`;
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
  const subject = `[${incident.severity}] ${incident.id}: ${what} needs you (plan-mismatch)`;
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
