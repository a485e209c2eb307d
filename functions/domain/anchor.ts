/**
 * Anchors: a digest of every chain's head (incident, seq, hash), written outside the ledger table
 * — to an S3 bucket with Object Lock on AWS — on a schedule and whenever an incident closes. The
 * chain and its seals show any entry edited, forged, moved or removed from the middle; only a
 * digest kept where a writer of the table cannot reach shows that a chain was cut short. Each
 * digest names the one before it and is sealed like a ledger entry, so a digest put in by someone
 * without the key is rejected too.
 */
import canonicalize from 'canonicalize';
import { sha256Hex } from './json.ts';
import type { ChainHead, Seal, Sealer } from './ledger.ts';

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

export async function makeDigest(
  heads: readonly AnchoredChain[],
  createdAt: string,
  reason: string,
  previous: { readonly key: string; readonly digest: AnchorDigest } | undefined,
  sealer: Sealer,
): Promise<AnchorDigest> {
  const body = {
    format: 1 as const,
    createdAt,
    reason,
    heads: [...heads].sort((a, b) => a.incidentId.localeCompare(b.incidentId)),
    ...(previous ? { previous: { key: previous.key, hash: previous.digest.hash } } : {}),
  };
  const hash = digestHash(body);
  return { ...body, hash, seal: await sealer.seal(hash) };
}

/** Whether a digest is as Casebook wrote it: its hash matches and the seal is Casebook's. */
export async function digestIsGenuine(
  digest: AnchorDigest,
  sealer: Pick<Sealer, 'verify'>,
): Promise<boolean> {
  const { hash, seal, ...body } = digest;
  return digestHash(body) === hash && (await sealer.verify(hash, seal));
}

/** The object key of a digest: sortable by time, unique. */
export function digestKey(createdAt: string, hash: string): string {
  return `anchors/${createdAt.replace(/[:.]/g, '-')}-${hash.slice(0, 12)}.json`;
}
