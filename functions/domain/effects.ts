/**
 * Where each approved effect stands while Act carries it out, exactly once, as intent → executed
 * → confirmed. The Effect Ledger is the record; the effect's progress in the operational store is
 * an index of it that Act reads to know what to do next, and every change of progress follows a
 * ledger entry, never precedes it.
 */
import type { JsonObject } from './json.ts';
import type { EffectState, LedgerEntryDraft } from './ledger.ts';
import type { PaymentOutcome } from './payments.ts';
import type { PlannedEffect } from './plan.ts';

/**
 * - `planned`: nothing done yet.
 * - `intent`: the intent is on the ledger; the provider may or may not have been called.
 * - `executed`: the provider took it (a refund id), the outcome is not final yet (refund pending).
 * - `confirmed`: done, and final.
 * - `attention`: waits for a person: the outcome is in doubt, the provider refused it, or the
 *   provider is `manual` and a person carries it out.
 * - `voided`: a person decided it will not be carried out; a correction entry says why.
 */
export type EffectProgress = 'planned' | 'intent' | 'executed' | 'confirmed' | 'attention' | 'voided';

/**
 * Why an effect waits for a person, and what they may answer. `plan-mismatch` is about the plan as
 * a whole: its stored effects are not the ones approved, and Act carries out none of them; the
 * SRE lead answers `retry` once the stored effects are restored, and Act checks them again.
 */
export type AttentionReason = 'in-doubt' | 'refused' | 'manual' | 'plan-mismatch' | 'bounced';

export const ATTENTION_ANSWERS: Readonly<Record<AttentionReason, readonly EffectAnswer['answer'][]>> = {
  'in-doubt': ['sent', 'not-sent'],
  refused: ['retry', 'done-by-hand', 'void'],
  manual: ['done-by-hand', 'void'],
  'plan-mismatch': ['retry'],
  // SES took the notice but the address bounced it or SES rejected it: the customer was not told.
  // `resend` is offered only where the customer list holds another address (see otherAddresses).
  bounced: ['resend', 'done-by-hand', 'void'],
};

/**
 * The addresses a bounced notice may be sent to instead: the customer's other addresses on the
 * list, less those it already went to (compared without case), in the list's order.
 */
export function otherAddresses(
  customer: { readonly email?: string; readonly otherEmails?: readonly string[] },
  tried: readonly string[],
): string[] {
  const used = new Set([customer.email, ...tried].filter((a) => a !== undefined).map((a) => a.toLowerCase()));
  return (customer.otherEmails ?? []).filter((a) => !used.has(a.toLowerCase()));
}

/** The id a question about a whole plan version goes by, where one about an effect has the effect's. */
export function planQuestionId(planVersion: number): string {
  return `P${planVersion}`;
}

/** Whether a question's effect id names a whole plan version ({@link planQuestionId}). */
export function isPlanQuestion(effectId: string): boolean {
  return /^P\d+$/.test(effectId);
}

/** A person's answer to an effect that waits for them. */
export type EffectAnswer =
  | { readonly answer: 'sent'; readonly note: string }
  | { readonly answer: 'not-sent'; readonly note: string }
  | { readonly answer: 'retry'; readonly note: string }
  | { readonly answer: 'done-by-hand'; readonly reference: string; readonly note: string }
  | { readonly answer: 'void'; readonly note: string }
  /** Send the approved notice again, word for word, to another of the customer's listed addresses. */
  | { readonly answer: 'resend'; readonly address: string; readonly note: string };

/** An effect of the approved plan and how far Act got with it. */
export interface EffectRecord extends PlannedEffect {
  readonly progress: EffectProgress;
  /** 1 for the first try; a person's `retry` or `not-sent` starts the next. */
  readonly attempt: number;
  /** The provider's id: refund `re_…`, credit, SES MessageId, or the reference a person gave. */
  readonly providerRef?: string;
  /** When the intent of the current attempt was recorded. */
  readonly intentAt?: string;
  readonly attention?: {
    readonly reason: AttentionReason;
    readonly detail: string;
    readonly since: string;
  };
  readonly updatedAt?: string;
}

/** Progress from which Act still has something to do by itself. */
export function actCanProceed(effect: Pick<EffectRecord, 'progress'>): boolean {
  return effect.progress === 'planned' || effect.progress === 'intent' || effect.progress === 'executed';
}

/** The key an effect's provider call carries: the same for every retry of one attempt. */
export function effectKey(incidentId: string, effect: Pick<EffectRecord, 'effectId' | 'attempt'>): string {
  return `${incidentId}:${effect.effectId}:${effect.attempt}`;
}

/** What a run of Act did with the effects of a plan, and what the state machine does next. */
export interface ActProgress {
  /** `done`: every effect is confirmed or voided. `more`: the run ran out of time. */
  readonly outcome: 'done' | 'more' | 'waiting-provider' | 'waiting-people';
  readonly counts: Readonly<Record<EffectProgress, number>>;
  /** When to look again: for `waiting-provider`; 0 otherwise. */
  readonly retryAfterSeconds: number;
}

/**
 * A question to the responders about one effect (in doubt, refused, or to be done by hand). Each
 * responder gets a link of their own: a random secret, of which only the hash is stored.
 */
export interface EffectQuestion {
  readonly incidentId: string;
  /** The effect's id, or the plan's ({@link planQuestionId}) for a question about the whole plan. */
  readonly effectId: string;
  /**
   * The effect's attempt the question is about; one question per attempt. For a question about a
   * plan ({@link planQuestionId}), how many times it was asked.
   */
  readonly attempt: number;
  readonly reason: AttentionReason;
  readonly detail: string;
  readonly askedAt: string;
  /** SHA-256 of each responder's link secret → that responder's address. */
  readonly links: Readonly<Record<string, string>>;
  /** When the links went out; until then, asking again sends new ones. */
  readonly emailedAt?: string;
  readonly answered?: {
    readonly answer: EffectAnswer['answer'];
    readonly by: string;
    readonly at: string;
    readonly note: string;
    readonly reference?: string;
    /** For `resend`: the address it went to (kept in the operational store only, never on the ledger). */
    readonly address?: string;
  };
}

/** The parts of a question link id: `INC-2026-0001.P1-E3.1.<secret>`. */
export interface QuestionRef {
  readonly incidentId: string;
  readonly effectId: string;
  readonly attempt: number;
  readonly secret: string;
}

const QUESTION_ID =
  /^(INC-\d{4}-\d{4,8})\.(P[1-9]\d{0,3}(?:-E[1-9]\d{0,5})?)\.([1-9]\d{0,3})\.([A-Za-z0-9_-]{43})$/;

export function formatQuestionId(ref: QuestionRef): string {
  return `${ref.incidentId}.${ref.effectId}.${ref.attempt}.${ref.secret}`;
}

/** Parses a question link id; only the canonical form, anything else is undefined (answered 404). */
export function parseQuestionId(value: string): QuestionRef | undefined {
  const m = QUESTION_ID.exec(value);
  if (!m?.[1] || !m[2] || !m[3] || !m[4]) return undefined;
  return { incidentId: m[1], effectId: m[2], attempt: Number(m[3]), secret: m[4] };
}

/**
 * The ledger entry that records an effect reaching `state` in its attempt — one shape for Act and
 * for anyone else who moves an effect (a resend a person chose), so what an auditor reads of an
 * effect, its key and its money lines, cannot differ by who moved it.
 */
export function effectStateEntry(
  effect: EffectRecord,
  state: EffectState,
  entry: {
    readonly at: string;
    readonly actor: string;
    readonly basis: NonNullable<LedgerEntryDraft['basis']>;
    /** Said after the state in the summary, in parentheses. */
    readonly note?: string;
    readonly providerRef?: string;
    readonly effectiveAt?: string;
    readonly fee?: PaymentOutcome['fee'];
    /** Beside the attempt, in the entry's detail. */
    readonly detail?: JsonObject;
  },
): LedgerEntryDraft {
  return {
    log: 'effect',
    kind: effect.kind,
    world: effect.world,
    phase: 'Act',
    at: entry.at,
    actor: entry.actor,
    idempotencyKey: `effect:${effect.effectId}:${effect.attempt}:${state}`,
    summary: `${effect.kind} ${effect.effectId} for ${effect.counterparty}: ${state}${entry.note ? ` (${entry.note})` : ''}`,
    effectId: effect.effectId,
    state,
    counterparty: effect.counterparty,
    obligation: effect.obligation,
    ...(effect.amount ? { amount: effect.amount } : {}),
    ...(effect.productArea ? { productArea: effect.productArea } : {}),
    ...(entry.providerRef ? { providerRef: entry.providerRef } : {}),
    ...(entry.effectiveAt ? { effectiveAt: entry.effectiveAt } : {}),
    ...(entry.fee ? { fee: entry.fee } : {}),
    basis: entry.basis,
    detail: { attempt: effect.attempt, ...(entry.detail ?? {}) },
  };
}
