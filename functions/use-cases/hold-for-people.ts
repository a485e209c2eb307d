/**
 * Use case: a step of the state machine waits for people (`.waitForTaskToken`). The token is kept
 * on the server by incident and step; whoever settles the wait finds it there.
 *
 * Primary course:
 *  1. Keep the token as the step's current wait (a wait entered again takes over).
 *  2. If what the step waits for is already settled (people answered while the state machine was
 *     on its way here), end the wait at once.
 */
import type { Clock, QuestionStore, WaitStore, Workflow } from '../domain/ports.ts';
import { ACT_WAIT_STEP } from './effect-questions.ts';

export interface HoldForPeopleDeps {
  readonly waits: WaitStore;
  readonly questions: Pick<QuestionStore, 'openQuestions'>;
  readonly workflow: Pick<Workflow, 'completeTask'>;
  readonly clock: Clock;
}

/** What each step waits for, and how to tell it is already there. */
const SETTLED: Readonly<Record<string, (deps: HoldForPeopleDeps, incidentId: string) => Promise<boolean>>> = {
  [ACT_WAIT_STEP]: async (deps, incidentId) => (await deps.questions.openQuestions(incidentId)).length === 0,
};

export const WAIT_STEPS = Object.keys(SETTLED) as [string, ...string[]];

export async function holdForPeople(
  deps: HoldForPeopleDeps,
  input: { readonly incidentId: string; readonly step: string; readonly taskToken: string },
): Promise<{ readonly settled: boolean }> {
  // 1.
  const at = deps.clock.now().toISOString();
  await deps.waits.holdWait(input.incidentId, input.step, input.taskToken, at);
  // 2.
  const settled = await SETTLED[input.step]?.(deps, input.incidentId);
  if (settled) {
    await deps.workflow.completeTask(input.taskToken, { settledBy: 'already settled', at });
    await deps.waits.releaseWait(input.incidentId, input.step, input.taskToken);
  }
  return { settled: Boolean(settled) };
}
