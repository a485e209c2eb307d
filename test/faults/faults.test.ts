/**
 * `npm run test:faults`: CASEBOOK_FAULT_RUNS fault schedules (default 20), each a whole incident on
 * the local stack under the faults, the kill and the races it draws (harness.ts, schedule.ts). A
 * failure prints its seed, the shrunk schedule and what broke; CASEBOOK_FAULT_SEED replays the run
 * (with CASEBOOK_FAULT_PATH, only the shrunk schedule).
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { FaultWorld, type Outcome, runSchedule } from './harness.ts';
import { describeSchedule, type Schedule, scheduleArbitrary } from './schedule.ts';

const runs = Number(process.env.CASEBOOK_FAULT_RUNS ?? 20);
const seed = process.env.CASEBOOK_FAULT_SEED ? Number(process.env.CASEBOOK_FAULT_SEED) : Date.now() % 2 ** 31;
const path = process.env.CASEBOOK_FAULT_PATH;
/** Shrinking runs whole incidents again; past this, the smallest failing schedule so far is reported. */
const shrinkBudgetMs = Number(process.env.CASEBOOK_FAULT_SHRINK_MS ?? 10 * 60_000);
const verbose = process.env.CASEBOOK_FAULT_VERBOSE === '1';
const log = (line: string) => {
  if (verbose) process.stderr.write(`faults ${new Date().toISOString().slice(11, 23)} ${line}\n`);
};

let world: FaultWorld | undefined;
afterAll(async () => {
  await world?.close();
});

/** One schedule on the current world; a world that saw a failure is replaced, so the next starts clean. */
async function attempt(schedule: Schedule): Promise<Outcome> {
  const current = world ?? (await FaultWorld.start(log));
  world = current;
  try {
    const outcome = await runSchedule(current, schedule, { log });
    log(`schedule done in ${(outcome.ms / 1000).toFixed(1)} s: ${outcome.violations.length} violation(s)`);
    if (outcome.violations.length > 0) {
      await current.close();
      world = undefined;
    }
    return outcome;
  } catch (error) {
    await current.close();
    world = undefined;
    throw error;
  }
}

describe('whole incidents under injected faults, kill -9 and racing people', () => {
  it(`keeps the money, the effects, the notices and the ledger right over ${runs} schedules (seed ${seed})`, async () => {
    let firstFailure: { schedule: Schedule; violations: readonly string[] } | undefined;
    const started = Date.now();
    const result = await fc.check(
      fc.asyncProperty(scheduleArbitrary, async (schedule) => {
        if (firstFailure && Date.now() - started > shrinkBudgetMs) return true;
        let violations: readonly string[];
        try {
          violations = (await attempt(schedule)).violations;
        } catch (error) {
          violations = [`the harness could not drive the incident: ${(error as Error).message}`];
        }
        if (violations.length > 0) {
          firstFailure ??= { schedule, violations };
          throw new Error(violations.join('\n'));
        }
        return true;
      }),
      { numRuns: runs, seed, ...(path ? { path } : {}), endOnFailure: false },
    );
    let report = '';
    if (result.failed) {
      const shrunk = result.counterexample?.[0] as Schedule | undefined;
      report = [
        '',
        `FAULT SCHEDULE FAILED — seed ${result.seed}, path ${result.counterexamplePath}`,
        `replay: CASEBOOK_FAULT_SEED=${result.seed} CASEBOOK_FAULT_PATH=${result.counterexamplePath} npm run test:faults`,
        `after ${result.numRuns} schedule(s) and ${result.numShrinks} shrink(s); the shrunk schedule:`,
        shrunk ? describeSchedule(shrunk) : '(none)',
        'what broke:',
        String((result.errorInstance as Error | undefined)?.message ?? result.errorInstance),
        firstFailure && shrunk !== firstFailure.schedule
          ? `first failing schedule:\n${describeSchedule(firstFailure.schedule)}\n${firstFailure.violations.join('\n')}`
          : '',
        '',
      ].join('\n');
      process.stderr.write(report);
    }
    expect(result.failed, report).toBe(false);
  });
});
