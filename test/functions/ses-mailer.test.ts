import type { SESClient } from '@aws-sdk/client-ses';
import { describe, expect, it } from 'vitest';
import { SesMailer } from '../../functions/adapters/ses-mailer.ts';
import { DeliveryRejectedError } from '../../functions/domain/errors.ts';

/** An SES client that answers every call with `error`, as the SDK throws it after its own retries. */
function answering(error: Error & { $metadata: { httpStatusCode: number } }): SESClient {
  return { send: async () => Promise.reject(error) } as unknown as SESClient;
}

function serviceError(name: string, status: number, message: string) {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

const message = {
  to: 'ana@example.com',
  subject: 'Plan approved',
  text: 'It was approved.',
  html: '<p>It was approved.</p>',
};

describe('SesMailer', () => {
  it('says SES refused an e-mail it rejected for good (MessageRejected, 400)', async () => {
    const mailer = new SesMailer(
      answering(serviceError('MessageRejected', 400, 'Email address is not verified.')),
      'casebook@example.com',
    );
    const failure = await mailer.send(message).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DeliveryRejectedError);
    expect((failure as DeliveryRejectedError).busy).toBe(false);
  });

  it.each([
    ['Throttling', 400, 'Maximum sending rate exceeded.'],
    ['ThrottlingException', 400, 'Rate exceeded'],
    ['TooManyRequestsException', 429, 'Too many requests'],
  ])('says %s (%i) is a refusal for now, to be sent again later', async (name, status, text) => {
    const error = serviceError(name, status, text);
    const mailer = new SesMailer(answering(error), 'casebook@example.com');
    const failure = await mailer.send(message).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(DeliveryRejectedError);
    expect((failure as DeliveryRejectedError).busy).toBe(true);
    expect((failure as DeliveryRejectedError).cause).toBe(error);
  });
});
