import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { MiddlewareStack } from '@smithy/types';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { signingSecrets } from '../../functions/adapters/signing-secrets.ts';
import { genericSignature } from '../../functions/domain/sources/generic.ts';
import { hmacSha256Hex } from '../../functions/domain/sources/signature.ts';
import { testClock } from '../support/dynamodb.ts';
import { ingestHandler, ingestWorld } from '../support/ingest.ts';
import { postWebhook, WEBHOOK_TOKEN } from '../support/webhooks.ts';

const TOKEN = WEBHOOK_TOKEN;
const SECRETS = {
  grafana: 'grafana-secret-0123456789abcdef',
  pagerduty: 'pagerduty-secret-0123456789abcdef',
  generic: 'generic-secret-0123456789abcdef',
};
const OLD_SECRET = 'the-secret-being-rotated-out-0123';
const NOW = '2026-12-06T10:00:00.000Z';
const NOW_SECONDS = String(Date.parse(NOW) / 1000);
const fixture = (path: string) => readFileSync(join(import.meta.dirname, '../fixtures', path), 'utf8');
const world = ingestWorld();
const { sfn } = world;

/** Writes sent to DynamoDB and S3 so far: counted as they are sent, not by scanning the tables. */
let writes = 0;
const WRITE =
  /^(Put|Update|Delete|TransactWrite|BatchWrite|CreateMultipartUpload|UploadPart|CompleteMultipartUpload)/;
function countWrites(client: DynamoDBDocumentClient | S3Client) {
  (client.middlewareStack as MiddlewareStack<object, object>).add(
    (next, context) => async (args) => {
      if (WRITE.test(context.commandName ?? '')) writes += 1;
      return next(args);
    },
    { step: 'initialize', name: 'countWrites' },
  );
}

beforeAll(() => {
  countWrites(world.db.doc);
  countWrites(world.s3.client);
});

type Source = 'alertmanager' | 'grafana' | 'pagerduty' | 'generic';

/** The headers each tool sends with `body`, signed with `secret` (the configured one by default). */
function signed(source: Source, body: string, secret?: string): Record<string, string> {
  switch (source) {
    case 'alertmanager':
      return { authorization: `Bearer ${secret ?? TOKEN}` };
    case 'grafana':
      return {
        'x-grafana-alerting-signature': hmacSha256Hex(secret ?? SECRETS.grafana, `${NOW_SECONDS}:`, body),
        'x-grafana-alerting-signature-timestamp': NOW_SECONDS,
      };
    case 'pagerduty':
      return { 'x-pagerduty-signature': `v1=${hmacSha256Hex(secret ?? SECRETS.pagerduty, body)}` };
    case 'generic':
      return {
        'x-casebook-timestamp': NOW_SECONDS,
        'x-casebook-signature': genericSignature(secret ?? SECRETS.generic, NOW_SECONDS, body),
      };
  }
}

async function setup(configured: Partial<typeof SECRETS> = SECRETS) {
  const { handler, store, written } = await ingestHandler(world, {
    clock: testClock(NOW),
    secrets: signingSecrets(
      Object.fromEntries(
        Object.entries(configured).map(([k, v]) => [k, { kind: 'value', value: v }]),
      ) as Parameters<typeof signingSecrets>[0],
    ),
  });
  const post = async (source: string, body: string, headers: Record<string, string>) => {
    const res = await postWebhook(handler, body, headers, source);
    return { status: res.statusCode as number, body: JSON.parse(res.body ?? '{}') };
  };
  return { post, written, store };
}

const FIXTURES: Record<Exclude<Source, 'alertmanager'>, string> = {
  grafana: 'grafana/orders-lost-firing.json',
  pagerduty: 'pagerduty/incident-triggered.json',
  generic: 'generic/export-gap-firing.json',
};

describe('each source opens an incident from its own signed notification', () => {
  it.each(Object.entries(FIXTURES))('%s', async (source, path) => {
    const { post, store } = await setup();
    const body = fixture(path);
    const res = await post(source, body, signed(source as Source, body));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const incident = await store.getIncident(res.body.incidentId);
    expect(incident?.source).toBe(source);
    expect(incident?.title).toBe(
      {
        grafana: 'Checkout accepted orders that were never written',
        pagerduty: 'Refunds API returning 500 for partial refunds',
        generic: 'Nightly ledger export skipped 312 settled payments',
      }[source],
    );
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });
});

describe('a request that does not prove its sender is refused with 401, nothing written', () => {
  const cases: Array<[Source, string, (body: string) => Record<string, string>]> = [
    ['alertmanager', 'missing', () => ({})],
    ['alertmanager', 'wrong', (b) => signed('alertmanager', b, 'a-wrong-token-long-enough-000')],
    ['grafana', 'missing', () => ({})],
    ['grafana', 'wrong', (b) => signed('grafana', b, OLD_SECRET)],
    [
      'grafana',
      'stale',
      (b) => {
        const stale = String(Number(NOW_SECONDS) - 301);
        return {
          'x-grafana-alerting-signature': hmacSha256Hex(SECRETS.grafana, `${stale}:`, b),
          'x-grafana-alerting-signature-timestamp': stale,
        };
      },
    ],
    ['grafana', 'signed over another body', (b) => signed('grafana', `${b} `)],
    ['pagerduty', 'missing', () => ({})],
    ['pagerduty', 'wrong', (b) => signed('pagerduty', b, OLD_SECRET)],
    [
      'pagerduty',
      'no v1 signature',
      (b) => ({ 'x-pagerduty-signature': `v2=${hmacSha256Hex(SECRETS.pagerduty, b)}` }),
    ],
    ['generic', 'missing', () => ({})],
    [
      'generic',
      'missing timestamp',
      (b) => ({ 'x-casebook-signature': genericSignature(SECRETS.generic, NOW_SECONDS, b) }),
    ],
    ['generic', 'wrong', (b) => signed('generic', b, OLD_SECRET)],
    [
      'generic',
      'stale',
      (b) => {
        const stale = String(Number(NOW_SECONDS) + 301);
        return {
          'x-casebook-timestamp': stale,
          'x-casebook-signature': genericSignature(SECRETS.generic, stale, b),
        };
      },
    ],
  ];
  it.each(cases)('%s: %s', async (source, _what, headers) => {
    const { post, written } = await setup();
    const body =
      source === 'alertmanager' ? fixture('alertmanager/double-charge.json') : fixture(FIXTURES[source]);
    const res = await post(source, body, headers(body));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('unauthorized');
    expect(await written()).toBe(0);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('refuses a signed source whose secret is not configured', async () => {
    const { post, written } = await setup({ grafana: SECRETS.grafana });
    const body = fixture(FIXTURES.pagerduty);
    const res = await post('pagerduty', body, signed('pagerduty', body));
    expect(res.status).toBe(401);
    expect(res.body.message).toMatch(/no pagerduty signing secret is configured/);
    expect(await written()).toBe(0);
  });
});

describe('rotation: the old secret is accepted while it is still configured', () => {
  it('PagerDuty: one of several v1= signatures matching is enough', async () => {
    const { post } = await setup();
    const body = fixture(FIXTURES.pagerduty);
    const header = `v1=${hmacSha256Hex(OLD_SECRET, body)},v1=${hmacSha256Hex(SECRETS.pagerduty, body)}`;
    const res = await post('pagerduty', body, { 'x-pagerduty-signature': header });
    expect(res.status).toBe(201);
  });

  it.each(['grafana', 'pagerduty', 'generic'] as const)(
    '%s: signed with the old secret while "new old" is configured',
    async (source) => {
      const { post } = await setup({ ...SECRETS, [source]: `${SECRETS[source]} ${OLD_SECRET}` });
      const body = fixture(FIXTURES[source]);
      const res = await post(source, body, signed(source, body, OLD_SECRET));
      expect(res.status).toBe(201);
    },
  );

  it('Alertmanager: the token as the password of Basic auth (http_config basic_auth)', async () => {
    const { post } = await setup();
    const body = fixture('alertmanager/double-charge.json');
    const basic = Buffer.from(`alertmanager:${TOKEN}`).toString('base64');
    const res = await post('alertmanager', body, { authorization: `Basic ${basic}` });
    expect(res.status).toBe(201);
    const wrong = Buffer.from(`alertmanager:not-${TOKEN}`).toString('base64');
    const refused = await post('alertmanager', body, { authorization: `Basic ${wrong}` });
    expect(refused.status).toBe(401);
  });
});

describe('bad input is a 4xx naming the problem, nothing written', () => {
  const signedPost = async (
    source: Exclude<Source, 'alertmanager'>,
    body: string,
    extra: Record<string, string> = {},
  ) => {
    const { post, written } = await setup();
    const res = await post(source, body, { ...signed(source, body), ...extra });
    expect(await written()).toBe(0);
    return res;
  };
  it.each(Object.keys(FIXTURES) as Array<Exclude<Source, 'alertmanager'>>)('%s', async (source) => {
    const malformed = await signedPost(source, '{"version": "1",');
    expect(malformed.status).toBe(400);
    expect(malformed.body.issues[0]).toMatchObject({
      field: 'body',
      message: expect.stringMatching(/not valid JSON/),
    });

    const wrongType = await signedPost(source, fixture(FIXTURES[source]), { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.issues[0]).toMatchObject({ field: 'content-type' });

    const tooBig = await signedPost(source, `{"x":"${'a'.repeat(1024 * 1024)}"}`);
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.issues[0]).toMatchObject({ field: 'body', message: expect.stringMatching(/at most/) });

    const hook = JSON.parse(fixture(FIXTURES[source]));
    (source === 'pagerduty' ? hook.event.data : hook).status = 42;
    const schema = await signedPost(source, JSON.stringify(hook));
    expect(schema.status).toBe(400);
    expect(schema.body.issues.length).toBeGreaterThan(0);
  });

  it('names the field a PagerDuty incident lacks', async () => {
    const hook = JSON.parse(fixture(FIXTURES.pagerduty));
    delete hook.event.data.created_at;
    const res = await (await setup()).post(
      'pagerduty',
      JSON.stringify(hook),
      signed('pagerduty', JSON.stringify(hook)),
    );
    expect(res.status).toBe(400);
    expect(res.body.issues).toContainEqual({ field: 'event.data.created_at', message: 'is required' });
  });

  it('names a generic body member it does not know', async () => {
    const body = JSON.stringify({ ...JSON.parse(fixture(FIXTURES.generic)), sevrity: 'high' });
    const res = await (await setup()).post('generic', body, signed('generic', body));
    expect(res.status).toBe(400);
    expect(res.body.issues).toContainEqual({
      field: 'sevrity',
      message: 'is not a field of the generic webhook',
    });
  });

  it('an unknown source is a 404 naming the ones there are', async () => {
    const res = await (await setup()).post('datadog', '{}', {});
    expect(res.status).toBe(404);
    expect(res.body.message).toMatch(/alertmanager, grafana, pagerduty, generic/);
  });
});

describe('fast-check: 1,000 generated requests per source never answer 5xx, and a refused one writes nothing', () => {
  const json = fc.jsonValue({ maxDepth: 3 });
  /** A fixture with one member replaced by anything JSON, or removed. */
  const mutated = (path: string) =>
    fc.tuple(fc.nat(), json, fc.boolean()).map(([i, value, remove]) => {
      const hook = JSON.parse(fixture(path));
      const target = hook.event?.data ?? hook.alerts?.[0] ?? hook;
      const keys = Object.keys(target);
      const key = keys[i % keys.length] as string;
      if (remove) delete target[key];
      else target[key] = value;
      return JSON.stringify(hook);
    });
  const body = (source: Source) =>
    fc.oneof(
      mutated(source === 'alertmanager' ? 'alertmanager/double-charge.json' : FIXTURES[source]),
      json.map((v) => JSON.stringify(v)),
      fc.string({ unit: 'binary', maxLength: 200 }),
    );
  const headerValue = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `v1=${h}`),
    fc.integer({ min: 0, max: 4_000_000_000 }).map(String),
  );

  it.each(['alertmanager', 'grafana', 'pagerduty', 'generic'] as const)(
    '%s',
    async (source) => {
      const { post, written } = await setup();
      const tablesBefore = await written();
      const writesBefore = writes;
      let accepted = 0;
      await fc.assert(
        fc.asyncProperty(
          body(source),
          fc.boolean(),
          fc.dictionary(
            fc.constantFrom(
              'authorization',
              'x-grafana-alerting-signature',
              'x-grafana-alerting-signature-timestamp',
              'x-pagerduty-signature',
              'x-casebook-signature',
              'x-casebook-timestamp',
              'content-type',
            ),
            headerValue,
          ),
          async (text, sign, noise) => {
            const before = writes;
            // Half the requests carry a valid signature, so the parser sees the generated bodies too.
            const headers = sign ? { ...noise, ...signed(source, text) } : noise;
            const res = await post(source, text, headers);
            expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
            if (res.status >= 400) expect(writes).toBe(before);
            else accepted += 1;
          },
        ),
        { numRuns: 1000 },
      );
      // The counter sees the writes: what the accepted requests wrote is in the tables.
      if (accepted > 0) {
        expect(await written()).toBeGreaterThan(tablesBefore);
        expect(writes).toBeGreaterThan(writesBefore);
      }
    },
    600_000,
  );
});
