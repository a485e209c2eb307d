/**
 * Instants as people read them on Casebook's pages: "29 Nov 08:59 UTC, 12 min ago". Always UTC,
 * as the records are (an incident's people sit in several zones, and a page has no script to
 * learn the reader's), to the minute, with the year only when it is not now's. `now` is the
 * caller's: a page takes it from its clock, so it renders, and is tested, at one instant.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const two = (n: number) => String(n).padStart(2, '0');

/** "29 Nov 08:59 UTC", or "29 Nov 2025 08:59 UTC" when its year is not `now`'s. */
export function humanInstant(instant: Date, now: Date): string {
  const year = instant.getUTCFullYear() === now.getUTCFullYear() ? '' : ` ${instant.getUTCFullYear()}`;
  return `${instant.getUTCDate()} ${MONTHS[instant.getUTCMonth()]}${year} ${two(instant.getUTCHours())}:${two(instant.getUTCMinutes())} UTC`;
}

/**
 * A span as people say it, in whole minutes rounded down, in at most two units, the second
 * left out when it is zero: "45 min", "1 h 45 min", "2 h", "2 d 3 h"; from a week on, days only
 * ("12 d"); under a minute, "under 1 min".
 */
export function humanDuration(ms: number): string {
  const span = Math.abs(ms);
  if (span < MINUTE) return 'under 1 min';
  const days = Math.floor(span / DAY);
  const hours = Math.floor((span % DAY) / HOUR);
  const minutes = Math.floor((span % HOUR) / MINUTE);
  if (days >= 7) return `${days} d`;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  return `${minutes} min`;
}

/** How far `instant` is from `now`: "just now" (within the last minute), "12 min ago", "in 1 h 45 min". */
export function humanRelative(instant: Date, now: Date): string {
  const ms = instant.getTime() - now.getTime();
  if (ms <= 0 && ms > -MINUTE) return 'just now';
  return ms > 0 ? `in ${humanDuration(ms)}` : `${humanDuration(ms)} ago`;
}

/**
 * An ISO 8601 instant as people read it: "29 Nov 08:59 UTC, 12 min ago". A value that is not an
 * instant comes back as it is: the page shows what is stored rather than "Invalid Date".
 */
export function humanTime(instant: string, now: Date): string {
  const ms = Date.parse(instant);
  if (Number.isNaN(ms)) return instant;
  const at = new Date(ms);
  return `${humanInstant(at, now)}, ${humanRelative(at, now)}`;
}
