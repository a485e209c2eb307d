import { describe, expect, it } from 'vitest';
import { isUtcInstant, parseRfc3339 } from '../../functions/domain/time.ts';

describe('RFC 3339 instants from outside', () => {
  it('reads real instants as UTC ISO 8601 with milliseconds', () => {
    expect(parseRfc3339('2026-11-22T10:23:45.123456789Z')).toBe('2026-11-22T10:23:45.123Z');
    expect(parseRfc3339('2026-11-22t10:23:45z')).toBe('2026-11-22T10:23:45.000Z');
    expect(parseRfc3339('2026-11-22T10:23:45.5+02:30')).toBe('2026-11-22T07:53:45.500Z');
    expect(parseRfc3339('2028-02-29T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
    expect(parseRfc3339('2000-02-29T00:00:00Z')).toBe('2000-02-29T00:00:00.000Z');
    // Go's zero time, which Alertmanager sends for an alert that has not ended.
    expect(parseRfc3339('0001-01-01T00:00:00Z')).toBe('0001-01-01T00:00:00.000Z');
  });

  it('refuses dates and times that do not exist instead of rolling them over', () => {
    for (const value of [
      '2026-02-30T10:00:00Z',
      '2026-02-29T10:00:00Z',
      '2100-02-29T10:00:00Z',
      '2026-04-31T10:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-01-00T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T23:60:00Z',
      '2026-12-31T23:59:60Z',
      '2026-01-01T00:00:00+24:00',
      '2026-01-01T00:00:00.1234567890Z',
      '2026-01-01 00:00:00Z',
      '2026-01-01T00:00:00',
    ]) {
      expect(parseRfc3339(value), value).toBeUndefined();
    }
  });

  it('knows its own instants, and only those', () => {
    expect(isUtcInstant('2026-11-22T10:23:45.123Z')).toBe(true);
    expect(isUtcInstant('2026-02-30T10:00:00.000Z')).toBe(false);
    expect(isUtcInstant('2026-11-22T10:23:45Z')).toBe(false);
    expect(isUtcInstant('not-a-date')).toBe(false);
  });
});
