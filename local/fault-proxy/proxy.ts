/**
 * A fault proxy: one HTTP listener on 127.0.0.1 per service (DynamoDB, SES, S3, the Stripe
 * stand-in) that forwards every request to the real emulator, byte for byte and with its Host
 * header (SigV4 signs it), except where its fault plan says otherwise. The handlers of the local
 * stack are pointed at it instead of the emulators (`handlerEndpoints` of local/stack.ts); the
 * stack's own bootstrap and the test's reads go to the emulators directly.
 *
 * A fault answers as the real service answers it (DynamoDB's JSON protocol, SES's query protocol,
 * S3's XML, Stripe's JSON with `Retry-After`), or fails the connection the way a network does: a
 * reset before the request reaches the server, or a timeout after it did (the server acted, the
 * answer never arrives). Invocations of the local Lambda runtime ask the same plan (`/lambda` on
 * the control listener, see lambda.ts).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export const PROXIED_SERVICES = ['dynamodb', 'ses', 's3', 'stripe'] as const;
export type ProxiedService = (typeof PROXIED_SERVICES)[number];
export type FaultService = ProxiedService | 'lambda';

/**
 * - `throttle`: the service's own "slow down" answer (DynamoDB ProvisionedThroughputExceeded, SES
 *   Throttling, S3 SlowDown, Stripe 429 with Retry-After, Lambda TooManyRequests).
 * - `error`: the service's 500.
 * - `timeout`: forwarded; the server acts; the answer is held for `hangMs` and then the connection
 *   is dropped, so the caller never learns what happened.
 * - `reset`: the connection is reset before anything is forwarded.
 */
export const FAULT_KINDS = ['throttle', 'error', 'timeout', 'reset'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** After `skip` more requests to `service` (matching `match`, when given), the next `count` fail as `kind`. */
export interface FaultRule {
  readonly service: FaultService;
  readonly kind: FaultKind;
  readonly skip: number;
  readonly count: number;
  /** Only requests whose target (DynamoDB/SES action, `METHOD path` otherwise, the Lambda function) contains this. */
  readonly match?: string;
  /** Only requests whose URL or body contains this (an incident id, say: faults for one incident among many). */
  readonly scope?: string;
}

/** A fault that was injected: which request, as what. */
export interface InjectedFault {
  readonly service: FaultService;
  readonly kind: FaultKind;
  readonly target: string;
  readonly at: string;
}

/** An exchange the upstream answered, kept for the services asked to be recorded (`record`). */
export interface RecordedExchange {
  readonly service: ProxiedService;
  readonly target: string;
  readonly status: number;
  readonly requestBody: string;
  readonly responseBody: string;
  /** The answer never reached the caller (a `timeout` fault). */
  readonly dropped: boolean;
}

export interface FaultProxyOptions {
  /** Where each service really is. */
  readonly upstreams: Readonly<Record<ProxiedService, string>>;
  /** Fixed ports for the listeners (0 or absent: any free port). */
  readonly ports?: Partial<Readonly<Record<ProxiedService | 'control', number>>>;
  /** How long a `timeout` holds the answer before dropping the connection (default 1500 ms). */
  readonly hangMs?: number;
  /** Services whose exchanges are kept (bodies and status), e.g. SES as the mail service's log. */
  readonly record?: readonly ProxiedService[];
}

export interface FaultProxy {
  /** The URL to hand the handlers for each service. */
  readonly endpoints: Readonly<Record<ProxiedService, string>>;
  /** Where the local Lambda runtime asks whether to fail an invocation (lambda.ts). */
  readonly controlUrl: string;
  /** Replaces the plan: the rules apply from the next request on, each counting its own skips. */
  setPlan(rules: readonly FaultRule[]): void;
  /** Replaces the rules of one scope only (the others stay armed): schedules that run side by side. */
  setScopedPlan(scope: string, rules: readonly Omit<FaultRule, 'scope'>[]): void;
  /** Requests seen per service since the proxy started. */
  readonly seen: Readonly<Record<FaultService, number>>;
  readonly injected: readonly InjectedFault[];
  readonly recorded: readonly RecordedExchange[];
  close(): Promise<void>;
}

interface ArmedRule extends FaultRule {
  skipLeft: number;
  countLeft: number;
}

/** The action a request names: `X-Amz-Target` (DynamoDB), `Action=` (SES), else method and path. */
function targetOf(service: ProxiedService, req: IncomingMessage, body: Buffer): string {
  if (service === 'dynamodb')
    return (
      String(req.headers['x-amz-target'] ?? '')
        .split('.')
        .pop() ?? ''
    );
  if (service === 'ses') return /(?:^|&)Action=([^&]+)/.exec(body.toString('utf8'))?.[1] ?? req.url ?? '';
  return `${req.method} ${(req.url ?? '').split('?')[0]}`;
}

function throttleAnswer(service: ProxiedService): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const requestId = randomUUID();
  switch (service) {
    case 'dynamodb':
      return {
        status: 400,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-requestid': requestId,
          'x-amzn-errortype': 'ProvisionedThroughputExceededException',
        },
        body: JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
          message:
            'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
        }),
      };
    case 'ses':
      return {
        status: 400,
        headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
        body: `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Maximum sending rate exceeded.</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      };
    case 's3':
      return {
        status: 503,
        headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
        body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>${requestId}</RequestId></Error>`,
      };
    case 'stripe':
      return {
        status: 429,
        headers: { 'content-type': 'application/json', 'retry-after': '1', 'request-id': `req_${requestId}` },
        body: JSON.stringify({
          error: {
            type: 'invalid_request_error',
            code: 'rate_limit',
            message:
              'Too many requests hit the API too quickly. We recommend an exponential backoff of your requests.',
            doc_url: 'https://stripe.com/docs/error-codes/rate-limit',
          },
        }),
      };
  }
}

function errorAnswer(service: ProxiedService): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const requestId = randomUUID();
  switch (service) {
    case 'dynamodb':
      return {
        status: 500,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-requestid': requestId,
          'x-amzn-errortype': 'InternalServerError',
        },
        body: JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
          message: 'Internal server error',
        }),
      };
    case 'ses':
      return {
        status: 500,
        headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
        body: `<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>The request processing has failed because of an unknown error.</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      };
    case 's3':
      return {
        status: 500,
        headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
        body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>${requestId}</RequestId></Error>`,
      };
    case 'stripe':
      return {
        status: 500,
        headers: { 'content-type': 'application/json', 'request-id': `req_${requestId}` },
        body: JSON.stringify({
          error: { type: 'api_error', message: 'An unknown error occurred while processing the request.' },
        }),
      };
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function listenOn(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const hangMs = options.hangMs ?? 1500;
  const record = new Set(options.record ?? []);
  let rules: ArmedRule[] = [];
  const seen: Record<FaultService, number> = { dynamodb: 0, ses: 0, s3: 0, stripe: 0, lambda: 0 };
  const injected: InjectedFault[] = [];
  const recorded: RecordedExchange[] = [];
  const servers: Server[] = [];
  const timers = new Set<NodeJS.Timeout>();

  /** The fault for the next request to `service`, if the plan has one for it now. */
  const faultFor = (service: FaultService, target: string, about: string): FaultKind | undefined => {
    seen[service]++;
    for (const rule of rules) {
      if (rule.service !== service || rule.countLeft <= 0) continue;
      if (rule.match && !target.includes(rule.match)) continue;
      if (rule.scope && !about.includes(rule.scope)) continue;
      if (rule.skipLeft > 0) {
        rule.skipLeft--;
        continue;
      }
      rule.countLeft--;
      injected.push({ service, kind: rule.kind, target, at: new Date().toISOString() });
      return rule.kind;
    }
    return undefined;
  };

  const forward = (
    service: ProxiedService,
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> => {
    const upstream = new URL(options.upstreams[service]);
    return new Promise((resolve, reject) => {
      const out = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          // The Host header stays as the caller signed it.
          headers: { ...req.headers, 'content-length': String(body.length) },
        },
        (res) => {
          readBody(res).then(
            (data) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: data }),
            reject,
          );
        },
      );
      out.on('error', reject);
      out.end(body);
    });
  };

  const handle = async (service: ProxiedService, req: IncomingMessage, res: ServerResponse) => {
    const body = await readBody(req);
    const target = targetOf(service, req, body);
    const fault = faultFor(service, target, `${req.url ?? ''} ${body.toString('utf8')}`);
    if (fault === 'reset') {
      req.socket.resetAndDestroy();
      return;
    }
    if (fault === 'throttle' || fault === 'error') {
      const answer = fault === 'throttle' ? throttleAnswer(service) : errorAnswer(service);
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
      return;
    }
    let answer: Awaited<ReturnType<typeof forward>>;
    try {
      answer = await forward(service, req, body);
    } catch {
      req.socket.destroy();
      return;
    }
    if (record.has(service))
      recorded.push({
        service,
        target,
        status: answer.status,
        requestBody: body.toString('utf8'),
        responseBody: answer.body.toString('utf8'),
        dropped: fault === 'timeout',
      });
    if (fault === 'timeout') {
      const timer = setTimeout(() => {
        timers.delete(timer);
        req.socket.destroy();
      }, hangMs);
      timers.add(timer);
      return;
    }
    const headers = { ...answer.headers };
    delete headers['transfer-encoding'];
    headers['content-length'] = String(answer.body.length);
    res.writeHead(answer.status, headers);
    res.end(answer.body);
  };

  const endpoints = {} as Record<ProxiedService, string>;
  for (const service of PROXIED_SERVICES) {
    const server = createServer((req, res) => {
      handle(service, req, res).catch(() => req.socket.destroy());
    });
    // A caller that gives up on a held answer must not leave the proxy with an error to throw.
    server.on('clientError', (_error, socket) => socket.destroy());
    servers.push(server);
    endpoints[service] = `http://127.0.0.1:${await listenOn(server, options.ports?.[service] ?? 0)}`;
  }

  const control = createServer((req, res) => {
    readBody(req).then(
      (body) => {
        const { fn, about } = JSON.parse(body.toString('utf8') || '{}') as { fn?: string; about?: string };
        const fault = faultFor('lambda', fn ?? '', about ?? '');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ fault: fault ?? null }));
      },
      () => req.socket.destroy(),
    );
  });
  servers.push(control);
  const controlUrl = `http://127.0.0.1:${await listenOn(control, options.ports?.control ?? 0)}/lambda`;

  return {
    endpoints,
    controlUrl,
    setPlan(next) {
      rules = next.map((r) => ({ ...r, skipLeft: r.skip, countLeft: r.count }));
    },
    setScopedPlan(scope, next) {
      rules = [
        ...rules.filter((r) => r.scope !== scope),
        ...next.map((r) => ({ ...r, scope, skipLeft: r.skip, countLeft: r.count })),
      ];
    },
    seen,
    injected,
    recorded,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections?.();
              s.close(() => resolve());
            }),
        ),
      );
    },
  };
}
