/**
 * Use case: a person records on the Effect Ledger what was done by hand (seed 001 §6.2: no
 * "shadow operations") — an admin operation, a cost of the incident, or a refund, credit or
 * correction done outside Casebook — with who, why and the evidence, as a `confirmed` entry.
 *
 * Primary course:
 *  1. Find the incident (404 when there is none).
 *  2. With `corrects`: find the corrected entry in this incident's Effect Ledger; it must exist and
 *     not have been corrected already (correct the correction instead), and money stays in its
 *     currency.
 *  3. Name the customer by pseudonym, never by reference, address or name.
 *  4. Append, once per Idempotency-Key: a retry with the same key and the same request gets the
 *     first entry back; the same key with another request is a conflict.
 */
import canonicalize from 'canonicalize';
import { ConflictError, InvalidInputError, NotFoundError } from '../domain/errors.ts';
import { isIncidentId } from '../domain/incident.ts';
import { sha256Hex } from '../domain/json.ts';
import type { LedgerEntry, LedgerEntryDraft, LedgerEntryV2, LedgerEntryV3 } from '../domain/ledger.ts';
import { isCurrentEntry } from '../domain/ledger.ts';
import type { ManualEntry } from '../domain/manual-entry.ts';
import { manualIdempotencyKey } from '../domain/manual-entry.ts';
import { formatMajorAmount } from '../domain/money.ts';
import type { Clock, IncidentStore, Ledger } from '../domain/ports.ts';

export interface RecordLedgerEntryDeps {
  readonly incidents: Pick<IncidentStore, 'getIncident'>;
  readonly ledger: Ledger;
  /** The customer's pseudonym (`cp_…`) for the company's reference. */
  readonly pseudonym: (customerRef: string) => Promise<string>;
  readonly clock: Clock;
}

export interface RecordLedgerEntryInput {
  readonly incidentId: string;
  /** The caller's Idempotency-Key. */
  readonly idempotencyKey: string;
  readonly entry: ManualEntry;
  /** The IAM principal that signed the request, where API Gateway names one. */
  readonly principal?: string;
}

/** How far in the future `effectiveAt` may be (clocks differ); later is a mistake, not a record. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

export async function recordLedgerEntry(
  deps: RecordLedgerEntryDeps,
  input: RecordLedgerEntryInput,
): Promise<{ readonly created: boolean; readonly entry: LedgerEntry }> {
  const { entry: manual } = input;
  // 1.
  const incident = isIncidentId(input.incidentId)
    ? await deps.incidents.getIncident(input.incidentId)
    : undefined;
  if (!incident) throw new NotFoundError(`No incident ${input.incidentId}`);
  const now = deps.clock.now();
  if (Date.parse(manual.effectiveAt) > now.getTime() + CLOCK_SKEW_MS) {
    throw new InvalidInputError({
      field: 'effectiveAt',
      message: 'is in the future: record an operation or a cost once it happened',
    });
  }
  const key = manualIdempotencyKey(input.idempotencyKey);
  const requestHash = sha256Hex(canonicalize(manual) ?? '');

  // 2.
  let corrects: LedgerEntryDraft['corrects'];
  if (manual.corrects) {
    const chain = await deps.ledger.read(incident.id);
    const earlier = chain.find((e) => e.idempotencyKey === key);
    if (earlier) return { created: false, entry: sameRequest(earlier, requestHash, input.idempotencyKey) };
    corrects = correctable(chain, manual);
  }

  // 3.
  const counterparty = manual.customerRef ? await deps.pseudonym(manual.customerRef) : undefined;

  // 4.
  const draft: LedgerEntryDraft = {
    log: 'effect',
    kind: manual.kind,
    world: manual.world,
    phase: incident.phase,
    at: now.toISOString(),
    actor: manual.actor,
    idempotencyKey: key,
    summary: summaryOf(manual, counterparty),
    state: 'confirmed',
    ...(manual.amount ? { amount: manual.amount } : {}),
    ...(counterparty ? { counterparty } : {}),
    productArea: manual.productArea,
    obligation: manual.obligation,
    ...(manual.providerRef ? { providerRef: manual.providerRef } : {}),
    ...(corrects ? { corrects } : {}),
    effectiveAt: manual.effectiveAt,
    ...(manual.glCode ? { glCode: manual.glCode } : {}),
    detail: {
      recordedBy: 'person',
      reason: manual.reason,
      evidence: manual.evidence,
      ...(manual.labour ? { labour: { hours: manual.labour.hours, rate: { ...manual.labour.rate } } } : {}),
      ...(input.principal ? { principal: input.principal } : {}),
      requestHash,
    },
  };
  const appended = await deps.ledger.append(incident.id, draft);
  if (appended.created) return appended;
  return { created: false, entry: sameRequest(appended.entry, requestHash, input.idempotencyKey) };
}

/** The entry a retry gets back: only for the same request; another under the same key is refused. */
function sameRequest(entry: LedgerEntry, requestHash: string, key: string): LedgerEntry {
  if (entry.detail.requestHash !== requestHash) {
    throw new ConflictError(
      `Idempotency-Key ${key} already recorded another entry (seq ${entry.seq}); use a new key for a new entry`,
    );
  }
  return entry;
}

/** The `corrects` of the new entry, once the entry it names is found to be correctable. */
function correctable(
  chain: readonly LedgerEntry[],
  manual: ManualEntry,
): NonNullable<LedgerEntryDraft['corrects']> {
  const target = chain.find(
    (e): e is LedgerEntryV2 | LedgerEntryV3 => isCurrentEntry(e) && e.id === manual.corrects,
  );
  if (!target) {
    throw new InvalidInputError({
      field: 'corrects',
      message: `no entry ${manual.corrects} in this incident's ledger`,
    });
  }
  if (target.log !== 'effect') {
    throw new InvalidInputError({
      field: 'corrects',
      message: `entry ${target.id} is on the Decision Log; only Effect Ledger entries are corrected here`,
    });
  }
  const correction = chain.find(
    (e): e is LedgerEntryV2 | LedgerEntryV3 => isCurrentEntry(e) && e.corrects?.id === target.id,
  );
  if (correction) {
    throw new ConflictError(
      `Entry ${target.id} (seq ${target.seq}) was already corrected by ${correction.id} (seq ${correction.seq}); correct that one instead`,
    );
  }
  if (target.amount && manual.amount && target.amount.currency !== manual.amount.currency) {
    throw new InvalidInputError({
      field: 'currency',
      message: `must be ${target.amount.currency}, the currency of the entry it corrects`,
    });
  }
  return { id: target.id, seq: target.seq };
}

const KIND_WORDS: Readonly<Record<ManualEntry['kind'], string>> = {
  manual_operation: 'Manual operation',
  ops_labour: 'Ops labour',
  legal_fee: 'Legal fee',
  other_cost: 'Other cost',
  refund: 'Refund outside Casebook',
  credit: 'Credit outside Casebook',
  correction: 'Correction outside Casebook',
};

/** One line for people: what, how much, on which line, for whom, and why. */
function summaryOf(manual: ManualEntry, counterparty: string | undefined): string {
  const money = manual.amount ? ` ${manual.amount.currency} ${formatMajorAmount(manual.amount)}` : '';
  const hours = manual.labour ? ` (${manual.labour.hours} h)` : '';
  const who = counterparty ? ` for ${counterparty}` : '';
  const text = `${KIND_WORDS[manual.kind]}${money}${hours} [${manual.obligation}]${who}, recorded by ${manual.actor}: ${manual.reason}`;
  return text.length > 2000 ? `${text.slice(0, 1999).toWellFormed()}…` : text;
}
