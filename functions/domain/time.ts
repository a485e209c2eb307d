/**
 * Instants from outside, read strictly: a date that does not exist on the calendar
 * (`2026-02-30`) is refused rather than rolled over into the next month, as `Date.parse` does.
 */

/** RFC 3339 date-time: seconds required, up to nanoseconds (Go sends them), `Z` or an offset. */
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/** True if `value` has the shape of an RFC 3339 date-time (whether or not the date exists). */
export function looksLikeRfc3339(value: string): boolean {
  return RFC3339.test(value);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

/**
 * The UTC instant of an RFC 3339 date-time as ISO 8601 with milliseconds
 * (`2026-11-22T10:23:45.123Z`), or undefined if it has the wrong shape or names a date or time
 * that does not exist (month 13, 30 February, 24:00, a leap second, an offset past 23:59).
 */
export function parseRfc3339(value: string): string | undefined {
  const m = RFC3339.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const offsetHours = Number(m[9] ?? 0);
  const offsetMinutes = Number(m[10] ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const sign = m[8] === '-' ? -1 : 1;
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0–99 as 1900–1999.
  const instant = new Date(0);
  instant.setUTCFullYear(year, month - 1, day);
  instant.setUTCHours(hour, minute, second, millis);
  return new Date(instant.getTime() - sign * (offsetHours * 60 + offsetMinutes) * 60_000).toISOString();
}

/** True for a UTC instant written exactly as Casebook writes one: `2026-11-22T10:23:45.123Z`. */
export function isUtcInstant(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value)) return false;
  const time = Date.parse(value);
  return !Number.isNaN(time) && new Date(time).toISOString() === value;
}
