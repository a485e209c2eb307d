/**
 * The anchor half of the auditor's check: walks every anchor in the bucket from the first (each
 * signature, each link, the windows each covers) and gives what they hold for each incident, so
 * the chain check can prove each incident's current head consistent with its last anchored head.
 * Format 1 digests (older tables) are read too: the newest one must be genuine (sealed with the
 * ledger's HMAC key), and it holds the heads of chains no signed anchor holds yet.
 */
import type { KeyObject } from 'node:crypto';
import type { AnchoredHistory, AnchorProblem, TableLog } from '../domain/anchor.ts';
import { anchoredHistory, anchorHash, digestIsGenuine, walkAnchors } from '../domain/anchor.ts';
import type { AnchoredHead, ChainItem, Sealer } from '../domain/ledger.ts';
import { entryLeaf } from '../domain/ledger.ts';
import type { AnchorStore } from '../domain/ports.ts';

/** What the walk over the anchors found. */
export interface AnchorLogVerification {
  /** How many signed anchors are in the bucket. */
  readonly anchors: number;
  /** The newest genuine anchor, which every later check is against. */
  readonly last?: { readonly key: string; readonly number: number; readonly createdAt: string };
  /** The newest format 1 digest, and whether its seal is the ledger key's. */
  readonly digest?: { readonly key: string; readonly createdAt: string; readonly genuine: boolean };
  readonly problems: readonly AnchorProblem[];
}

/** The walk's report, and what the anchors hold per incident. */
export interface AnchorWalkResult {
  readonly report: AnchorLogVerification;
  readonly history: AnchoredHistory;
  /** Each incident's head as the last anchor (or, where none holds it, the newest digest) has it. */
  readonly anchoredHeads: ReadonlyMap<string, AnchoredHead>;
}

/** Reads every anchor and walks them. */
export async function verifyAnchorLog(
  store: AnchorStore,
  publicKey: KeyObject | undefined,
  sealer: Pick<Sealer, 'verify'>,
  onProgress?: (done: number, total: number) => void,
): Promise<AnchorWalkResult> {
  const [stored, digests] = await Promise.all([store.all(onProgress), store.digests()]);
  const newestDigestKey = [...digests.keys()].at(-1);
  const newestDigest = newestDigestKey ? digests.get(newestDigestKey) : undefined;
  const digestGenuine = newestDigest ? await digestIsGenuine(newestDigest, sealer).catch(() => false) : false;
  const anchoredHeads = new Map<string, AnchoredHead>();
  if (newestDigest && digestGenuine) {
    for (const h of newestDigest.heads)
      anchoredHeads.set(h.incidentId, { seq: h.seq, hash: h.hash, anchoredAt: newestDigest.createdAt });
  }
  const digest =
    newestDigestKey && newestDigest
      ? { key: newestDigestKey, createdAt: newestDigest.createdAt, genuine: digestGenuine }
      : undefined;
  if (stored.length > 0 && !publicKey) {
    throw new Error('Checking the signed anchors needs the ledger’s public key (--public-key)');
  }
  const legacy = new Map([...digests].map(([key, d]) => [key, anchorHash(d)]));
  const walk = publicKey ? walkAnchors(stored, publicKey, legacy) : { anchors: [], problems: [] };
  const history = anchoredHistory(walk.anchors);
  for (const [incidentId, { head, at }] of history.last)
    anchoredHeads.set(incidentId, { seq: head.seq, hash: head.hash, anchoredAt: at });
  const last = walk.anchors.at(-1);
  return {
    report: {
      anchors: stored.length,
      ...(last
        ? { last: { key: last.key, number: last.anchor.number, createdAt: last.anchor.createdAt } }
        : {}),
      ...(digest ? { digest } : {}),
      problems: walk.problems,
    },
    history,
    anchoredHeads,
  };
}

/**
 * The table's side of an incident for {@link checkAnchoredHeads}: each entry's leaf in log order
 * (format 3 items flattened, format 1 and 2 entries as they are stored), and the signed head each
 * format 3 item carries. Items are taken in seq order; what is wrong with their order or content
 * the chain check names.
 */
export function tableLogOf(items: readonly ChainItem[]): TableLog {
  const sorted = [...items].sort((a, b) => a.seq - b.seq);
  const leaves: Buffer[] = [];
  try {
    // The stored entries themselves, so the leaves the chain check hashed are found again.
    for (const item of sorted) {
      if (item.format !== 3) leaves.push(entryLeaf(item));
      else for (const e of Array.isArray(item.entries) ? item.entries : []) leaves.push(entryLeaf(e));
    }
  } catch {
    // An entry that is not JSON: the chain check names it; the tree stops short of it.
  }
  const heads = sorted.flatMap((item) =>
    item.format === 3 && item.head ? [{ seq: item.seq, head: item.head }] : [],
  );
  return { leaves, heads };
}
