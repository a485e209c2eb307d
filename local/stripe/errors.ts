/** Stripe's error answers: `{ error: { type, code, message, param, doc_url } }` with its HTTP codes. */

export interface StripeErrorBody {
  readonly type: string;
  readonly message: string;
  readonly code?: string;
  readonly param?: string;
  readonly doc_url?: string;
  readonly [extra: string]: unknown;
}

/** An answer Stripe would give instead of the object asked for. */
export class StripeApiError extends Error {
  readonly status: number;
  readonly body: StripeErrorBody;
  /**
   * Whether Stripe keeps this answer for an Idempotency-Key. It does not when the request failed
   * validation (the endpoint never started), so a corrected retry with the same key runs.
   */
  readonly replayable: boolean;

  constructor(status: number, body: StripeErrorBody, replayable: boolean) {
    super(body.message);
    this.name = 'StripeApiError';
    this.status = status;
    this.body = body.code
      ? { ...body, doc_url: `https://stripe.com/docs/error-codes/${body.code.replaceAll('_', '-')}` }
      : body;
    this.replayable = replayable;
  }
}

/** A parameter is missing, unknown or malformed (400; not kept for replay). */
export function invalidParam(param: string, message: string, code = 'parameter_invalid'): StripeApiError {
  return new StripeApiError(400, { type: 'invalid_request_error', code, message, param }, false);
}

/** `No such charge: 'ch_…'` (404). */
export function noSuch(kind: string, id: string, param: string): StripeApiError {
  return new StripeApiError(
    404,
    { type: 'invalid_request_error', code: 'resource_missing', message: `No such ${kind}: '${id}'`, param },
    true,
  );
}

/** The request was valid but the API refused to carry it out (400; kept for replay). */
export function refused(code: string, message: string, param?: string): StripeApiError {
  return new StripeApiError(
    400,
    { type: 'invalid_request_error', code, message, ...(param ? { param } : {}) },
    true,
  );
}
