/**
 * API Gateway HTTP API (payload format 2.0) helpers: reading requests, writing JSON and HTML
 * responses, and mapping typed errors to status codes — bad input is a 4xx naming the field, an
 * outage of a dependency a 503 with Retry-After, and anything else (a bug) a 500. Nothing a
 * client sends may reach a 5xx: Alertmanager retries a 5xx forever.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { InputIssue } from '../domain/errors.ts';
import {
  ConflictError,
  ForbiddenError,
  GoneError,
  InvalidInputError,
  NotFoundError,
  UnauthorizedError,
} from '../domain/errors.ts';
import { LIMITS } from '../domain/limits.ts';
import { isDependencyOutage } from './aws-errors.ts';
import { logger } from './logger.ts';

export type HttpEvent = APIGatewayProxyEventV2;
export type HttpResult = APIGatewayProxyStructuredResultV2;

/** Largest request body accepted, in bytes (Alertmanager groups can be large; API Gateway caps at 10 MB). */
export const MAX_BODY_BYTES = LIMITS.bodyBytes;

/** Seconds a client is asked to wait before retrying after a dependency outage. */
export const RETRY_AFTER_SECONDS = 5;

/**
 * How a request that failed unexpectedly is answered: 503 with Retry-After when a dependency is
 * out (retrying helps), 500 otherwise (retrying the same request will not). Both are logged.
 */
export function failureStatus(
  error: unknown,
  what: string,
): { statusCode: 500 | 503; headers: Record<string, string> } {
  const outage = isDependencyOutage(error);
  logger.error(what, { error: error as Error, outage });
  return outage
    ? { statusCode: 503, headers: { 'retry-after': String(RETRY_AFTER_SECONDS) } }
    : { statusCode: 500, headers: {} };
}

/** A request header, case-insensitively. */
export function header(event: HttpEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}

/** The IAM principal API Gateway checked the request's SigV4 signature for (absent locally). */
export function iamPrincipal(event: HttpEvent): string | undefined {
  const context = event.requestContext as { authorizer?: { iam?: { userArn?: unknown } } };
  const arn = context.authorizer?.iam?.userArn;
  return typeof arn === 'string' && arn.length <= LIMITS.principalBytes ? arn : undefined;
}

/** The request body's bytes, refused past `maxBytes`. */
export function bodyBytes(event: HttpEvent, maxBytes: number = MAX_BODY_BYTES): Buffer {
  if (!event.body) return Buffer.alloc(0);
  const bytes = Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  if (bytes.length > maxBytes) {
    throw new InvalidInputError({ field: 'body', message: `must be at most ${maxBytes} bytes` });
  }
  return bytes;
}

export function bodyText(event: HttpEvent, maxBytes: number = MAX_BODY_BYTES): string {
  return bodyBytes(event, maxBytes).toString('utf8');
}

/** Parses a JSON request body; anything else is a 400 naming the body. */
export function jsonBody(event: HttpEvent, maxBytes: number = MAX_BODY_BYTES): unknown {
  const text = bodyText(event, maxBytes);
  if (text.trim() === '') throw new InvalidInputError({ field: 'body', message: 'is empty; expected JSON' });
  const type = header(event, 'content-type');
  if (type && !/\bjson\b/i.test(type)) {
    throw new InvalidInputError({ field: 'content-type', message: `must be application/json, not ${type}` });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError({
      field: 'body',
      message: `is not valid JSON (${(error as Error).message})`,
    });
  }
}

/** Parses an `application/x-www-form-urlencoded` body into its first value per field. */
export function formBody(event: HttpEvent): Record<string, string> {
  const type = header(event, 'content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
    throw new InvalidInputError({
      field: 'content-type',
      message: `must be application/x-www-form-urlencoded, not ${type || 'missing'}`,
    });
  }
  const fields: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(bodyText(event))) {
    if (!(key in fields)) fields[key] = value;
  }
  return fields;
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** Headers every Casebook HTML page carries: no framing, no scripts, no referrer (links hold secrets). */
const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

export function html(statusCode: number, body: string, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { ...PAGE_HEADERS, ...headers }, body };
}

/** A JSON error body: a machine-readable code, a sentence, and the fields at fault. */
export function problem(
  statusCode: number,
  error: string,
  message: string,
  issues?: readonly InputIssue[],
): HttpResult {
  return json(statusCode, { error, message, ...(issues ? { issues } : {}) });
}

/** Maps a thrown error to a JSON response; see {@link failureStatus} for the unexpected ones. */
export function errorToJson(error: unknown): HttpResult {
  if (error instanceof InvalidInputError) return problem(400, 'invalid_request', error.message, error.issues);
  if (error instanceof UnauthorizedError) return problem(401, 'unauthorized', error.message);
  if (error instanceof ForbiddenError) return problem(403, 'forbidden', error.message);
  if (error instanceof NotFoundError) return problem(404, 'not_found', error.message);
  if (error instanceof GoneError) return problem(410, 'gone', error.message);
  if (error instanceof ConflictError) return problem(409, 'conflict', error.message);
  const { statusCode, headers } = failureStatus(error, 'Request failed');
  const body =
    statusCode === 503
      ? {
          error: 'unavailable',
          message: 'A service Casebook depends on is unavailable; nothing was lost. Retry shortly.',
        }
      : { error: 'internal_error', message: 'Casebook failed on this request; the failure is logged.' };
  return json(statusCode, body, headers);
}
