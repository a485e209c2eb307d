/**
 * Use case: before any approver is asked, the submitted plan's refunds are checked against the
 * payments provider, so that what it would refuse at Act comes back to the responders now.
 *
 * Primary course:
 *  1. Load the incident and its submitted plan. A plan this check sent back already (a retried
 *     step, a restart) answers as it did then; a plan rewritten since it was submitted goes back
 *     to the wait for a submitted plan, unchecked and unrecorded.
 *  2. Page through the plan's effects and take its refunds.
 *  3. Ask the provider about each payment they name, at the payments rate (the `manual` provider
 *     has nothing to ask: only what needs no provider is checked, and the record says so).
 *  4. Weigh the refunds (functions/domain/refund-check.ts).
 *  5. Record the outcome on the Decision Log, once per plan version: its first record is the
 *     outcome, whatever a later run finds.
 *  6. Put it on the timeline; with problems, send the plan back as a request for changes that names
 *     each customer and problem (as an approver's request for changes does, but no round opened,
 *     so none is counted).
 *
 * Idempotent: the Decision Log entry, the timeline event and the change on the incident are each
 * keyed by the plan version, and the first record decides the answer.
 */

import { PaymentRefusedError } from '../domain/errors.ts';
import { isCurrentEntry } from '../domain/ledger.ts';
import type { PaymentLookup, PaymentRef } from '../domain/payments.ts';
import { versionIdOf } from '../domain/plan.ts';
import type { Clock, EffectStore, IncidentStore, Ledger } from '../domain/ports.ts';
import type {
  PaymentAnswer,
  PlannedRefund,
  RefundProblem,
  RefundProblemCode,
} from '../domain/refund-check.ts';
import { checkRefunds, describeProblems, REFUND_PROBLEMS } from '../domain/refund-check.ts';
import type { RateLimiter } from './carry-out-effects.ts';
import { incidentOfStep } from './enter-phase.ts';
import { sendPlanBack } from './reject-plan.ts';
import { retryOnConflict } from './retry-on-conflict.ts';

export interface CheckRefundsDeps {
  readonly incidents: Pick<IncidentStore, 'getIncident' | 'updateIncident' | 'addTimelineEvent'>;
  readonly effects: Pick<EffectStore, 'listEffects'>;
  readonly ledger: Pick<Ledger, 'append'>;
  /** `manual`: a person refunds in the company's own system, and there is nothing to look up. */
  readonly payments: PaymentLookup | 'manual';
  /** The payments rate Act keeps to, and its calls a second. */
  readonly rate: RateLimiter;
  readonly ratePerSecond: number;
  /** Milliseconds this run may still use. */
  readonly timeLeft: () => number;
  readonly clock: Clock;
}

export interface CheckRefundsResult {
  /**
   * `passed`: on to the approvers. `changes-requested`: back to Understand, no round opened.
   * `not-submitted`: the plan was rewritten since it was submitted; back to the wait for one.
   */
  readonly outcome: 'passed' | 'changes-requested' | 'not-submitted';
  readonly refunds: number;
  readonly problems: number;
}

const PAGE = 200;
/** Lookups under way at once: each waits on the provider; the rate limiter keeps the rate. */
const CONCURRENCY = 8;
/** Kept for what follows the lookups: reading, weighing and recording. */
const RESERVE_MS = 30_000;
/** Problems the Decision Log entry lists one by one; the rest are counted. */
const LOGGED_PROBLEMS = 100;

export async function checkPlanRefunds(
  deps: CheckRefundsDeps,
  input: { readonly incidentId: string },
): Promise<CheckRefundsResult> {
  // 1.
  const incident = await incidentOfStep(deps, input.incidentId);
  const plan = incident.plan;
  if (!plan) throw new Error(`${incident.id} has no plan to check`);
  if (incident.planSubmitted?.version !== plan.version) {
    if (incident.planRejected?.version === plan.version)
      return { outcome: 'changes-requested', refunds: 0, problems: 0 };
    // A responder wrote a new plan since submitting (which withdraws the submission): wait for it.
    return { outcome: 'not-submitted', refunds: 0, problems: 0 };
  }

  // 2.
  const refunds: PlannedRefund[] = [];
  let cursor: string | undefined;
  do {
    const page = await deps.effects.listEffects(incident.id, versionIdOf(plan), cursor, PAGE);
    for (const effect of page.items)
      if (effect.kind === 'refund')
        refunds.push({
          effectId: effect.effectId,
          customerRef: effect.customerRef,
          counterparty: effect.counterparty,
          ...(effect.amount ? { amount: effect.amount } : {}),
          ...(effect.paymentRef ? { paymentRef: effect.paymentRef } : {}),
        });
    cursor = page.cursor;
  } while (cursor);

  // A plan without refunds has nothing the provider could refuse, and nothing to record.
  if (refunds.length === 0) return { outcome: 'passed', refunds: 0, problems: 0 };

  // 3.
  const answers = deps.payments === 'manual' ? undefined : await lookUp(deps, deps.payments, refunds);

  // 4.
  const problems = checkRefunds(refunds, answers);

  // 5.
  const at = deps.clock.now().toISOString();
  const provider = deps.payments === 'manual' ? 'manual' : 'the payments provider';
  const checked =
    deps.payments === 'manual'
      ? 'without the provider (manual: nothing to look up): each amount above 0 and at most 99,999,999 minor units, a payment for each, one currency per payment. Whether each payment exists, its currency and what is left of it are for the person who refunds.'
      : 'against the payments provider: each payment exists, is in the refund’s currency and keeps this plan’s refunds within what is left of it; each amount above 0 and at most 99,999,999 minor units.';
  const { entry } = await deps.ledger.append(incident.id, {
    log: 'decision',
    kind: 'plan_check',
    world: 'RML3',
    phase: 'Understand',
    at,
    actor: `casebook (refund check, ${provider})`,
    idempotencyKey: `plan-check:${plan.version}`,
    summary: (problems.length === 0
      ? `Plan v${plan.version}: ${refunds.length} refund(s) checked ${checked} None would be refused.`
      : `Plan v${plan.version}: ${problems.length} problem(s) in ${refunds.length} refund(s), checked ${checked} Sent back to the responders before any approver was asked.`
    ).slice(0, 2000),
    decision: problems.length === 0 ? 'passed' : 'changes-requested',
    basis: { planVersion: plan.version, planHash: plan.hash },
    detail: {
      provider,
      refunds: refunds.length,
      problems: problems.length,
      // The customer by pseudonym, as everywhere on the ledger; the workroom names them.
      listed: problems.slice(0, LOGGED_PROBLEMS).map((p) => ({
        effectId: p.effectId,
        counterparty: p.counterparty,
        problem: p.code,
        detail: p.detail,
      })),
    },
  });
  const passed = (isCurrentEntry(entry) ? entry.decision : undefined) === 'passed';
  const first = entry.detail as { readonly problems?: unknown; readonly listed?: unknown };
  const count = passed ? 0 : typeof first.problems === 'number' ? first.problems : problems.length;
  // What the first run found, should this run (a retry) have found otherwise.
  const found = passed ? [] : problems.length > 0 ? problems : recorded(first.listed, refunds);

  // 6.
  await deps.incidents.addTimelineEvent(incident.id, {
    key: `plan-checked:${plan.version}`,
    at,
    world: 'RML3',
    type: 'plan_checked',
    phase: 'Understand',
    summary: (passed
      ? `Plan v${plan.version}'s ${refunds.length} refund(s) were checked ${deps.payments === 'manual' ? 'without the provider (manual)' : 'against the payments provider'}: none would be refused. On to the approvers.`
      : `Plan v${plan.version} came back before any approver was asked: ${changeRequest(found, count)}`
    ).slice(0, 2000),
    detail: { planVersion: plan.version, refunds: refunds.length, problems: count, provider },
  });
  if (!passed) {
    await retryOnConflict(async () => {
      const now = await incidentOfStep(deps, incident.id);
      await sendPlanBack(deps, now, { version: plan.version, reason: changeRequest(found, count), at });
    });
  }
  return { outcome: passed ? 'passed' : 'changes-requested', refunds: refunds.length, problems: count };
}

/** The problems a Decision Log entry lists, named again by the customers of the plan's refunds. */
function recorded(listed: unknown, refunds: readonly PlannedRefund[]): RefundProblem[] {
  if (!Array.isArray(listed)) return [];
  const byEffect = new Map(refunds.map((r) => [r.effectId, r]));
  return listed.flatMap((item: { effectId?: unknown; problem?: unknown; detail?: unknown }) => {
    const refund = typeof item.effectId === 'string' ? byEffect.get(item.effectId) : undefined;
    if (!refund || !REFUND_PROBLEMS.includes(item.problem as RefundProblemCode)) return [];
    return [
      {
        effectId: refund.effectId,
        customerRef: refund.customerRef,
        counterparty: refund.counterparty,
        code: item.problem as RefundProblemCode,
        detail: typeof item.detail === 'string' ? item.detail : String(item.problem),
      },
    ];
  });
}

/** The request for changes, naming each customer and problem; a rerun that found none says so. */
function changeRequest(problems: readonly RefundProblem[], count: number): string {
  if (problems.length > 0) return describeProblems(problems, 1900);
  return `the refund check found ${count} problem(s) with its refunds (see the Decision Log); correct them and submit a revised plan`;
}

/** The provider's answer for every payment the refunds name, at the payments rate. */
async function lookUp(
  deps: Pick<CheckRefundsDeps, 'rate' | 'ratePerSecond' | 'timeLeft'>,
  payments: PaymentLookup,
  refunds: readonly PlannedRefund[],
): Promise<Map<PaymentRef, PaymentAnswer>> {
  const refs = [...new Set(refunds.flatMap((r) => (r.paymentRef ? [r.paymentRef] : [])))];
  // More payments than one run can ask about at the rate fail here, saying so, not at the timeout.
  const needMs = (refs.length / deps.ratePerSecond) * 1000;
  if (needMs > deps.timeLeft() - RESERVE_MS)
    throw new Error(
      `The plan's refunds name ${refs.length} payments: at ${deps.ratePerSecond} a second the check needs ${Math.ceil(needMs / 1000)} s, more than one run has (${Math.floor(deps.timeLeft() / 1000)} s). Split the plan, or raise CASEBOOK_PAYMENTS_RATE_PER_SECOND if the provider allows it.`,
    );
  const answers = new Map<PaymentRef, PaymentAnswer>();
  let next = 0;
  const worker = async () => {
    while (next < refs.length) {
      const ref = refs[next++] as PaymentRef;
      await deps.rate.take();
      try {
        answers.set(ref, { found: true, payment: await payments.refundable(ref) });
      } catch (error) {
        if (!(error instanceof PaymentRefusedError)) throw error;
        answers.set(ref, {
          found: false,
          why:
            error.code === 'resource_missing'
              ? 'the payments provider knows no such payment'
              : `the payments provider refused to read it (${error.message})`,
        });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, refs.length) }, worker));
  return answers;
}
