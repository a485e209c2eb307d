/**
 * Use cases: record the affected customers, and propose a remediation plan over them.
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
import type { Incident } from '../domain/incident.ts';
import { customerNotice, messageHash } from '../domain/messages.ts';
import type { Customer, PlanInput, RemediationPlan } from '../domain/plan.ts';
import { expandPlan, sealPlan } from '../domain/plan.ts';
import type { Clock, EffectStore, IncidentStore } from '../domain/ports.ts';

export interface PlanDeps {
  readonly incidents: Pick<IncidentStore, 'getIncident' | 'saveIncident' | 'addTimelineEvent'>;
  readonly effects: EffectStore;
  /** The customer's pseudonym (`cp_…`), as the ledger will name them. */
  readonly pseudonym: (customerRef: string) => Promise<string>;
  readonly clock: Clock;
}

/** Writes `customers` as the incident's next list version; returns the incident pointing at it. */
export async function recordCustomers(
  deps: Pick<PlanDeps, 'effects' | 'incidents'>,
  incident: Incident,
  customers: readonly Customer[],
): Promise<Incident> {
  // 1.
  const version = (incident.customerList?.version ?? 0) + 1;
  await deps.effects.putCustomers(incident.id, version, customers);
  // 2.
  const next = { ...incident, customerList: { version, count: customers.length } };
  await deps.incidents.saveIncident(next);
  return next;
}

/** The next plan version over the incident's current customers; the effects are written, the plan not yet saved. */
export async function proposePlan(
  deps: PlanDeps,
  incident: Incident,
  input: PlanInput,
  proposedBy: string,
): Promise<RemediationPlan> {
  // 1.
  const customers: Customer[] = [];
  const list = incident.customerList;
  if (list) {
    let cursor: string | undefined;
    do {
      const page = await deps.effects.listCustomers(incident.id, list.version, cursor);
      customers.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
  }
  // 2.
  const version = (incident.plan?.version ?? 0) + 1;
  const pseudonyms = new Map<string, string>();
  for (const c of customers) pseudonyms.set(c.customerRef, await deps.pseudonym(c.customerRef));
  const effects = expandPlan(
    version,
    input,
    customers,
    (ref) => pseudonyms.get(ref) ?? '',
    (effect, customer) =>
      messageHash(customerNotice(incident, effect.template ?? 'apology', customer, effect.amount)),
  );
  // 3.
  await deps.effects.putEffects(incident.id, effects);
  return sealPlan(
    { version, summary: input.summary, proposedAt: deps.clock.now().toISOString(), proposedBy },
    effects,
  );
}

/** Proposes a plan and saves it on the incident, with a timeline event: what a responder's plan form does. */
export async function submitPlan(
  deps: PlanDeps,
  incidentId: string,
  input: PlanInput,
  proposedBy: string,
): Promise<RemediationPlan> {
  const incident = await deps.incidents.getIncident(incidentId);
  if (!incident) throw new Error(`No incident ${incidentId}`);
  const plan = await proposePlan(deps, incident, input, proposedBy);
  await deps.incidents.saveIncident({ ...incident, plan, updatedAt: plan.proposedAt });
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
