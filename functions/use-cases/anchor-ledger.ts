/**
 * Use case: anchor the ledger — write a signed anchor of the incident heads that changed since the
 * last anchor where the table's writers cannot reach it (on a schedule, when an incident closes,
 * or on demand).
 *
 * Primary course:
 *  1. Find the last anchor: the newest one signed with the ledger signing key (anything else in
 *     the bucket is for verification to name, never to follow); else the newest format 1 digest.
 *  2. Find what changed: the change marks of each window from the one before the last anchor's
 *     last window to now (a commit that began in one window may end in the next); with no signed
 *     anchor yet, every incident once (the operational table's, and the digest's).
 *  3. Read each changed incident's head; drop the heads the anchors that read those windows already
 *     hold as they are.
 *  4. Sign the anchor (number, windows, heads, the last anchor's key and hash) and put it; when
 *     another run took that number meanwhile, start again from 1. Nothing new and an anchor
 *     already there: nothing is written.
 */
import type { AnchorDigest, AnchoredIncidentHead, AnchorWindows, SignedAnchor } from '../domain/anchor.ts';
import {
  ANCHOR_PREFIX,
  anchorDefect,
  anchorHash,
  CHANGE_WINDOW_SECONDS,
  makeAnchor,
  windowOf,
} from '../domain/anchor.ts';
import type { HeadSigner, SignedHead } from '../domain/checkpoint.ts';
import { ledgerPublicKey } from '../domain/checkpoint.ts';
import { ConcurrentChangeError } from '../domain/errors.ts';
import type { ChainHead } from '../domain/ledger.ts';
import type { AnchorStore, ChangeMarks, Clock, IncidentStore, Ledger } from '../domain/ports.ts';

export interface AnchorLedgerDeps {
  readonly incidents: Pick<IncidentStore, 'listIncidents'>;
  readonly ledger: Pick<Ledger, 'readHead'>;
  readonly anchors: AnchorStore;
  readonly changes: Pick<ChangeMarks, 'changedIn'>;
  readonly signer: HeadSigner;
  readonly clock: Clock;
  /** The change marks' window. @default CHANGE_WINDOW_SECONDS */
  readonly windowSeconds?: number;
}

export interface AnchorResult {
  /** The anchor written, or the last one when nothing changed. */
  readonly key: string;
  /** How many incident heads the anchor written holds (0 when none was written). */
  readonly chains: number;
  readonly number?: number;
  /** False when nothing changed since the last anchor, so none was written. */
  readonly written?: boolean;
  /** When the anchor that holds the current heads was made: the one written, or the last one. */
  readonly anchoredAt?: string;
}

const ATTEMPTS = 3;
const HEAD_READS_IN_FLIGHT = 16;

export async function anchorLedger(deps: AnchorLedgerDeps, reason: string): Promise<AnchorResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await anchorOnce(deps, reason);
    } catch (error) {
      if (!(error instanceof ConcurrentChangeError) || attempt >= ATTEMPTS) throw error;
    }
  }
}

async function anchorOnce(deps: AnchorLedgerDeps, reason: string): Promise<AnchorResult> {
  const seconds = deps.windowSeconds ?? CHANGE_WINDOW_SECONDS;
  const now = deps.clock.now();
  const current = windowOf(now, seconds);

  // 1.
  const last = await lastGenuineAnchor(deps);
  const digest = last ? undefined : await newestDigest(deps.anchors);

  // 2.
  let windows: AnchorWindows;
  let ids: Set<string>;
  if (last) {
    windows = { seconds, from: Math.max(0, Math.min(last.anchor.windows.to - 1, current)), to: current };
    ids = new Set<string>();
    for (let w = windows.from; w <= windows.to; w++)
      for (const id of await deps.changes.changedIn(w)) ids.add(id);
  } else {
    windows = { seconds, from: 0, to: current };
    ids = new Set(digest?.digest.heads.map((h) => h.incidentId) ?? []);
    for (const id of await everyIncidentId(deps.incidents)) ids.add(id);
  }

  // 3.
  const held = last ? await headsHeldSince(deps.anchors, last, windows.from) : new Map();
  const fromDigest = new Map(digest?.digest.heads.map((h) => [h.incidentId, h]) ?? []);
  const heads: AnchoredIncidentHead[] = [];
  await inParallel([...ids], HEAD_READS_IN_FLIGHT, async (incidentId) => {
    const read = (await deps.ledger.readHead(incidentId)) as (ChainHead & { head?: SignedHead }) | undefined;
    const head: AnchoredIncidentHead | undefined = read
      ? { incidentId, seq: read.seq, hash: read.hash, ...(read.head ? { head: read.head } : {}) }
      : fromDigest.get(incidentId);
    const before = held.get(incidentId);
    if (head && !(before && before.seq === head.seq && before.hash === head.hash)) heads.push(head);
  });
  if (last && heads.length === 0)
    return {
      key: last.key,
      chains: 0,
      number: last.anchor.number,
      written: false,
      anchoredAt: last.anchor.createdAt,
    };

  // 4.
  const anchor = await makeAnchor(
    {
      createdAt: now.toISOString(),
      reason,
      windows,
      heads,
      ...(last ? { previous: last } : digest ? { previous: { key: digest.key, anchor: digest.digest } } : {}),
    },
    deps.signer,
  );
  const { key } = await deps.anchors.put(anchor);
  return { key, chains: heads.length, number: anchor.number, written: true, anchoredAt: anchor.createdAt };
}

/** How many anchors back an anchor looks for the heads it need not write again. */
const LOOK_BACK = 50;

/**
 * The newest head each incident has in the anchors that read any of the windows from `from` on:
 * the anchors an incident marked in those windows was anchored by, if it was. They are followed
 * by their links (and each link's hash), from the last anchor back.
 */
async function headsHeldSince(
  anchors: AnchorStore,
  last: { readonly key: string; readonly anchor: SignedAnchor },
  from: number,
): Promise<Map<string, AnchoredIncidentHead>> {
  const held = new Map<string, AnchoredIncidentHead>();
  let anchor: SignedAnchor | undefined = last.anchor;
  for (let n = 0; anchor && anchor.windows.to >= from && n < LOOK_BACK; n++) {
    for (const h of anchor.heads) if (!held.has(h.incidentId)) held.set(h.incidentId, h);
    const link: SignedAnchor['previous'] = anchor.previous;
    if (link === undefined || !link.key.startsWith(ANCHOR_PREFIX)) break;
    const stored = await anchors.get(link.key);
    anchor = 'anchor' in stored && anchorHash(stored.anchor) === link.hash ? stored.anchor : undefined;
  }
  return held;
}

/** The newest anchor signed with the signer's key, walking down from the highest key. */
async function lastGenuineAnchor(
  deps: AnchorLedgerDeps,
): Promise<{ readonly key: string; readonly anchor: SignedAnchor } | undefined> {
  const keys = await deps.anchors.keys();
  if (keys.length === 0) return undefined;
  const publicKey = ledgerPublicKey(await deps.signer.publicKey());
  for (const key of [...keys].reverse()) {
    const stored = await deps.anchors.get(key);
    if ('anchor' in stored && !anchorDefect(stored.anchor, publicKey)) return stored;
  }
  return undefined;
}

async function newestDigest(
  anchors: AnchorStore,
): Promise<{ readonly key: string; readonly digest: AnchorDigest } | undefined> {
  const digests = await anchors.digests();
  const key = [...digests.keys()].at(-1);
  return key ? { key, digest: digests.get(key) as AnchorDigest } : undefined;
}

async function inParallel<T>(
  items: readonly T[],
  width: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

/** Every incident id in the operational table, page by page. */
export async function everyIncidentId(incidents: Pick<IncidentStore, 'listIncidents'>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await incidents.listIncidents(100, cursor);
    ids.push(...page.items.map((i) => i.id));
    cursor = page.cursor;
  } while (cursor);
  return ids;
}
