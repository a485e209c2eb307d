import { describe, expect, it } from 'vitest';
import { sameSource } from '../../functions/domain/correlation.ts';

describe('sameSource', () => {
  it('tells keys of one source by the name before the first colon', () => {
    expect(sameSource('alertmanager:abc', 'alertmanager:def')).toBe(true);
    expect(sameSource('alertmanager:abc', 'pagerduty:abc')).toBe(false);
    // A name that only begins like another is another source.
    expect(sameSource('alert:abc', 'alertmanager:abc')).toBe(false);
    // A key without a source name matches nothing.
    expect(sameSource('abc', 'abc')).toBe(false);
    expect(sameSource('alertmanager:abc', '')).toBe(false);
  });
});
