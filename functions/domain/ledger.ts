/**
 * The Effect Ledger and the Decision Log (seed 001 §6.1): append-only, one hash chain per
 * incident across both logs, so an auditor can tell whether any entry was edited, inserted or
 * removed. A correction is a new entry that names the one it corrects.
 */
import type { JsonObject } from './json.ts';
import { canonicalJson, sha256Hex } from './json.ts';
import type { Money } from './money.ts';
import type { Phase, World } from './vocabulary.ts';

export type LedgerLog = 'effect' | 'decision';

/** An entry as a use case writes it; sequence and hashes are added by {@link sealEntry}. */
export interface LedgerEntryDraft {
  readonly log: LedgerLog;
  /** `detection`, `customer_notice`, `refund`, `credit`, `correction`, `access_grant`, `manual_operation`, `approval`, … */
  readonly kind: string;
  readonly world: World;
  readonly phase: Phase;
  readonly at: string;
  /** Who or what caused it: a person (`Name <email>`) or a Casebook component. */
  readonly actor: string;
  /** Unique per incident: appending the same key twice returns the first entry. */
  readonly idempotencyKey: string;
  readonly summary: string;
  /** For effects carried out in two steps: intended before the external call, then completed or failed. */
  readonly status?: 'intended' | 'completed' | 'failed';
  readonly detail: JsonObject;
  readonly amount?: Money;
  /** P&L line (seed 001 §7.2): the contractual minimum, or chosen beyond it. */
  readonly costLine?: 'tos' | 'brand';
  /** Sequence number of the entry this one corrects. */
  readonly corrects?: number;
}

export interface LedgerEntry extends LedgerEntryDraft {
  readonly incidentId: string;
  /** 1, 2, 3, … within the incident. */
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
}

/** `prevHash` of an incident's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** Hash of everything in an entry except the hash itself. */
export function entryHash(entry: Omit<LedgerEntry, 'hash'>): string {
  return sha256Hex(canonicalJson(entry));
}

/** Seals a draft as the entry that follows `previous` (or the first entry). */
export function sealEntry(
  incidentId: string,
  previous: LedgerEntry | undefined,
  draft: LedgerEntryDraft,
): LedgerEntry {
  const body = {
    ...draft,
    incidentId,
    seq: previous ? previous.seq + 1 : 1,
    prevHash: previous ? previous.hash : GENESIS_HASH,
  };
  return { ...body, hash: entryHash(body) };
}

/** Decides what appending `draft` to `entries` (ordered by seq) means: reuse an entry, or seal a new one. */
export function planAppend(
  incidentId: string,
  entries: readonly LedgerEntry[],
  draft: LedgerEntryDraft,
):
  | { readonly created: false; readonly entry: LedgerEntry }
  | { readonly created: true; readonly entry: LedgerEntry } {
  const existing = entries.find((e) => e.idempotencyKey === draft.idempotencyKey);
  if (existing) return { created: false, entry: existing };
  return { created: true, entry: sealEntry(incidentId, entries.at(-1), draft) };
}

export interface ChainProblem {
  readonly seq: number;
  readonly problem: 'edited' | 'broken-link' | 'gap' | 'wrong-incident';
  readonly detail: string;
}

/**
 * Verifies one incident's chain (entries in any order). Finds edited entries (hash mismatch),
 * inserted or removed ones (gaps in seq, links that do not match). A removed *last* entry leaves
 * a valid shorter chain; catching that needs the head anchored elsewhere.
 */
export function verifyChain(incidentId: string, entries: readonly LedgerEntry[]): readonly ChainProblem[] {
  const problems: ChainProblem[] = [];
  const sorted = [...entries].sort((a, b) => a.seq - b.seq);
  let previous: LedgerEntry | undefined;
  let expectedSeq = 1;
  for (const entry of sorted) {
    const { hash, ...body } = entry;
    if (entry.incidentId !== incidentId) {
      problems.push({ seq: entry.seq, problem: 'wrong-incident', detail: `belongs to ${entry.incidentId}` });
    }
    if (entry.seq !== expectedSeq) {
      problems.push({ seq: entry.seq, problem: 'gap', detail: `expected seq ${expectedSeq}` });
    }
    if (entryHash(body) !== hash) {
      problems.push({ seq: entry.seq, problem: 'edited', detail: 'content does not match its hash' });
    }
    const expectedPrev = previous ? previous.hash : GENESIS_HASH;
    if (entry.prevHash !== expectedPrev) {
      problems.push({
        seq: entry.seq,
        problem: 'broken-link',
        detail: 'prevHash does not match the entry before it',
      });
    }
    previous = entry;
    expectedSeq = entry.seq + 1;
  }
  return problems;
}
