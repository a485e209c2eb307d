/**
 * Use case: Act carries out the approved plan's effects — refunds and credits through the
 * payments provider, notices and corrections through SES — each exactly once, as
 * intent → executed → confirmed on the Effect Ledger.
 *
 * Primary course:
 *  1. Load the incident; act only on a plan every approver of the current round approved, and only
 *     on the effects that plan's hash and count describe: both are computed again from the stored
 *     effects before anything is paid or sent. When they differ, nothing is carried out and the SRE
 *     lead is asked (the run waits for people).
 *  2. Go through the plan's effects in order, a page at a time, at the providers' rates; carry out
 *     each that Act can move on by itself. Stop early when the run's time is nearly up.
 *  3. Say what the state machine does next: done, run again (out of time, or refunds already due
 *     another look), look again later (refunds still pending, a provider that did not answer), or
 *     wait for people (effects in doubt, refused, or to be done by hand — they were asked by
 *     e-mail; the other effects went on meanwhile).
 *
 * One effect:
 *  - planned → record the intent, then call the provider with the effect's key.
 *  - intent (an earlier run stopped after recording it) → a payment is called again with the same
 *    key (Stripe answers the first result; past its 24 hours, the payment is looked up by the key
 *    first); a notice is in doubt, because SES has no idempotency key, and a person is asked.
 *  - executed (a refund still pending) → look it up; confirmed or failed when Stripe says so.
 */

import { votesOf } from '../domain/approval.ts';
import { describeRule, evaluateRound } from '../domain/approval-policy.ts';
import type { ActProgress, AttentionReason, EffectProgress, EffectRecord } from '../domain/effects.ts';
import { actCanProceed, effectKey, effectStateEntry } from '../domain/effects.ts';
import {
  CasebookError,
  ConcurrentChangeError,
  DeliveryRejectedError,
  ERROR_NAMES,
  PaymentRefusedError,
} from '../domain/errors.ts';
import type { Incident } from '../domain/incident.ts';
import type { JsonObject } from '../domain/json.ts';
import type { EffectState } from '../domain/ledger.ts';
import { effectNotice, messageHash } from '../domain/messages.ts';
import type { SentNotices } from '../domain/notice-events.ts';
import type { PaymentOutcome, PaymentsPort } from '../domain/payments.ts';
import { effectsHasher, plannedEffectOf, versionIdOf } from '../domain/plan.ts';
import type {
  ApprovalStore,
  AskAboutEffect,
  Clock,
  EffectStore,
  IncidentStore,
  Ledger,
  Mailer,
} from '../domain/ports.ts';

/** Waits so that calls to a provider stay within its rate. */
export interface RateLimiter {
  take(): Promise<void>;
  /** How long a call asking now would wait for its turn, in milliseconds (0 when unknown). */
  delayMs?(): number;
}

export interface CarryOutEffectsDeps {
  readonly incidents: Pick<IncidentStore, 'getIncident' | 'addTimelineEvent' | 'updateIncident'>;
  readonly approvals: Pick<ApprovalStore, 'listApprovals'>;
  readonly effects: EffectStore;
  readonly ledger: Ledger;
  readonly mailer: Mailer;
  /** Where a notice SES took is found again by its MessageId, when SES's events about it come back. */
  readonly sentNotices?: Pick<SentNotices, 'remember'>;
  /** `manual`: a person carries out refunds and credits in the company's own system. */
  readonly payments: PaymentsPort | 'manual';
  /**
   * Asks the responders about an effect that waits for a person; asking again changes nothing —
   * except that an answer on record a failed request left undone is carried out, and the effect as
   * it then stands is answered.
   */
  readonly ask: AskAboutEffect;
  /** Asks the SRE lead about a plan whose stored effects are not the approved ones; asking again changes nothing. */
  readonly askAboutPlan: (incident: Incident, planVersion: number, detail: string) => Promise<void>;
  readonly clock: Clock;
  readonly rates: { readonly mail: RateLimiter; readonly payments: RateLimiter };
  /** Milliseconds this run may still use. */
  readonly timeLeft: () => number;
}

/** Stripe remembers an idempotency key for 24 hours; past 23, look the payment up by key first. */
const IDEMPOTENCY_WINDOW_MS = 23 * 60 * 60 * 1000;
/**
 * Stop starting new effects when less than this is left of the run: more than the worst one
 * effect can take (two payment calls with all their retries). The wait for the provider's rate is
 * added to it (see {@link startsInTime}).
 */
export const RESERVE_MS = 30_000;
/** Effects read per page while carrying them out; the next page is read while this one is worked. */
const PAGE = 500;
/** Effects read per page while checking them against the plan (every run reads them all once). */
const CHECK_PAGE = 1000;
/**
 * Effects under way at once on each provider. Each waits mostly on its provider's rate, the
 * provider or the tables; the rate limiters, not this number, keep Act within the rates, and this
 * number keeps enough under way that they are the pace: at 100 payment calls a second an effect
 * may take up to 300 ms before its provider waits on Casebook. The ledger commits the entries the
 * effects under way have ready together, so more at once means fewer, larger commits.
 */
export const CONCURRENCY = 32;

/** Each provider's effects go through a lane of their own: refunds and credits, and the messages. */
const paidOut = (effect: EffectRecord) => effect.kind === 'refund' || effect.kind === 'credit';
const LANES = [
  { rate: 'payments', takes: paidOut },
  { rate: 'mail', takes: (effect: EffectRecord) => !paidOut(effect) },
] as const;

/**
 * Runs `work` on every effect of the plan whose kind `wanted` takes, in the plan's order, at most
 * `limit` at a time, reading the next page while this one is worked: no worker waits for a page,
 * nor for the slowest effect of the one before.
 */
async function eachEffect(
  deps: Pick<CarryOutEffectsDeps, 'effects'>,
  incidentId: string,
  planVersionId: string,
  wanted: (effect: EffectRecord) => boolean,
  limit: number,
  work: (effect: EffectRecord) => Promise<void>,
): Promise<void> {
  const read = (cursor?: string) => {
    const page = deps.effects.listEffects(incidentId, planVersionId, cursor, PAGE);
    // Awaited below; a run that fails first must not leave it an unhandled rejection.
    page.catch(() => undefined);
    return page;
  };
  let items: EffectRecord[] = [];
  let next: ReturnType<typeof read> | undefined = read();
  /** The next effect to work on, reading pages as they are used up; undefined at the end. */
  const take = async (): Promise<EffectRecord | undefined> => {
    for (;;) {
      const item = items.shift();
      if (item) return item;
      if (!next) return undefined;
      const reading = next;
      const page = await reading;
      // Another worker may have taken this page while this one waited for it.
      if (next !== reading) continue;
      next = page.cursor ? read(page.cursor) : undefined;
      items = page.items.filter(wanted);
    }
  };
  const worker = async () => {
    for (let effect = await take(); effect; effect = await take()) await work(effect);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/**
 * Whether an effect started now ends before the run does: the reserve, plus the wait for the
 * provider's rate that the effects already under way have queued (an effect waiting on its turn
 * when the run ends would leave a notice in doubt).
 */
function startsInTime(deps: Pick<CarryOutEffectsDeps, 'timeLeft'>, rate: RateLimiter): boolean {
  return deps.timeLeft() >= RESERVE_MS + (rate.delayMs?.() ?? 0);
}

export async function carryOutEffects(
  deps: CarryOutEffectsDeps,
  input: { readonly incidentId: string },
): Promise<ActProgress> {
  // 1.
  const incident = await deps.incidents.getIncident(input.incidentId);
  if (!incident) throw new CasebookError(ERROR_NAMES.incidentNotFound, `No incident ${input.incidentId}`);
  await assertApproved(deps, incident);
  const plan = incident.plan as NonNullable<Incident['plan']>;
  const counts: Record<EffectProgress, number> = {
    planned: 0,
    intent: 0,
    executed: 0,
    confirmed: 0,
    attention: 0,
    voided: 0,
  };
  const differs = await storedEffectsDiffer(deps, incident.id, plan);
  if (differs) {
    await deps.askAboutPlan(incident, plan.version, differs);
    return { outcome: 'waiting-people', counts, retryAfterSeconds: 0 };
  }

  // 2.
  /** Where the effects stand per kind and progress: what the workroom and the e-mails summarise. */
  const byKind = new Map<string, number>();
  /** The lanes that stopped starting effects because the run's time, or their rate's, ran out. */
  const outOfTime = new Set<string>();
  /** When the providers are due the next look at an effect that waits on them (epoch ms). */
  let nextLook = Number.POSITIVE_INFINITY;
  // Each provider's effects go on in a lane of their own, so that neither provider waits while the
  // other's rate holds Act up (a plan lists every refund before any notice), and a lane whose
  // rate's queue outlasts the run stops alone.
  await Promise.all(
    LANES.map((lane) =>
      eachEffect(deps, incident.id, versionIdOf(plan), lane.takes, CONCURRENCY, async (effect) => {
        let now = effect;
        if (!outOfTime.has(lane.rate) && actCanProceed(effect)) {
          if (!startsInTime(deps, deps.rates[lane.rate])) outOfTime.add(lane.rate);
          else
            now = await carryOutOne(deps, incident, effect).catch((error: unknown) => {
              // A table or provider that did not answer holds up this effect only: it is where it
              // was, the others go on, and the next run (the providers' wait) takes it up again.
              if (error instanceof CasebookError && error.name === ERROR_NAMES.dependencyUnavailable)
                return effect;
              throw error;
            });
        }
        // Asked again on every run: a run that stopped between the two leaves no one unasked.
        if (now.progress === 'attention' && now.attention)
          now = (await deps.ask(incident, now, now.attention.reason, now.attention.detail)) ?? now;
        counts[now.progress]++;
        byKind.set(`${now.kind}:${now.progress}`, (byKind.get(`${now.kind}:${now.progress}`) ?? 0) + 1);
        if (actCanProceed(now)) nextLook = Math.min(nextLook, nextLookAt(effect, now, deps.clock.now()));
      }),
    ),
  );

  // 3.
  await keepProgress(deps, incident, byKind);
  if (outOfTime.size > 0) return { outcome: 'more', counts, retryAfterSeconds: 0 };
  if (counts.planned + counts.intent + counts.executed > 0) {
    const wait = Math.ceil((nextLook - deps.clock.now().getTime()) / 1000);
    // A long run ends with its first refunds already due a look: run again at once.
    if (wait <= 0) return { outcome: 'more', counts, retryAfterSeconds: 0 };
    return { outcome: 'waiting-provider', counts, retryAfterSeconds: wait };
  }
  if (counts.attention > 0) return { outcome: 'waiting-people', counts, retryAfterSeconds: 0 };
  await deps.incidents.addTimelineEvent(incident.id, {
    key: `act-done:${plan.version}`,
    at: deps.clock.now().toISOString(),
    world: 'RML3',
    type: 'effect_carried_out',
    phase: 'Act',
    summary: `Act finished plan v${plan.version}: ${counts.confirmed} effect(s) confirmed${counts.voided ? `, ${counts.voided} voided` : ''}.`,
    detail: { confirmed: counts.confirmed, voided: counts.voided },
  });
  return { outcome: 'done', counts, retryAfterSeconds: 0 };
}

/**
 * Keeps where the effects stand on the incident, so a page or an e-mail tells it without reading
 * every effect. A run that stopped early counted the effects it did not reach where they were.
 */
async function keepProgress(
  deps: Pick<CarryOutEffectsDeps, 'incidents' | 'clock'>,
  incident: Incident,
  byKind: ReadonlyMap<string, number>,
): Promise<void> {
  const plan = incident.plan as NonNullable<Incident['plan']>;
  const rows = [...byKind]
    .map(([key, count]) => {
      const [kind = '', progress = ''] = key.split(':');
      return { kind, progress, count };
    })
    .sort((a, b) => a.kind.localeCompare(b.kind) || a.progress.localeCompare(b.progress));
  await deps.incidents
    .updateIncident(incident, {
      effectProgress: { planVersion: plan.version, at: deps.clock.now().toISOString(), rows },
    })
    .catch((error: unknown) => {
      // Another run wrote it meanwhile: its count is as good as this one's.
      if (!(error instanceof ConcurrentChangeError)) throw error;
    });
}

/**
 * What differs between the plan's stored effects and the approved plan, or undefined when nothing
 * does: their count and the hash over them, computed here from what is stored (never copied from
 * the plan), a page at a time.
 */
async function storedEffectsDiffer(
  deps: Pick<CarryOutEffectsDeps, 'effects'>,
  incidentId: string,
  plan: NonNullable<Incident['plan']>,
): Promise<string | undefined> {
  const hasher = effectsHasher();
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await deps.effects.listEffects(incidentId, versionIdOf(plan), cursor, CHECK_PAGE);
    for (const effect of page.items) hasher.add(plannedEffectOf(effect));
    count += page.items.length;
    cursor = page.cursor;
  } while (cursor);
  const hash = hasher.digest();
  if (count === plan.effectCount && hash === plan.effectsHash) return undefined;
  return `The stored effects of plan v${plan.version} are not the ones approved: ${count} stored where ${plan.effectCount} were approved, hashing to ${hash.slice(0, 12)}… where the approved plan says ${plan.effectsHash.slice(0, 12)}….`;
}

/** How long after an effect moved (a refund made, say) its provider is first asked again. */
const FIRST_LOOK_MS = 5_000;
/** The longest Act leaves an effect that waits on a provider unlooked at. */
const LONGEST_LOOK_MS = 3_600_000;

/**
 * When to look again at an effect that waits on a provider. One that moved in this run is first
 * looked at 5 seconds after it moved, so a long run ends with its first refunds already due. One
 * looked at in this run without moving is looked at again after half as long as it has waited, up
 * to an hour: a refund pending for days is looked at hourly, not every few seconds (each look is
 * history).
 */
function nextLookAt(before: EffectRecord, after: EffectRecord, now: Date): number {
  const since = Date.parse(after.updatedAt ?? after.intentAt ?? now.toISOString());
  if (after !== before) return since + FIRST_LOOK_MS;
  const waited = now.getTime() - since;
  return now.getTime() + Math.min(LONGEST_LOOK_MS, Math.max(FIRST_LOOK_MS, waited / 2));
}

/**
 * No effect without approval: the current round, on the current plan, is approved by its own
 * rule — weighed again here from the requests themselves, not taken from the incident's word.
 */
async function assertApproved(deps: CarryOutEffectsDeps, incident: Incident): Promise<void> {
  const plan = incident.plan;
  if (!plan) throw new Error(`${incident.id} has no plan to act on`);
  const round = incident.approvalRound;
  const refuse = (why: string) => new Error(`${incident.id} cannot act: plan v${plan.version} ${why}`);
  if (round?.round !== incident.decideRound || round.planHash !== plan.hash) {
    throw refuse(`was not decided in round ${incident.decideRound}`);
  }
  const approvals = await deps.approvals.listApprovals(incident.id, incident.decideRound);
  const weighed = evaluateRound(round.rule, votesOf(approvals.filter((a) => a.planHash === plan.hash)));
  if (weighed.state !== 'decided' || weighed.verdict !== 'approved') {
    throw refuse(`lacks approval in round ${incident.decideRound} (${describeRule(round.rule)})`);
  }
}

/** Moves one effect on as far as it goes now; answers where it stands afterwards. */
async function carryOutOne(
  deps: CarryOutEffectsDeps,
  incident: Incident,
  effect: EffectRecord,
): Promise<EffectRecord> {
  const step = effectSteps(deps, incident);
  if (effect.progress === 'executed') return step.poll(effect);
  if (effect.progress === 'planned') {
    const at = deps.clock.now().toISOString();
    await step.record(effect, 'intent', {});
    const moved = await step.move(effect, { progress: 'intent', intentAt: at });
    if (!moved) return effect;
    return step.execute(moved, true);
  }
  return step.execute(effect, false);
}

function effectSteps(deps: CarryOutEffectsDeps, incident: Incident) {
  const plan = incident.plan as NonNullable<Incident['plan']>;
  const key = (effect: EffectRecord) => effectKey(incident.id, effect);

  /** Appends the effect's entry for `state` (once per attempt and state). */
  const record = (
    effect: EffectRecord,
    state: EffectState,
    extra: { providerRef?: string; effectiveAt?: string; fee?: PaymentOutcome['fee']; detail?: JsonObject },
  ) =>
    deps.ledger.append(
      incident.id,
      effectStateEntry(effect, state, {
        ...extra,
        at: deps.clock.now().toISOString(),
        actor: 'casebook (Act)',
        basis: { planVersion: plan.version, planHash: plan.hash },
      }),
    );

  /** Moves the effect's progress on from where it stands; undefined when another run moved it first. */
  const move = async (
    effect: EffectRecord,
    change: Partial<EffectRecord>,
  ): Promise<EffectRecord | undefined> => {
    const at = deps.clock.now().toISOString();
    const moved = await deps.effects.advanceEffect(incident.id, versionIdOf(plan), effect.effectId, effect, {
      ...change,
      updatedAt: at,
    });
    return moved ? { ...effect, ...change, updatedAt: at } : undefined;
  };

  const attention = async (
    effect: EffectRecord,
    reason: AttentionReason,
    detail: string,
  ): Promise<EffectRecord> => {
    const since = deps.clock.now().toISOString();
    return (await move(effect, { progress: 'attention', attention: { reason, detail, since } })) ?? effect;
  };

  /** What the provider said, recorded: pending → executed; succeeded → confirmed; failed → a person. */
  const settle = async (effect: EffectRecord, outcome: PaymentOutcome): Promise<EffectRecord> => {
    const extra = { providerRef: outcome.reference, ...(outcome.fee ? { fee: outcome.fee } : {}) };
    if (outcome.state === 'pending') {
      if (effect.progress === 'executed') return effect;
      await record(effect, 'executed', extra);
      return (await move(effect, { progress: 'executed', providerRef: outcome.reference })) ?? effect;
    }
    if (outcome.state === 'succeeded') {
      await record(effect, 'confirmed', { ...extra, effectiveAt: deps.clock.now().toISOString() });
      return (await move(effect, { progress: 'confirmed', providerRef: outcome.reference })) ?? effect;
    }
    const why = `the provider reports it failed${outcome.failureReason ? ` (${outcome.failureReason})` : ''}`;
    await record(effect, 'failed', { ...extra, detail: { reason: why } });
    return attention({ ...effect, providerRef: outcome.reference }, 'refused', why);
  };

  const execute = async (effect: EffectRecord, fresh: boolean): Promise<EffectRecord> => {
    if (effect.kind === 'notice' || effect.kind === 'correction') {
      if (!fresh) {
        return attention(
          effect,
          'in-doubt',
          `An earlier run recorded the intent at ${effect.intentAt ?? '?'} but not whether SES took the message; it may have been sent. SES has no idempotency key, so Casebook does not send it again without a person's word.`,
        );
      }
      return sendNotice(effect);
    }
    const payments = deps.payments;
    if (payments === 'manual') {
      return attention(
        effect,
        'manual',
        `Carry out this ${effect.kind} in the company's own system and record its reference.`,
      );
    }
    const { amount, paymentRef } = effect;
    if (!amount || !paymentRef) {
      await record(effect, 'failed', { detail: { reason: 'no amount or payment to act on' } });
      return attention(
        effect,
        'refused',
        `The plan gives this ${effect.kind} no amount or no payment to act on.`,
      );
    }
    await deps.rates.payments.take();
    try {
      const intentAge =
        deps.clock.now().getTime() - Date.parse(effect.intentAt ?? deps.clock.now().toISOString());
      if (!fresh && intentAge > IDEMPOTENCY_WINDOW_MS) {
        const found = await payments.findByEffectKey(paymentRef, key(effect));
        if (found) return settle(effect, found);
      }
      const request = {
        idempotencyKey: key(effect),
        paymentRef,
        amount,
        metadata: { incident: incident.id, effect: effect.effectId, counterparty: effect.counterparty },
      };
      const outcome =
        effect.kind === 'refund'
          ? await payments.refund(request)
          : await payments.credit({ ...request, description: `Goodwill credit, ref ${incident.id}` });
      return settle(effect, outcome);
    } catch (error) {
      if (error instanceof PaymentRefusedError) {
        const why = `the provider refused it: ${error.code} — ${error.message}`;
        await record(effect, 'failed', { detail: { reason: why, code: error.code } });
        return attention(effect, 'refused', why);
      }
      if (error instanceof CasebookError && error.name === ERROR_NAMES.dependencyUnavailable) return effect;
      throw error;
    }
  };

  const sendNotice = async (effect: EffectRecord): Promise<EffectRecord> => {
    const list = incident.customerList;
    const customer = list
      ? await deps.effects.getCustomer(incident.id, versionIdOf(list), effect.customerRef)
      : undefined;
    // The plan's own words as approved (sealed in its hash), filled with this customer's values.
    const message = effectNotice(incident, incident.plan?.notice, effect, customer ?? { email: '' });
    const sentHash = messageHash(message);
    if (!customer?.email || sentHash !== effect.contentHash) {
      // The wording, the address or the customer changed after approval: send nothing unapproved.
      await record(effect, 'failed', { detail: { reason: 'content differs from the approved message' } });
      return attention(
        effect,
        'refused',
        'The message would differ from the one the approvers read (its content hash changed): it was not sent. Void it and propose a new plan.',
      );
    }
    await deps.rates.mail.take();
    try {
      const { messageId } = await deps.mailer.send(message);
      await record(effect, 'confirmed', {
        providerRef: messageId,
        effectiveAt: deps.clock.now().toISOString(),
        detail: { provider: 'ses', template: effect.template ?? 'apology', templateVersion: 1, sentHash },
      });
      const moved = (await move(effect, { progress: 'confirmed', providerRef: messageId })) ?? effect;
      // Outside the send's doubt: a failure here is a table's, and the notice stands confirmed.
      await deps.sentNotices
        ?.remember({
          messageId,
          incidentId: incident.id,
          planVersionId: versionIdOf(plan),
          effectId: effect.effectId,
          attempt: effect.attempt,
        })
        .catch((error: unknown) => {
          throw new CasebookError(
            ERROR_NAMES.dependencyUnavailable,
            `${effect.effectId} was sent (${messageId}) but where to find it by its MessageId was not written: ${(error as Error).message}`,
            { cause: error },
          );
        });
      return moved;
    } catch (error) {
      if (error instanceof DeliveryRejectedError) {
        // SES answered and took nothing: the same attempt may be sent on the next run.
        await record(effect, 'failed', { detail: { reason: error.message } });
        return (
          (await move(effect, { progress: 'planned', attempt: effect.attempt + 1, intentAt: undefined })) ??
          effect
        );
      }
      if (error instanceof CasebookError) throw error;
      return attention(
        effect,
        'in-doubt',
        `Sending ended without an answer (${(error as Error).message}); SES may have taken the message.`,
      );
    }
  };

  const poll = async (effect: EffectRecord): Promise<EffectRecord> => {
    if (deps.payments === 'manual' || !effect.providerRef) return effect;
    await deps.rates.payments.take();
    try {
      return await settle(effect, await deps.payments.lookup(effect.providerRef));
    } catch (error) {
      if (error instanceof CasebookError && error.name === ERROR_NAMES.dependencyUnavailable) return effect;
      throw error;
    }
  };

  return { record, move, execute, poll };
}
