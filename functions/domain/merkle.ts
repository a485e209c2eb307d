/**
 * The Merkle tree of a transparency log as RFC 6962 §2.1 defines it (and RFC 9162 §2.1 keeps),
 * so that anyone checks Casebook's proofs with the standard algorithms: a leaf is
 * `SHA-256(0x00 ‖ data)`, a node `SHA-256(0x01 ‖ left ‖ right)`, a tree of n > 1 leaves splits at
 * the largest power of two below n, and the empty tree's root is `SHA-256("")`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

export function leafHash(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** The root of the tree with no leaves. */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/** The largest power of two smaller than n (n ≥ 2): where a tree of n leaves splits. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The root over leaf hashes, in order. */
export function rootOf(leaves: readonly Uint8Array[]): Buffer {
  return MerkleFrontier.of(leaves).root();
}

/** RFC 6962 §2.1.1 PATH(m, D[n]): the audit path of leaf `index` (0-based) in the tree of `leaves`. */
export function inclusionProof(leaves: readonly Uint8Array[], index: number): Buffer[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new RangeError(`No leaf ${index} in a tree of ${leaves.length}`);
  }
  const path = (from: number, to: number, m: number): Buffer[] => {
    const n = to - from;
    if (n === 1) return [];
    const k = splitPoint(n);
    return m < k
      ? [...path(from, from + k, m), rootOf(leaves.slice(from + k, to))]
      : [...path(from + k, to, m - k), rootOf(leaves.slice(from, from + k))];
  };
  return path(0, leaves.length, index);
}

/**
 * RFC 6962 §2.1.2 PROOF(m, D[n]): proves that the tree of the first `oldSize` leaves is a prefix of
 * the tree of all of `leaves`.
 */
export function consistencyProof(leaves: readonly Uint8Array[], oldSize: number): Buffer[] {
  if (!Number.isInteger(oldSize) || oldSize < 1 || oldSize > leaves.length) {
    throw new RangeError(`No consistency proof from size ${oldSize} to ${leaves.length}`);
  }
  const subproof = (m: number, from: number, to: number, whole: boolean): Buffer[] => {
    const n = to - from;
    if (m === n) return whole ? [] : [rootOf(leaves.slice(from, to))];
    const k = splitPoint(n);
    return m <= k
      ? [...subproof(m, from, from + k, whole), rootOf(leaves.slice(from + k, to))]
      : [...subproof(m - k, from + k, to, false), rootOf(leaves.slice(from, from + k))];
  };
  return subproof(oldSize, 0, leaves.length, true);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Shifts both right until the first's lowest bit is set or it is 0 (RFC 9162's "right-shift equally"). */
function shiftWhileEven(fn: bigint, sn: bigint): [bigint, bigint] {
  while ((fn & 1n) === 0n && fn !== 0n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  return [fn, sn];
}

/** RFC 9162 §2.1.3.2: whether `proof` shows the leaf at `index` is in the tree of `size` with `root`. */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false;
  let fn = BigInt(index);
  let sn = BigInt(size - 1);
  let r: Uint8Array = leaf;
  for (const p of proof) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHash(p, r);
      if ((fn & 1n) === 0n) [fn, sn] = shiftWhileEven(fn, sn);
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && same(r, root);
}

/**
 * RFC 9162 §2.1.4.2: whether `proof` shows the tree of `oldSize` with `oldRoot` is a prefix of the
 * tree of `newSize` with `newRoot`. Equal sizes are consistent only with an empty proof and equal
 * roots.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isInteger(oldSize) || !Number.isInteger(newSize) || oldSize < 1 || oldSize > newSize) {
    return false;
  }
  if (oldSize === newSize) return proof.length === 0 && same(oldRoot, newRoot);
  if (proof.length === 0) return false;
  const path = (oldSize & (oldSize - 1)) === 0 ? [oldRoot, ...proof] : [...proof];
  let fn = BigInt(oldSize - 1);
  let sn = BigInt(newSize - 1);
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr: Uint8Array = path[0] as Uint8Array;
  let sr: Uint8Array = fr;
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if ((fn & 1n) === 0n) [fn, sn] = shiftWhileEven(fn, sn);
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && same(fr, oldRoot) && same(sr, newRoot);
}

/**
 * The right edge of a tree ("compact range" from leaf 0): the roots of its perfect subtrees, largest
 * first — one per set bit of the size. It gives the root after appending leaves without reading the
 * leaves before them, so a batch's chain item can carry the whole tree's root and the state the
 * next batch starts from.
 */
export class MerkleFrontier {
  private readonly hashes: Buffer[];
  private count: number;

  private constructor(size: number, hashes: Buffer[]) {
    this.count = size;
    this.hashes = hashes;
  }

  static empty(): MerkleFrontier {
    return new MerkleFrontier(0, []);
  }

  static of(leaves: readonly Uint8Array[]): MerkleFrontier {
    const frontier = MerkleFrontier.empty();
    for (const leaf of leaves) frontier.append(leaf);
    return frontier;
  }

  /** Rebuilds a frontier from a tree size and its subtree roots (hex), as {@link toJSON} wrote them. */
  static from(size: number, hashes: readonly string[]): MerkleFrontier {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`A tree size of ${size}`);
    const expected = size.toString(2).replaceAll('0', '').length;
    if (hashes.length !== expected || !hashes.every((h) => /^[0-9a-f]{64}$/.test(h))) {
      throw new RangeError(`A tree of ${size} leaves has ${expected} subtree roots of 64 hex digits`);
    }
    return new MerkleFrontier(
      size,
      hashes.map((h) => Buffer.from(h, 'hex')),
    );
  }

  get size(): number {
    return this.count;
  }

  append(leaf: Uint8Array): this {
    let hash: Buffer = Buffer.from(leaf);
    // Each trailing set bit of the old size is a subtree of the new leaf's height to merge with.
    for (let n = this.count; n & 1; n >>= 1) hash = nodeHash(this.hashes.pop() as Buffer, hash);
    this.hashes.push(hash);
    this.count++;
    return this;
  }

  root(): Buffer {
    if (this.hashes.length === 0) return Buffer.from(EMPTY_ROOT);
    let root = this.hashes.at(-1) as Buffer;
    for (let i = this.hashes.length - 2; i >= 0; i--) root = nodeHash(this.hashes[i] as Buffer, root);
    return root;
  }

  clone(): MerkleFrontier {
    return new MerkleFrontier(this.count, [...this.hashes]);
  }

  toJSON(): string[] {
    return this.hashes.map((h) => h.toString('hex'));
  }
}
