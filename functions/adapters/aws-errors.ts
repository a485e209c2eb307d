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
