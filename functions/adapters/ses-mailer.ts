/** Sends email through SES (v1 SendEmail: what both AWS and aws-ses-v2-local accept). */
import type { SESClient } from '@aws-sdk/client-ses';
import { SendEmailCommand } from '@aws-sdk/client-ses';
import { DeliveryRejectedError } from '../domain/errors.ts';
import type { Mailer, MailMessage } from '../domain/ports.ts';
import { isDependencyOutage } from './aws-errors.ts';

export class SesMailer implements Mailer {
  private readonly client: SESClient;
  private readonly from: string;
  private readonly configurationSet: string | undefined;

  /** `configurationSet`: SES publishes what became of each message to its event destination. */
  constructor(client: SESClient, from: string, configurationSet?: string) {
    this.client = client;
    this.from = from;
    this.configurationSet = configurationSet;
  }

  async send(message: MailMessage): Promise<{ messageId: string }> {
    const out = await this.client.send(this.command(message)).catch((error: unknown) => {
      // An HTTP 4xx answer (rejected, throttled, unverified sender) means SES did not take the
      // email; no answer at all, or a 5xx, leaves it unknown.
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status !== undefined && status >= 400 && status < 500) {
        throw new DeliveryRejectedError(`SES refused the email: ${(error as Error).message}`, {
          cause: error,
          busy: isDependencyOutage(error),
        });
      }
      throw error;
    });
    if (!out.MessageId) throw new Error('SES accepted the email but returned no MessageId');
    return { messageId: out.MessageId };
  }

  private command(message: MailMessage): SendEmailCommand {
    return new SendEmailCommand({
      Source: this.from,
      ...(this.configurationSet ? { ConfigurationSetName: this.configurationSet } : {}),
      Destination: { ToAddresses: [message.to] },
      Message: {
        Subject: { Data: message.subject, Charset: 'UTF-8' },
        Body: {
          Text: { Data: message.text, Charset: 'UTF-8' },
          Html: { Data: message.html, Charset: 'UTF-8' },
        },
      },
    });
  }
}
