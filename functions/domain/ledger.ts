/**
 * The Effect Ledger and the Decision Log (seed 001 §6.1): append-only, one hash chain per incident
 * across both logs, every entry also sealed with a keyed MAC, so an auditor can tell whether any
 * entry was edited, inserted, reordered or removed — and a writer of the table without the key
 * cannot re-seal a chain it rewrote. A correction is a new entry that names the one it corrects.
 *
 * Format 2 (this module's) hashes RFC 8785 canonical JSON; format 1 entries, written before it,
 * keep verifying under their own rules (see {@link entryHash}).
 */
import { createHmac } from 'node:crypto';
import canonicalize from 'canonicalize';
import { monotonicFactory } from 'ulid';
import { z } from 'zod';
import type { JsonObject } from './json.ts';
import { canonicalJson, sha256Hex } from './json.ts';
import type { Money } from './money.ts';
import { moneySchema } from './money.ts';
import { PHASES, WORLDS } from './vocabulary.ts';

/** The format new entries are written in. */
export const LEDGER_FORMAT = 2;

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

const iso = z.iso.datetime({ offset: false, precision: 3 });
const short = (max: number) => z.string().min(1).max(max);

/** What authorized an entry: the decision and the exact plan it approved, or a policy. */
export const basisSchema = z
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
  .strict();
export type Basis = z.infer<typeof basisSchema>;

const jsonObject = z.record(z.string(), z.json()) as z.ZodType<JsonObject>;

/** Fields of an entry as a use case writes it; {@link sealEntry} adds the chain fields. */
export const ledgerDraftSchema = z
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
  .strict();
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

export type LedgerEntry = LedgerEntryV2 | LedgerEntryV1;

/** `prevHash` of an incident's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** The state of an effect entry in format 2's words, whatever its format. */
export function effectState(entry: LedgerEntry): EffectState | undefined {
  if (entry.format === 2) return entry.state;
  if (entry.status === 'intended') return 'intent';
  if (entry.status === 'completed') return 'confirmed';
  return entry.status;
}

/** Hash of everything in an entry but the hash and the seal, by the rules of its format. */
export function entryHash(entry: LedgerEntry): string {
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

/** The head of a chain: what the next entry links to. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/**
 * Seals a draft as the entry that follows `head` (undefined: the first entry). Validates the
 * draft first, so a malformed entry never reaches the table.
 */
export async function sealEntry(
  incidentId: string,
  head: ChainHead | undefined,
  draft: LedgerEntryDraft,
  sealer: Sealer,
  id: string = newUlid(Date.parse(draft.at)),
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

/** What is wrong with a chain, entry by entry; a clean chain has none. */
export interface ChainProblem {
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

/** What the latest anchored digest says a chain's head was. */
export interface AnchoredHead {
  readonly seq: number;
  readonly hash: string;
  /** When the digest that holds it was written. */
  readonly anchoredAt: string;
}

/**
 * Verifies one incident's chain (entries in any order): each entry's hash (edited?), its seal
 * (re-hashed by someone without the key?), its place (gaps, entries moved to another seq, entries
 * that belong to no link) and, given the latest anchored head, whether the chain was cut short.
 */
export async function verifyChain(
  incidentId: string,
  entries: readonly LedgerEntry[],
  sealer: Pick<Sealer, 'verify'>,
  anchored?: AnchoredHead,
): Promise<ChainProblem[]> {
  const problems: ChainProblem[] = [];
  const sorted = [...entries].sort((a, b) => a.seq - b.seq);
  const depthOf = linkDepths(sorted);
  const linkedTo = new Set(sorted.map((e) => e.prevHash));
  let sealedFormatSeen = false;
  let previous: LedgerEntry | undefined;
  for (const entry of sorted) {
    if (entry.incidentId !== incidentId) {
      problems.push({ seq: entry.seq, problem: 'wrong-incident', detail: `belongs to ${entry.incidentId}` });
    }
    const expectedSeq = previous ? previous.seq + 1 : 1;
    if (entry.seq > expectedSeq) {
      const missing = entry.seq - expectedSeq;
      problems.push({
        seq: expectedSeq,
        problem: 'deleted',
        detail:
          missing === 1
            ? `entry ${expectedSeq} is missing`
            : `entries ${expectedSeq}–${entry.seq - 1} are missing`,
      });
    }
    if (entry.format !== 2 && sealedFormatSeen) {
      problems.push({
        seq: entry.seq,
        problem: 'unsealed',
        detail: 'a format 1 (unsealed) entry after sealed ones: nothing writes those any more',
      });
    }
    const hashMatches = entryHash(entry) === entry.hash;
    const moved = hashMatches ? undefined : originalSeq(entry, depthOf);
    if (moved !== undefined) {
      problems.push({
        seq: entry.seq,
        problem: 'reordered',
        detail: `this entry was written as seq ${moved}`,
      });
    } else if (!hashMatches) {
      problems.push({ seq: entry.seq, problem: 'edited', detail: 'its content does not match its hash' });
    } else if (entry.format === 2 && !(entry.seal && (await sealer.verify(entry.hash, entry.seal)))) {
      // A matching hash without a valid seal: someone recomputed the hash without the key.
      const orphan = !linkedTo.has(entry.hash) && entry !== sorted.at(-1);
      problems.push({
        seq: entry.seq,
        problem: orphan ? 'inserted' : 'forged',
        detail: orphan
          ? 'no entry links to it and its seal is not Casebook’s: it was put in from outside'
          : 'its hash was recomputed by someone without the ledger key (the seal does not match)',
      });
    }
    if (entry.format === 2) sealedFormatSeen = true;
    const expectedPrev = previous ? previous.hash : GENESIS_HASH;
    if (entry.prevHash !== expectedPrev && moved === undefined && previous?.seq === entry.seq - 1) {
      problems.push({
        seq: entry.seq,
        problem: 'broken-link',
        detail: 'prevHash does not match the entry before it',
      });
    }
    previous = entry;
  }
  if (anchored && !sorted.some((e) => e.hash === anchored.hash)) {
    // The anchored head is nowhere in the chain (wherever it sits, moves are named above).
    const last = sorted.at(-1);
    if (!last) {
      problems.push({
        seq: 0,
        problem: 'missing-chain',
        detail: `the digest of ${anchored.anchoredAt} anchored ${anchored.seq} entries; the table has none`,
      });
    } else if (last.seq < anchored.seq) {
      problems.push({
        seq: last.seq + 1,
        problem: 'truncated',
        detail: `the digest of ${anchored.anchoredAt} anchored the chain at seq ${anchored.seq}; it now ends at ${last.seq}`,
      });
    } else {
      problems.push({
        seq: anchored.seq,
        problem: 'edited',
        detail: `differs from the head anchored by the digest of ${anchored.anchoredAt}`,
      });
    }
  }
  return dedupe(problems);
}

/**
 * The seq an entry had when it was sealed, if its own hash matches there and not where it is now:
 * it was moved. Its original place is one after its predecessor's, counted along the prevHash
 * links back to the genesis hash (the predecessor may itself have been moved).
 */
function originalSeq(entry: LedgerEntry, depthOf: (hash: string) => number | undefined): number | undefined {
  const depth = depthOf(entry.prevHash);
  if (depth === undefined || depth + 1 === entry.seq) return undefined;
  return entryHash({ ...entry, seq: depth + 1 } as LedgerEntry) === entry.hash ? depth + 1 : undefined;
}

/** How many links lead from a hash back to the genesis hash, through the entries given. */
function linkDepths(entries: readonly LedgerEntry[]): (hash: string) => number | undefined {
  const byHash = new Map(entries.map((e) => [e.hash, e]));
  const memo = new Map<string, number | undefined>([[GENESIS_HASH, 0]]);
  const depthOf = (hash: string, guard = 0): number | undefined => {
    if (memo.has(hash)) return memo.get(hash);
    const entry = byHash.get(hash);
    const depth = entry && guard < entries.length ? depthOf(entry.prevHash, guard + 1) : undefined;
    const result = depth === undefined ? undefined : depth + 1;
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
