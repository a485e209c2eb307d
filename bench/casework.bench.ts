/**
 * A 10,000-customer incident worked through the workroom and carried out by the real Act against
 * the Stripe stand-in and the SES emulator, next to a 3-customer incident on the same local stack:
 * how long the customer upload, the plan and Act take, whether every effect happened once, and
 * whether the Step Functions history stays small (it carries references only, never effects).
 * A second 10,000-customer incident is carried out at production-like provider rates, to see
 * whether the providers' rates, not Casebook, set Act's pace.
 */
import { rmSync } from 'node:fs';
import { ENV } from '../functions/env-names.ts';
import type { LocalStack } from '../local/stack.ts';
import { freePorts, start, tempDataDir } from '../test/support/local-stack.ts';
import { incidentCosts, transitionsOf } from './aws-costs.ts';
import {
  type ActRecord,
  actRecord,
  chargedCustomersCsv,
  effectsDone,
  finishIncident,
  type IncidentRun,
  largestPayloadBytes,
  prepareIncident,
  runIncident,
} from './casework-incident.ts';
import type { BenchReport } from './run.ts';
import { installUsageMeter, snapshot, usageBetween } from './usage-meter.ts';
import { type WorkroomViewTimes, workroomViewTimes } from './workroom-view.ts';

const CUSTOMERS = Number(process.env.BENCH_CASEWORK_CUSTOMERS ?? 10_000);
/** The local stand-ins take far more than SES's or Stripe's production rates; Act is not held back. */
const RATE_PER_SECOND = process.env.BENCH_CASEWORK_RATE ?? '10000';
/**
 * Production-like rates: Stripe's live-mode limit of 100 write (and 100 read) requests a second,
 * and an SES sending quota of 500 messages a second, raised from the default as a company that
 * mails thousands of customers at once would have it.
 */
const PRODUCTION = { payments: 100, mail: 500 } as const;
const ACT_TIMEOUT_MS = 30 * 60_000;

const log = (line: string) => console.error(`casework: ${line}`);
const rates = (payments: number | string, mail: number | string) => ({
  [ENV.paymentsRatePerSecond]: String(payments),
  [ENV.mailRatePerSecond]: String(mail),
});

/** One large incident's figures: its run, what its records say, what the providers hold. */
interface Large {
  readonly run: IncidentRun;
  readonly record: ActRecord;
  readonly done: { refunds: number; notices: number };
  readonly chargesSeconds: number;
}

export default async function run(): Promise<BenchReport> {
  installUsageMeter();
  const dataDir = tempDataDir();
  const ports = await freePorts();
  let stack: LocalStack | undefined = await start(dataDir, ports, {
    environment: rates(RATE_PER_SECOND, RATE_PER_SECOND),
  });
  try {
    const smallCsv = await chargedCustomersCsv(stack, 'three', 3);
    let metered = snapshot();
    const small = await runIncident(stack, 'three', smallCsv, { actTimeoutMs: 120_000, log });
    const smallUsage = usageBetween(metered, snapshot(), transitionsOf(small.history));
    let started = performance.now();
    const csv = await chargedCustomersCsv(stack, 'large', CUSTOMERS);
    const chargesSeconds = (performance.now() - started) / 1000;
    log(`${CUSTOMERS} charges made in ${chargesSeconds.toFixed(1)} s`);
    started = performance.now();
    metered = snapshot();
    const large = await runIncident(stack, 'large', csv, { actTimeoutMs: ACT_TIMEOUT_MS, log });
    const largeUsage = usageBetween(metered, snapshot(), transitionsOf(large.history));
    const fast = await counted(stack, large, 'large', chargesSeconds);
    log(`large incident worked in ${seconds(started)} s`);
    assertAllDone(`at ${RATE_PER_SECOND} a second`, fast);
    const view = await workroomViewTimes(stack, small.incidentId, large.incidentId);
    log(`workroom view: ${view.smallMs.toFixed(1)} ms (3) vs ${view.largeMs.toFixed(1)} ms (${CUSTOMERS})`);

    // The second incident is worked up to its approvers at the same rates (the plan's refund check
    // asks the provider about each payment, and is not Act), then the stack restarts on its data
    // with production-like rates, and the approvers approve.
    started = performance.now();
    const pacedCsv = await chargedCustomersCsv(stack, 'paced', CUSTOMERS);
    const prepared = await prepareIncident(stack, 'paced', pacedCsv, { log });
    log(`paced incident ready for its approvers in ${seconds(started)} s`);
    const closing = stack;
    stack = undefined;
    await closing.close();
    started = performance.now();
    stack = await start(dataDir, ports, { environment: rates(PRODUCTION.payments, PRODUCTION.mail) });
    log(`stack restarted at production-like rates in ${seconds(started)} s`);
    started = performance.now();
    const pacedRun = await finishIncident(stack, prepared, { actTimeoutMs: ACT_TIMEOUT_MS, log });
    const paced = await counted(stack, pacedRun, 'paced', 0);
    log(`paced incident worked in ${seconds(started)} s`);
    assertAllDone('at production-like rates', paced);
    const k = CUSTOMERS === 10_000 ? '10k' : `${CUSTOMERS}`;
    const costs = incidentCosts([
      { key: '3', label: '3 customers', usage: smallUsage },
      { key: k, label: `${CUSTOMERS.toLocaleString('en-US')} customers`, usage: largeUsage },
    ]);
    const base = withWorkroomView(report(small, fast, paced), view);
    return {
      results: { ...base.results, ...costs.results },
      targets: {
        ...base.targets,
        'cost.usd_per_incident_3': '≤ 0.01',
        'cost.usd_per_incident_10k': '≤ 2.00',
      },
      markdown: `${base.markdown}\n\n${costs.markdown}`,
    };
  } finally {
    await stack?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** What the incident's records and the providers say Act did. */
async function counted(
  stack: LocalStack,
  run: IncidentRun,
  tag: string,
  chargesSeconds: number,
): Promise<Large> {
  const started = performance.now();
  const large = {
    run,
    record: await actRecord(stack, run.incidentId),
    done: await effectsDone(stack, run.incidentId, tag),
    chargesSeconds,
  };
  log(
    `${run.incidentId}: carry-out runs ${run.actRunSeconds.map((t) => `${t.toFixed(1)} s`).join(', ')}; effects counted in ${seconds(started)} s: ${JSON.stringify({ ...large.done, ...large.record })}`,
  );
  return large;
}

/**
 * A pace is only a figure when the run did everything: every effect counted at the providers, in
 * the operations table and on the ledger.
 */
function assertAllDone(what: string, large: Large): void {
  const { record, done } = large;
  const counts = [
    done.refunds,
    done.notices,
    record.confirmedOnLedger.refund ?? 0,
    record.confirmedOnLedger.notice ?? 0,
    record.confirmedInStore / 2,
    record.planned / 2,
  ];
  if (counts.some((n) => n !== CUSTOMERS))
    throw new Error(
      `Act ${what} did not carry out every effect: ${JSON.stringify({ ...done, ...record })}, ${CUSTOMERS} customers`,
    );
}

function report(small: IncidentRun, fast: Large, paced: Large): BenchReport {
  const k = CUSTOMERS === 10_000 ? '10k' : `${CUSTOMERS}`;
  const large = fast.run;
  const maxPayloadKib = largestPayloadBytes(large.history) / 1024;
  // The least time the providers' rates allow for the calls Act's entries answer: each refund is
  // taken (pending) and looked at again (succeeded), each notice sent once.
  const paymentsFloor = paced.record.paymentAnswers / PRODUCTION.payments;
  const mailFloor = (paced.record.confirmedOnLedger.notice ?? 0) / PRODUCTION.mail;
  const floorSeconds = Math.max(paymentsFloor, mailFloor);
  const results = {
    [`casework.customers_${k}_upload_s`]: round(large.uploadSeconds),
    [`casework.plan_${k}_s`]: round(large.planSeconds),
    [`casework.act_${k}_s`]: round(large.actSeconds),
    [`casework.act_${k}_vs_provider_floor`]: round(floorSeconds / paced.run.actSeconds),
    [`casework.effects_done_${k}`]: fast.done.refunds + fast.done.notices,
    [`casework.history_ratio_${k}_vs_3`]: round(large.history.length / small.history.length),
    [`casework.max_payload_kib_${k}`]: round(maxPayloadKib),
  };
  const n = (x: number) => x.toLocaleString('en-US');
  const rate = `${n(Number(RATE_PER_SECOND))} a second`;
  const perCommit = (r: ActRecord) => (r.entries / r.commits).toFixed(1);
  const markdown = [
    `## A ${n(CUSTOMERS)}-customer incident (\`bench/casework.bench.ts\`)`,
    '',
    `One incident with ${n(CUSTOMERS)} affected customers, worked on the local stack the way people work it: an alert opens it; the responder's workroom link acknowledges, contains, assesses the impact, uploads the customers as one CSV (\`POST /work/{linkId}/customers\`) and writes a plan that refunds each customer's amount (ToS) and sends each an apology (\`/plan\`, \`/submit-plan\`); the three approvers approve from their e-mails; the real Act carries out the ${n(2 * CUSTOMERS)} effects against the Stripe stand-in (each customer has a charge there, made before the upload: ${fast.chargesSeconds.toFixed(1)} s) and the SES emulator; the postmortem closes it. A 3-customer incident worked the same way on the same stack is the baseline for the history.`,
    '',
    `Two rates for Act's providers (\`${ENV.paymentsRatePerSecond}\`, \`${ENV.mailRatePerSecond}\`):`,
    '',
    `- **${rate} for both** (\`BENCH_CASEWORK_RATE\`), \`casework.act_${k}_s\`: the local stand-ins take far more than Stripe's or SES's production limits, so this measures Casebook alone.`,
    `- **production-like: payments ${PRODUCTION.payments} calls a second, mail ${PRODUCTION.mail} a second**, \`casework.act_${k}_vs_provider_floor\`: a second incident of ${n(CUSTOMERS)} customers, worked up to its approvers at the rate above (the plan's refund check before approval asks the provider about each payment, and is not Act), then the stack restarts on its data at these rates and the approvers approve. Each refund is two payment calls — taken (the stand-in answers pending), then looked at again (succeeded) — so the providers' rates alone need ${floorSeconds.toFixed(0)} s (${n(paced.record.paymentAnswers)} payment calls at ${PRODUCTION.payments} a second; the ${n(paced.record.confirmedOnLedger.notice ?? 0)} notices need ${mailFloor.toFixed(0)} s beside them). The key is that time over Act's: 1 when nothing but the rates holds Act up.`,
    '',
    `\`BENCH_CASEWORK_CUSTOMERS\` runs another size (its keys then name that size).`,
    '',
    `| measure | 3 customers | ${n(CUSTOMERS)} customers | ${n(CUSTOMERS)}, production-like rates |`,
    '|---|---:|---:|---:|',
    `| customer upload (POST /customers, CSV) | ${small.uploadSeconds.toFixed(2)} s | ${large.uploadSeconds.toFixed(2)} s | ${paced.run.uploadSeconds.toFixed(2)} s |`,
    `| plan written (rules expanded over the customers) and submitted | ${small.planSeconds.toFixed(2)} s | ${large.planSeconds.toFixed(2)} s | ${paced.run.planSeconds.toFixed(2)} s |`,
    `| Act (first carry-out run to Learn) | ${small.actSeconds.toFixed(2)} s | ${large.actSeconds.toFixed(1)} s | ${paced.run.actSeconds.toFixed(1)} s |`,
    `| carry-out runs (each one's time) | ${small.actRuns} | ${large.actRuns} (${runs(large)}) | ${paced.run.actRuns} (${runs(paced.run)}) |`,
    `| CPU time of the stack's process over Act's wall time | ${share(small)} | ${share(large)} | ${share(paced.run)} |`,
    `| entries Act appended to the incident's ledger | | ${n(fast.record.entries)} | ${n(paced.record.entries)} |`,
    `| ledger items of the incident's log (commits), entries a commit | | ${n(fast.record.commits)}, ${perCommit(fast.record)} | ${n(paced.record.commits)}, ${perCommit(paced.record)} |`,
    `| history events | ${small.history.length} | ${large.history.length} | ${paced.run.history.length} |`,
    `| largest input/output in the history | ${(largestPayloadBytes(small.history) / 1024).toFixed(2)} KiB | ${maxPayloadKib.toFixed(2)} KiB | ${(largestPayloadBytes(paced.run.history) / 1024).toFixed(2)} KiB |`,
    '',
    `Effects done, counted at the providers (the ${rate} incident, then the production-rate one): ${n(fast.done.refunds)} and ${n(paced.done.refunds)} succeeded refunds in the Stripe stand-in whose metadata names the incident, ${n(fast.done.notices)} and ${n(paced.done.notices)} notices in the SES emulator's store to the incident's customers (${n(2 * CUSTOMERS)} effects planned each). Counted in Casebook's own records: ${n(fast.record.confirmedInStore)} and ${n(paced.record.confirmedInStore)} effects confirmed in the operations table; confirmed entries on the ledger, read through its port, for ${n(fast.record.confirmedOnLedger.refund ?? 0)} and ${n(paced.record.confirmedOnLedger.refund ?? 0)} refunds and ${n(fast.record.confirmedOnLedger.notice ?? 0)} and ${n(paced.record.confirmedOnLedger.notice ?? 0)} notices. The bench fails rather than write a pace for a run that left an effect undone.`,
    '',
    `Reading: the history does not grow with the customers — the state machine carries the incident id and Act's outcome, never an effect — so its size and its largest payload are those of the 3-customer incident. The upload and the plan are batch writes, 25 items a request.`,
    '',
    `Act carries out each provider's effects in a lane of its own (refunds and credits; messages), 32 under way on each, reading the next page of effects while it works on one, so neither provider waits on the other's rate (a plan lists every refund before any notice); each lane takes its provider's calls from a token bucket that serves them in the order they asked. The entries the effects under way have ready share one ledger commit (${perCommit(fast.record)} entries a commit on average at ${rate}, ${perCommit(paced.record)} at the production-like rates), so appends no longer go one after another. The first carry-out run takes every refund to the provider (pending) and sends every notice; the second looks at each refund again.`,
    '',
    `At ${rate} nothing waits on a provider, and Act's time is the CPU's: one Node process runs every emulator and handler of the local stack (dynalite, the Stripe stand-in, the SES emulator, Step Functions, the Lambda handlers); it was busy ${share(large)} of Act's ${large.actSeconds.toFixed(0)} s (below 100 %, it waited for a core the machine gave to other work). At the production-like rates Act took ${paced.run.actSeconds.toFixed(0)} s against the providers' ${floorSeconds.toFixed(0)} s (${results[`casework.act_${k}_vs_provider_floor`]}): its first run, ${paced.run.actRunSeconds[0]?.toFixed(0)} s where the payments rate allows 100, also carries the ${n(CUSTOMERS)} notices and every intent and executed entry, and the process was busy ${share(paced.run)} of Act's time; the second, ${paced.run.actRunSeconds[1]?.toFixed(0)} s, only looks again.`,
  ].join('\n');
  return {
    results,
    targets: {
      [`casework.customers_${k}_upload_s`]: '≤ 10',
      [`casework.act_${k}_vs_provider_floor`]: '≥ 0.8',
      [`casework.effects_done_${k}`]: String(2 * CUSTOMERS),
      [`casework.history_ratio_${k}_vs_3`]: '≤ 2',
      [`casework.max_payload_kib_${k}`]: '< 256',
    },
    markdown,
  };
}

const runs = (r: IncidentRun) => r.actRunSeconds.map((t) => `${t.toFixed(1)} s`).join(', ');
const share = (r: IncidentRun) => `${(100 * r.actCpuShare).toFixed(0)} %`;
const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);
const round = (n: number) => Math.round(n * 1000) / 1000;

/** The workroom's render time for the large incident after Act over the 3-customer one's. */
function withWorkroomView(base: BenchReport, view: WorkroomViewTimes): BenchReport {
  const k = CUSTOMERS === 10_000 ? '10k' : `${CUSTOMERS}`;
  const key = `casework.workroom_view_${k}_vs_3`;
  return {
    ...base,
    results: { ...base.results, [key]: round(view.ratio) },
    targets: { ...base.targets, [key]: '≤ 2' },
    markdown: `${base.markdown}\n\nThe workroom (a responder's page, HTML, median of 15 loads after one to warm up) renders in ${view.largeMs.toFixed(1)} ms for the ${CUSTOMERS.toLocaleString('en-US')}-customer incident after Act and in ${view.smallMs.toFixed(1)} ms for the 3-customer one (\`${key}\`): a view reads one page of the ledger, newest first, and the effects' summary Act keeps, never the whole ledger.`,
  };
}
