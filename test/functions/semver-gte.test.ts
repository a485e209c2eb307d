import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gte } from '../../functions/adapters/semver-gte.ts';

// The real one, which the X-Ray SDK depends on (it has no types of its own).
const semver = createRequire(import.meta.url)('semver') as { gte(a: string, b: string): boolean };

describe("the bundles' semver", () => {
  it('compares release versions as semver does', () => {
    const version = fc
      .tuple(fc.nat(30), fc.nat(30), fc.nat(30))
      .map(([major, minor, patch]) => `${major}.${minor}.${patch}`);
    fc.assert(
      fc.property(version, version, (a, b) => {
        expect(gte(a, b)).toBe(semver.gte(a, b));
      }),
      { numRuns: 2000 },
    );
    expect(gte(process.versions.node, '8.0.0')).toBe(true);
    expect(gte('2.1000.0', '2.999.9')).toBe(true);
    expect(gte('v24.1.0', '24.10.0')).toBe(false);
  });
});
