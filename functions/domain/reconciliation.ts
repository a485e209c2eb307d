/**
 * The ledger's refunds and credits of a month against the payment provider's: what finance must
 * explain before it trusts the month. Pure: the caller reads the ledger (rows of `ledger/v1`, see
 * ledger-export.ts) and the provider (refunds with their balance transactions) and hands both in.
 *
 * An entry is matched by its `provider_ref` first — a refund recorded by hand names the provider's
 * id and carries no effect key — else by the effect key Act put in the provider's metadata
 * (`<incident>:<effect>:<attempt>`, see `effectKey`). A provider refund with neither a key nor a
 * reference the ledger knows is an ordinary support refund: not Casebook's, not a difference.
 */
import type { LedgerRow } from './ledger-export.ts';
import type { PaymentState } from './payments.ts';

/** The kinds of effect reconciled: the ones that move money to a customer at the provider. */
export type ReconciledKind = 'refund' | 'credit';

/** A refund (or credit) as the provider knows it, with what its balance transaction says. */
export interface ProviderMovement {
  readonly id: string;
  readonly kind: ReconciledKind;
  /** Positive, in minor units. */
  readonly amountMinor: number;
  /** ISO 4217, any case. */
  readonly currency: string;
  readonly state: PaymentState;
  readonly failureReason?: string;
  /** The `casebook_effect_key` metadata, when it has one. */
  readonly effectKey?: string;
  /** From its balance transaction: what the provider charged, and what moved net of it. */
  readonly feeMinor?: number;
  readonly netMinor?: number;
}

export type DifferenceKind =
  | 'pending-vs-settled'
  | 'failed-after-confirmed'
  | 'missing-from-ledger'
  | 'unknown-to-provider'
  | 'amount-differs'
  | 'currency-differs'
  | 'fee';

/** One thing that does not reconcile, with what a person needs to look it up on both sides. */
export interface Difference {
  readonly kind: DifferenceKind;
  readonly incidentId?: string;
  readonly effectId?: string;
  readonly entryId?: string;
  readonly providerId?: string;
  readonly ledger?: {
    readonly state: string | null;
    readonly amountMinor: number | null;
    readonly currency: string | null;
  };
  readonly provider?: {
    readonly state: PaymentState;
    readonly amountMinor: number;
    readonly currency: string;
    readonly feeMinor?: number;
    readonly failureReason?: string;
  };
  readonly detail: string;
}

export interface Reconciliation {
  readonly matched: number;
  /** Provider refunds that are not Casebook's (no key, no known reference): counted, not flagged. */
  readonly unrelated: number;
  readonly differences: readonly Difference[];
}

/** The effect key Act gives a provider call, split; undefined when the text is not one. */
export function parseEffectKey(
  key: string,
): { readonly incidentId: string; readonly effectId: string; readonly attempt: number } | undefined {
  const m = /^(INC-[^:]+):([^:]+):(\d+)$/.exec(key);
  return m?.[1] && m[2] && m[3] ? { incidentId: m[1], effectId: m[2], attempt: Number(m[3]) } : undefined;
}

/** A ledger effect as it stands: the last word of its entries. */
interface LedgerEffect {
  readonly row: LedgerRow;
  readonly kind: ReconciledKind;
}

/**
 * Each refund or credit effect of the rows, as it stands: per incident and effect, the latest
 * standing row (no row names it in `corrects_id`). An effect whose last word is a correction
 * with no amount was voided and has nothing to reconcile.
 */
export function ledgerEffects(rows: readonly LedgerRow[]): LedgerEffect[] {
  const superseded = new Set(
    rows.flatMap((r) => (r.corrects_id ? [`${r.incident_id}|${r.corrects_id}`] : [])),
  );
  const latest = new Map<string, LedgerRow>();
  for (const row of rows) {
    if (row.root_kind !== 'refund' && row.root_kind !== 'credit') continue;
    if (superseded.has(`${row.incident_id}|${row.entry_id}`)) continue;
    const key = `${row.incident_id}|${row.effect_id ?? row.entry_id}`;
    const before = latest.get(key);
    if (!before || before.seq < row.seq) latest.set(key, row);
  }
  return [...latest.values()]
    .filter((row) => row.kind !== 'correction' || (row.amount_minor ?? 0) !== 0)
    .sort((a, b) => a.incident_id.localeCompare(b.incident_id) || a.seq - b.seq)
    .map((row) => ({ row, kind: row.root_kind as ReconciledKind }));
}

/** Whether the ledger says the provider took it: a refund only intended, or refused, moved nothing. */
function providerTookIt(row: LedgerRow): boolean {
  return (
    row.state === 'executed' || row.state === 'confirmed' || (row.state === null && row.provider_ref !== null)
  );
}

/**
 * The differences between the ledger's effects (`rows`: the month's `ledger/v1` rows, any kinds)
 * and the provider's movements of the same month. `kinds` are the kinds the provider side covers:
 * a ledger credit is not called unknown when the caller did not read the provider's credits.
 */
export function reconcile(
  rows: readonly LedgerRow[],
  provider: readonly ProviderMovement[],
  kinds: readonly ReconciledKind[] = ['refund', 'credit'],
): Reconciliation {
  const byId = new Map(provider.map((p) => [p.id, p]));
  const byEffect = new Map<string, ProviderMovement>();
  for (const p of provider) {
    const key = p.effectKey ? parseEffectKey(p.effectKey) : undefined;
    if (!key) continue;
    // Of several attempts, the latest is the one the ledger's last word is about.
    const id = `${key.incidentId}|${key.effectId}`;
    const before = byEffect.get(id);
    const beforeAttempt = before?.effectKey ? (parseEffectKey(before.effectKey)?.attempt ?? 0) : 0;
    if (!before || beforeAttempt < key.attempt) byEffect.set(id, p);
  }
  const used = new Set<string>();
  const differences: Difference[] = [];
  let matched = 0;
  const effects = ledgerEffects(rows).filter((e) => kinds.includes(e.kind));
  const knownEffects = new Set(effects.map((e) => `${e.row.incident_id}|${e.row.effect_id ?? ''}`));
  const knownRefs = new Set(effects.flatMap((e) => (e.row.provider_ref ? [e.row.provider_ref] : [])));
  for (const { row } of effects) {
    const byRef = row.provider_ref ? byId.get(row.provider_ref) : undefined;
    const match = byRef ?? (row.effect_id ? byEffect.get(`${row.incident_id}|${row.effect_id}`) : undefined);
    const ledger = { state: row.state, amountMinor: row.amount_minor, currency: row.currency };
    const names = {
      incidentId: row.incident_id,
      ...(row.effect_id ? { effectId: row.effect_id } : {}),
      entryId: row.entry_id,
    };
    if (!match) {
      if (providerTookIt(row))
        differences.push({
          kind: 'unknown-to-provider',
          ...names,
          ...(row.provider_ref ? { providerId: row.provider_ref } : {}),
          ledger,
          detail:
            `the ledger records ${row.root_kind} ${describe(row.amount_minor, row.currency)} ${row.state ?? ''} the provider does not know this month`.replace(
              / {2}/g,
              ' ',
            ),
        });
      continue;
    }
    used.add(match.id);
    matched += 1;
    const seen = {
      state: match.state,
      amountMinor: match.amountMinor,
      currency: match.currency.toUpperCase(),
      ...(match.feeMinor !== undefined ? { feeMinor: match.feeMinor } : {}),
      ...(match.failureReason ? { failureReason: match.failureReason } : {}),
    };
    const both = { ...names, providerId: match.id, ledger, provider: seen };
    const state = row.state;
    if (match.state === 'failed' && (state === 'confirmed' || state === 'executed'))
      differences.push({
        kind: 'failed-after-confirmed',
        ...both,
        detail: `${match.id} failed at the provider (${match.failureReason ?? 'no reason given'}) after the ledger recorded it ${state}`,
      });
    else if (match.state === 'pending' && state === 'confirmed')
      differences.push({
        kind: 'pending-vs-settled',
        ...both,
        detail: `the ledger says confirmed, the provider still pending`,
      });
    else if (match.state === 'succeeded' && state === 'executed')
      differences.push({
        kind: 'pending-vs-settled',
        ...both,
        detail: `the provider settled it, the ledger still says executed (pending)`,
      });
    if (row.currency !== null && row.currency.toUpperCase() !== seen.currency)
      differences.push({
        kind: 'currency-differs',
        ...both,
        detail: `the ledger says ${row.currency}, the provider ${seen.currency}`,
      });
    else if (row.amount_minor !== null && row.amount_minor !== match.amountMinor)
      differences.push({
        kind: 'amount-differs',
        ...both,
        detail: `the ledger says ${describe(row.amount_minor, row.currency)}, the provider ${describe(match.amountMinor, seen.currency)}`,
      });
    if (match.feeMinor !== undefined && match.feeMinor !== (row.fee_minor ?? 0))
      differences.push({
        kind: 'fee',
        ...both,
        detail: `the provider charged a fee of ${describe(match.feeMinor, seen.currency)}; the ledger records ${describe(row.fee_minor ?? 0, row.fee_currency ?? row.currency)}`,
      });
  }
  let unrelated = 0;
  for (const p of provider) {
    if (used.has(p.id)) continue;
    const key = p.effectKey ? parseEffectKey(p.effectKey) : undefined;
    // An earlier attempt of an effect the ledger has, failed at the provider: it moved no money,
    // and the ledger's retry explains it. One that did not fail moved money a second time.
    if (key && p.state === 'failed' && knownEffects.has(`${key.incidentId}|${key.effectId}`)) continue;
    if (key && kinds.includes(p.kind)) {
      differences.push({
        kind: 'missing-from-ledger',
        incidentId: key.incidentId,
        effectId: key.effectId,
        providerId: p.id,
        provider: {
          state: p.state,
          amountMinor: p.amountMinor,
          currency: p.currency.toUpperCase(),
          ...(p.feeMinor !== undefined ? { feeMinor: p.feeMinor } : {}),
        },
        detail: `${p.id} carries Casebook's effect key ${p.effectKey} but the ledger has no such ${p.kind} this month`,
      });
    } else if (!knownRefs.has(p.id)) unrelated += 1;
  }
  return { matched, unrelated, differences };
}

function describe(minor: number | null, currency: string | null): string {
  return minor === null ? '(no amount)' : `${minor} ${currency?.toUpperCase() ?? ''}`.trim();
}

/** One line per difference, for the terminal. */
export function differenceLine(d: Difference): string {
  const who = [d.incidentId, d.effectId, d.providerId].filter(Boolean).join(' ');
  return `${d.kind}: ${who} — ${d.detail}`;
}
