/** Turns SDK failures into what the use cases understand. */
import { CasebookError, ERROR_NAMES } from '../domain/errors.ts';

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

/**
 * An error from an AWS SDK call (it carries `$metadata`) or the network becomes
 * Casebook.DependencyUnavailable, which the ASL retries; anything else (a bug, bad input) is
 * returned unchanged and is not retried.
 */
export function asDependencyError(error: unknown): unknown {
  if (error instanceof CasebookError) return error;
  const e = error as { $metadata?: unknown; code?: string; name?: string } | undefined;
  const fromSdk =
    e?.$metadata !== undefined && (error as { name?: string }).name !== 'ConditionalCheckFailedException';
  const network = NETWORK_CODES.has(e?.code ?? '') || e?.name === 'TimeoutError';
  return fromSdk || network ? dependencyError('A dependency call failed', error) : error;
}
