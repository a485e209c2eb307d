/**
 * What SES says became of a notice after it took it: delivered, bounced, complained about,
 * rejected or delayed. SES accepting a message is not the customer being told; these events are
 * the evidence that they were (or were not). Event publishing through a configuration set sends
 * them as JSON with `eventType` (a notification set on the identity instead says
 * `notificationType`; both are read).
 */
import * as z from 'zod';

/** The event types a notice's configuration set publishes. */
export const NOTICE_EVENT_TYPES = ['Delivery', 'Bounce', 'Complaint', 'Reject', 'DeliveryDelay'] as const;
export type NoticeEventType = (typeof NOTICE_EVENT_TYPES)[number];

/** What an event means for the customer, in the words the ledger and the case file use. */
export type NoticeOutcome = 'delivered' | 'bounced' | 'complained' | 'rejected' | 'delayed';

const OUTCOME: Readonly<Record<NoticeEventType, NoticeOutcome>> = {
  Delivery: 'delivered',
  Bounce: 'bounced',
  Complaint: 'complained',
  Reject: 'rejected',
  DeliveryDelay: 'delayed',
};

const text = z.string().min(1).max(2000);
const recipient = z.looseObject({
  emailAddress: text,
  status: text.optional(),
  diagnosticCode: z.string().max(2000).optional(),
});

const sesEventSchema = z.looseObject({
  eventType: z.string().optional(),
  notificationType: z.string().optional(),
  mail: z.looseObject({
    timestamp: z.iso.datetime({ offset: true }),
    messageId: z.string().min(1).max(400),
    destination: z.array(text).optional(),
  }),
  delivery: z
    .looseObject({ timestamp: z.iso.datetime({ offset: true }), recipients: z.array(text) })
    .optional(),
  bounce: z
    .looseObject({
      bounceType: z.enum(['Permanent', 'Transient', 'Undetermined']),
      bounceSubType: text,
      bouncedRecipients: z.array(recipient),
      timestamp: z.iso.datetime({ offset: true }),
      feedbackId: text,
    })
    .optional(),
  complaint: z
    .looseObject({
      complainedRecipients: z.array(recipient),
      timestamp: z.iso.datetime({ offset: true }),
      feedbackId: text,
      complaintFeedbackType: text.optional(),
    })
    .optional(),
  reject: z.looseObject({ reason: text }).optional(),
  deliveryDelay: z
    .looseObject({
      timestamp: z.iso.datetime({ offset: true }),
      delayType: text,
      delayedRecipients: z.array(recipient),
      expirationTime: z.iso.datetime({ offset: true }).optional(),
    })
    .optional(),
});

/** One SES event about one message, reduced to what Casebook records. */
export interface NoticeEvent {
  readonly type: NoticeEventType;
  readonly outcome: NoticeOutcome;
  /** The SES MessageId the send answered with. */
  readonly messageId: string;
  /** When it happened, by SES (ISO, UTC). */
  readonly at: string;
  /** Unique per event of one message: the feedback id SES gives bounces and complaints, else the type and time. */
  readonly eventKey: string;
  /** Only a permanent bounce or a reject means the customer will not get this message at that address. */
  readonly undeliverable: boolean;
  /** The addresses it concerns (never recorded on the ledger; the pseudonym is). */
  readonly recipients: readonly string[];
  /** What SES said: bounce type and subtype, the diagnostic, the reject reason, the delay type. */
  readonly detail: Readonly<Record<string, string>>;
}

/** An event Casebook does not record (Send, Open, Click…), or one that is not SES's shape. */
export class NotANoticeEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotANoticeEventError';
  }
}

const utc = (iso: string) => new Date(iso).toISOString();

/** Reads one SES event record (the JSON SES publishes, unwrapped from SNS). */
export function parseNoticeEvent(value: unknown): NoticeEvent {
  const parsed = sesEventSchema.safeParse(value);
  if (!parsed.success) throw new NotANoticeEventError(`not an SES event: ${z.prettifyError(parsed.error)}`);
  const event = parsed.data;
  const type = (event.eventType ?? event.notificationType) as NoticeEventType;
  if (!NOTICE_EVENT_TYPES.includes(type))
    throw new NotANoticeEventError(`SES event type ${String(type)} is not recorded`);
  const { messageId } = event.mail;
  const base = { type, outcome: OUTCOME[type], messageId };
  const missing = () =>
    new NotANoticeEventError(`a ${type} event without its ${type[0]?.toLowerCase()}${type.slice(1)} object`);
  const addresses = (list: readonly { emailAddress: string }[]) => list.map((r) => r.emailAddress);
  switch (type) {
    case 'Delivery': {
      if (!event.delivery) throw missing();
      const at = utc(event.delivery.timestamp);
      return {
        ...base,
        at,
        eventKey: `Delivery:${at}`,
        undeliverable: false,
        recipients: event.delivery.recipients,
        detail: {},
      };
    }
    case 'Bounce': {
      const b = event.bounce;
      if (!b) throw missing();
      const diagnostic = b.bouncedRecipients.find((r) => r.diagnosticCode)?.diagnosticCode;
      return {
        ...base,
        at: utc(b.timestamp),
        eventKey: `Bounce:${b.feedbackId}`,
        undeliverable: b.bounceType === 'Permanent',
        recipients: addresses(b.bouncedRecipients),
        detail: {
          bounceType: b.bounceType,
          bounceSubType: b.bounceSubType,
          ...(diagnostic ? { diagnostic } : {}),
        },
      };
    }
    case 'Complaint': {
      const c = event.complaint;
      if (!c) throw missing();
      return {
        ...base,
        at: utc(c.timestamp),
        eventKey: `Complaint:${c.feedbackId}`,
        undeliverable: false,
        recipients: addresses(c.complainedRecipients),
        detail: c.complaintFeedbackType ? { complaintFeedbackType: c.complaintFeedbackType } : {},
      };
    }
    case 'Reject': {
      if (!event.reject) throw missing();
      // SES rejects before sending anything: the only time it gives is the send's.
      const at = utc(event.mail.timestamp);
      return {
        ...base,
        at,
        eventKey: `Reject:${at}`,
        undeliverable: true,
        recipients: event.mail.destination ?? [],
        detail: { reason: event.reject.reason },
      };
    }
    case 'DeliveryDelay': {
      const d = event.deliveryDelay;
      if (!d) throw missing();
      const at = utc(d.timestamp);
      return {
        ...base,
        at,
        eventKey: `DeliveryDelay:${at}`,
        undeliverable: false,
        recipients: addresses(d.delayedRecipients),
        detail: { delayType: d.delayType, ...(d.expirationTime ? { expirationTime: d.expirationTime } : {}) },
      };
    }
  }
}

/** SNS's envelope around a message it delivers to an SQS queue (raw message delivery off). */
const snsEnvelopeSchema = z.looseObject({ Type: z.literal('Notification'), Message: z.string() });

/** The SES event an SQS message body carries, unwrapped from SNS's envelope. */
export function unwrapSnsMessage(body: string): unknown {
  let envelope: unknown;
  try {
    envelope = JSON.parse(body);
  } catch {
    throw new NotANoticeEventError('the queue message is not JSON');
  }
  const parsed = snsEnvelopeSchema.safeParse(envelope);
  if (!parsed.success) throw new NotANoticeEventError('the queue message is not an SNS notification');
  try {
    return JSON.parse(parsed.data.Message) as unknown;
  } catch {
    throw new NotANoticeEventError("the SNS notification's Message is not JSON");
  }
}

/** Where a notice SES took stands: the message id Act was answered with, and the effect it carried. */
export interface SentNotice {
  readonly messageId: string;
  readonly incidentId: string;
  /** The plan version id the effect's row is kept under. */
  readonly planVersionId: string;
  readonly effectId: string;
  readonly attempt: number;
}

/** The notices SES took, by the MessageId its events name. */
export interface SentNotices {
  /** Written once when Act records a notice confirmed; writing it again changes nothing. */
  remember(notice: SentNotice): Promise<void>;
  find(messageId: string): Promise<SentNotice | undefined>;
}
