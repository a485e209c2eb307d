/**
 * The Effect Ledger and the Decision Log (seed 001 §6.1): append-only, one log per incident across
 * both logs, so an auditor can tell whether any entry was edited, inserted, reordered or removed.
 * A correction is a new entry that names the one it corrects.
 *
 * Format 3 (written now) is a transparency log: every entry is a leaf of the incident's RFC 6962
 * Merkle tree, entries are committed in batches of 1–25 as one chain item each (the batch's root,
 * the tree's size, right edge and root after it, the previous item's hash), and each item carries a
 * head over the tree signed with an ECDSA P-256 key, which anyone checks with the public key alone.
 * Format 2 entries (one item each, hashed as RFC 8785 JSON and sealed with a keyed MAC) and format 1
 * entries before them keep verifying under their own rules (see {@link entryHash}); they are leaves
 * of the same tree, so a log that began in format 2 goes on in format 3 as one tree.
 */
import { createHmac, type KeyObject } from 'node:crypto';
import canonicalize from 'canonicalize';
import { monotonicFactory } from 'ulid';
import * as z from 'zod';
import type { HeadSigner, SignedHead } from './checkpoint.ts';
import { ledgerOrigin, signHead, verifyHeadSignature } from './checkpoint.ts';
import type { JsonObject } from './json.ts';
import { canonicalJson, sha256Hex } from './json.ts';
import { leafHash, MerkleFrontier, rootOf } from './merkle.ts';
import type { Money } from './money.ts';
import { moneySchema } from './money.ts';
import { PHASES, WORLDS } from './vocabulary.ts';

/** The format new entries are written in. */
export const LEDGER_FORMAT = 3;

/** At most this many entries go in one chain item (one conditional put). */
export const MAX_BATCH_ENTRIES = 25;

export type LedgerLog = 'effect' | 'decision';

/**
 * What an Effect Ledger entry records (seed 001 §6.1, §7.1): the external effects, the same names
 * the plan uses, and the costs finance prices; `detection` is the provisional record seed 000 §2.1
 * asks for when an incident opens.
 */
export const EFFECT_KINDS = [
  'refund',
  'credit',
  'notice',
  'correction',
  'charge',
  'access_grant',
  'manual_operation',
  'ops_labour',
  'legal_fee',
  'other_cost',
  'detection',
  // What SES said became of a notice after it took it (delivered, bounced, complained…).
  'notice_event',
] as const;
export type EffectKind = (typeof EFFECT_KINDS)[number];

/** Effect kinds that are costs on the P&L (seed 001 §7.1) rather than movements to a customer. */
export const COST_KINDS = ['ops_labour', 'legal_fee', 'other_cost'] as const;

/** What a Decision Log entry records: who decided what (seed 001 §6.1). */
export const DECISION_KINDS = [
  'approval',
  'approval_round',
  'approval_round_decided',
  'severity_change',
  'size_override',
  'cancel',
  'downscope',
  'containment',
  'effect_reconciled',
  'effect_retry',
  'link_reissued',
  'link_revoked',
  'plan_check',
] as const;
export type DecisionKind = (typeof DECISION_KINDS)[number];

/**
 * An effect carried out in steps: the intent is recorded before the external call, `executed`
 * when the provider took it, `confirmed` when it is final (a refund succeeded), `failed` when the
 * provider refused it or it failed for good.
 */
export const EFFECT_STATES = ['intent', 'executed', 'confirmed', 'failed'] as const;
export type EffectState = (typeof EFFECT_STATES)[number];

/** Format 1 wrote these states; they read as intent / confirmed / failed. */
const LEGACY_STATES = ['intended', 'completed', 'failed'] as const;

// Schemas are built at their first parse (z.lazy) and marked pure: built at import, they cost every
// cold start of every function importing this module, and a bundle now leaves out those its function
// never parses.
const iso = /* @__PURE__ */ z.lazy(() => z.iso.datetime({ offset: false, precision: 3 }));
const short = (max: number) => z.string().min(1).max(max);

/** What authorized an entry: the decision and the exact plan it approved, or a policy. */
export const basisSchema = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      decisionId: short(40).optional(),
      decisionSeq: z.number().int().positive().optional(),
      planVersion: z.number().int().positive().optional(),
      planHash: z
        .string()
        .regex(/^[0-9a-f]{64}$/)
        .optional(),
      /** A ToS clause, a regulation, a policy and its version. */
      policy: short(500).optional(),
    })
    .strict(),
);
export type Basis = z.infer<typeof basisSchema>;

const jsonObject = /* @__PURE__ */ z.lazy(() => z.record(z.string(), z.json()) as z.ZodType<JsonObject>);

/** Fields of an entry as a use case writes it; {@link sealEntry} adds the chain fields. */
export const ledgerDraftSchema = /* @__PURE__ */ z.lazy(() =>
  z
    .object({
      log: z.enum(['effect', 'decision']),
      kind: z.enum([...EFFECT_KINDS, ...DECISION_KINDS]),
      world: z.enum(WORLDS),
      phase: z.enum(PHASES),
      /** When the entry was recorded (UTC). */
      at: iso,
      /** Who or what caused it: a person (`Name <email>`, never a customer) or a Casebook component. */
      actor: short(400),
      /** Unique per incident: appending the same key twice returns the first entry. */
      idempotencyKey: short(400),
      summary: short(2000),
      /** The plan's effect this entry is about. */
      effectId: short(200).optional(),
      state: z.enum(EFFECT_STATES).optional(),
      amount: moneySchema.optional(),
      /** What the provider charged for carrying it out. */
      fee: moneySchema.optional(),
      /** The customer, as a pseudonym ({@link pseudonym}): never an e-mail address or a name. */
      counterparty: z
        .string()
        .regex(/^cp_[0-9a-f]{32}$/)
        .optional(),
      productArea: short(200).optional(),
      /** P&L line (seed 001 §7.2): the contractual minimum, or chosen beyond it. */
      obligation: z.enum(['tos', 'brand']).optional(),
      /** The provider's id of what it did: a refund id, an SES MessageId. */
      providerRef: short(400).optional(),
      basis: basisSchema.optional(),
      /** The entry this one corrects (forward-only: the corrected entry stays as it was). */
      corrects: z
        .object({ id: short(40), seq: z.number().int().positive() })
        .strict()
        .optional(),
      /** When the money moved or the effect took effect, for finance; `at` is when it was recorded. */
      effectiveAt: iso.optional(),
      /** General-ledger account code, where finance books it. */
      glCode: short(64).optional(),
      /** Decision Log: the role the decider acted in, and what they decided. */
      role: short(40).optional(),
      decision: short(40).optional(),
      detail: jsonObject,
    })
    .strict(),
);
export type LedgerEntryDraft = z.infer<typeof ledgerDraftSchema>;

/** The keyed MAC over an entry's hash, and the id of the key that made it. */
export interface Seal {
  readonly keyId: string;
  readonly mac: string;
}

/** A format 2 entry as stored. */
export interface LedgerEntryV2 extends LedgerEntryDraft {
  readonly format: 2;
  /** ULID: unique, and sortable by creation time. */
  readonly id: string;
  readonly incidentId: string;
  /** 1, 2, 3, … within the incident. */
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
  readonly seal: Seal;
}

/** An entry written before format 2: no id, no seal, hashed with sorted-key JSON. */
export interface LedgerEntryV1 {
  readonly format?: undefined;
  readonly incidentId: string;
  readonly seq: number;
  readonly log: LedgerLog;
  readonly kind: string;
  readonly world: LedgerEntryDraft['world'];
  readonly phase: LedgerEntryDraft['phase'];
  readonly at: string;
  readonly actor: string;
  readonly idempotencyKey: string;
  readonly summary: string;
  readonly status?: (typeof LEGACY_STATES)[number];
  readonly detail: JsonObject;
  readonly amount?: Money;
  readonly costLine?: 'tos' | 'brand';
  readonly corrects?: number;
  readonly prevHash: string;
  readonly hash: string;
}

/** A format 3 entry as it is stored inside its chain item. */
export interface StoredEntryV3 extends LedgerEntryDraft {
  readonly format: 3;
  /** ULID: unique, and sortable by creation time. */
  readonly id: string;
  readonly incidentId: string;
  /** Its 1-based place in the incident's log (and its leaf index + 1). */
  readonly seq: number;
}

/** A format 3 entry as the ledger reads it: `hash` is its leaf hash (hex), computed on read, not stored. */
export interface LedgerEntryV3 extends StoredEntryV3 {
  readonly hash: string;
}

/** An entry of any format, as every reader of the ledger sees it. */
export type LedgerEntry = LedgerEntryV3 | LedgerEntryV2 | LedgerEntryV1;

/** Whether an entry has every draft field (id, state, decision, corrects…): formats 2 and 3. */
export function isCurrentEntry(entry: LedgerEntry): entry is LedgerEntryV2 | LedgerEntryV3 {
  return entry.format === 2 || entry.format === 3;
}

/**
 * A format 3 chain item: one batch of entries, committed by one conditional put at the log place
 * of its first entry (`seq`).
 */
export interface ChainItemV3 {
  readonly format: 3;
  readonly incidentId: string;
  /** The log place of its first entry. */
  readonly seq: number;
  readonly entries: readonly StoredEntryV3[];
  /** The tree's size after this batch: the log place of its last entry. */
  readonly size: number;
  /** The Merkle root over this batch's leaves alone (hex). */
  readonly batchRoot: string;
  /** The tree's right edge after this batch ({@link MerkleFrontier.toJSON}). */
  readonly frontier: readonly string[];
  /** The root of the whole tree after this batch (hex). */
  readonly root: string;
  /** The hash of the item (or format 2 entry) before it, or {@link GENESIS_HASH}. */
  readonly prevHash: string;
  /** SHA-256 (hex) of the entries' idempotency keys, in entry order: what a retry is found by. */
  readonly keys: readonly string[];
  /** SHA-256 (hex) of the RFC 8785 JSON of every field but `entries` (see `batchRoot`), `hash` and `head`. */
  readonly hash: string;
  /** The signed checkpoint of the tree after this batch. */
  readonly head: SignedHead;
}

/** What the ledger table holds per incident: format 1 and 2 entries, then format 3 items. */
export type ChainItem = ChainItemV3 | LedgerEntryV2 | LedgerEntryV1;

/** `prevHash` of an incident's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** The state of an effect entry in format 2's words, whatever its format. */
export function effectState(entry: LedgerEntry): EffectState | undefined {
  if (isCurrentEntry(entry)) return entry.state;
  if (entry.status === 'intended') return 'intent';
  if (entry.status === 'completed') return 'confirmed';
  return entry.status;
}

/**
 * Hash of everything in an entry but the hash and the seal, by the rules of its format; a format 3
 * entry's hash is its leaf hash ({@link entryLeaf}).
 */
export function entryHash(entry: LedgerEntry): string {
  if (entry.format === 3) return entryLeaf(entry).toString('hex');
  const { hash: _hash, ...rest } = entry;
  if (rest.format === 2) {
    const { seal: _seal, ...body } = rest as Omit<LedgerEntryV2, 'hash'>;
    const text = canonicalize(body);
    if (text === undefined) throw new Error('A ledger entry must be JSON');
    return sha256Hex(text);
  }
  return sha256Hex(canonicalJson(rest));
}

/** Makes and checks seals: a local key file, or a KMS HMAC key that nobody can read. */
export interface Sealer {
  seal(hash: string): Promise<Seal>;
  /** False for a MAC that does not match, and for a key this sealer does not know. */
  verify(hash: string, seal: Seal): Promise<boolean>;
}

const newUlid = monotonicFactory();

/** A new entry id for a draft: a ULID of the draft's time, increasing within this process. */
export function newEntryId(draft: Pick<LedgerEntryDraft, 'at'>): string {
  return newUlid(Date.parse(draft.at));
}

/** The head of a chain: what the next item links to (its seq is the last item's, its hash that item's). */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/** The head of an incident's log as the ledger reads it. */
export interface LedgerHead extends ChainHead {
  /** How many entries the log holds: the tree's size. */
  readonly size: number;
  /** The signed checkpoint of the last format 3 item; absent while the log is all format 2. */
  readonly head?: SignedHead;
}

/**
 * Seals a draft as the format 2 entry that follows `head` (undefined: the first entry). Nothing
 * writes format 2 any more; this stays for tests and tools that build the chains written before.
 */
export async function sealEntry(
  incidentId: string,
  head: ChainHead | undefined,
  draft: LedgerEntryDraft,
  sealer: Sealer,
  id: string = newEntryId(draft),
): Promise<LedgerEntryV2> {
  const parsed = ledgerDraftSchema.parse(draft);
  const body = {
    ...parsed,
    format: 2 as const,
    id,
    incidentId,
    seq: head ? head.seq + 1 : 1,
    prevHash: head ? head.hash : GENESIS_HASH,
  };
  const unsealed = { ...body, hash: '', seal: { keyId: '', mac: '' } };
  const hash = entryHash(unsealed);
  return { ...body, hash, seal: await sealer.seal(hash) };
}

function canonicalText(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new Error('A ledger item must be JSON');
  return text;
}

/**
 * The leaf an entry is in the incident's Merkle tree: `SHA-256(0x00 ‖ RFC 8785 JSON)` of the entry
 * as stored — a format 3 entry as it sits in its item's `entries` (without the `hash` the ledger
 * adds on read), a format 1 or 2 entry as its whole item.
 */
export function entryLeaf(entry: LedgerEntry | StoredEntryV3): Buffer {
  const known = leaves.get(entry);
  if (known) return known;
  const stored = entry.format === 3 ? storedEntry(entry) : entry;
  const leaf = leafHash(Buffer.from(canonicalText(stored), 'utf8'));
  leaves.set(entry, leaf);
  return leaf;
}

/**
 * Leaves already hashed, by the entry object read from the table: the chain check and the check
 * against the anchors both need every leaf of 100,000 entries, and hashing is most of the work.
 * Entries as read are never changed in place, so a leaf stays right for its object.
 */
const leaves = new WeakMap<object, Buffer>();

function storedEntry(entry: LedgerEntryV3 | StoredEntryV3): StoredEntryV3 {
  if (!('hash' in entry)) return entry;
  const { hash: _hash, ...stored } = entry;
  return stored;
}

/** A format 3 entry as readers see it: the stored entry and its leaf hash. */
export function readEntry(entry: StoredEntryV3): LedgerEntryV3 {
  return { ...entry, hash: entryLeaf(entry).toString('hex') };
}

/** Every entry of chain items, in log order: format 3 items flattened, format 1 and 2 as they are. */
export function entriesOf(items: readonly ChainItem[]): LedgerEntry[] {
  return items.flatMap((item): LedgerEntry[] => (item.format === 3 ? item.entries.map(readEntry) : [item]));
}

/** SHA-256 (hex) of an idempotency key, as a format 3 item's `keys` hold it. */
export function keyHash(idempotencyKey: string): string {
  return sha256Hex(idempotencyKey);
}

/**
 * A format 3 item's hash: SHA-256 of the RFC 8785 JSON of every field but `entries`, `hash` and
 * `head` — the entries are in it through `batchRoot`, the Merkle root over their leaves, so they
 * are serialized once (for their leaves), not twice.
 */
export function itemHash(item: Omit<ChainItemV3, 'hash' | 'head'> & Partial<ChainItemV3>): string {
  const { hash: _hash, head: _head, entries: _entries, ...body } = item;
  return sha256Hex(canonicalText(body));
}

/** The log place after an item: its last entry's seq. */
export function itemEnd(item: ChainItem): number {
  return item.format === 3 && Array.isArray(item.entries)
    ? item.seq + Math.max(item.entries.length, 1) - 1
    : item.seq;
}

/** Where the next batch of an incident's log starts: the last item's hash, the tree after it. */
export interface ChainTip {
  readonly hash: string;
  readonly frontier: MerkleFrontier;
}

/** The tip of an empty log. */
export function genesisTip(): ChainTip {
  return { hash: GENESIS_HASH, frontier: MerkleFrontier.empty() };
}

/** The tip after an item, given the tip before it (needed only after a format 1 or 2 entry). */
export function tipAfter(item: ChainItem, before: ChainTip | undefined): ChainTip {
  if (item.format === 3) return { hash: item.hash, frontier: MerkleFrontier.from(item.size, item.frontier) };
  if (!before) throw new Error('The tree before a format 2 entry is needed to go on from it');
  return { hash: item.hash, frontier: before.frontier.clone().append(entryLeaf(item)) };
}

/**
 * The chain item that commits `drafts` (already validated, with their ids) after `tip`: the next
 * leaves of the tree, their batch root, the tree after them and its head, signed.
 */
export async function batchItem(
  incidentId: string,
  tip: ChainTip,
  drafts: readonly { readonly draft: LedgerEntryDraft; readonly id: string }[],
  signer: HeadSigner,
): Promise<ChainItemV3> {
  if (drafts.length < 1 || drafts.length > MAX_BATCH_ENTRIES) {
    throw new RangeError(`A batch holds 1–${MAX_BATCH_ENTRIES} entries, not ${drafts.length}`);
  }
  const first = tip.frontier.size + 1;
  const entries: StoredEntryV3[] = drafts.map(({ draft, id }, i) => ({
    ...draft,
    format: 3,
    id,
    incidentId,
    seq: first + i,
  }));
  const leaves = entries.map(entryLeaf);
  const frontier = tip.frontier.clone();
  for (const leaf of leaves) frontier.append(leaf);
  const root = frontier.root().toString('hex');
  const body = {
    format: 3 as const,
    incidentId,
    seq: first,
    entries,
    size: frontier.size,
    batchRoot: rootOf(leaves).toString('hex'),
    frontier: frontier.toJSON(),
    root,
    prevHash: tip.hash,
    keys: entries.map((e) => keyHash(e.idempotencyKey)),
  };
  const head = await signHead(signer, { origin: ledgerOrigin(incidentId), size: frontier.size, root });
  return { ...body, hash: itemHash(body), head };
}

/** What is wrong with a chain, item by item; a clean chain has none. */
export interface ChainProblem {
  /** The seq of the entry, or of the first entry of the format 3 item, the problem is with. */
  readonly seq: number;
  readonly problem:
    | 'edited'
    | 'forged'
    | 'inserted'
    | 'deleted'
    | 'reordered'
    | 'truncated'
    | 'broken-link'
    | 'unsealed'
    | 'wrong-incident'
    | 'missing-chain';
  readonly detail: string;
}

/**
 * What an anchor says a chain's head was: the last item's seq and hash, or the tree's size and
 * root (a signed head); with when it was anchored.
 */
export type AnchoredHead = { readonly anchoredAt: string } & (
  | { readonly seq: number; readonly hash: string }
  | { readonly size: number; readonly root: string }
);

/** The keys a chain is checked with: the format 2 seal key, and the public key of format 3 heads. */
export type ChainKeys =
  | Pick<Sealer, 'verify'>
  | { readonly sealer?: Pick<Sealer, 'verify'>; readonly publicKey?: KeyObject };

function keysOf(keys: ChainKeys): { sealer?: Pick<Sealer, 'verify'>; publicKey?: KeyObject } {
  return 'verify' in keys ? { sealer: keys } : keys;
}

/**
 * Verifies one incident's chain (its stored items in any order). Format 1 and 2 entries: each
 * entry's hash (edited?) and seal (re-hashed by someone without the key?). Format 3 items: each
 * entry's leaf against the batch root, the tree before the item and its leaves against the item's
 * size, right edge and root, the item's own hash, and its head's signature (re-hashed by someone
 * without the signing key?). For all: each item's place (gaps, items moved to another seq, items
 * that belong to no link) and, given an anchored head, whether the chain was cut short.
 */
export async function verifyChain(
  incidentId: string,
  items: readonly ChainItem[],
  chainKeys: ChainKeys,
  anchored?: AnchoredHead,
): Promise<ChainProblem[]> {
  const { sealer, publicKey } = keysOf(chainKeys);
  const problems: ChainProblem[] = [];
  const sorted = [...items].sort((a, b) => a.seq - b.seq);
  const depthOf = linkDepths(sorted);
  const linkedTo = new Set(sorted.map((e) => e.prevHash));
  const present = new Set([GENESIS_HASH, ...sorted.map((e) => e.hash)]);
  /** Tree roots at item boundaries: size → root, for a head anchored by size and root. */
  const roots = new Map<number, string>();
  let sealedFormatSeen = false;
  let batchFormatSeen = false;
  let previous: ChainItem | undefined;
  // The tree before the current item, as the items before it built it; unknown after a gap.
  let tree: MerkleFrontier | undefined = MerkleFrontier.empty();
  for (const [index, item] of sorted.entries()) {
    const at = (problem: ChainProblem['problem'], detail: string) =>
      problems.push({ seq: item.seq, problem, detail });
    if (item.incidentId !== incidentId) at('wrong-incident', `belongs to ${item.incidentId}`);
    const expectedSeq = previous ? itemEnd(previous) + 1 : 1;
    if (item.seq > expectedSeq) {
      const missing = item.seq - expectedSeq;
      problems.push({
        seq: expectedSeq,
        problem: 'deleted',
        detail:
          missing === 1
            ? `entry ${expectedSeq} is missing`
            : `entries ${expectedSeq}–${item.seq - 1} are missing`,
      });
    }
    const contiguous = item.seq === expectedSeq;
    if (!contiguous) tree = undefined;
    // Put in from outside, not rewritten in place: nothing links to it, and the item after it links
    // to one that is still there (a rewritten item leaves its successor linking to a hash now gone).
    const next = sorted[index + 1];
    const orphan = !linkedTo.has(item.hash) && next !== undefined && present.has(next.prevHash);
    const problemsBefore = problems.length;
    let moved: number | undefined;
    if (item.format === 3) {
      moved = await checkBatchItem(incidentId, item, tree, publicKey, depthOf, orphan, at);
      if (item.seq < expectedSeq && moved === undefined) {
        at('inserted', `it starts inside the entries ${previous?.seq}–${expectedSeq - 1} already written`);
      }
      tree = frontierClaimed(item);
      batchFormatSeen = true;
    } else {
      if (batchFormatSeen) {
        at(
          'inserted',
          `a format ${item.format ?? 1} entry after format 3 items: nothing writes those any more`,
        );
      } else if (item.format !== 2 && sealedFormatSeen) {
        at('unsealed', 'a format 1 (unsealed) entry after sealed ones: nothing writes those any more');
      }
      const hashMatches = entryHash(item) === item.hash;
      moved = hashMatches ? undefined : originalSeq(item, depthOf);
      if (moved !== undefined) {
        at('reordered', `this entry was written as seq ${moved}`);
      } else if (!hashMatches) {
        at('edited', 'its content does not match its hash');
      } else if (item.format === 2 && !(item.seal && sealer && (await sealer.verify(item.hash, item.seal)))) {
        // A matching hash without a valid seal: someone recomputed the hash without the key.
        at(
          orphan ? 'inserted' : 'forged',
          orphan
            ? 'no entry links to it and its seal is not Casebook’s: it was put in from outside'
            : sealer
              ? 'its hash was recomputed by someone without the ledger key (the seal does not match)'
              : 'its seal could not be checked: no ledger seal key was given',
        );
      }
      if (item.format === 2) sealedFormatSeen = true;
      tree = tree?.append(entryLeaf(item));
    }
    // The tree after an item found wrong is unknown: the next item is checked against its own.
    if (problems.length > problemsBefore) tree = undefined;
    if (tree) roots.set(tree.size, tree.root().toString('hex'));
    const expectedPrev = previous ? previous.hash : GENESIS_HASH;
    if (
      item.prevHash !== expectedPrev &&
      moved === undefined &&
      previous &&
      itemEnd(previous) === item.seq - 1
    ) {
      at('broken-link', 'prevHash does not match the item before it');
    } else if (!previous && item.seq === 1 && item.prevHash !== GENESIS_HASH && moved === undefined) {
      at('broken-link', 'the first entry does not link to the genesis hash');
    }
    previous = item;
  }
  const last = sorted.at(-1);
  if (anchored && !anchorFound(anchored, sorted, roots)) {
    const bySeq = 'hash' in anchored;
    const anchoredSize = bySeq ? anchored.seq : anchored.size;
    const lastPlace = last ? (bySeq ? last.seq : itemEnd(last)) : 0;
    if (!last) {
      problems.push({
        seq: 0,
        problem: 'missing-chain',
        detail: `the digest of ${anchored.anchoredAt} anchored ${anchoredSize} entries; the table has none`,
      });
    } else if (lastPlace < anchoredSize) {
      problems.push({
        seq: itemEnd(last) + 1,
        problem: 'truncated',
        detail: `the digest of ${anchored.anchoredAt} anchored the chain at ${bySeq ? 'seq' : 'size'} ${anchoredSize}; it now ends at ${lastPlace}`,
      });
    } else {
      problems.push({
        seq: anchoredSize,
        problem: 'edited',
        detail: `differs from the head anchored by the digest of ${anchored.anchoredAt}`,
      });
    }
  }
  return dedupe(problems);
}

function anchorFound(
  anchored: AnchoredHead,
  items: readonly ChainItem[],
  roots: Map<number, string>,
): boolean {
  // Wherever the anchored item sits now: a move is named on its own.
  if ('hash' in anchored) return items.some((i) => i.hash === anchored.hash);
  return roots.get(anchored.size) === anchored.root;
}

/** The tree a format 3 item says it ends with, if that is a tree at all. */
function frontierClaimed(item: ChainItemV3): MerkleFrontier | undefined {
  try {
    return MerkleFrontier.from(item.size, item.frontier);
  } catch {
    return undefined;
  }
}

/**
 * Checks a format 3 item against itself, the tree before it (when the items before it are all
 * there) and the public key; reports one problem at most, the first that explains the rest.
 * Returns the seq it was written at when it was moved.
 */
async function checkBatchItem(
  incidentId: string,
  item: ChainItemV3,
  before: MerkleFrontier | undefined,
  publicKey: KeyObject | undefined,
  depthOf: (hash: string) => number | undefined,
  orphan: boolean,
  at: (problem: ChainProblem['problem'], detail: string) => void,
): Promise<number | undefined> {
  const entries = Array.isArray(item.entries) ? item.entries : [];
  const shapeOk =
    entries.length >= 1 &&
    entries.length <= MAX_BATCH_ENTRIES &&
    Array.isArray(item.keys) &&
    item.keys.length === entries.length &&
    entries.every(
      (e, i) =>
        e.format === 3 &&
        e.incidentId === item.incidentId &&
        e.seq === item.seq + i &&
        item.keys[i] === keyHash(e.idempotencyKey),
    ) &&
    item.size === item.seq + entries.length - 1;
  if (itemHash(item) !== item.hash) {
    const moved = originalItemSeq(item, depthOf);
    if (moved !== undefined) {
      at('reordered', `this batch was written as seq ${moved}`);
      return moved;
    }
    at('edited', 'its fields do not match its hash');
    return undefined;
  }
  if (!shapeOk) {
    at('edited', 'its entries do not match its places, its size or its idempotency keys');
    return undefined;
  }
  let leaves: Buffer[] = [];
  try {
    leaves = entries.map(entryLeaf);
  } catch {
    at('edited', 'an entry is not JSON');
    return undefined;
  }
  if (rootOf(leaves).toString('hex') !== item.batchRoot) {
    at('edited', 'an entry does not match the batch root');
    return undefined;
  }
  const claimed = frontierClaimed(item);
  if (!claimed || claimed.root().toString('hex') !== item.root) {
    at('edited', 'its tree root does not match its right edge');
    return undefined;
  }
  if (before) {
    const after = before.clone();
    for (const leaf of leaves) after.append(leaf);
    if (after.root().toString('hex') !== item.root || after.toJSON().join() !== claimed.toJSON().join()) {
      at('edited', 'its tree does not extend the tree of the entries before it');
      return undefined;
    }
  }
  if (!publicKey) throw new Error('Verifying format 3 items needs the ledger’s public key');
  const head = item.head;
  const signed =
    head !== undefined &&
    head.origin === ledgerOrigin(incidentId) &&
    head.size === item.size &&
    head.root === item.root &&
    verifyHeadSignature(head, publicKey);
  if (!signed) {
    // A matching hash and tree without a valid head: someone rebuilt the item without the key.
    at(
      orphan ? 'inserted' : 'forged',
      orphan
        ? 'no item links to it and its head is not signed by the ledger’s key: it was put in from outside'
        : 'it was rebuilt by someone without the ledger’s signing key (its head signature does not match)',
    );
  }
  return undefined;
}

/** The seq a format 3 item was written at, if its hash matches there and not where it is now. */
function originalItemSeq(
  item: ChainItemV3,
  depthOf: (hash: string) => number | undefined,
): number | undefined {
  const depth = depthOf(item.prevHash);
  if (depth === undefined || depth + 1 === item.seq) return undefined;
  const back = { ...item, seq: depth + 1 };
  if (itemHash(back) === item.hash) return depth + 1;
  // Moved with its size rewritten to the new place too:
  const size = depth + (Array.isArray(item.entries) ? item.entries.length : 0);
  return itemHash({ ...back, size }) === item.hash ? depth + 1 : undefined;
}

/**
 * The seq an entry had when it was sealed, if its own hash matches there and not where it is now:
 * it was moved. Its original place is one after its predecessor's, counted along the prevHash
 * links back to the genesis hash (the predecessor may itself have been moved).
 */
function originalSeq(
  entry: LedgerEntryV2 | LedgerEntryV1,
  depthOf: (hash: string) => number | undefined,
): number | undefined {
  const depth = depthOf(entry.prevHash);
  if (depth === undefined || depth + 1 === entry.seq) return undefined;
  return entryHash({ ...entry, seq: depth + 1 } as LedgerEntry) === entry.hash ? depth + 1 : undefined;
}

/**
 * How many entries lead from a hash back to the genesis hash, through the items given (an item's
 * hash stands at its last entry's place).
 */
function linkDepths(items: readonly ChainItem[]): (hash: string) => number | undefined {
  const byHash = new Map(items.map((e) => [e.hash, e]));
  const memo = new Map<string, number | undefined>([[GENESIS_HASH, 0]]);
  const depthOf = (hash: string, guard = 0): number | undefined => {
    if (memo.has(hash)) return memo.get(hash);
    const item = byHash.get(hash);
    const depth = item && guard < items.length ? depthOf(item.prevHash, guard + 1) : undefined;
    const count = item?.format === 3 && Array.isArray(item.entries) ? item.entries.length : 1;
    const result = depth === undefined ? undefined : depth + count;
    memo.set(hash, result);
    return result;
  };
  return (hash) => depthOf(hash);
}

function dedupe(problems: ChainProblem[]): ChainProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.seq}:${p.problem}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * `cp_…`: a customer reference as the ledger, the decision log, the timeline and logs name it — a
 * keyed HMAC, so the same customer has the same pseudonym across incidents (finance can count
 * repeat harm) while only the operational store, where it can be erased, links it to a person.
 */
export function pseudonym(key: Uint8Array, customerRef: string): string {
  return `cp_${createHmac('sha256', key).update(customerRef, 'utf8').digest('hex').slice(0, 32)}`;
}
