import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../functions/domain/limits.ts';
import type { Route } from '../../functions/routes.ts';
import type { LocalGateway } from '../../local/gateway.ts';
import { loggablePath, startGateway } from '../../local/gateway.ts';

const routes: Route[] = [
  { method: 'GET', path: '/incidents/{incidentId}', fn: 'incidentsApi', auth: 'iam' },
  { method: 'POST', path: '/webhooks/{source}', fn: 'ingestAlert', auth: 'handler' },
  { method: 'HEAD', path: '/approvals/{approvalId}', fn: 'approvalsPage', auth: 'handler' },
  { method: 'POST', path: '/approvals/{approvalId}', fn: 'approvalsPage', auth: 'handler' },
  { method: 'POST', path: '/incidents', fn: 'declareIncident', auth: 'iam' },
  { method: 'POST', path: '/incidents/{incidentId}/ledger', fn: 'recordLedgerEntry', auth: 'iam' },
];
const seen: { route: Route; event: APIGatewayProxyEventV2 }[] = [];
let gateway: LocalGateway;

beforeAll(async () => {
  gateway = await startGateway({
    port: 0,
    routes,
    invoke: async (route, event) => {
      seen.push({ route, event });
      if (route.fn === 'ingestAlert')
        return { statusCode: 201, headers: { 'X-Thing': 'yes' }, body: '{"ok":true}' };
      if (route.fn === 'declareIncident' || route.fn === 'recordLedgerEntry')
        return { statusCode: 201, body: '{}' };
      if (route.fn === 'approvalsPage')
        return { statusCode: 200, headers: { 'content-type': 'text/html' }, body: '<p>page</p>' };
      return { id: event.pathParameters?.incidentId };
    },
  });
});
afterAll(() => gateway.close());

describe('local API gateway (payload format 2.0)', () => {
  it('builds the event API Gateway would send, and writes the structured result back', async () => {
    const res = await fetch(`${gateway.url}/webhooks/alertmanager?x=1&x=2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer t', cookie: 'a=1; b=2' },
      body: '{"version":"4"}',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-thing')).toBe('yes');
    expect(await res.json()).toEqual({ ok: true });
    const { event } = seen.at(-1) ?? {};
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /webhooks/{source}',
      rawPath: '/webhooks/alertmanager',
      rawQueryString: 'x=1&x=2',
      queryStringParameters: { x: '1,2' },
      pathParameters: { source: 'alertmanager' },
      cookies: ['a=1', 'b=2'],
      body: '{"version":"4"}',
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST', path: '/webhooks/alertmanager' }, stage: '$default' },
    });
    expect(event?.headers.authorization).toBe('Bearer t');
  });

  it('base64-encodes a body that is not text, as API Gateway does', async () => {
    await fetch(`${gateway.url}/webhooks/raw`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Uint8Array([0, 255, 1]),
    });
    const { event } = seen.at(-1) ?? {};
    expect(event?.isBase64Encoded).toBe(true);
    expect(Buffer.from(event?.body ?? '', 'base64')).toEqual(Buffer.from([0, 255, 1]));
  });

  it('turns a bare return value into 200 JSON, answers HEAD without a body, and 404s an unknown route', async () => {
    const bare = await fetch(`${gateway.url}/incidents/INC-2026-0001`);
    expect(bare.status).toBe(200);
    expect(await bare.json()).toEqual({ id: 'INC-2026-0001' });
    const head = await fetch(`${gateway.url}/approvals/abc`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const missing = await fetch(`${gateway.url}/incidents/INC-2026-0001`, { method: 'DELETE' });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: 'Not Found' });
  });

  it('answers 400, not 500, to a path that is not valid percent-encoding', async () => {
    const res = await fetch(`${gateway.url}/incidents/%E0%A4%A`);
    expect(res.status).toBe(400);
  });

  it('answers a path that starts with two slashes (no host to resolve against) with a 404, at once', async () => {
    const res = await fetch(`${gateway.url}//`, { signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(404);
    expect((await fetch(`${gateway.url}//incidents/INC-2026-0001`)).status).toBe(404);
  });

  it('passes parameters and headers named like Object.prototype members through as plain names', async () => {
    await fetch(`${gateway.url}/webhooks/x?toString=a&__proto__=b&constructor=c&constructor=d`, {
      method: 'POST',
      headers: { hasOwnProperty: 'h' },
      body: '{}',
    });
    const { event } = seen.at(-1) ?? {};
    expect(event?.queryStringParameters).toEqual({ toString: 'a', ['__proto__']: 'b', constructor: 'c,d' });
    expect(event?.headers.hasownproperty).toBe('h');
  });

  it('keeps approval link secrets out of logged paths', () => {
    expect(loggablePath('/approvals/INC-2026-0001.1.legal.UVYk8V70ldY1L2D5GWgK8FiB874k7IW5')).toBe(
      '/approvals/…',
    );
    // Encoded dots or a trailing slash reach the same approval: nothing after /approvals/ is logged.
    expect(loggablePath('/approvals/INC-2026-0001%2E1%2Elegal%2EUVYk8V70ldY1L2D5GWgK8FiB874k7IW5/')).toBe(
      '/approvals/…',
    );
    expect(loggablePath('/incidents/INC-2026-0001')).toBe('/incidents/INC-2026-0001');
  });

  it('keeps the secrets of workroom and effect-question links out of logged paths, and the actions after them', () => {
    const secret = 'UVYk8V70ldY1L2D5GWgK8FiB874k7IW5';
    expect(loggablePath(`/work/INC-2026-0001.sre.${secret}`)).toBe('/work/…');
    expect(loggablePath(`/work/INC-2026-0001.sre.${secret}/acknowledge`)).toBe('/work/…');
    expect(loggablePath(`/effects/INC-2026-0001.P1-E1.2.${secret}`)).toBe('/effects/…');
    expect(loggablePath(`/EFFECTS/INC-2026-0001.P1-E1.2.${secret}`)).toBe('/EFFECTS/…');
    expect(loggablePath('/console/incidents/INC-2026-0001')).toBe('/console/incidents/INC-2026-0001');
  });
});

describe('writes on IAM routes, which the local gateway cannot authenticate', () => {
  const complaint = JSON.stringify({ title: 'Charged twice' });
  /** POSTs to `path` and answers the status, and whether the handler was invoked. */
  async function post(path: string, headers: Record<string, string>): Promise<[number, boolean, string]> {
    const before = seen.length;
    const res = await fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers,
      body: new TextEncoder().encode(complaint),
    });
    return [res.status, seen.length > before, await res.text()];
  }

  it('refuses a request from another origin or site with 403, invoking nothing', async () => {
    const json = { 'content-type': 'application/json' };
    for (const path of ['/incidents', '/incidents/INC-2026-0001/ledger']) {
      for (const headers of [
        { ...json, origin: 'https://evil.example' },
        { ...json, origin: 'null' },
        { ...json, origin: `http://127.0.0.1:${gateway.port + 1}` },
        { ...json, 'sec-fetch-site': 'cross-site' },
        { ...json, 'sec-fetch-site': 'same-site' },
        // What a no-cors fetch from another page sends: its origin, a CORS-safelisted content type.
        {
          'content-type': 'text/plain; a=json',
          origin: 'http://localhost:8000',
          'sec-fetch-site': 'cross-site',
        },
      ] as Record<string, string>[]) {
        const [status, invoked, body] = await post(path, headers);
        expect({ path, headers, status, invoked }).toEqual({ path, headers, status: 403, invoked: false });
        expect(JSON.parse(body).message).toMatch(/cross-site/i);
      }
    }
  });

  it('accepts only application/json (415 naming the type otherwise), invoking nothing', async () => {
    for (const type of [
      'text/plain; a=json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      undefined,
    ]) {
      const [status, invoked, body] = await post('/incidents', type ? { 'content-type': type } : {});
      expect({ type, status, invoked }).toEqual({ type, status: 415, invoked: false });
      expect(JSON.parse(body).message).toContain(type ?? 'no content type');
    }
  });

  it("lets the CLI, curl and the stack's own pages through", async () => {
    for (const headers of [
      { 'content-type': 'application/json' },
      { 'content-type': 'Application/JSON; charset=utf-8' },
      { 'content-type': 'application/json', origin: gateway.url, 'sec-fetch-site': 'same-origin' },
      { 'content-type': 'application/json', origin: `http://localhost:${gateway.port}` },
      { 'content-type': 'application/json', 'sec-fetch-site': 'none' },
    ] as Record<string, string>[]) {
      const [status, invoked] = await post('/incidents', headers);
      expect({ headers, status, invoked }).toEqual({ headers, status: 201, invoked: true });
    }
  });

  it('leaves same-origin form posts on handler-authenticated routes as they are', async () => {
    const before = seen.length;
    const res = await fetch(`${gateway.url}/approvals/abc`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        origin: gateway.url,
        'sec-fetch-site': 'same-origin',
      },
      body: 'decision=approve',
    });
    expect(res.status).toBe(200);
    expect(seen.length).toBe(before + 1);
  });
});

describe("Lambda's 6 MB request payload, as API Gateway meets it", () => {
  const MB = 1024 * 1024;
  /** A multipart upload of a CSV file of `bytes` bytes, as the workroom's form posts it. */
  function multipartUpload(bytes: number): { headers: Record<string, string>; body: Buffer } {
    const boundary = '----casebook-test-boundary';
    const head = `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="customers.csv"\r\ncontent-type: text/csv\r\n\r\n`;
    const tail = `\r\n--${boundary}--\r\n`;
    const csv = Buffer.alloc(bytes, 'a');
    return {
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: Buffer.concat([Buffer.from(head), csv, Buffer.from(tail)]),
    };
  }
  async function post(headers: Record<string, string>, body: Buffer): Promise<[number, boolean, string]> {
    const before = seen.length;
    const res = await fetch(`${gateway.url}/webhooks/upload`, { method: 'POST', headers, body });
    return [res.status, seen.length > before, await res.text()];
  }

  it('answers 413 to a 5 MB CSV sent as multipart (about 6.7 MB once base64-encoded), invoking nothing', async () => {
    const { headers, body } = multipartUpload(5 * MB);
    const [status, invoked, text] = await post(headers, body);
    expect({ status, invoked }).toEqual({ status: 413, invoked: false });
    expect(JSON.parse(text)).toEqual({ message: 'Request Entity Too Large' });
  });

  it('counts the event Lambda would receive: a text body just under 6 MB passes, one just over does not', async () => {
    const text = { 'content-type': 'text/plain' };
    expect((await post(text, Buffer.alloc(6 * MB - 8 * 1024, 'a')))[0]).toBe(201);
    expect((await post(text, Buffer.alloc(6 * MB + 1, 'a'))).slice(0, 2)).toEqual([413, false]);
  });

  it('lets through the largest customer list the workroom takes, sent as its form sends it', async () => {
    const { headers, body } = multipartUpload(LIMITS.customerListBytes);
    const [status, invoked] = await post(
      // What a browser adds besides: cookies, a long user agent, the usual headers.
      { ...headers, 'user-agent': 'x'.repeat(512), cookie: `a=${'c'.repeat(4096)}`, accept: '*/*' },
      body,
    );
    expect({ status, invoked }).toEqual({ status: 201, invoked: true });
  });
});

describe("the HTTP API stage's throttle, and a bound on what is in flight", () => {
  const route: Route = { method: 'POST', path: '/webhooks/{source}', fn: 'ingestAlert', auth: 'handler' };

  it('takes a burst, then answers 429 with Retry-After until the bucket refills at the rate', async () => {
    const throttled = await startGateway({
      port: 0,
      routes: [route],
      throttle: { rateLimit: 2, burstLimit: 3 },
      invoke: async () => ({ statusCode: 201, body: '{}' }),
    });
    try {
      const send = () => fetch(`${throttled.url}/webhooks/x`, { method: 'POST', body: '{}' });
      const burst = await Promise.all(Array.from({ length: 5 }, send));
      expect(burst.map((r) => r.status).sort()).toEqual([201, 201, 201, 429, 429]);
      const refused = burst.find((r) => r.status === 429);
      expect(refused?.headers.get('retry-after')).toBe('1');
      expect(await refused?.json()).toEqual({ message: 'Too Many Requests' });
      await new Promise((r) => setTimeout(r, 600));
      expect((await send()).status).toBe(201);
      expect((await send()).status).toBe(429);
    } finally {
      await throttled.close();
    }
  });

  it('invokes at most maxInFlight at once, queues maxQueued more, and answers 503 with Retry-After past that', async () => {
    let running = 0;
    let most = 0;
    const release = Promise.withResolvers<void>();
    const bounded = await startGateway({
      port: 0,
      routes: [route],
      throttle: false,
      maxInFlight: 2,
      maxQueued: 3,
      invoke: async () => {
        running++;
        most = Math.max(most, running);
        await release.promise;
        running--;
        return { statusCode: 201, body: '{}' };
      },
    });
    try {
      const answers = Array.from({ length: 7 }, () =>
        fetch(`${bounded.url}/webhooks/x`, { method: 'POST', body: '{}' }),
      );
      // The two past the queue are answered at once, while the others wait.
      const settled = await Promise.race([
        Promise.all(answers),
        new Promise((r) => setTimeout(r, 1000, 'waiting')),
      ]);
      expect(settled).toBe('waiting');
      release.resolve();
      const statuses = await Promise.all(answers);
      expect(statuses.map((r) => r.status).sort()).toEqual([201, 201, 201, 201, 201, 503, 503]);
      expect(statuses.find((r) => r.status === 503)?.headers.get('retry-after')).toBe('1');
      expect(most).toBe(2);
    } finally {
      await bounded.close();
    }
  });

  it('throttles the local stack with the numbers CDK gives the stage', async () => {
    const { API_THROTTLE } = await import('../../functions/routes.ts');
    const stage = await startGateway({
      port: 0,
      routes: [route],
      invoke: async () => ({ statusCode: 201, body: '{}' }),
    });
    try {
      const started = performance.now();
      const answers = await Promise.all(
        Array.from({ length: 3 * API_THROTTLE.burstLimit }, () =>
          fetch(`${stage.url}/webhooks/x`, { method: 'POST', body: '{}' }).then((r) => r.status),
        ),
      );
      const seconds = (performance.now() - started) / 1000;
      const passed = answers.filter((s) => s === 201).length;
      // The burst, plus what the rate refilled while they were sent; the rest 429.
      expect(passed).toBeGreaterThanOrEqual(API_THROTTLE.burstLimit);
      expect(passed).toBeLessThanOrEqual(
        API_THROTTLE.burstLimit + Math.ceil(API_THROTTLE.rateLimit * seconds),
      );
      expect(answers.filter((s) => s === 429).length).toBe(answers.length - passed);
    } finally {
      await stage.close();
    }
  });
});
