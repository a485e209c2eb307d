/**
 * A fault schedule: what goes wrong, and when, during one whole incident — faults armed in the fault
 * proxy at a step of the incident, a `kill -9` of the whole stack, and people racing each other in
 * the workroom and on the approval links. fast-check generates schedules and shrinks a failing one.
 */
import fc from 'fast-check';
import type { FaultKind, FaultService } from '../../local/fault-proxy/proxy.ts';
import { FAULT_KINDS } from '../../local/fault-proxy/proxy.ts';

/** The steps of an incident the harness walks; faults and the kill are armed when one begins. */
export const STEPS = ['work', 'decide1', 'revise', 'decide2', 'act'] as const;
export type Step = (typeof STEPS)[number];

export interface ScheduledFault {
  readonly step: Step;
  readonly service: FaultService;
  readonly kind: FaultKind;
  /** Requests to the service let through after the step begins, before the first fault. */
  readonly skip: number;
  /** Consecutive requests that fail. */
  readonly count: number;
}

export interface Schedule {
  /** Parallel workroom requests with conflicting bodies, per action (1: no race). */
  readonly races: {
    readonly impact: number;
    readonly customers: number;
    readonly plan: number;
    readonly revisedPlan: number;
  };
  /** Round 1: the other approvers approve at the same moment one requests changes. */
  readonly decisionRacesChangeRequest: boolean;
  readonly faults: readonly ScheduledFault[];
  /** `kill -9` of the whole stack `afterMs` after the step began, then a restart. */
  readonly kill?: { readonly step: Step; readonly afterMs: number };
}

/** How far into a step a fault may start, per service: roughly how many calls a step makes. */
const SKIP_RANGE: Readonly<Record<FaultService, number>> = {
  dynamodb: 400,
  ses: 60,
  s3: 4,
  stripe: 120,
  lambda: 12,
};

const fault: fc.Arbitrary<ScheduledFault> = fc
  .record({
    step: fc.constantFrom(...STEPS),
    service: fc.constantFrom<FaultService>('dynamodb', 'ses', 's3', 'stripe', 'lambda'),
    kind: fc.constantFrom(...FAULT_KINDS),
    skipFraction: fc.double({ min: 0, max: 1, noNaN: true }),
    count: fc.integer({ min: 1, max: 3 }),
  })
  .map(({ skipFraction, ...rest }) => ({
    ...rest,
    skip: Math.floor(skipFraction * SKIP_RANGE[rest.service]),
  }));

export const scheduleArbitrary: fc.Arbitrary<Schedule> = fc
  .record({
    races: fc.record({
      impact: fc.integer({ min: 1, max: 3 }),
      customers: fc.integer({ min: 1, max: 3 }),
      plan: fc.integer({ min: 1, max: 3 }),
      revisedPlan: fc.integer({ min: 1, max: 3 }),
    }),
    decisionRacesChangeRequest: fc.boolean(),
    faults: fc.array(fault, { maxLength: 6 }),
    // A kill in about one schedule of three: each costs a restart of the whole stack.
    kill: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 2 },
      {
        arbitrary: fc.record({ step: fc.constantFrom(...STEPS), afterMs: fc.integer({ min: 0, max: 4000 }) }),
        weight: 1,
      },
    ),
  })
  .map(({ kill, ...rest }) => (kill ? { ...rest, kill } : rest));

/** One line per part of a schedule, for a failure's report. */
export function describeSchedule(s: Schedule): string {
  const lines = [
    `races: impact×${s.races.impact} customers×${s.races.customers} plan×${s.races.plan} revised plan×${s.races.revisedPlan}; round 1 ${s.decisionRacesChangeRequest ? 'approvals race the change request' : 'changes requested alone'}`,
    ...s.faults.map((f) => `fault: at ${f.step}, ${f.service} ${f.kind} ×${f.count} after ${f.skip} calls`),
  ];
  if (s.kill) lines.push(`kill -9: at ${s.kill.step} + ${s.kill.afterMs} ms, then restart`);
  return lines.join('\n');
}
