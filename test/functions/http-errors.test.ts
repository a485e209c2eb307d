import { describe, expect, it } from 'vitest';
import { dependencyError, isDependencyOutage } from '../../functions/adapters/aws-errors.ts';
import { errorToJson } from '../../functions/adapters/http.ts';
import { DeliveryRejectedError, InvalidInputError } from '../../functions/domain/errors.ts';

const serviceError = (name: string, status: number, fault: 'client' | 'server') =>
  Object.assign(new Error(name), { name, $fault: fault, $metadata: { httpStatusCode: status } });

describe('which failures are a dependency outage (503, Retry-After) and which are not (500)', () => {
  it('counts throttling, 5xx answers and unreachable services as outages', () => {
    expect(isDependencyOutage(serviceError('ThrottlingException', 400, 'client'))).toBe(true);
    expect(isDependencyOutage(serviceError('ProvisionedThroughputExceededException', 400, 'client'))).toBe(
      true,
    );
    expect(isDependencyOutage(serviceError('InternalServerError', 500, 'server'))).toBe(true);
    expect(isDependencyOutage(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(
      isDependencyOutage(dependencyError('SFN', serviceError('ServiceUnavailable', 503, 'server'))),
    ).toBe(true);
    expect(isDependencyOutage(dependencyError('ledger', new Error('lost 5 races for the next seq')))).toBe(
      true,
    );
  });

  it('does not count a request the service refused, or a bug, as an outage: retrying cannot help', () => {
    // What DynamoDB answers for an item over 400 KB or a key past its size limit.
    const tooLarge = serviceError('ValidationException', 400, 'client');
    expect(isDependencyOutage(tooLarge)).toBe(false);
    expect(isDependencyOutage(dependencyError('Appending to the ledger failed', tooLarge))).toBe(false);
    expect(isDependencyOutage(new TypeError('x is undefined'))).toBe(false);
  });

  it('counts a mail the provider refused for now (throttled) as an outage, and one refused for good as not', () => {
    const throttled = new DeliveryRejectedError('SES refused the email: Maximum sending rate exceeded.', {
      busy: true,
    });
    expect(isDependencyOutage(throttled)).toBe(true);
    expect(errorToJson(throttled).statusCode).toBe(503);
    const rejected = new DeliveryRejectedError('SES refused the email: Email address is not verified.');
    expect(isDependencyOutage(rejected)).toBe(false);
    expect(errorToJson(rejected).statusCode).toBe(500);
  });

  it('answers 503 with Retry-After for an outage, 500 without for anything else, 400 for bad input', () => {
    const outage = errorToJson(serviceError('ThrottlingException', 400, 'client'));
    expect(outage.statusCode).toBe(503);
    expect(outage.headers?.['retry-after']).toBe('5');
    const bug = errorToJson(serviceError('ValidationException', 400, 'client'));
    expect(bug.statusCode).toBe(500);
    expect(bug.headers?.['retry-after']).toBeUndefined();
    expect(errorToJson(new InvalidInputError({ field: 'x', message: 'y' })).statusCode).toBe(400);
  });
});
