/**
 * A 10,000-customer incident worked through the workroom and carried out by the real Act against
 * the Stripe stand-in and the SES emulator, next to a 3-customer incident on the same local stack:
 * how long the customer upload, the plan and Act take, whether every effect happened once, and
 * whether the Step Functions history stays small (it carries references only, never effects).
 */
import { rmSync } from 'node:fs';
import { ENV } from '../functions/env-names.ts';
import { freePorts, start, tempDataDir } from '../test/support/local-stack.ts';
import {
  chargedCustomersCsv,
  effectsDone,
  type IncidentRun,
  largestPayloadBytes,
  runIncident,
} from './casework-incident.ts';
import type { BenchReport } from './run.ts';
import { type WorkroomViewTimes, workroomViewTimes } from './workroom-view.ts';

const CUSTOMERS = Number(process.env.BENCH_CASEWORK_CUSTOMERS ?? 10_000);
/** The local stand-ins take far more than SES's or Stripe's production rates; Act is not held back. */
const RATE_PER_SECOND = process.env.BENCH_CASEWORK_RATE ?? '10000';

const log = (line: string) => console.error(`casework: ${line}`);

export default async function run(): Promise<BenchReport> {
  const dataDir = tempDataDir();
  const stack = await start(dataDir, await freePorts(), {
    environment: { [ENV.mailRatePerSecond]: RATE_PER_SECOND, [ENV.paymentsRatePerSecond]: RATE_PER_SECOND },
  });
  try {
    const small = await runIncident(stack, 'three', await chargedCustomersCsv(stack, 'three', 3), {
      actTimeoutMs: 120_000,
      log,
    });
    let started = performance.now();
    const csv = await chargedCustomersCsv(stack, 'large', CUSTOMERS);
    const chargesSeconds = (performance.now() - started) / 1000;
    log(`${CUSTOMERS} charges made in ${chargesSeconds.toFixed(1)} s`);
    started = performance.now();
    const large = await runIncident(stack, 'large', csv, { actTimeoutMs: 30 * 60_000, log });
    const done = await effectsDone(stack, large.incidentId, 'large');
    log(
      `large incident worked in ${((performance.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(done)}`,
    );
    const view = await workroomViewTimes(stack, small.incidentId, large.incidentId);
    log(`workroom view: ${view.smallMs.toFixed(1)} ms (3) vs ${view.largeMs.toFixed(1)} ms (${CUSTOMERS})`);
    return withWorkroomView(report(small, large, done, chargesSeconds), view);
  } finally {
    await stack.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

function report(
  small: IncidentRun,
  large: IncidentRun,
  done: { refunds: number; notices: number },
  chargesSeconds: number,
): BenchReport {
  const k = CUSTOMERS === 10_000 ? '10k' : `${CUSTOMERS}`;
  const maxPayloadKib = largestPayloadBytes(large.history) / 1024;
  const results = {
    [`casework.customers_${k}_upload_s`]: round(large.uploadSeconds),
    [`casework.plan_${k}_s`]: round(large.planSeconds),
    [`casework.act_${k}_s`]: round(large.actSeconds),
    [`casework.effects_done_${k}`]: done.refunds + done.notices,
    [`casework.history_ratio_${k}_vs_3`]: round(large.history.length / small.history.length),
    [`casework.max_payload_kib_${k}`]: round(maxPayloadKib),
  };
  const n = (x: number) => x.toLocaleString('en-US');
  const perEntryMs = (1000 * large.actSeconds) / large.actEntries;
  const markdown = [
    `## A ${n(CUSTOMERS)}-customer incident (\`bench/casework.bench.ts\`)`,
    '',
    `One incident with ${n(CUSTOMERS)} affected customers, worked on the local stack the way people work it: an alert opens it; the responder's workroom link acknowledges, contains, assesses the impact, uploads the customers as one CSV (\`POST /work/{linkId}/customers\`) and writes a plan that refunds each customer's amount (ToS) and sends each an apology (\`/plan\`, \`/submit-plan\`); the three approvers approve from their e-mails; the real Act carries out the ${n(2 * CUSTOMERS)} effects against the Stripe stand-in (each customer has a charge there, made before the upload: ${chargesSeconds.toFixed(1)} s) and the SES emulator; the postmortem closes it. A 3-customer incident worked the same way on the same stack is the baseline for the history.`,
    '',
    `Act's rates are set to ${RATE_PER_SECOND} a second for both providers (\`${ENV.mailRatePerSecond}\`, \`${ENV.paymentsRatePerSecond}\`; \`BENCH_CASEWORK_RATE\`): the local stand-ins take far more than SES's or Stripe's production limits, and the bench measures Casebook, not the throttle. On AWS, at SES's default of 14 messages a second, the notices alone would take ${Math.ceil(CUSTOMERS / 14 / 60)} minutes. \`BENCH_CASEWORK_CUSTOMERS\` runs another size (its keys then name that size).`,
    '',
    `| measure | 3 customers | ${n(CUSTOMERS)} customers |`,
    '|---|---:|---:|',
    `| customer upload (POST /customers, CSV) | ${small.uploadSeconds.toFixed(2)} s | ${large.uploadSeconds.toFixed(2)} s |`,
    `| plan written (rules expanded over the customers) and submitted | ${small.planSeconds.toFixed(2)} s | ${large.planSeconds.toFixed(2)} s |`,
    `| Act (first carry-out run to Learn) | ${small.actSeconds.toFixed(2)} s | ${large.actSeconds.toFixed(1)} s |`,
    `| carry-out runs | ${small.actRuns} | ${large.actRuns} |`,
    `| entries Act appended to the incident's ledger | ${n(small.actEntries)} | ${n(large.actEntries)} |`,
    `| history events | ${small.history.length} | ${large.history.length} |`,
    `| largest input/output in the history | ${(largestPayloadBytes(small.history) / 1024).toFixed(2)} KiB | ${maxPayloadKib.toFixed(2)} KiB |`,
    '',
    `Effects done, counted at the providers: ${n(done.refunds)} succeeded refunds in the Stripe stand-in whose metadata names the incident, and ${n(done.notices)} notices in the SES emulator's store to the incident's customers (${n(2 * CUSTOMERS)} planned).`,
    '',
    `Reading: the history does not grow with the customers — the state machine carries the incident id and Act's outcome, never an effect — so its size and its largest payload are those of the 3-customer incident. Act's time is its Effect Ledger's: an incident's entries form one hash chain, and each entry is a conditional put at the head the one before made, so the ${n(large.actEntries)} entries (intent, executed and confirmed for a refund that is pending first; intent and confirmed for a notice) go to dynalite one after another, ${perEntryMs.toFixed(1)} ms each on average here (Act's time over its entries), while the claims, the effects' own updates and the provider calls run beside them; timed from inside while this bench was written, a run's appends queued behind one another from its start to its end, so the chain, not the providers, sets Act's pace. The upload and the plan are batch writes, 25 items a request.`,
  ].join('\n');
  return {
    results,
    targets: {
      [`casework.customers_${k}_upload_s`]: '≤ 10',
      [`casework.effects_done_${k}`]: String(2 * CUSTOMERS),
      [`casework.history_ratio_${k}_vs_3`]: '≤ 2',
      [`casework.max_payload_kib_${k}`]: '< 256',
    },
    markdown,
  };
}

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
