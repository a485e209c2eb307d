/**
 * The fault harness as a benchmark: BENCH_FAULT_SCHEDULES fault schedules (default 50, from a fixed
 * seed) on one local stack behind the fault proxy, BENCH_FAULT_LANES of them side by side (default
 * 10; a drawn `kill -9` takes the whole stack down under every lane, as it would). Counts what the
 * invariants found over all of them: money made twice at the provider, planned effects lost,
 * incidents wedged, money paid that the approved plan does not say. See test/faults/ and README's
 * *The fault harness*.
 */
import fc from 'fast-check';
import { FaultWorld, type Outcome, runSchedule, verifyLedger } from '../test/faults/harness.ts';
import { describeSchedule, type Schedule, scheduleArbitrary } from '../test/faults/schedule.ts';
import type { BenchReport } from './run.ts';

const SCHEDULES = Number(process.env.BENCH_FAULT_SCHEDULES ?? 50);
const LANES = Number(process.env.BENCH_FAULT_LANES ?? 10);
const SEED = Number(process.env.BENCH_FAULT_SEED ?? 15);

export default async function bench(): Promise<BenchReport> {
  // Ten customers an incident keep 50 schedules within the bench's ten minutes beside the other
  // benchmarks; the test drives 50.
  process.env.CASEBOOK_FAULT_CUSTOMERS ??= '10';
  const all = fc.sample(scheduleArbitrary, { numRuns: SCHEDULES, seed: SEED });
  // BENCH_FAULT_ONLY=6,9: only those schedules of the run (1-based), to look at one closely.
  const only = (process.env.BENCH_FAULT_ONLY ?? '').split(',').filter(Boolean).map(Number);
  const schedules = only.length > 0 ? all.filter((_, i) => only.includes(i + 1)) : all;
  const log = (line: string) => {
    if (process.env.CASEBOOK_FAULT_VERBOSE === '1')
      process.stderr.write(`faults ${new Date().toISOString().slice(11, 23)} ${line}\n`);
  };
  const started = Date.now();
  const world = await FaultWorld.start(log);
  const outcomes: { index: number; schedule: Schedule; outcome: Outcome }[] = [];
  let next = 0;
  const lane = async () => {
    for (;;) {
      const index = next++;
      const schedule = schedules[index];
      if (!schedule) return;
      let outcome: Outcome;
      try {
        outcome = await runSchedule(world, schedule, { log, verifyLedger: false });
      } catch (error) {
        // An incident the people could not take through its steps did not progress: wedged.
        outcome = {
          duplicatedMoney: 0,
          lostEffects: 0,
          wedged: 1,
          paidNotApproved: 0,
          duplicatedNotices: 0,
          ledgerFailures: 0,
          violations: [`the harness could not drive the incident: ${(error as Error).message}`],
          ms: 0,
        };
      }
      outcomes.push({ index, schedule, outcome });
      process.stderr.write(
        `faults: schedule ${index + 1}/${schedules.length} ${outcome.incidentId ?? ''} ${outcome.violations.length} violation(s)\n`,
      );
    }
  };
  let ledger: { ok: boolean; detail: string };
  try {
    await Promise.all(Array.from({ length: LANES }, lane));
    // One auditor's check over every incident of the run, as the CLI runs it.
    ledger = await verifyLedger(world);
  } finally {
    await world.close();
  }
  const seconds = (Date.now() - started) / 1000;
  const sum = (f: (o: Outcome) => number) => outcomes.reduce((s, o) => s + f(o.outcome), 0);
  const results = {
    'faults.schedules': outcomes.length,
    'faults.duplicated_money': sum((o) => o.duplicatedMoney),
    'faults.lost_effects': sum((o) => o.lostEffects),
    'faults.wedged_incidents': sum((o) => o.wedged),
    'faults.paid_not_approved': sum((o) => o.paidNotApproved),
  };
  const failing = outcomes.filter((o) => o.outcome.violations.length > 0).sort((a, b) => a.index - b.index);
  for (const f of failing)
    process.stderr.write(
      `\nschedule ${f.index + 1} (${f.outcome.incidentId ?? '?'}):\n${describeSchedule(f.schedule)}\n${f.outcome.violations.slice(0, 20).join('\n')}\n`,
    );
  const markdown = [
    '## Fault schedules',
    '',
    `${outcomes.length} fault schedules (fast-check seed ${SEED}), ${LANES} side by side on one local stack behind the fault proxy, in ${seconds.toFixed(0)} s, ${world.kills} kill -9 and restart(s) of the whole stack. Each is a whole incident of ${process.env.CASEBOOK_FAULT_CUSTOMERS} customers (refunds, credits, notices; a change request, then approval) under the throttling, 500s, timeouts after the server acted, connection resets, Lambda failures and racing workroom requests and decisions its schedule draws; see README's *The fault harness*.`,
    '',
    `- schedules with a broken invariant: ${failing.length}; notices sent twice unasked: ${sum((o) => o.duplicatedNotices)}; \`casebook ledger verify\` over the run: ${ledger.ok ? 'passed' : `failed (${ledger.detail.slice(0, 200)})`}.`,
    ...failing
      .slice(0, 5)
      .map((f) => `- schedule ${f.index + 1}: ${f.outcome.violations.slice(0, 3).join('; ').slice(0, 300)}`),
  ].join('\n');
  return {
    results,
    targets: {
      'faults.schedules': '≥ 50',
      'faults.duplicated_money': '0',
      'faults.lost_effects': '0',
      'faults.wedged_incidents': '0',
      'faults.paid_not_approved': '0',
    },
    markdown,
  };
}
