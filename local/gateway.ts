/**
 * A local stand-in for API Gateway HTTP APIs: turns HTTP requests into payload-format-2.0 events
 * for the same handler modules CDK deploys, over the same route table (`functions/routes.ts`), and
 * turns their results back into HTTP responses.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { LIMITS } from '../functions/domain/limits.ts';
import type { Route } from '../functions/routes.ts';
import { API_THROTTLE } from '../functions/routes.ts';
import { closeServer } from './servers.ts';

/** Invokes the handler of a route's function with an event, as Lambda would. */
export type RouteInvoker = (route: Route, event: APIGatewayProxyEventV2) => Promise<unknown>;

export interface GatewayOptions {
  readonly host?: string;
  readonly port: number;
  readonly routes: readonly Route[];
  readonly invoke: RouteInvoker;
  readonly log?: (line: string) => void;
  /**
   * Origins, besides the gateway's own (`http://127.0.0.1:<port>`, `http://localhost:<port>`), whose
   * pages may write through `iam` routes: the public base URL's, when links point elsewhere.
   */
  readonly origins?: readonly string[];
  /**
   * Each route's token bucket, as the HTTP API stage's default route throttle on AWS (by default
   * `API_THROTTLE`, the numbers CDK gives the stage); `false` turns throttling off.
   */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number } | false;
  /**
   * Requests invoked at once (default {@link MAX_IN_FLIGHT}); past it requests wait their turn, up
   * to `maxQueued` of them (default: the burst limit), and past that the gateway answers 503 with
   * Retry-After instead of holding requests without bound.
   */
  readonly maxInFlight?: number;
  readonly maxQueued?: number;
}

export interface LocalGateway {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Locally every handler runs in one process, on one event loop, beside the emulators: past this
 * many at once they only slow each other down, past their timeouts. On AWS, Lambda scales out.
 */
export const MAX_IN_FLIGHT = 8;

/** API Gateway's own limit on a request payload. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
const TEXT_TYPES = /^(text\/|application\/(json|.*\+json|x-www-form-urlencoded|xml|javascript))/i;

interface CompiledRoute {
  readonly route: Route;
  readonly pattern: RegExp;
  readonly names: readonly string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(param[1]);
      return '([^/]+)';
    })
    .join('/');
  return { route, pattern: new RegExp(`^${source}$`), names };
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD_BYTES) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/**
 * API Gateway's throttle: a bucket of `burstLimit` tokens refilled at `rateLimit` a second; a
 * request takes one or is refused.
 */
class TokenBucket {
  private readonly rate: number;
  private readonly burst: number;
  private tokens: number;
  private last = performance.now();

  constructor(rate: number, burst: number) {
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
  }

  /** Takes a token: 0 when there was one, else the seconds until there is. */
  take(): number {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return (1 - this.tokens) / this.rate;
  }
}

/**
 * Answers before reading the request: the body is read and dropped meanwhile, so that the client,
 * still sending it, hears the answer rather than a reset connection.
 */
function refuse(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.req.resume();
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * On AWS an `iam` route takes only SigV4-signed requests, which no web page can make. Locally
 * nothing is signed, so a page on any other site could make the developer's browser write through
 * them (a `no-cors` POST with a CORS-safelisted `text/plain` body needs no preflight). Refused here:
 * a request a browser marks as coming from another origin or site, and any body but JSON (the only
 * type a page cannot send cross-site without a preflight, which the gateway never grants).
 */
function unsignedWriteRefusal(
  req: IncomingMessage,
  ownOrigins: ReadonlySet<string>,
): { status: number; message: string } | undefined {
  const site = String(req.headers['sec-fetch-site'] ?? '').toLowerCase();
  const origin = req.headers.origin;
  if (site === 'cross-site' || site === 'same-site' || (origin !== undefined && !ownOrigins.has(origin))) {
    return {
      status: 403,
      message: `Forbidden: a cross-site request (Origin ${origin ?? 'not sent'}, Sec-Fetch-Site ${site || 'not sent'}) may not write through the local stack; on AWS this route takes only SigV4-signed requests`,
    };
  }
  const type = req.headers['content-type'];
  const essence = type?.split(';')[0]?.trim().toLowerCase();
  if (essence !== 'application/json') {
    return {
      status: 415,
      message: `Unsupported Media Type: ${type ?? 'no content type'}; send application/json`,
    };
  }
  return undefined;
}

/** Builds the payload v2 event API Gateway would send for this request and route. */
function toEvent(
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  compiled: CompiledRoute,
  match: RegExpExecArray,
): APIGatewayProxyEventV2 {
  // Without a prototype, a header or parameter named `__proto__` or `toString` is just a name.
  const headers: Record<string, string> = Object.create(null);
  const cookies: string[] = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (name === 'cookie') cookies.push(...String(value).split(/;\s*/));
    else headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = Object.create(null);
  for (const [key, value] of url.searchParams) query[key] = key in query ? `${query[key]},${value}` : value;
  const pathParameters: Record<string, string> = Object.create(null);
  compiled.names.forEach((name, i) => {
    pathParameters[name] = decodeURIComponent(match[i + 1] ?? '');
  });
  const method = (req.method ?? 'GET').toUpperCase();
  const routeKey = `${compiled.route.method} ${compiled.route.path}`;
  const now = new Date();
  const isText = body.length === 0 || TEXT_TYPES.test(headers['content-type'] ?? '');
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(url.search ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? 'localhost',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(compiled.names.length > 0 ? { pathParameters } : {}),
    ...(body.length > 0 ? { body: isText ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: !isText,
  };
}

/** Writes a handler's result the way API Gateway does (a bare value becomes a 200 JSON body). */
function writeResult(res: ServerResponse, method: string, result: unknown): void {
  const structured =
    result && typeof result === 'object' && 'statusCode' in result
      ? (result as APIGatewayProxyStructuredResultV2)
      : {
          statusCode: 200,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(result ?? null),
        };
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  if (structured.cookies?.length) headers['set-cookie'] = structured.cookies;
  const body = structured.body
    ? structured.isBase64Encoded
      ? Buffer.from(structured.body, 'base64')
      : Buffer.from(structured.body, 'utf8')
    : Buffer.alloc(0);
  headers['content-length'] = String(body.length);
  res.writeHead(structured.statusCode ?? 200, headers);
  res.end(method === 'HEAD' ? undefined : body);
}

/**
 * The path as it may be logged: the secrets of approval, workroom and effect-question links are
 * capabilities and stay out of logs.
 */
export function loggablePath(path: string): string {
  return path.replace(/(\/(?:approvals|work|effects)\/).*$/i, '$1…');
}

/** Starts the gateway on `host:port` (port 0 picks a free one). */
export async function startGateway(options: GatewayOptions): Promise<LocalGateway> {
  const compiled = options.routes.map(compile);
  const ownOrigins = new Set<string>();
  const throttle = options.throttle ?? API_THROTTLE;
  const buckets = new Map<Route, TokenBucket>(
    throttle ? compiled.map((c) => [c.route, new TokenBucket(throttle.rateLimit, throttle.burstLimit)]) : [],
  );
  const maxInFlight = options.maxInFlight ?? MAX_IN_FLIGHT;
  const maxQueued = options.maxQueued ?? (throttle ? throttle.burstLimit : Number.POSITIVE_INFINITY);
  let inFlight = 0;
  const queued: Array<() => void> = [];
  /** Takes a slot to invoke in, waiting for one if need be; false when too many wait already. */
  const acquire = async (): Promise<boolean> => {
    if (inFlight < maxInFlight) {
      inFlight++;
      return true;
    }
    if (queued.length >= maxQueued) return false;
    // The slot is handed over by `release`, so no newcomer takes it in between.
    await new Promise<void>((resolve) => queued.push(resolve));
    return true;
  };
  const release = (): void => {
    const next = queued.shift();
    if (next) next();
    else inFlight--;
  };
  const server: Server = createServer(async (req, res) => {
    const started = Date.now();
    const method = (req.method ?? 'GET').toUpperCase();
    // The request target is a path; `//x` alone would read as a host, so it is never resolved as one.
    const url = new URL(
      `http://localhost${(req.url ?? '/').startsWith('/') ? (req.url ?? '/') : `/${req.url}`}`,
    );
    try {
      let found: { compiled: CompiledRoute; match: RegExpExecArray } | undefined;
      for (const c of compiled) {
        const match = c.route.method === method ? c.pattern.exec(url.pathname) : null;
        if (match) {
          found = { compiled: c, match };
          break;
        }
      }
      // HTTP APIs answer an unmatched route like this, whatever the method.
      if (!found) return sendJson(res, 404, { message: 'Not Found' });
      const route = found.compiled.route;
      const bucket = buckets.get(route);
      if (bucket) {
        const wait = bucket.take();
        if (wait > 0)
          return refuse(
            res,
            429,
            { message: 'Too Many Requests' },
            { 'retry-after': String(Math.max(1, Math.ceil(wait))) },
          );
      }
      if (route.auth === 'iam' && method === 'POST') {
        const refused = unsignedWriteRefusal(req, ownOrigins);
        if (refused) return refuse(res, refused.status, { message: refused.message });
      }
      if (!(await acquire()))
        return refuse(res, 503, { message: 'Service Unavailable' }, { 'retry-after': '1' });
      try {
        await serve(req, res, method, url, found);
      } finally {
        release();
      }
    } catch (error) {
      // What API Gateway answers when the integration fails.
      options.log?.(
        `gateway: ${method} ${loggablePath(url.pathname)} failed: ${(error as Error).stack ?? error}`,
      );
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal Server Error' });
      else res.end();
    } finally {
      options.log?.(`${method} ${loggablePath(url.pathname)} ${res.statusCode} ${Date.now() - started}ms`);
    }
  });

  /** Reads the request, invokes its route's function and writes the answer. */
  async function serve(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    url: URL,
    found: { compiled: CompiledRoute; match: RegExpExecArray },
  ): Promise<void> {
    const body = await readBody(req);
    if (body === 'too-large') return sendJson(res, 413, { message: 'Request Entity Too Large' });
    let event: APIGatewayProxyEventV2;
    try {
      event = toEvent(req, url, body, found.compiled, found.match);
    } catch (error) {
      if (error instanceof URIError) return sendJson(res, 400, { message: 'Bad Request' });
      throw error;
    }
    // Lambda refuses an invocation larger than this, and API Gateway answers 413 for it.
    if (Buffer.byteLength(JSON.stringify(event)) > LIMITS.lambdaPayloadBytes)
      return sendJson(res, 413, { message: 'Request Entity Too Large' });
    writeResult(res, method, await options.invoke(found.compiled.route, event));
  }
  // Clients close idle connections before the server does (they read its Keep-Alive hint), so a
  // request is never sent on a connection the server is closing: under load that was a reset.
  server.keepAliveTimeout = 65_000;
  const host = options.host ?? '127.0.0.1';
  // A storm's connections wait in the kernel's queue until the gateway can answer them (most with
  // a quick 429); Node's default backlog of 511 overflows, and the kernel resets what does not fit.
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host, backlog: 4096 }, () =>
      resolve((server.address() as { port: number }).port),
    );
  });
  for (const origin of [
    `http://${host}:${port}`,
    `http://127.0.0.1:${port}`,
    `http://localhost:${port}`,
    `http://[::1]:${port}`,
    ...(options.origins ?? []),
  ])
    ownOrigins.add(new URL(origin).origin);
  return { url: `http://${host}:${port}`, port, close: () => closeServer(server) };
}
