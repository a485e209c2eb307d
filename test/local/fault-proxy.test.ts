/**
 * The fault proxy (local/fault-proxy/) answers each fault as the real service does, so the SDKs the
 * handlers use see what they would see on AWS and at Stripe: DynamoDB's
 * ProvisionedThroughputExceededException, SES's Throttling, S3's SlowDown, Stripe's 429 with
 * Retry-After; a timeout reaches the server and loses its answer; a reset never reaches it.
 */
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaultProxy } from '../../local/fault-proxy/proxy.ts';
import { startFaultProxy } from '../../local/fault-proxy/proxy.ts';
import { LOCAL_CREDENTIALS } from '../../local/names.ts';

/** One upstream for every service: it counts what reaches it and answers 200 `{}`. */
const reached: string[] = [];
const upstream = createServer((req: IncomingMessage, res) => {
  req.resume();
  req.on('end', () => {
    reached.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
});
let proxy: FaultProxy;

beforeAll(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  proxy = await startFaultProxy({
    upstreams: { dynamodb: url, ses: url, s3: url, stripe: url },
    hangMs: 200,
  });
});
afterAll(async () => {
  await proxy.close();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

const aws = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS, maxAttempts: 1 };

describe('the fault proxy', () => {
  it("answers throttling as each service's SDK knows it", async () => {
    proxy.setPlan([
      { service: 'dynamodb', kind: 'throttle', skip: 0, count: 1 },
      { service: 'ses', kind: 'throttle', skip: 0, count: 1 },
      { service: 's3', kind: 'throttle', skip: 0, count: 1 },
      { service: 'stripe', kind: 'throttle', skip: 0, count: 1 },
    ]);
    const dynamodb = new DynamoDBClient({ ...aws, endpoint: proxy.endpoints.dynamodb });
    const ddbError = await dynamodb
      .send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'x' } } }))
      .catch((e: Error & { $metadata?: { httpStatusCode?: number } }) => e);
    expect(ddbError).toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    const ses = new SESClient({ ...aws, endpoint: proxy.endpoints.ses });
    const sesError = await ses
      .send(
        new SendEmailCommand({
          Source: 'a@example.com',
          Destination: { ToAddresses: ['b@example.com'] },
          Message: { Subject: { Data: 's' }, Body: { Text: { Data: 't' } } },
        }),
      )
      .catch((e: Error & { $metadata?: { httpStatusCode?: number } }) => e);
    expect(sesError).toMatchObject({ name: 'Throttling', $metadata: { httpStatusCode: 400 } });
    const s3 = new S3Client({ ...aws, endpoint: proxy.endpoints.s3, forcePathStyle: true });
    const s3Error = await s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' })).catch((e: Error) => e);
    expect(s3Error).toMatchObject({ name: 'SlowDown' });
    const url = new URL(proxy.endpoints.stripe);
    const stripe = new Stripe('sk_test_proxy', {
      host: url.hostname,
      port: Number(url.port),
      protocol: 'http',
      maxNetworkRetries: 0,
    });
    const stripeError = await stripe.refunds.create({ charge: 'ch_x', amount: 100 }).catch((e: unknown) => e);
    expect(stripeError).toMatchObject({ type: 'StripeRateLimitError', statusCode: 429, code: 'rate_limit' });
    expect((stripeError as { headers: Record<string, string> }).headers['retry-after']).toBe('1');
    expect(reached).toEqual([]);
    expect(proxy.injected.map((f) => `${f.service} ${f.kind}`)).toEqual([
      'dynamodb throttle',
      'ses throttle',
      's3 throttle',
      'stripe throttle',
    ]);
    dynamodb.destroy();
    ses.destroy();
    s3.destroy();
  });

  it('forwards a timed-out request to the server and loses its answer; a reset never reaches it', async () => {
    reached.length = 0;
    proxy.setPlan([
      { service: 'stripe', kind: 'timeout', skip: 1, count: 1 },
      { service: 'stripe', kind: 'reset', skip: 0, count: 1 },
    ]);
    const base = proxy.endpoints.stripe;
    // Every armed rule counts the request among its skips: the first is reset (the timeout skips it),
    // the second times out, the third passes.
    await expect(fetch(`${base}/v1/one`, { method: 'POST' })).rejects.toThrow();
    expect(reached).toEqual([]);
    await expect(fetch(`${base}/v1/two`, { method: 'POST' })).rejects.toThrow();
    expect(reached).toEqual(['POST /v1/two']);
    expect((await fetch(`${base}/v1/three`, { method: 'POST' })).status).toBe(200);
    expect(reached).toEqual(['POST /v1/two', 'POST /v1/three']);
  });

  it('fails only requests of the scope a rule names', async () => {
    reached.length = 0;
    proxy.setPlan([]);
    proxy.setScopedPlan('INC-2026-0007', [{ service: 'dynamodb', kind: 'error', skip: 0, count: 1 }]);
    const base = proxy.endpoints.dynamodb;
    const other = await fetch(base, { method: 'POST', body: '{"Key":{"pk":{"S":"INC-2026-0008"}}}' });
    expect(other.status).toBe(200);
    const hit = await fetch(base, { method: 'POST', body: '{"Key":{"pk":{"S":"INC-2026-0007"}}}' });
    expect(hit.status).toBe(500);
    expect(await hit.json()).toMatchObject({
      __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    });
  });
});
