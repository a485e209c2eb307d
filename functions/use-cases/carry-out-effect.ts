/**
 * Use case: Act carries out one approved effect — for now, a customer notice — exactly once.
 *
 * Primary course:
 *  1. Read the incident's ledger: an effect already completed is returned as it was (a retried
 *     Map item never sends a second notice).
 *  2. An attempt that recorded its intent but neither completion nor failure may have sent the
 *     notice: stop with Casebook.EffectInDoubt for a person to reconcile, never resend blindly.
 *  3. Append the intent (a run that finds it already there stops: another run has it), send,
 *     then append the completion with the provider's message id. A refusal by the provider
 *     (nothing sent) is appended as a failure and retried by Step Functions; a send that ended
 *     without an answer stops with Casebook.EffectInDoubt.
 */

import { CasebookError, DeliveryRejectedError, ERROR_NAMES } from '../domain/errors.ts';
import type { JsonObject } from '../domain/json.ts';
import type { LedgerEntry, LedgerEntryDraft } from '../domain/ledger.ts';
import { effectState } from '../domain/ledger.ts';
import { customerNoticeEmail, messageHash } from '../domain/messages.ts';
import type { PlannedEffect } from '../domain/plan.ts';
import type { Clock, IncidentStore, Ledger, Mailer } from '../domain/ports.ts';

export interface CarryOutEffectDeps {
  readonly incidents: IncidentStore;
  readonly ledger: Ledger;
  readonly mailer: Mailer;
  readonly clock: Clock;
}

export interface CarryOutEffectResult {
  readonly effectId: string;
  readonly outcome: 'completed' | 'already-completed';
  readonly ledgerSeq: number;
}

export async function carryOutEffect(
  deps: CarryOutEffectDeps,
  input: { readonly incidentId: string; readonly effect: PlannedEffect },
): Promise<CarryOutEffectResult> {
  const { incidentId, effect } = input;
  const incident = await deps.incidents.getIncident(incidentId);
  if (!incident) throw new CasebookError(ERROR_NAMES.incidentNotFound, `No incident ${incidentId}`);
  const planned = incident.plan?.effects.find((e) => e.effectId === effect.effectId);
  if (!planned) throw new Error(`${incidentId} has no approved effect ${effect.effectId}`);

  // 1.
  const mine = (await deps.ledger.read(incidentId)).filter(
    (e) => e.log === 'effect' && (e.format === 2 ? e.effectId : e.detail.effectId) === planned.effectId,
  );
  const completed = mine.find((e) => effectState(e) === 'confirmed');
  if (completed)
    return { effectId: planned.effectId, outcome: 'already-completed', ledgerSeq: completed.seq };

  // 2.
  const attempts = mine.filter((e) => effectState(e) === 'intent');
  const unsettled = attempts.find(
    (intent) => !mine.some((e) => effectState(e) === 'failed' && e.detail.attempt === intent.detail.attempt),
  );
  if (unsettled) {
    throw new CasebookError(
      ERROR_NAMES.effectInDoubt,
      `${incidentId} ${planned.effectId}: attempt ${String(unsettled.detail.attempt)} recorded its intent but not its outcome; the notice may have been sent. Reconcile with the provider before retrying.`,
    );
  }

  // 3.
  const attempt = attempts.length + 1;
  const message = customerNoticeEmail(incident, planned.to);
  if (messageHash(message) !== planned.contentHash) {
    // The template or the incident's wording changed after approval: send nothing unapproved.
    throw new Error(
      `${incidentId} ${planned.effectId}: the notice no longer matches the one approved (content hash differs); propose and approve a new plan`,
    );
  }
  const base = {
    attempt,
    template: planned.template,
    subject: message.subject,
    planVersion: incident.plan?.version ?? 0,
  } satisfies JsonObject;
  const draft = (
    state: 'intent' | 'confirmed' | 'failed',
    extra: JsonObject = {},
    providerRef?: string,
  ): LedgerEntryDraft => ({
    log: 'effect',
    kind: 'notice',
    world: planned.world,
    phase: 'Act',
    at: deps.clock.now().toISOString(),
    actor: 'casebook (Act)',
    idempotencyKey: `${planned.effectId}:${attempt}:${state}`,
    summary: `Customer notice ${planned.effectId}: ${state}`,
    effectId: planned.effectId,
    state,
    ...(providerRef ? { providerRef } : {}),
    basis: { planVersion: incident.plan?.version ?? 0, planHash: incident.plan?.hash ?? '' },
    detail: { ...base, ...extra },
  });

  const intent = await deps.ledger.append(incidentId, draft('intent'));
  if (!intent.created) {
    // Another run of this very attempt got there first (a retry that overlapped the original).
    throw new CasebookError(
      ERROR_NAMES.effectInDoubt,
      `${incidentId} ${planned.effectId}: attempt ${attempt} is already under way in another run; not sending twice.`,
    );
  }
  let messageId: string;
  try {
    ({ messageId } = await deps.mailer.send(message));
  } catch (error) {
    if (error instanceof DeliveryRejectedError) {
      await deps.ledger.append(incidentId, draft('failed', { error: error.message }));
      throw new CasebookError(
        ERROR_NAMES.dependencyUnavailable,
        `Sending the notice failed: ${error.message}`,
        {
          cause: error,
        },
      );
    }
    throw new CasebookError(
      ERROR_NAMES.effectInDoubt,
      `${incidentId} ${planned.effectId}: sending ended without an answer (${(error as Error).message}); the notice may have been sent. Reconcile with the provider before retrying.`,
      { cause: error },
    );
  }
  const { entry }: { entry: LedgerEntry } = await deps.ledger.append(
    incidentId,
    draft('confirmed', { provider: 'ses' }, messageId),
  );
  await deps.incidents.addTimelineEvent(incidentId, {
    key: `effect:${planned.effectId}`,
    at: entry.at,
    world: planned.world,
    type: 'effect_carried_out',
    phase: 'Act',
    summary: `Customer notice ${planned.effectId} sent (ledger #${entry.seq})`,
    detail: { effectId: planned.effectId, ledgerSeq: entry.seq },
  });
  return { effectId: planned.effectId, outcome: 'completed', ledgerSeq: entry.seq };
}
