/**
 * A stateful stand-in for Stripe's API, for `npm start` and the tests: the official `stripe` SDK
 * talks to it unchanged (`host`, `port`, `protocol: 'http'`), as it would to Stripe's test mode.
 * It speaks Stripe's wire format (form-encoded requests, JSON objects and errors, `Request-Id`),
 * accepts any `sk_test_…` key, replays answers for a repeated `Idempotency-Key`, settles refunds
 * asynchronously, optionally sends signed webhooks, and keeps everything in an fsynced journal so
 * idempotency keys and refunds survive a restart, as they survive anything at Stripe.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import { closeServer, listen } from '../servers.ts';
import type { RefundTransition, StripeList } from './api.ts';
import { StripeApi } from './api.ts';
import { StripeApiError } from './errors.ts';
import type { Params } from './form.ts';
import { canonicalParams, parseForm } from './form.ts';
import { onlyKnown } from './params.ts';
import type { Entity, IdempotencyRecord, StripeObject } from './store.ts';
import { Journal } from './store.ts';
import type { WebhookEndpoint } from './webhooks.ts';
import { WebhookSender } from './webhooks.ts';

export interface StripeStandInOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Where the journal is kept; nothing is persisted when omitted. */
  readonly dataDir?: string;
  /**
   * How long a refund stays `pending` before it succeeds (a `refundFail` refund: `succeeded`
   * before it fails). Stripe's card refunds take seconds to days; 0 settles at once.
   * @default 500
   */
  readonly refundSettleMs?: number;
  /** How long an Idempotency-Key is remembered. @default 24 hours, as at Stripe */
  readonly idempotencyWindowMs?: number;
  /** Where to POST `refund.updated` / `charge.refund.updated` / `refund.failed` events. */
  readonly webhook?: WebhookEndpoint;
  readonly log?: (line: string) => void;
}

export interface StripeStandIn {
  /** `http://127.0.0.1:<port>`: what `CASEBOOK_STRIPE_API_BASE` points at. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

type Handler = (api: StripeApi, params: Params, ids: string[]) => StripeObject | StripeList;

interface Route {
  readonly method: 'GET' | 'POST';
  readonly pattern: RegExp;
  readonly handle: Handler;
}

const ID = '([A-Za-z0-9_]+)';
const route = (method: Route['method'], path: string, handle: Handler): Route => ({
  method,
  pattern: new RegExp(`^${path.replaceAll(':id', ID)}$`),
  handle,
});
/** A retrieve takes no parameters (and refuses `expand`). */
const retrieve =
  (get: (api: StripeApi, ids: string[]) => StripeObject): Handler =>
  (api, params, ids) => {
    onlyKnown(params, []);
    return get(api, ids);
  };

const ROUTES: readonly Route[] = [
  route('POST', '/v1/customers', (api, p) => api.createCustomer(p)),
  route('GET', '/v1/customers', (api, p) => api.listCustomers(p)),
  route(
    'GET',
    '/v1/customers/:id',
    retrieve((api, [id]) => api.retrieveCustomer(id as string)),
  ),
  route('POST', '/v1/customers/:id/balance_transactions', (api, p, [id]) =>
    api.createBalanceTransaction(id as string, p),
  ),
  route('GET', '/v1/customers/:id/balance_transactions', (api, p, [id]) =>
    api.listBalanceTransactions(id as string, p),
  ),
  route(
    'GET',
    '/v1/customers/:id/balance_transactions/:id',
    retrieve((api, [customer, id]) => api.retrieveBalanceTransaction(customer as string, id as string)),
  ),
  route('POST', '/v1/charges', (api, p) => api.createCharge(p)),
  route(
    'GET',
    '/v1/charges/:id',
    retrieve((api, [id]) => api.retrieveCharge(id as string)),
  ),
  route('POST', '/v1/payment_intents', (api, p) => api.createPaymentIntent(p)),
  route(
    'GET',
    '/v1/payment_intents/:id',
    retrieve((api, [id]) => api.retrievePaymentIntent(id as string)),
  ),
  route('POST', '/v1/payment_intents/:id/confirm', (api, p, [id]) =>
    api.confirmPaymentIntent(id as string, p),
  ),
  route('POST', '/v1/refunds', (api, p) => api.createRefund(p)),
  route('GET', '/v1/refunds', (api, p) => api.listRefunds(p)),
  route(
    'GET',
    '/v1/refunds/:id',
    retrieve((api, [id]) => api.retrieveRefund(id as string)),
  ),
  route('GET', '/v1/balance_transactions', (api, p) => api.listAccountBalanceTransactions(p)),
  // Test-only control, outside Stripe's `/v1`: fail a refund now, as Stripe may days later.
  route('POST', '/_casebook/refunds/:id/fail', (api, p, [id]) => api.failRefund(id as string, p)),
  route(
    'GET',
    '/v1/balance_transactions/:id',
    retrieve((api, [id]) => api.retrieveAccountBalanceTransaction(id as string)),
  ),
];

const MAX_BODY_BYTES = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

/** Starts the stand-in; replays its journal first, so it answers exactly as before a restart. */
export async function startStripeStandIn(options: StripeStandInOptions): Promise<StripeStandIn> {
  const log = options.log ?? (() => undefined);
  const refundSettleMs = options.refundSettleMs ?? 500;
  const windowMs = options.idempotencyWindowMs ?? DAY_MS;
  const api = new StripeApi({ refundSettleMs, now: Date.now });
  const journal = new Journal(options.dataDir);
  const keys = new Map<string, IdempotencyRecord>();
  const timers = new Map<string, NodeJS.Timeout>();
  const webhooks = options.webhook ? new WebhookSender(options.webhook, log) : undefined;

  for (const commit of journal.replay(log)) {
    api.apply(commit.entities);
    if (commit.idempotency) keys.set(commit.idempotency.key, commit.idempotency);
  }

  /**
   * Commits what the request (or a settlement) changed to the journal, and then to what later
   * requests see; answers leave only once the journal has it on disk (`journal.durable`).
   */
  const commit = (entities: Entity[], idempotency?: IdempotencyRecord): void => {
    if (entities.length === 0 && !idempotency) return;
    journal.append({ entities, ...(idempotency ? { idempotency } : {}) });
    api.apply(entities);
    if (idempotency) keys.set(idempotency.key, idempotency);
    for (const entity of entities)
      if (entity.hidden?.settle) schedule(entity.object.id, entity.hidden.settle.at);
  };

  const schedule = (id: string, at: number): void => {
    clearTimeout(timers.get(id));
    const timer = setTimeout(() => settle(id), Math.max(0, at - Date.now()));
    timers.set(id, timer);
  };

  const settle = (id: string): void => {
    timers.delete(id);
    const transition = api.settleRefund(id);
    const changed = api.takeStaged();
    const transitions = api.takeTransitions();
    if (!transition) return;
    try {
      commit(changed);
    } catch (error) {
      log(`stripe: could not settle ${id}: ${(error as Error).message}; retrying`);
      schedule(id, Date.now() + 1000);
      return;
    }
    announce(transitions);
  };

  /** Tells the webhook of refund status changes once the journal holds them. */
  const announce = (transitions: readonly RefundTransition[]): void => {
    if (transitions.length === 0) return;
    journal.durable().then(
      () => {
        for (const { refund, previousStatus } of transitions) {
          const previous = { status: previousStatus };
          webhooks?.send('refund.updated', refund, previous, Date.now());
          webhooks?.send('charge.refund.updated', refund, previous, Date.now());
          if (refund.status === 'failed') webhooks?.send('refund.failed', refund, previous, Date.now());
        }
      },
      (error: Error) => log(`stripe: refund changes were not kept: ${error.message}`),
    );
  };

  for (const { id, at } of api.pendingSettlements()) schedule(id, at);

  const answer = (req: IncomingMessage, rawBody: string, requestId: string): Answer => {
    const url = new URL(req.url ?? '/', 'http://stripe.local');
    const unauthorized = authenticate(req.headers.authorization);
    if (unauthorized) return error(401, unauthorized);
    const method = req.method ?? 'GET';
    const match = matchRoute(method, url.pathname);
    if (!match)
      return error(404, {
        type: 'invalid_request_error',
        message: `Unrecognized request URL (${method}: ${url.pathname}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
      });
    const params = parseForm(method === 'GET' ? url.search.slice(1) : rawBody);
    const key = method === 'POST' ? header(req, 'idempotency-key') : undefined;
    const endpoint = `${method} ${url.pathname}`;
    const fingerprint = canonicalParams(params);
    if (key !== undefined) {
      if (key.length > 255)
        return error(400, {
          type: 'invalid_request_error',
          message: 'Idempotency-Key must be at most 255 characters long.',
        });
      const earlier = keys.get(key);
      if (earlier && Date.now() - earlier.at < windowMs) return replay(earlier, key, endpoint, fingerprint);
    }

    let result: Answer;
    let keep: boolean;
    try {
      result = { status: 200, body: json(match.route.handle(api, params, match.ids)) };
      keep = true;
    } catch (thrown) {
      if (!(thrown instanceof StripeApiError)) throw thrown;
      result = error(thrown.status, thrown.body);
      keep = thrown.replayable;
    }
    const record: IdempotencyRecord | undefined =
      key !== undefined && keep
        ? {
            key,
            endpoint,
            params: fingerprint,
            status: result.status,
            body: result.body,
            requestId,
            at: Date.now(),
          }
        : undefined;
    const transitions = api.takeTransitions();
    commit(api.takeStaged(), record);
    announce(transitions);
    return result;
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = `req_${randomBytes(10).toString('hex')}`;
    let result: Answer;
    try {
      const body = await readBody(req);
      result =
        body === undefined
          ? error(400, { type: 'invalid_request_error', message: 'The request body is too large.' })
          : answer(req, body, requestId);
    } catch (thrown) {
      api.takeStaged();
      api.takeTransitions();
      log(`stripe: ${req.method} ${req.url} failed: ${(thrown as Error).stack ?? thrown}`);
      result = error(500, {
        type: 'api_error',
        message: 'An unknown error occurred in the Casebook Stripe stand-in.',
      });
    }
    // Whatever the answer tells of — this request's changes or earlier ones it read — is on disk
    // before it leaves.
    await journal.durable().catch((thrown: Error) => {
      log(`stripe: ${req.method} ${req.url}: ${thrown.message}`);
      result = error(500, {
        type: 'api_error',
        message: `The Casebook Stripe stand-in could not keep this request: ${thrown.message}.`,
      });
    });
    const key = header(req, 'idempotency-key');
    const version = header(req, 'stripe-version');
    res.writeHead(result.status, {
      'content-type': 'application/json',
      'request-id': requestId,
      ...(key ? { 'idempotency-key': key } : {}),
      ...(version ? { 'stripe-version': version } : {}),
      ...result.headers,
    });
    res.end(result.body);
  };

  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port, host);
  return {
    url: `http://${host}:${port}`,
    port,
    close: async () => {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      await closeServer(server);
      await webhooks?.close();
      await journal.close();
    },
  };
}

/** The earlier answer, or Stripe's idempotency error if the key was used for another request. */
function replay(earlier: IdempotencyRecord, key: string, endpoint: string, fingerprint: string): Answer {
  if (earlier.endpoint !== endpoint)
    return error(400, {
      type: 'idempotency_error',
      message: `Keys for idempotent requests can only be used for the same endpoint they were first used for ('${earlier.endpoint}' vs '${endpoint}'). Try using a key other than '${key}' if you meant to execute a different request.`,
    });
  if (earlier.params !== fingerprint)
    return error(400, {
      type: 'idempotency_error',
      message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
    });
  return {
    status: earlier.status,
    body: earlier.body,
    headers: { 'idempotent-replayed': 'true', 'original-request': earlier.requestId },
  };
}

/** Any `sk_test_…` (or restricted `rk_test_…`) key, as a Bearer token or Basic user name. */
function authenticate(authorization: string | undefined): Record<string, string> | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  const basic = /^Basic\s+(\S+)$/i.exec(authorization ?? '')?.[1];
  const key = bearer ?? (basic ? Buffer.from(basic, 'base64').toString('utf8').split(':')[0] : undefined);
  if (!key)
    return {
      type: 'invalid_request_error',
      message:
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
    };
  if (/^(sk|rk)_test_[A-Za-z0-9_]+$/.test(key)) return undefined;
  const masked = key.length > 4 ? `${key.slice(0, key.indexOf('_', 3) + 1)}****${key.slice(-4)}` : '****';
  return { type: 'invalid_request_error', message: `Invalid API Key provided: ${masked}` };
}

function matchRoute(method: string, path: string): { route: Route; ids: string[] } | undefined {
  for (const candidate of ROUTES) {
    if (candidate.method !== method) continue;
    const m = candidate.pattern.exec(path);
    if (m) return { route: candidate, ids: m.slice(1) };
  }
  return undefined;
}

function error(status: number, body: Record<string, unknown>): Answer {
  return { status, body: json({ error: body }) };
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
