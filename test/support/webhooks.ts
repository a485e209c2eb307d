/**
 * Notifications to the ingest handler as API Gateway hands them over, and a DynamoDB client that
 * counts its round trips: for the ingest tests and the storm bench alike (no test runner here).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { HttpResult } from '../../functions/adapters/http.ts';
import type { makeIngestHandler } from '../../functions/ingest-alert/ingest-alert.ts';
import { apiEvent } from './http.ts';

export const WEBHOOK_TOKEN = 'a-test-token-that-is-long-enough';
export const STATE_MACHINE_ARN =
  'arn:aws:states:us-east-1:000000000000:stateMachine:casebook-incident-lifecycle';
/** Alertmanager's notification of a double charge, as it sends it. */
export const ALERTMANAGER_PAYLOAD = readFileSync(
  join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'),
  'utf8',
);

/** A document client on `endpoint` that names each command it sends in `sent`, in order. */
export function countedDocumentClient(endpoint: string): {
  readonly doc: DynamoDBDocumentClient;
  readonly raw: DynamoDBClient;
  readonly sent: string[];
} {
  const sent: string[] = [];
  const raw = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  raw.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'countRoundTrips' },
  );
  const doc = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  return { doc, raw, sent };
}

/** Posts `body` to `/webhooks/{source}` (Alertmanager with the test's token, unless headers say otherwise). */
export function postWebhook(
  handler: ReturnType<typeof makeIngestHandler>,
  body: string,
  headers: Record<string, string> = { authorization: `Bearer ${WEBHOOK_TOKEN}` },
  source = 'alertmanager',
): Promise<HttpResult> {
  return handler(
    apiEvent({
      method: 'POST',
      path: `/webhooks/${source}`,
      routeKey: 'POST /webhooks/{source}',
      pathParameters: { source },
      headers: { 'content-type': 'application/json', ...headers },
      body,
    }),
  );
}
