import { describe, expect, it } from 'vitest';
import {
  NotANoticeEventError,
  parseNoticeEvent,
  unwrapSnsMessage,
} from '../../functions/domain/notice-events.ts';
import { simulatedEvents, simulatorOutcome, snsWrapped } from '../../local/ses-events/events.ts';

/** A Bounce record as SES event publishing writes it (the shape of AWS's published example). */
const BOUNCE = {
  eventType: 'Bounce',
  bounce: {
    bounceType: 'Permanent',
    bounceSubType: 'General',
    bouncedRecipients: [
      {
        emailAddress: 'recipient@example.com',
        action: 'failed',
        status: '5.1.1',
        diagnosticCode: 'smtp; 550 5.1.1 user unknown',
      },
    ],
    timestamp: '2017-08-05T00:41:02.669Z',
    feedbackId: '01000157c44f053b-61b59c11-9236-11e6-8f96-7be8aexample-000000',
    reportingMTA: 'dsn; mta.example.com',
  },
  mail: {
    timestamp: '2017-08-05T00:40:02.012Z',
    source: 'Sender Name <sender@example.com>',
    sourceArn: 'arn:aws:ses:us-east-1:123456789012:identity/sender@example.com',
    sendingAccountId: '123456789012',
    messageId: 'EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000',
    destination: ['recipient@example.com'],
    headersTruncated: false,
    tags: { 'ses:configuration-set': ['ConfigSet'] },
  },
};

const email = {
  messageId: 'ses-123456789',
  from: 'casebook@casebook.local',
  subject: 'About your account',
  destination: { to: [] },
  at: 1_796_000_000,
};

describe('SES events about a notice', () => {
  it('reads a permanent bounce: undeliverable, keyed by its feedback id, with what SES said', () => {
    const event = parseNoticeEvent(BOUNCE);
    expect(event).toMatchObject({
      type: 'Bounce',
      outcome: 'bounced',
      messageId: BOUNCE.mail.messageId,
      at: '2017-08-05T00:41:02.669Z',
      eventKey: `Bounce:${BOUNCE.bounce.feedbackId}`,
      undeliverable: true,
      recipients: ['recipient@example.com'],
      detail: {
        bounceType: 'Permanent',
        bounceSubType: 'General',
        diagnostic: 'smtp; 550 5.1.1 user unknown',
      },
    });
  });

  it('takes a transient bounce as bounced but not undeliverable, and the identity notification shape too', () => {
    const { eventType: _, ...rest } = BOUNCE;
    const transient = {
      ...rest,
      notificationType: 'Bounce',
      bounce: { ...BOUNCE.bounce, bounceType: 'Transient' },
    };
    expect(parseNoticeEvent(transient)).toMatchObject({ outcome: 'bounced', undeliverable: false });
  });

  it('reads a reject at the time of the send, and undeliverable', () => {
    const { bounce: _, ...rest } = BOUNCE;
    const event = parseNoticeEvent({ ...rest, eventType: 'Reject', reject: { reason: 'Bad content' } });
    expect(event).toMatchObject({ outcome: 'rejected', undeliverable: true, at: '2017-08-05T00:40:02.012Z' });
    expect(event.detail).toEqual({ reason: 'Bad content' });
  });

  it('refuses what it does not record and what is not SES’s shape', () => {
    expect(() => parseNoticeEvent({ ...BOUNCE, eventType: 'Open' })).toThrow(NotANoticeEventError);
    expect(() => parseNoticeEvent({ eventType: 'Bounce', mail: BOUNCE.mail })).toThrow(/without its bounce/);
    expect(() => parseNoticeEvent({ eventType: 'Delivery' })).toThrow(NotANoticeEventError);
    expect(() => unwrapSnsMessage('{"Type":"SubscriptionConfirmation","Message":"{}"}')).toThrow(
      NotANoticeEventError,
    );
    expect(() => unwrapSnsMessage('not json')).toThrow(NotANoticeEventError);
  });

  it('reads what the local simulator publishes for each mailbox-simulator address, through SNS’s envelope', () => {
    const outcomes = (to: string) =>
      simulatedEvents(email, to).map((e) =>
        parseNoticeEvent(unwrapSnsMessage(snsWrapped(e, 'arn:aws:sns:x'))),
      );
    expect(outcomes('success@simulator.amazonses.com').map((e) => e.outcome)).toEqual(['delivered']);
    expect(outcomes('bounce+ada@simulator.amazonses.com').map((e) => [e.outcome, e.undeliverable])).toEqual([
      ['bounced', true],
    ]);
    expect(outcomes('complaint@simulator.amazonses.com').map((e) => e.outcome)).toEqual([
      'delivered',
      'complained',
    ]);
    expect(outcomes('suppressionlist@simulator.amazonses.com')[0]?.detail.bounceSubType).toBe('Suppressed');
    for (const e of outcomes('bounce@simulator.amazonses.com')) expect(e.messageId).toBe(email.messageId);
    expect(simulatedEvents(email, 'ada@example.com')).toEqual([]);
    expect(simulatorOutcome('bounce@simulator.amazonses.com.evil.com')).toBeUndefined();
  });
});
