/** Turns SDK failures into what the use cases understand. */
import { CasebookError, DeliveryRejectedError, ERROR_NAMES, retryLater } from '../domain/errors.ts';

/** True for DynamoDB's answer to a failed ConditionExpression. */
export function isConditionalCheckFailed(error: unknown): boolean {
  return (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/** Wraps an unexpected SDK error as retryable, keeping it as the cause. */
export function dependencyError(what: string, error: unknown): CasebookError {
  return new CasebookError(
    ERROR_NAMES.dependencyUnavailable,
    `${what}: ${(error as Error)?.message ?? error}`,
    {
      cause: error,
    },
  );
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

/** What the AWS SDK puts on an error a service answered with. */
interface ServiceError {
  readonly name?: string;
  readonly $fault?: 'client' | 'server';
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** Service errors that mean "too much right now", whatever their HTTP status. */
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'TransactionInProgressException',
]);

function isNetworkError(error: unknown): boolean {
  const e = error as { code?: string; name?: string } | undefined;
  return NETWORK_CODES.has(e?.code ?? '') || e?.name === 'TimeoutError';
}

function isServiceError(error: unknown): error is ServiceError {
  return (error as ServiceError | undefined)?.$metadata !== undefined;
}

/**
 * True when `error` says that a dependency is down, overloaded or unreachable, so the same
 * request may well succeed later (an HTTP API answers 503 with Retry-After); false when the
 * dependency refused the request itself (a ValidationException: Casebook asked for something it
 * never can get, or a mail refused for good) or for a bug. A Casebook.DependencyUnavailable is judged by the service error
 * it wraps; one that wraps none (lost races) is transient.
 */
export function isDependencyOutage(error: unknown): boolean {
  if (error instanceof CasebookError) {
    if (error.name !== ERROR_NAMES.dependencyUnavailable) return false;
    const { cause } = error as { cause?: unknown };
    return isServiceError(cause) || isNetworkError(cause) ? isDependencyOutage(cause) : true;
  }
  if (error instanceof DeliveryRejectedError) return error.busy;
  if (isNetworkError(error)) return true;
  if (!isServiceError(error)) return false;
  const status = error.$metadata?.httpStatusCode ?? 0;
  return (
    error.$fault === 'server' ||
    Boolean(error.$retryable) ||
    THROTTLING.has(error.name ?? '') ||
    status === 429 ||
    status >= 500
  );
}

/**
 * An error from an AWS SDK call (it carries `$metadata`) or the network becomes
 * Casebook.DependencyUnavailable, which the ASL retries, and so does a mail refused for now;
 * anything else (a bug, bad input, a mail refused for good) is returned unchanged and is not
 * retried.
 */
export function asDependencyError(error: unknown): unknown {
  if (error instanceof CasebookError) return error;
  if (error instanceof DeliveryRejectedError) return error.busy ? retryLater(error) : error;
  const e = error as { $metadata?: unknown; code?: string; name?: string } | undefined;
  const fromSdk =
    e?.$metadata !== undefined && (error as { name?: string }).name !== 'ConditionalCheckFailedException';
  const network = NETWORK_CODES.has(e?.code ?? '') || e?.name === 'TimeoutError';
  return fromSdk || network ? dependencyError('A dependency call failed', error) : error;
}
