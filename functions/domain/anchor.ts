/**
 * Anchors: a signed log of incident heads, written outside the ledger table — to an S3 bucket with
 * Object Lock on AWS — on a schedule and whenever an incident closes. Each anchor holds the heads
 * of the incidents whose logs changed since the anchor before it (found through change marks, one
 * per incident per window, so an anchor reads what changed, never every incident there is), the
 * windows it covers, and the previous anchor's key and hash. It is signed as a checkpoint of its
 * own with the key that signs tree heads: origin {@link ANCHOR_ORIGIN}, size = its number, root =
 * the Merkle root over its header and its heads. A writer of the table, even one holding the
 * signing key, cannot take back what an anchor already holds: a head it re-signed after rewriting
 * entries no longer extends the anchored one, and a second signed head of a size already anchored
 * is a fork.
 *
 * Format 1 digests (every chain head, sealed with the HMAC key) are still read for old tables.
 */
import type { KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';
import * as z from 'zod';
import type { HeadSigner, SignedHead } from './checkpoint.ts';
import { signHead, verifyHeadSignature } from './checkpoint.ts';
import { sha256Hex } from './json.ts';
import type { ChainHead, Seal, Sealer } from './ledger.ts';
import { consistencyProof, leafHash, MerkleFrontier, verifyConsistency } from './merkle.ts';

// ---------------------------------------------------------------------------------------------
// Format 1: a sealed digest of every chain head (read only).

export interface AnchoredChain extends ChainHead {
  readonly incidentId: string;
}

export interface AnchorDigest {
  readonly format: 1;
  readonly createdAt: string;
  /** `schedule`, `closed INC-…`, or `manual (<who>)`. */
  readonly reason: string;
  /** Sorted by incident id. */
  readonly heads: readonly AnchoredChain[];
  /** The digest this one follows: its object key and hash. */
  readonly previous?: { readonly key: string; readonly hash: string };
  readonly hash: string;
  readonly seal: Seal;
}

function digestHash(digest: Omit<AnchorDigest, 'hash' | 'seal'>): string {
  return sha256Hex(canonicalize(digest) ?? '');
}

/** Whether a format 1 digest is as Casebook wrote it: its hash matches and the seal is Casebook's. */
export async function digestIsGenuine(
  digest: AnchorDigest,
  sealer: Pick<Sealer, 'verify'>,
): Promise<boolean> {
  const { hash, seal, ...body } = digest;
  return digestHash(body) === hash && (await sealer.verify(hash, seal));
}

// ---------------------------------------------------------------------------------------------
// Format 2: signed anchors over the heads that changed.

/** The origin line of the anchors' own checkpoints. */
export const ANCHOR_ORIGIN = 'casebook/anchors';

/** Where format 2 anchors are kept in the bucket (format 1 digests are under `anchors/`). */
export const ANCHOR_PREFIX = 'signed-anchors/';

/** The object key of anchor `number`: zero-padded, so keys sort as the anchors follow each other. */
export function anchorKey(number: number): string {
  return `${ANCHOR_PREFIX}${String(number).padStart(12, '0')}.json`;
}

/** How long a change window is: commits mark their incident once per window, anchors read windows. */
export const CHANGE_WINDOW_SECONDS = 900;

/** The change window a moment falls in: whole windows since the epoch. */
export function windowOf(at: Date, seconds: number = CHANGE_WINDOW_SECONDS): number {
  return Math.floor(at.getTime() / (seconds * 1000));
}

/** When a window begins (ISO time), for messages people read. */
export function windowStart(window: number, seconds: number = CHANGE_WINDOW_SECONDS): string {
  return new Date(window * seconds * 1000).toISOString();
}

/** One incident's head as an anchor holds it. */
export interface AnchoredIncidentHead {
  readonly incidentId: string;
  /** The chain item's seq and hash (every format has them). */
  readonly seq: number;
  readonly hash: string;
  /** The signed tree head after that item (format 3 logs). */
  readonly head?: SignedHead;
}

/** The windows an anchor read the change marks of, `from` to `to` inclusive. */
export interface AnchorWindows {
  readonly seconds: number;
  /** 0 for an anchor that read every incident (the first, or one after a format 1 digest). */
  readonly from: number;
  readonly to: number;
}

/** A format 2 anchor as stored. */
export interface SignedAnchor {
  readonly format: 2;
  /** 1, 2, 3, … : the anchor log's size once this anchor is in it. */
  readonly number: number;
  readonly createdAt: string;
  readonly reason: string;
  readonly windows: AnchorWindows;
  /** The anchor (or format 1 digest) this one follows: its object key and {@link anchorHash}. */
  readonly previous?: { readonly key: string; readonly hash: string };
  /** Sorted by incident id. */
  readonly heads: readonly AnchoredIncidentHead[];
  /** The anchor's checkpoint: origin {@link ANCHOR_ORIGIN}, size = number, root over header and heads. */
  readonly signed: SignedHead;
}

// Schemas are built at their first parse (z.lazy) and marked pure: built at import, they cost every
// cold start of every function importing this module, and a bundle now leaves out those its function
// never parses.
const hex64 = /* @__PURE__ */ z.lazy(() => z.string().regex(/^[0-9a-f]{64}$/));
const signedHeadSchema = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      origin: z.string().min(1),
      size: z.number().int().nonnegative(),
      root: hex64,
      signature: z.string(),
      keyId: z.string(),
    })
    .strict(),
);

/** What a stored anchor must look like to be read at all. */
export const signedAnchorSchema = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      format: z.literal(2),
      number: z.number().int().positive(),
      createdAt: z.string(),
      reason: z.string(),
      windows: z
        .object({
          seconds: z.number().int().positive(),
          from: z.number().int().nonnegative(),
          to: z.number().int(),
        })
        .strict(),
      previous: z.object({ key: z.string(), hash: hex64 }).strict().optional(),
      heads: z.array(
        z
          .object({
            incidentId: z.string(),
            seq: z.number().int().positive(),
            hash: hex64,
            head: signedHeadSchema.optional(),
          })
          .strict(),
      ),
      signed: signedHeadSchema,
    })
    .strict(),
);

const json = (value: unknown): Buffer => Buffer.from(canonicalize(value) ?? '', 'utf8');

/** The leaf of a head in an anchor's tree: RFC 6962's leaf hash of its canonical (RFC 8785) JSON. */
export function anchoredHeadLeaf(head: AnchoredIncidentHead): Buffer {
  return leafHash(json(head));
}

/**
 * The root an anchor signs: leaf 0 is its header (number, time, reason, windows, previous link),
 * leaves 1… its heads in order, so the signature covers the link and the windows as well as the
 * heads, and a head is proved in an anchor by an ordinary inclusion proof.
 */
export function anchorRoot(anchor: Omit<SignedAnchor, 'signed'>): string {
  const { heads, ...header } = anchor;
  const frontier = MerkleFrontier.empty().append(leafHash(json(header)));
  for (const head of heads) frontier.append(anchoredHeadLeaf(head));
  return frontier.root().toString('hex');
}

/** What the next anchor names this one by: SHA-256 of its canonical JSON, signature included. */
export function anchorHash(anchor: SignedAnchor | AnchorDigest): string {
  return sha256Hex(canonicalize(anchor) ?? '');
}

/** Builds and signs anchor `previous.number + 1` (1 without a format 2 anchor before it). */
export async function makeAnchor(
  input: {
    readonly createdAt: string;
    readonly reason: string;
    readonly windows: AnchorWindows;
    readonly heads: readonly AnchoredIncidentHead[];
    readonly previous?: { readonly key: string; readonly anchor: SignedAnchor | AnchorDigest };
  },
  signer: HeadSigner,
): Promise<SignedAnchor> {
  const previous = input.previous;
  const body = {
    format: 2 as const,
    number: previous?.anchor.format === 2 ? previous.anchor.number + 1 : 1,
    createdAt: input.createdAt,
    reason: input.reason,
    windows: input.windows,
    ...(previous ? { previous: { key: previous.key, hash: anchorHash(previous.anchor) } } : {}),
    heads: [...input.heads].sort((a, b) =>
      a.incidentId < b.incidentId ? -1 : a.incidentId > b.incidentId ? 1 : 0,
    ),
  };
  const signed = await signHead(signer, { origin: ANCHOR_ORIGIN, size: body.number, root: anchorRoot(body) });
  return { ...body, signed };
}

/** Why an anchor is not as Casebook wrote it, or undefined when it is. */
export function anchorDefect(anchor: SignedAnchor, publicKey: KeyObject): string | undefined {
  const { signed, ...body } = anchor;
  if (signed.origin !== ANCHOR_ORIGIN || signed.size !== anchor.number)
    return `its checkpoint is not anchor ${anchor.number}'s (origin ${signed.origin}, size ${signed.size})`;
  if (anchorRoot(body) !== signed.root) return 'its content does not match the root it signed';
  if (!verifyHeadSignature(signed, publicKey)) return 'its signature is not the ledger signing key’s';
  for (const h of anchor.heads) {
    if (h.head && !verifyHeadSignature(h.head, publicKey))
      return `the head of ${h.incidentId} it holds is not signed by the ledger signing key`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Walking the anchors.

/** What is wrong with the anchor log. */
export interface AnchorProblem {
  /** The object key the problem is at. */
  readonly key: string;
  readonly problem: 'anchor-missing' | 'anchor-reordered' | 'anchor-replaced' | 'anchor-gap';
  readonly detail: string;
}

/** An object found under the anchor prefix: a parsed anchor, or text that is not one. */
export type StoredAnchor =
  | { readonly key: string; readonly anchor: SignedAnchor }
  | { readonly key: string; readonly unreadable: string };

/** The anchors that passed the walk, in order, and what it found wrong. */
export interface AnchorWalk {
  /** Genuine anchors (signed, in their place), oldest first. */
  readonly anchors: readonly { readonly key: string; readonly anchor: SignedAnchor }[];
  readonly problems: readonly AnchorProblem[];
}

/**
 * Walks every anchor from the first (`stored` in key order): each one's signature, its place
 * (its key, its number), its link to the one before (key and hash) and the windows it covers.
 * `legacy` are the format 1 digests by key (hash): the first anchor may link to the last of them.
 * `keyExists` says whether an object is in the bucket at all (an anchor that links to a key that
 * is not there names a missing anchor).
 */
export function walkAnchors(
  stored: readonly StoredAnchor[],
  publicKey: KeyObject,
  legacy: ReadonlyMap<string, string> = new Map(),
): AnchorWalk {
  const problems: AnchorProblem[] = [];
  const named = new Set<string>();
  const name = (problem: AnchorProblem) => {
    const id = `${problem.key} ${problem.problem}`;
    if (named.has(id)) return;
    named.add(id);
    problems.push(problem);
  };
  const anchors: { key: string; anchor: SignedAnchor }[] = [];
  const keys = new Set(stored.map((s) => s.key));
  const byHash = new Map<string, { key: string; anchor: SignedAnchor }>();
  for (const s of stored) if ('anchor' in s) byHash.set(anchorHash(s.anchor), s);
  const missing = (key: string) => !keys.has(key) && !legacy.has(key);
  // The object before, whatever it holds: the next anchor links to its key.
  let before: { key: string; anchor?: SignedAnchor } | undefined;
  for (const s of stored) {
    if (!('anchor' in s)) {
      name({
        key: s.key,
        problem: 'anchor-replaced',
        detail: `not an anchor Casebook wrote: ${s.unreadable}`,
      });
      before = { key: s.key };
      continue;
    }
    const { key, anchor } = s;
    const defect = anchorDefect(anchor, publicKey);
    if (defect) {
      name({
        key,
        problem: 'anchor-replaced',
        detail: `anchor ${anchor.number} was edited or replaced: ${defect}`,
      });
      before = { key, anchor };
      continue;
    }
    const inPlace = key === anchorKey(anchor.number);
    if (!inPlace) {
      name({
        key,
        problem: 'anchor-reordered',
        detail: `anchor ${anchor.number} is stored where anchor ${numberOfKey(key) ?? '?'} belongs (its place is ${anchorKey(anchor.number)})`,
      });
    }
    const link = anchor.previous;
    if (!before) {
      if (link && missing(link.key)) {
        name({
          key,
          problem: 'anchor-missing',
          detail: `anchor ${anchor.number} follows ${link.key}, which is not in the bucket`,
        });
      } else if (link && legacy.has(link.key) && legacy.get(link.key) !== link.hash) {
        name({
          key,
          problem: 'anchor-replaced',
          detail: `the digest ${link.key} is not the one anchor ${anchor.number} follows (its hash differs)`,
        });
      } else if (anchor.number !== 1 && !(link && legacy.has(link.key))) {
        name({
          key,
          problem: 'anchor-missing',
          detail: `the first anchor in the bucket is number ${anchor.number}: anchors 1–${anchor.number - 1} are missing`,
        });
      }
    } else if (inPlace) {
      const linked = link ? byHash.get(link.hash) : undefined;
      if (!link) {
        name({
          key,
          problem: 'anchor-reordered',
          detail: `anchor ${anchor.number} names no anchor before it, yet follows ${before.key}`,
        });
      } else if (link.key !== before.key) {
        name(
          missing(link.key)
            ? {
                key,
                problem: 'anchor-missing',
                detail: `anchor ${anchor.number} follows ${link.key}, which is not in the bucket`,
              }
            : {
                key,
                problem: 'anchor-reordered',
                detail: `anchor ${anchor.number} follows ${link.key}, not ${before.key} before it`,
              },
        );
      } else if (!before.anchor || link.hash !== anchorHash(before.anchor)) {
        // The anchor it links to is somewhere else (moved, named there), or nowhere: replaced.
        if (!linked) {
          name({
            key: before.key,
            problem: 'anchor-replaced',
            detail: `${before.key} is not the anchor ${anchor.number} follows (its hash differs): it was replaced`,
          });
        }
      } else if (anchor.number !== before.anchor.number + 1) {
        name({
          key,
          problem: anchor.number > before.anchor.number + 1 ? 'anchor-missing' : 'anchor-reordered',
          detail: `anchor ${anchor.number} follows anchor ${before.anchor.number}`,
        });
      }
      // A gap behind a missing or misplaced anchor is that anchor's problem, named above.
      const prior =
        link && (link.key === before.key || linked) ? (linked?.anchor ?? before.anchor) : undefined;
      if (prior && anchor.windows.from > prior.windows.to) {
        const seconds = anchor.windows.seconds;
        name({
          key,
          problem: 'anchor-gap',
          detail: `no anchor read the changes of ${windowStart(prior.windows.to + 1, seconds)} to ${windowStart(anchor.windows.from, seconds)}: anchor ${prior.number} ends at the window before, anchor ${anchor.number} begins after it`,
        });
      }
    }
    if (inPlace) anchors.push({ key, anchor });
    before = { key, anchor };
  }
  return { anchors, problems };
}

function numberOfKey(key: string): number | undefined {
  const m = /^signed-anchors\/(\d{12})\.json$/.exec(key);
  return m ? Number(m[1]) : undefined;
}

/** The last head each incident was anchored with, and every signed head the anchors hold. */
export interface AnchoredHistory {
  readonly last: ReadonlyMap<
    string,
    { readonly head: AnchoredIncidentHead; readonly anchor: number; readonly at: string }
  >;
  readonly signed: ReadonlyMap<string, readonly { readonly head: SignedHead; readonly anchor: number }[]>;
}

/** Gathers, from the anchors in order, each incident's anchored heads. */
export function anchoredHistory(anchors: readonly { readonly anchor: SignedAnchor }[]): AnchoredHistory {
  const last = new Map<string, { head: AnchoredIncidentHead; anchor: number; at: string }>();
  const signed = new Map<string, { head: SignedHead; anchor: number }[]>();
  for (const { anchor } of anchors) {
    for (const head of anchor.heads) {
      last.set(head.incidentId, { head, anchor: anchor.number, at: anchor.createdAt });
      if (head.head) {
        const list = signed.get(head.incidentId) ?? [];
        list.push({ head: head.head, anchor: anchor.number });
        signed.set(head.incidentId, list);
      }
    }
  }
  return { last, signed };
}

// ---------------------------------------------------------------------------------------------
// An incident's log against what the anchors hold.

/** What the anchors show about one incident's log. */
export interface AnchoredHeadProblem {
  /** The log place (1-based) or tree size the problem is at. */
  readonly seq: number;
  readonly problem: 'rewritten' | 'forked-head' | 'inconsistent' | 'truncated';
  readonly detail: string;
}

/** The table's side of one incident: its leaves in log order and the signed heads its items carry. */
export interface TableLog {
  /** RFC 6962 leaf hashes of every entry, in log order. */
  readonly leaves: readonly Uint8Array[];
  /** Each chain item's signed head, by the item's seq (format 3 items only). */
  readonly heads: readonly { readonly seq: number; readonly head: SignedHead }[];
}

/**
 * Checks one incident's log against its anchored heads: a fork (two heads of one size, both signed
 * with the ledger key, with different roots — in the anchors, in the table, or one in each); the
 * last anchored head against the table's leaves (fewer leaves: cut short; another root over the
 * same leaves: rewritten, and re-signed when the table's heads carry the ledger key's signatures);
 * and a consistency proof, computed from the table's leaves, that the table's current signed head
 * extends the last anchored one.
 */
export function checkAnchoredHeads(
  incidentId: string,
  table: TableLog,
  anchored: readonly { readonly head: SignedHead; readonly anchor: number }[],
  publicKey: KeyObject,
): AnchoredHeadProblem[] {
  const problems: AnchoredHeadProblem[] = [];
  const valid = (h: SignedHead) => h.origin.endsWith(`/${incidentId}`) && verifyHeadSignature(h, publicKey);
  const tableHeads = table.heads.filter((h) => valid(h.head));

  // 1. Forks: every validly signed head, grouped by size.
  const bySize = new Map<number, { root: string; where: string }[]>();
  const note = (head: SignedHead, where: string) => {
    const list = bySize.get(head.size) ?? [];
    if (!list.some((h) => h.root === head.root)) list.push({ root: head.root, where });
    bySize.set(head.size, list);
  };
  for (const a of anchored) if (valid(a.head)) note(a.head, `anchor ${a.anchor}`);
  for (const t of tableHeads) note(t.head, `the table's item at seq ${t.seq}`);
  for (const [size, roots] of [...bySize].sort((a, b) => a[0] - b[0])) {
    if (roots.length < 2) continue;
    problems.push({
      seq: size,
      problem: 'forked-head',
      detail: `two heads of size ${size} signed with the ledger key, with different roots: ${roots
        .map((r) => `${r.root.slice(0, 12)}… in ${r.where}`)
        .join(', ')}`,
    });
  }

  // 2. The last anchored head against the table's leaves.
  const last = [...anchored].filter((a) => valid(a.head)).at(-1);
  if (!last) return problems;
  const { size, root } = last.head;
  const leaves = table.leaves;
  if (leaves.length < size) {
    problems.push({
      seq: leaves.length + 1,
      problem: 'truncated',
      detail: `anchor ${last.anchor} holds a head of ${size} entries; the table has ${leaves.length}`,
    });
    return problems;
  }
  const prefixRoot = MerkleFrontier.of(leaves.slice(0, size)).root().toString('hex');
  if (prefixRoot !== root) {
    const resigned = tableHeads.some((t) => t.head.size >= size);
    problems.push({
      seq: size,
      problem: 'rewritten',
      detail: `the table's first ${size} entries no longer hash to the root anchor ${last.anchor} holds for them${
        resigned
          ? '; the table’s heads are signed with the ledger key: the log was rewritten and re-signed'
          : ''
      }`,
    });
    return problems;
  }

  // 3. The table's current head extends the anchored one, proved as a third party would.
  const current = tableHeads.at(-1)?.head;
  if (!current || current.size < size) return problems;
  const proof = current.size === size ? [] : consistencyProof(leaves.slice(0, current.size), size);
  if (
    !verifyConsistency(size, current.size, Buffer.from(root, 'hex'), Buffer.from(current.root, 'hex'), proof)
  ) {
    problems.push({
      seq: current.size,
      problem: 'inconsistent',
      detail: `the table's signed head of ${current.size} entries does not extend the head of ${size} anchor ${last.anchor} holds`,
    });
  }
  return problems;
}
