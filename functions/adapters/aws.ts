/**
 * SDK clients, built once per cold start and passed into adapters. Endpoints and credentials come
 * from the standard chain, so the same code reaches AWS or the local emulators
 * (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SES`, `AWS_ENDPOINT_URL_SFN`, `AWS_ENDPOINT_URL_S3`).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SESClient } from '@aws-sdk/client-ses';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Clock } from '../domain/ports.ts';
import { traced } from './observability.ts';

export function documentClient(): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(traced(new DynamoDBClient({})), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

/**
 * `maxAttempts: 1` for customer notices: the SDK's own retry would resend an email SES may
 * already have taken; Casebook's effect ledger decides what is safe to send again.
 */
export function sesClient(options: { maxAttempts?: number } = {}): SESClient {
  return traced(new SESClient(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}));
}

export function sfnClient(): SFNClient {
  return traced(new SFNClient({}));
}

/**
 * S3 with two settings for emulators: path-style addressing when an endpoint is set (s3rver has
 * no per-bucket host names), and checksums only where S3 requires them (s3rver does not read the
 * SDK's default streamed checksum trailers).
 */
export function s3Client(): S3Client {
  return traced(
    new S3Client({
      forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3),
      requestChecksumCalculation: 'WHEN_REQUIRED',
    }),
  );
}

export function kmsClient(): KMSClient {
  return traced(new KMSClient({}));
}

export const systemClock: Clock = { now: () => new Date() };
