/**
 * The e-mails that tell the incident's people how it goes: the plan sent back (with the approvers'
 * reason), the plan approved, Act finished (what was done), the postmortem due, the incident closed.
 * Each carries its recipient's own workroom link (a further secret of their link, see
 * `WorkLink.moreSecrets`) when they have one; without one it points at their invitation.
 */
import type { EffectProgressRecord, Incident } from './incident.ts';
import { staffEmail } from './messages.ts';
import type { MailMessage } from './ports.ts';

/** The progress an e-mail tells; each is sent once per incident (and round or plan version). */
export type ProgressKind =
  | 'changes-requested'
  | 'plan-approved'
  | 'act-finished'
  | 'postmortem-due'
  | 'closed';

type Case = Pick<Incident, 'id' | 'title' | 'severity'>;

/** `2026-12-06 10:23 UTC`: how people read and type times in Casebook. */
export function utcMinute(at: string): string {
  return `${at.slice(0, 10)} ${at.slice(11, 16)} UTC`;
}

const WORKROOM = 'Open the workroom with the personal link in your invitation e-mail for this incident.';

/** The recipient's own link, or the words that point at their invitation when they hold none here. */
function workroom(link: string | undefined): {
  paragraphs: string[];
  link?: { href: string; label: string };
} {
  return link
    ? { paragraphs: [], link: { href: link, label: 'Open the workroom (your personal link)' } }
    : { paragraphs: [WORKROOM] };
}

/** What each kind of effect came to: "5 of 5 refunds confirmed, 5 notices sent, 0 questions open". */
export function actOutcome(progress: EffectProgressRecord | undefined): string {
  const rows = progress?.rows ?? [];
  const of = (kind: string) => {
    const mine = rows.filter((r) => r.kind === kind);
    const count = (p: string) => mine.filter((r) => r.progress === p).reduce((n, r) => n + r.count, 0);
    return {
      total: mine.reduce((n, r) => n + r.count, 0),
      confirmed: count('confirmed'),
      voided: count('voided'),
    };
  };
  const parts: string[] = [];
  for (const [kind, plural] of [
    ['refund', 'refunds'],
    ['credit', 'credits'],
  ] as const) {
    const k = of(kind);
    if (k.total > 0)
      parts.push(
        `${k.confirmed} of ${k.total} ${plural} confirmed${k.voided ? ` (${k.voided} voided)` : ''}`,
      );
  }
  for (const [kind, plural] of [
    ['notice', 'notices'],
    ['correction', 'corrections'],
  ] as const) {
    const k = of(kind);
    if (k.total > 0) parts.push(`${k.confirmed} ${plural} sent${k.voided ? ` (${k.voided} voided)` : ''}`);
  }
  const open = rows.filter((r) => r.progress === 'attention').reduce((n, r) => n + r.count, 0);
  parts.push(`${open} question${open === 1 ? '' : 's'} open`);
  return parts.join(', ');
}

/** The plan came back from the approvers: why, and what the responder does now. */
export function changesRequestedEmail(
  incident: Case,
  to: string,
  sentBack: { readonly version: number; readonly reason: string; readonly round: number },
  link?: string,
): MailMessage {
  const room = workroom(link);
  return staffEmail(incident, to, `plan v${sentBack.version} came back — ${incident.title}`, {
    paragraphs: [
      `The approvers did not approve plan v${sentBack.version} in round ${sentBack.round}. Their reason:`,
      sentBack.reason,
      'Write a revised plan in the workroom (the form opens with this version filled in) and submit it. To send the same plan back to them, reply to their request in the submit form: they will read your reply.',
      ...room.paragraphs,
    ],
    link: room.link,
    footer: 'You get this because you are a responder or the lead of this incident.',
  });
}

export function planApprovedEmail(
  incident: Case,
  to: string,
  plan: { readonly version: number; readonly round: number },
  link?: string,
): MailMessage {
  const room = workroom(link);
  return staffEmail(incident, to, `plan v${plan.version} approved — ${incident.title}`, {
    paragraphs: [
      `Plan v${plan.version} was approved in round ${plan.round}. Casebook is carrying it out now: refunds, credits and notices, each exactly once.`,
      'Nothing is asked of you unless Casebook e-mails you a question about an effect.',
      ...room.paragraphs,
    ],
    link: room.link,
    footer: 'You get this because you are a responder or the lead of this incident.',
  });
}

export function actFinishedEmail(
  incident: Case,
  to: string,
  plan: { readonly version: number; readonly outcome: string },
  link?: string,
): MailMessage {
  const room = workroom(link);
  return staffEmail(incident, to, `remediation done — ${incident.title}`, {
    paragraphs: [
      `Casebook finished carrying out plan v${plan.version}: ${plan.outcome}.`,
      ...room.paragraphs,
    ],
    link: room.link,
    footer: 'You get this because you are a responder or the lead of this incident.',
  });
}

export function postmortemDueEmail(
  incident: Case,
  to: string,
  due: string | undefined,
  link?: string,
): MailMessage {
  const room = workroom(link);
  return staffEmail(incident, to, `postmortem due${due ? ` by ${utcMinute(due)}` : ''} — ${incident.title}`, {
    paragraphs: [
      `The incident is resolved. Write its postmortem in the workroom${due ? ` by ${utcMinute(due)}` : ''}: submitting it closes the incident.`,
      ...room.paragraphs,
    ],
    link: room.link,
    footer: 'You get this because you are a responder or the lead of this incident.',
  });
}

/** To everyone who took part; only those who hold a workroom link get one (approvers hold none). */
export function closedEmail(incident: Case, to: string, closedAt: string, link?: string): MailMessage {
  return staffEmail(incident, to, `closed — ${incident.title}`, {
    paragraphs: [
      `${incident.id} was closed at ${utcMinute(closedAt)}: the postmortem is in. Its ledger, decisions and timeline stay as they are; the case file holds them.`,
    ],
    link: link ? { href: link, label: 'Open the workroom (your personal link)' } : undefined,
    footer: 'You get this because you took part in this incident.',
  });
}

/** The responder's reply to the approvers' change request, when plan v`version` went to them with one. */
export function replyToChangeRequest(
  incident: Pick<Incident, 'planSubmitted' | 'planRejected'>,
  version: number,
): { readonly request: string; readonly reply: string; readonly by: string } | undefined {
  const submitted = incident.planSubmitted;
  if (submitted?.version !== version || !submitted.reply) return undefined;
  return { request: incident.planRejected?.reason ?? '', reply: submitted.reply, by: submitted.by };
}
