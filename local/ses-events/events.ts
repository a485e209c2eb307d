/**
 * The SES events AWS would publish for a message to one of SES's mailbox-simulator addresses
 * (`success@`, `bounce@`, `complaint@`, `suppressionlist@simulator.amazonses.com`, each with an
 * optional `+label`), in the JSON event publishing writes, wrapped as SNS delivers it to SQS.
 */
import { randomUUID } from 'node:crypto';

export const SIMULATOR_DOMAIN = 'simulator.amazonses.com';

/** What the simulator does with a message to each of its addresses. */
export type SimulatorOutcome = 'success' | 'bounce' | 'complaint' | 'suppressionlist';

/** Which simulator address `address` is (its `+label` aside), or undefined for any other address. */
export function simulatorOutcome(address: string): SimulatorOutcome | undefined {
  const m = /^(success|bounce|complaint|suppressionlist)(?:\+[^@]*)?@simulator\.amazonses\.com$/i.exec(
    address.trim(),
  );
  return m?.[1] ? (m[1].toLowerCase() as SimulatorOutcome) : undefined;
}

/** The message as the emulator's store has it. */
export interface StoredEmail {
  readonly messageId: string;
  readonly from: string;
  readonly subject: string;
  readonly destination: { readonly to: readonly string[] };
  /** Seconds since the epoch. */
  readonly at: number;
}

const mailOf = (email: StoredEmail, to: string) => ({
  timestamp: new Date(email.at * 1000).toISOString(),
  source: email.from,
  sourceArn: `arn:aws:ses:us-east-1:000000000000:identity/${email.from.slice(email.from.lastIndexOf('@') + 1)}`,
  sendingAccountId: '000000000000',
  messageId: email.messageId,
  destination: [to],
  headersTruncated: false,
  commonHeaders: { from: [email.from], to: [to], messageId: email.messageId, subject: email.subject },
  tags: { 'ses:configuration-set': ['casebook-notices'] },
});

/** The SES events (event publishing's JSON) the simulator's answer to `to` causes; none for other addresses. */
export function simulatedEvents(
  email: StoredEmail,
  to: string,
  now: Date = new Date(),
): Record<string, unknown>[] {
  const outcome = simulatorOutcome(to);
  if (!outcome) return [];
  const mail = mailOf(email, to);
  const timestamp = now.toISOString();
  const delivery = {
    eventType: 'Delivery',
    mail,
    delivery: {
      timestamp,
      processingTimeMillis: 500,
      recipients: [to],
      smtpResponse: '250 2.6.0 Message received',
      reportingMTA: 'a8-70.smtp-out.amazonses.com',
    },
  };
  const bounce = (subType: string, diagnosticCode: string) => ({
    eventType: 'Bounce',
    mail,
    bounce: {
      bounceType: 'Permanent',
      bounceSubType: subType,
      bouncedRecipients: [{ emailAddress: to, action: 'failed', status: '5.1.1', diagnosticCode }],
      timestamp,
      feedbackId: `${randomUUID()}-000000`,
      reportingMTA: 'dns; amazonses.com',
    },
  });
  switch (outcome) {
    case 'success':
      return [delivery];
    case 'bounce':
      return [bounce('General', 'smtp; 550 5.1.1 user unknown')];
    case 'suppressionlist':
      return [
        bounce(
          'Suppressed',
          'Amazon SES did not send the message to this address because it is on the suppression list for your account.',
        ),
      ];
    case 'complaint':
      // The simulator's mailbox takes the message first, then its owner marks it as spam.
      return [
        delivery,
        {
          eventType: 'Complaint',
          mail,
          complaint: {
            complainedRecipients: [{ emailAddress: to }],
            timestamp,
            feedbackId: `${randomUUID()}-000000`,
            userAgent: 'Amazon SES Mailbox Simulator',
            complaintFeedbackType: 'abuse',
            arrivalDate: timestamp,
          },
        },
      ];
  }
}

/** An SES event as SNS delivers it to an SQS queue (raw message delivery off): the SQS body. */
export function snsWrapped(event: Record<string, unknown>, topicArn: string, now: Date = new Date()): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: randomUUID(),
    TopicArn: topicArn,
    Message: JSON.stringify(event),
    Timestamp: now.toISOString(),
    SignatureVersion: '1',
    Signature: 'local',
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/local.pem',
    UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe',
  });
}
