/**
 * What an incident cost, read from its Effect Ledger (seed 001 §7): refunds vs goodwill credits vs
 * ops labour vs legal and other fees, each on the ToS line or the brand line (§7.2).
 *
 * Corrections are forward-only: the corrected entry stays in the chain as it was written, and the
 * entry that names it (`corrects`) is what stands now. So a report nets them out — a correction
 * with an amount replaces the amount it corrects (counted under the kind of the entry it
 * ultimately corrects), a correction without one voids it — and never edits anything.
 */
import type { LedgerEntry } from './ledger.ts';
import { effectState, isCurrentEntry } from './ledger.ts';
import type { Money } from './money.ts';
import { formatMajorAmount } from './money.ts';
import type { Obligation } from './plan.ts';

/**
 * The kinds that are money the incident cost. `charge` (money taken, not paid out), notices,
 * access grants and the detection record are not; a `correction` that corrects nothing counts as
 * itself.
 */
export const PNL_KINDS = [
  'refund',
  'credit',
  'correction',
  'manual_operation',
  'ops_labour',
  'legal_fee',
  'other_cost',
] as const;
export type PnlKind = (typeof PNL_KINDS)[number];

/** One row of the P&L: a kind, a currency and a line, summed over the entries that stand. */
export interface PnlTotal {
  readonly kind: PnlKind;
  readonly currency: string;
  /** The ToS line or the brand line; null for an entry that names neither. */
  readonly obligation: Obligation | null;
  /** How many entries make up the sum. */
  readonly count: number;
  readonly minor: number;
  /** `minor` in the major unit, for people: "1250.00". */
  readonly amount: string;
}

/** Everything on one line (ToS or brand) in one currency. */
export interface PnlLine {
  readonly obligation: Obligation | null;
  readonly currency: string;
  readonly minor: number;
  readonly amount: string;
}

export interface ProfitAndLoss {
  /** Per kind, currency and obligation, in a stable order. */
  readonly totals: readonly PnlTotal[];
  /** Per obligation and currency: the ToS line and the brand line. */
  readonly lines: readonly PnlLine[];
}

/** An entry that stands (no later entry corrects it), and the entry its corrections go back to. */
export interface StandingEntry {
  readonly entry: LedgerEntry;
  /** The first entry of its correction chain: the entry itself when it corrects nothing. */
  readonly root: LedgerEntry;
}

/** How an entry is named by the entries that correct it: its id (formats 2 and 3) or its seq (format 1). */
function nameOf(entry: LedgerEntry): string {
  return isCurrentEntry(entry) ? `id:${entry.id}` : `seq:${entry.seq}`;
}

/** The entry `entry` corrects, named as {@link nameOf} names it. */
function correctedName(entry: LedgerEntry): string | undefined {
  if (isCurrentEntry(entry)) return entry.corrects ? `id:${entry.corrects.id}` : undefined;
  return typeof entry.corrects === 'number' ? `seq:${entry.corrects}` : undefined;
}

/**
 * The Effect Ledger entries that stand, in seq order. An entry stops standing when a later one
 * corrects it. The entries that correct one another form a tree under the first (the root), and
 * the latest of them is the last word on it: when a correction names an entry that an earlier
 * correction had already named, that earlier one stops standing too, so a root has at most one
 * entry standing for it. A correction can only name an entry written before it, so trees end.
 */
export function standingEntries(entries: readonly LedgerEntry[]): StandingEntry[] {
  const effects = entries.filter((e) => e.log === 'effect').sort((a, b) => a.seq - b.seq);
  const byName = new Map<string, LedgerEntry>();
  const rootOf = new Map<LedgerEntry, LedgerEntry>();
  const lastWord = new Map<LedgerEntry, LedgerEntry>();
  const superseded = new Set<LedgerEntry>();
  for (const entry of effects) {
    const named = correctedName(entry);
    const target = named === undefined ? undefined : byName.get(named);
    const root = target && target.seq < entry.seq ? (rootOf.get(target) ?? target) : entry;
    if (target && root !== entry) {
      superseded.add(target);
      const earlier = lastWord.get(root);
      if (earlier) superseded.add(earlier);
      lastWord.set(root, entry);
    }
    rootOf.set(entry, root);
    byName.set(nameOf(entry), entry);
  }
  return effects
    .filter((e) => !superseded.has(e))
    .map((entry) => ({ entry, root: rootOf.get(entry) ?? entry }));
}

function obligationOf(entry: LedgerEntry): Obligation | undefined {
  return isCurrentEntry(entry) ? entry.obligation : entry.costLine;
}

const isPnlKind = (kind: string): kind is PnlKind => (PNL_KINDS as readonly string[]).includes(kind);

/**
 * The P&L of a ledger: every standing, `confirmed` entry with an amount, counted under the kind of
 * the entry its corrections go back to, on its own line (ToS or brand) or else its root's.
 */
export function profitAndLoss(entries: readonly LedgerEntry[]): ProfitAndLoss {
  const rows = new Map<
    string,
    { kind: PnlKind; obligation: Obligation | null; count: number; money: Money }
  >();
  for (const { entry, root } of standingEntries(entries)) {
    if (effectState(entry) !== 'confirmed' || !entry.amount || !isPnlKind(root.kind)) continue;
    const obligation = obligationOf(entry) ?? obligationOf(root) ?? null;
    const { currency } = entry.amount;
    const key = `${root.kind}|${currency}|${obligation}`;
    const row = rows.get(key) ?? { kind: root.kind, obligation, count: 0, money: { minor: 0, currency } };
    rows.set(key, {
      ...row,
      count: row.count + 1,
      money: { currency, minor: row.money.minor + entry.amount.minor },
    });
  }
  const totals = [...rows.values()]
    .map(({ kind, obligation, count, money }) => ({
      kind,
      currency: money.currency,
      obligation,
      count,
      minor: money.minor,
      amount: formatMajorAmount(money),
    }))
    .sort(
      (a, b) =>
        PNL_KINDS.indexOf(a.kind) - PNL_KINDS.indexOf(b.kind) ||
        a.currency.localeCompare(b.currency) ||
        String(a.obligation).localeCompare(String(b.obligation)),
    );
  const lines = new Map<string, PnlLine>();
  for (const total of totals) {
    const key = `${total.obligation}|${total.currency}`;
    const minor = (lines.get(key)?.minor ?? 0) + total.minor;
    lines.set(key, {
      obligation: total.obligation,
      currency: total.currency,
      minor,
      amount: formatMajorAmount({ minor, currency: total.currency }),
    });
  }
  return {
    totals,
    lines: [...lines.values()].sort(
      (a, b) =>
        String(a.obligation).localeCompare(String(b.obligation)) || a.currency.localeCompare(b.currency),
    ),
  };
}
