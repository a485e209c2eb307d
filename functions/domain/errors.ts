/**
 * Error names are a contract: the ASL's Retry/Catch `ErrorEquals` match them, Lambda reports a
 * thrown error's `name` as its errorType, and the ASL tests check the two agree.
 */
export const ERROR_NAMES = {
  /** An approver rejected the remediation plan (SendTaskFailure error). */
  planRejected: 'Casebook.PlanRejected',
  /** A lifecycle step failed; the incident keeps the phase to continue from (ASL Fail state). */
  lifecycleFailed: 'Casebook.LifecycleFailed',
  /** A dependency (DynamoDB, SES, Step Functions) failed in a way worth retrying. */
  dependencyUnavailable: 'Casebook.DependencyUnavailable',
  /** An earlier attempt at an external effect may or may not have happened: never repeat it blindly. */
  effectInDoubt: 'Casebook.EffectInDoubt',
  /** The incident a step names does not exist. */
  incidentNotFound: 'Casebook.IncidentNotFound',
  /**
   * A person changed what a wait's deadline is computed from (the severity): the wait ends
   * (SendTaskFailure), the clock is read again and the wait begins anew with the new deadline.
   */
  deadlineMoved: 'Casebook.DeadlineMoved',
  /** The SRE lead cancelled the incident (false alarm, or downscoped): the execution ends in Succeed. */
  cancelled: 'Casebook.Cancelled',
  /** The approval rounds ran out, every plan rejected (ASL Fail state). */
  roundsExhausted: 'Casebook.RoundsExhausted',
} as const;

export type ErrorName = (typeof ERROR_NAMES)[keyof typeof ERROR_NAMES];

/** An error whose `name` is one of {@link ERROR_NAMES}, so Step Functions can match it. */
export class CasebookError extends Error {
  constructor(name: ErrorName, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = name;
  }
}

/** One thing wrong with a caller's input, named by its path (`alerts[0].startsAt`). */
export interface InputIssue {
  readonly field: string;
  readonly message: string;
}

/** Bad input from a caller: becomes a 4xx that names the field(s). Nothing has been written. */
export class InvalidInputError extends Error {
  readonly issues: readonly InputIssue[];
  constructor(issues: readonly InputIssue[] | InputIssue) {
    const list = Array.isArray(issues) ? issues : [issues as InputIssue];
    super(list.map((i) => `${i.field}: ${i.message}`).join('; '));
    this.name = 'InvalidInputError';
    this.issues = list;
  }
}

/** The caller did not prove who it is (webhook token, approval link). */
export class UnauthorizedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnauthorizedError';
  }
}

/** The named thing does not exist (or the caller may not know that it does). */
export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

/** The caller proved who it is but may not do this (a responder's link asking for the SRE lead's action). */
export class ForbiddenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

/** The named thing existed and is gone for good (an expired link): asking again will not help. */
export class GoneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GoneError';
  }
}

/** The request conflicts with what is already recorded (e.g. a different decision on a decided approval). */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/**
 * Another writer changed what this one read and was about to change: reading again and redoing the
 * work is the answer (a 409 if it keeps happening).
 */
export class ConcurrentChangeError extends ConflictError {
  constructor(message: string) {
    super(message);
    this.name = 'ConcurrentChangeError';
  }
}

/** The provider answered and refused the message: nothing was sent, so sending again is safe. */
export class DeliveryRejectedError extends Error {
  /**
   * The provider refused for now (it throttled) rather than for good (a rejected address): the
   * same message may well be taken later, so it is to be retried, not reported as refused.
   */
  readonly busy: boolean;

  constructor(message: string, options?: { cause?: unknown; busy?: boolean }) {
    super(message, options);
    this.name = 'DeliveryRejectedError';
    this.busy = options?.busy ?? false;
  }
}

/** A refusal for now, as the error the lifecycle's steps retry. */
export function retryLater(error: DeliveryRejectedError): CasebookError {
  return new CasebookError(ERROR_NAMES.dependencyUnavailable, error.message, { cause: error });
}

/**
 * The payments provider answered and refused (already refunded, no such charge, amount too large,
 * a key reused for another request): nothing happened, and repeating the call will not change
 * that. A person decides: retry after fixing the cause, record it as done by hand, or correct it.
 */
export class PaymentRefusedError extends Error {
  /** The provider's reason (`charge_already_refunded`, `resource_missing`, `amount_too_large`, …). */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PaymentRefusedError';
    this.code = code;
  }
}
