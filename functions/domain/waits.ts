/**
 * The waits for people in the lifecycle, named once: the step each is known by (in the ASL's
 * payloads, the wait store's keys and the handlers' schemas), the phase it belongs to, the states
 * the ASL gives it (the wait, and the clock read before it) and the deadline of its own. The ASL
 * generator (statemachines/incident-lifecycle.ts) and the handlers read them from here.
 */
import type { DeadlineKind } from './deadlines.ts';
import type { Phase } from './vocabulary.ts';

export const WAIT_STEPS = ['contain', 'understand', 'decide', 'act', 'learn'] as const;
export type WaitStep = (typeof WAIT_STEPS)[number];

export interface WaitSpec {
  readonly phase: Phase;
  /** The ASL state that holds the task token until what the wait is for is there. */
  readonly state: string;
  /** The wait's own deadline, beside the incident's: an approval round's, the answers to questions. */
  readonly ownDeadline?: Extract<DeadlineKind, 'decision' | 'answers'>;
}

export const WAITS: Readonly<Record<WaitStep, WaitSpec>> = {
  contain: { phase: 'Contain', state: 'Wait for containment' },
  understand: { phase: 'Understand', state: 'Wait for a submitted plan' },
  decide: { phase: 'Decide', state: 'Wait for the approvers to decide', ownDeadline: 'decision' },
  act: { phase: 'Act', state: 'Wait for people to settle the effects Act could not', ownDeadline: 'answers' },
  learn: { phase: 'Learn', state: 'Wait for the postmortem' },
};

/** Which wait an incident in a phase is in (Detect passes without one). */
export const WAIT_OF_PHASE: Readonly<Partial<Record<Phase, WaitStep>>> = Object.fromEntries(
  WAIT_STEPS.map((step) => [WAITS[step].phase, step]),
);

/** The ASL state that reads the clock before the wait of `step`, and after each of its timeouts. */
export function clockState(step: WaitStep): string {
  const { state } = WAITS[step];
  return `Read the clock: ${state.charAt(0).toLowerCase()}${state.slice(1)}`;
}

/**
 * The ASL state where Act's own loop reads the clock (as step `act`) before it runs again or
 * waits on the payment provider: no wait for people, but a deadline may pass meanwhile.
 */
export const PROVIDER_CLOCK_STATE = 'Read the clock: give the payment provider time';
