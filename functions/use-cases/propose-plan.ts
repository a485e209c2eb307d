/**
 * Use cases: record the affected customers, and propose a remediation plan over them.
 *
 * Rows are written under a version id unique to the request (`<n>-<ULID>`), which only the
 * incident's conditional write makes current: a request that loses that race, or fails before
 * it, leaves rows nothing reads.
 *
 * Primary course (customers):
 *  1. Write the list as a new version, one item per customer (the previous version stays as it was).
 *  2. Point the incident at it.
 *
 * Primary course (plan):
 *  1. Read the current customer list.
 *  2. Expand the plan's rules over it into one effect per customer and rule, each customer named by
 *     pseudonym; a notice carries the hash of the exact message its customer would receive.
 *  3. Write the effects under the new plan version, then seal the plan: count, totals (ToS line and
 *     brand line, per kind and currency) and a hash over every effect. The caller saves it on the
 *     incident; approvals then refer to that hash.
 */
import type { Incident, PlanInputRecord } from '../domain/incident.ts';
import type { JsonObject } from '../domain/json.ts';
import { canonicalJson, sha256Hex } from '../domain/json.ts';
import { effectNotice, messageHash } from '../domain/messages.ts';
import type { Customer, PlanInput, PlannedEffect, RemediationPlan } from '../domain/plan.ts';
import { expandPlan, newVersionId, sealPlan, versionIdOf } from '../domain/plan.ts';
import type { Clock, EffectStore, IncidentStore } from '../domain/ports.ts';

export interface PlanDeps {
  readonly incidents: Pick<IncidentStore, 'getIncident' | 'updateIncident' | 'addTimelineEvent'>;
  readonly effects: EffectStore;
  /** The customer's pseudonym (`cp_…`), as the ledger will name them. */
  readonly pseudonym: (customerRef: string) => Promise<string>;
  readonly clock: Clock;
}

/** Writes `customers` as the incident's next list version; the incident does not point at it yet. */
export async function writeCustomerList(
  deps: Pick<PlanDeps, 'effects'>,
  incident: Incident,
  customers: readonly Customer[],
): Promise<NonNullable<Incident['customerList']>> {
  const version = (incident.customerList?.version ?? 0) + 1;
  const versionId = newVersionId(version);
  await deps.effects.putCustomers(incident.id, versionId, customers);
  return { version, versionId, count: customers.length, totals: amountTotals(customers) };
}

/** Writes `customers` as the incident's next list version and points the incident at it. */
export async function recordCustomers(
  deps: Pick<PlanDeps, 'effects' | 'incidents'>,
  incident: Incident,
  customers: readonly Customer[],
): Promise<Incident> {
  // 1.
  const customerList = await writeCustomerList(deps, incident, customers);
  // 2.
  return deps.incidents.updateIncident(incident, { customerList });
}

/** What the customers' amounts add up to, per currency. */
export function amountTotals(
  customers: readonly Customer[],
): NonNullable<Incident['customerList']>['totals'] {
  const rows = new Map<string, { currency: string; minor: number; count: number }>();
  for (const { amount } of customers) {
    if (!amount) continue;
    const row = rows.get(amount.currency) ?? { currency: amount.currency, minor: 0, count: 0 };
    rows.set(amount.currency, { ...row, minor: row.minor + amount.minor, count: row.count + 1 });
  }
  return [...rows.values()].sort((a, b) => a.currency.localeCompare(b.currency));
}

/** The next plan version over the incident's current customers; the effects are written, the plan not yet saved. */
export async function proposePlan(
  deps: PlanDeps,
  incident: Incident,
  input: PlanInput,
  proposedBy: string,
): Promise<RemediationPlan> {
  return (await proposePlanVersion(deps, incident, input, proposedBy)).plan;
}

/**
 * What a plan version was written from: its fields but the explicit effects (the form opens with
 * them), and the hash of its rules, template and effects apart from their ids and version numbers.
 */
export function planInputRecord(
  version: number,
  input: PlanInput,
  effects: readonly PlannedEffect[],
): PlanInputRecord {
  const { effects: _, ...fields } = input;
  const { summary: __, ...rules } = fields;
  const substance = sha256Hex(
    canonicalJson({
      rules,
      effects: effects.map(({ effectId: _id, planVersion: _v, ...effect }) => effect),
    }),
  );
  return { version, fields: JSON.parse(JSON.stringify(fields)) as JsonObject, substance };
}

/** {@link proposePlan}, with what the version was written from. */
export async function proposePlanVersion(
  deps: PlanDeps,
  incident: Incident,
  input: PlanInput,
  proposedBy: string,
): Promise<{ readonly plan: RemediationPlan; readonly input: PlanInputRecord }> {
  // 1.
  const customers: Customer[] = [];
  const list = incident.customerList;
  if (list) {
    let cursor: string | undefined;
    do {
      const page = await deps.effects.listCustomers(incident.id, versionIdOf(list), cursor);
      customers.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
  }
  // 2.
  const version = (incident.plan?.version ?? 0) + 1;
  const versionId = newVersionId(version);
  const pseudonyms = new Map<string, string>();
  for (const c of customers) pseudonyms.set(c.customerRef, await deps.pseudonym(c.customerRef));
  const effects = expandPlan(
    version,
    input,
    customers,
    (ref) => pseudonyms.get(ref) ?? '',
    (effect, customer) => messageHash(effectNotice(incident, input.notice, effect, customer)),
  );
  // 3.
  await deps.effects.putEffects(incident.id, versionId, effects);
  return {
    plan: sealPlan(
      {
        version,
        versionId,
        summary: input.summary,
        ...(input.notice ? { notice: input.notice } : {}),
        proposedAt: deps.clock.now().toISOString(),
        proposedBy,
      },
      effects,
    ),
    input: planInputRecord(version, input, effects),
  };
}

/**
 * Proposes a plan, saves it on the incident submitted for approval by `proposedBy`, with a timeline
 * event: the workroom's plan and submit-plan actions in one, for scripts and tests that start an
 * execution at Decide.
 */
export async function submitPlan(
  deps: PlanDeps,
  incidentId: string,
  input: PlanInput,
  proposedBy: string,
): Promise<RemediationPlan> {
  const incident = await deps.incidents.getIncident(incidentId);
  if (!incident) throw new Error(`No incident ${incidentId}`);
  const plan = await proposePlan(deps, incident, input, proposedBy);
  await deps.incidents.updateIncident(incident, {
    plan,
    planSubmitted: { version: plan.version, at: plan.proposedAt, by: proposedBy },
    updatedAt: plan.proposedAt,
  });
  await deps.incidents.addTimelineEvent(incident.id, planProposedEvent(plan));
  return plan;
}

/** The timeline event that says a plan version was proposed. */
export function planProposedEvent(plan: RemediationPlan) {
  return {
    key: `plan:${plan.version}`,
    at: plan.proposedAt,
    world: 'RML3' as const,
    type: 'plan_proposed' as const,
    phase: 'Understand' as const,
    summary: `Plan v${plan.version} proposed by ${plan.proposedBy}: ${plan.summary}`,
    detail: { planHash: plan.hash, effects: plan.effectCount },
  };
}
