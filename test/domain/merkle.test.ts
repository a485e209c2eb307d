import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  MerkleFrontier,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '../../functions/domain/merkle.ts';

interface Vectors {
  leafInputs: string[];
  leafHashes: string[];
  roots: string[];
  inclusion: { index: number; size: number; proof: string[] }[];
  consistency: { size1: number; size2: number; proof: string[] }[];
}
const vectors = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/merkle/vectors.json'), 'utf8'),
) as Vectors;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Buffer.from(h, 'hex');
const leaves = vectors.leafInputs.map((input) => leafHash(bytes(input)));

describe('RFC 6962 hashing, against the transparency-dev known answers', () => {
  it('hashes each leaf as SHA-256(0x00 ‖ data)', () => {
    expect(leaves.map(hex)).toEqual(vectors.leafHashes);
  });

  it('gives the root of every tree of the first n leaves, the empty tree included', () => {
    const roots = vectors.roots.map((_, n) => hex(rootOf(leaves.slice(0, n))));
    expect(roots).toEqual(vectors.roots);
    expect(hex(EMPTY_ROOT)).toBe(vectors.roots[0]);
  });

  it('makes the reference inclusion proofs, and each checks against its root (RFC 9162 §2.1.3.2)', () => {
    for (const { index, size, proof } of vectors.inclusion) {
      const made = inclusionProof(leaves.slice(0, size), index);
      expect(made.map(hex), `leaf ${index} of ${size}`).toEqual(proof);
      expect(
        verifyInclusion(leaves[index] as Buffer, index, size, made, bytes(vectors.roots[size] as string)),
      ).toBe(true);
    }
  });

  it('makes the reference consistency proofs, and each checks (RFC 9162 §2.1.4.2)', () => {
    for (const { size1, size2, proof } of vectors.consistency) {
      const made = consistencyProof(leaves.slice(0, size2), size1);
      expect(made.map(hex), `${size1} → ${size2}`).toEqual(proof);
      const [root1, root2] = [bytes(vectors.roots[size1] as string), bytes(vectors.roots[size2] as string)];
      expect(verifyConsistency(size1, size2, root1, root2, made)).toBe(true);
    }
  });
});

const trees = fc.integer({ min: 1, max: 130 }).chain((size) =>
  fc.record({
    leaves: fc.constant(Array.from({ length: size }, (_, i) => leafHash(Buffer.from(`entry ${i}`)))),
    a: fc.integer({ min: 0, max: size - 1 }),
    b: fc.integer({ min: 0, max: size - 1 }),
  }),
);

describe('proofs of any tree', () => {
  it('prove every leaf in, and fail for another leaf, place, size or root', () => {
    fc.assert(
      fc.property(trees, ({ leaves: all, a, b }) => {
        const root = rootOf(all);
        const proof = inclusionProof(all, a);
        expect(verifyInclusion(all[a] as Buffer, a, all.length, proof, root)).toBe(true);
        if (a !== b) expect(verifyInclusion(all[b] as Buffer, a, all.length, proof, root)).toBe(false);
        const grown = [...all, leafHash(Buffer.from('one more'))];
        expect(verifyInclusion(all[a] as Buffer, a, grown.length, proof, rootOf(grown))).toBe(false);
        expect(verifyInclusion(all[a] as Buffer, a, all.length, proof, leafHash(Buffer.from('x')))).toBe(
          false,
        );
        if (proof.length > 0) {
          const bent = proof.map((p, i) => (i === 0 ? leafHash(p) : p));
          expect(verifyInclusion(all[a] as Buffer, a, all.length, bent, root)).toBe(false);
        }
      }),
    );
  });

  it('prove every prefix consistent, and no rewritten one', () => {
    fc.assert(
      fc.property(trees, ({ leaves: all, a }) => {
        const oldSize = a + 1;
        const oldRoot = rootOf(all.slice(0, oldSize));
        const proof = consistencyProof(all, oldSize);
        expect(verifyConsistency(oldSize, all.length, oldRoot, rootOf(all), proof)).toBe(true);
        const rewritten = all.map((leaf, i) => (i === a ? leafHash(Buffer.from('rewritten')) : leaf));
        expect(
          verifyConsistency(
            oldSize,
            all.length,
            oldRoot,
            rootOf(rewritten),
            consistencyProof(rewritten, oldSize),
          ),
        ).toBe(false);
      }),
    );
  });

  it('refuse nonsense sizes instead of answering', () => {
    const root = rootOf(leaves);
    expect(verifyInclusion(leaves[0] as Buffer, -1, 8, [], root)).toBe(false);
    expect(verifyInclusion(leaves[0] as Buffer, 8, 8, [], root)).toBe(false);
    expect(verifyConsistency(0, 8, EMPTY_ROOT, root, [])).toBe(false);
    expect(verifyConsistency(9, 8, root, root, [])).toBe(false);
    expect(verifyConsistency(8, 8, root, root, [root])).toBe(false);
    expect(() => inclusionProof(leaves, 8)).toThrow(RangeError);
    expect(() => consistencyProof(leaves, 0)).toThrow(RangeError);
  });
});

describe('MerkleFrontier', () => {
  it('gives the same root as the whole tree after every append, and survives being written down', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 40 }), (before, batch) => {
        const all = Array.from({ length: before + batch }, (_, i) => leafHash(Buffer.from(String(i))));
        const stored = MerkleFrontier.of(all.slice(0, before));
        const again = MerkleFrontier.from(stored.size, stored.toJSON());
        for (const leaf of all.slice(before)) again.append(leaf);
        expect(again.size).toBe(all.length);
        expect(hex(again.root())).toBe(hex(rootOf(all)));
      }),
    );
  });

  it('refuses a frontier whose hashes do not fit its size', () => {
    const five = MerkleFrontier.of(leaves.slice(0, 5)).toJSON();
    expect(five).toHaveLength(2);
    expect(() => MerkleFrontier.from(6, five.slice(0, 1))).toThrow(/2 subtree roots/);
    expect(() => MerkleFrontier.from(5, [five[0] as string, 'zz'])).toThrow(RangeError);
  });
});
