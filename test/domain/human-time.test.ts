import { describe, expect, it } from 'vitest';
import { humanDuration, humanTime } from '../../functions/domain/human-time.ts';

const now = new Date('2026-11-29T09:11:30.000Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
const later = (ms: number) => new Date(now.getTime() + ms).toISOString();
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('instants as people read them', () => {
  it('says "just now" within the last minute, and never shows seconds or milliseconds', () => {
    expect(humanTime(now.toISOString(), now)).toBe('29 Nov 09:11 UTC, just now');
    expect(humanTime('2026-11-29T09:10:30.001Z', now)).toBe('29 Nov 09:10 UTC, just now');
    expect(humanTime('2026-11-29T09:10:30.000Z', now)).toBe('29 Nov 09:10 UTC, 1 min ago');
  });

  it('counts minutes, rounded down', () => {
    expect(humanTime('2026-11-29T08:59:12.345Z', now)).toBe('29 Nov 08:59 UTC, 12 min ago');
    expect(humanTime(ago(59 * MINUTE + 59 * SECOND), now)).toBe('29 Nov 08:11 UTC, 59 min ago');
  });

  it('counts hours and minutes, leaving out zero minutes', () => {
    expect(humanTime(ago(HOUR), now)).toBe('29 Nov 08:11 UTC, 1 h ago');
    expect(humanTime(ago(3 * HOUR + 5 * MINUTE), now)).toBe('29 Nov 06:06 UTC, 3 h 5 min ago');
    expect(humanTime(ago(23 * HOUR + 59 * MINUTE), now)).toBe('28 Nov 09:12 UTC, 23 h 59 min ago');
  });

  it('counts days and hours, then days only from a week on', () => {
    expect(humanTime(ago(DAY), now)).toBe('28 Nov 09:11 UTC, 1 d ago');
    expect(humanTime(ago(2 * DAY + 3 * HOUR + 40 * MINUTE), now)).toBe('27 Nov 05:31 UTC, 2 d 3 h ago');
    expect(humanTime(ago(6 * DAY + 23 * HOUR), now)).toBe('22 Nov 10:11 UTC, 6 d 23 h ago');
    expect(humanTime(ago(12 * DAY + 5 * HOUR), now)).toBe('17 Nov 04:11 UTC, 12 d ago');
  });

  it('puts deadlines in the future', () => {
    expect(humanTime(later(HOUR + 45 * MINUTE), now)).toBe('29 Nov 10:56 UTC, in 1 h 45 min');
    expect(humanTime(later(30 * SECOND), now)).toBe('29 Nov 09:12 UTC, in under 1 min');
    expect(humanTime(later(7 * DAY), now)).toBe('6 Dec 09:11 UTC, in 7 d');
  });

  it('shows the year only when it is not now’s, in either direction', () => {
    const newYear = new Date('2027-01-01T00:05:00.000Z');
    expect(humanTime('2026-12-31T23:50:00.000Z', newYear)).toBe('31 Dec 2026 23:50 UTC, 15 min ago');
    expect(humanTime('2027-01-01T00:00:00.000Z', newYear)).toBe('1 Jan 00:00 UTC, 5 min ago');
    expect(humanTime('2028-01-02T09:00:00.000Z', newYear)).toBe('2 Jan 2028 09:00 UTC, in 366 d');
  });

  it('reads an instant written with an offset in UTC', () => {
    expect(humanTime('2026-11-29T10:59:00+02:00', now)).toBe('29 Nov 08:59 UTC, 12 min ago');
  });

  it('shows a value that is not an instant as it is', () => {
    expect(humanTime('?', now)).toBe('?');
    expect(humanTime('', now)).toBe('');
  });
});

describe('spans', () => {
  it('are the same forwards and backwards', () => {
    expect(humanDuration(-(HOUR + 45 * MINUTE))).toBe('1 h 45 min');
    expect(humanDuration(HOUR + 45 * MINUTE)).toBe('1 h 45 min');
    expect(humanDuration(0)).toBe('under 1 min');
    expect(humanDuration(2 * DAY)).toBe('2 d');
  });
});
