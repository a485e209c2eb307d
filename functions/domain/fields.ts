/**
 * Building blocks for the JSON bodies people write (a manual ledger entry, a declaration): the
 * same message for a missing field, and the same strict reading of a date-time, wherever one is
 * asked for.
 */
import * as z from 'zod';
import { parseRfc3339 } from './time.ts';

/** A field's error: "is required" when absent, "must be <what>" when present but wrong. */
export const required = (what: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? 'is required' : `must be ${what}`;

/** An RFC 3339 date-time that exists on the calendar, as a UTC instant with milliseconds. */
export function instantField() {
  return z.string({ error: required('a date-time such as 2026-11-22T10:00:00Z') }).transform((value, ctx) => {
    const instant = parseRfc3339(value);
    // An offset can carry 9999-12-31 into year 10000, which has no four-digit form.
    if (instant && /^\d{4}-/.test(instant)) return instant;
    ctx.addIssue({
      code: 'custom',
      message: 'must be a real RFC 3339 date-time such as 2026-11-22T10:00:00Z',
    });
    return z.NEVER;
  });
}
