/** When a plan version is "unchanged": the same rules, template and effects, ids and versions apart. */
import { describe, expect, it } from 'vitest';
import { isUnchanged } from '../../functions/domain/casework.ts';
import type { Customer, PlanInput } from '../../functions/domain/plan.ts';
import { expandPlan } from '../../functions/domain/plan.ts';
import { planInputRecord } from '../../functions/use-cases/propose-plan.ts';
import { plainIncident } from '../support/incidents.ts';

const CUSTOMERS: Customer[] = [
  {
    customerRef: 'cus_ada',
    email: 'ada@example.com',
    amount: { minor: 1250, currency: 'EUR' },
    paymentRef: 'ch_ada',
  },
  {
    customerRef: 'cus_bo',
    email: 'bo@example.com',
    amount: { minor: 700, currency: 'EUR' },
    paymentRef: 'ch_bo',
  },
];
const PLAN: PlanInput = {
  summary: 'Refund and apologise.',
  apply: [
    { kind: 'refund', amount: 'affected', obligation: 'tos' },
    { kind: 'notice', obligation: 'brand', template: 'apology' },
  ],
  effects: [],
};

const recordOf = (version: number, input: PlanInput) =>
  planInputRecord(
    version,
    input,
    expandPlan(
      version,
      input,
      CUSTOMERS,
      (ref) => `cp_${ref}`,
      () => 'hash',
    ),
  );

describe('an unchanged plan version', () => {
  it('is the same rules, template and effects, whatever its effect ids, version and summary', () => {
    const v1 = recordOf(1, PLAN);
    const v2 = recordOf(2, { ...PLAN, summary: 'Refund and apologise (again).' });
    expect(v2.substance).toBe(v1.substance);
    expect(v2.fields).toEqual({ summary: 'Refund and apologise (again).', apply: PLAN.apply });
    const changed = recordOf(3, {
      ...PLAN,
      apply: [...PLAN.apply, { kind: 'credit', amount: '5.00', currency: 'EUR', obligation: 'brand' }],
    });
    expect(changed.substance).not.toBe(v1.substance);

    const sentBack = {
      ...plainIncident(1),
      planRejected: {
        version: 1,
        reason: 'Fix the date',
        at: '2026-11-22T10:00:00.000Z',
        substance: v1.substance,
      },
    };
    const withPlan = (record: typeof v1) =>
      ({ ...sentBack, plan: { version: record.version } as never, planInput: record }) as typeof sentBack;
    expect(isUnchanged(withPlan(v2))).toBe(true);
    expect(isUnchanged(withPlan(changed))).toBe(false);
  });
});
