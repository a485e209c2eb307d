/**
 * One incident worked the way people work it, at any number of affected customers, for
 * `bench/casework.bench.ts`: an alert opens it; the responder acknowledges, contains, assesses the
 * impact, uploads the customers as CSV and writes a plan (a refund of each customer's amount and a
 * notice to each) through the workroom links; the triangle approves from the approval e-mails; the
 * real Act carries the plan out against the Stripe stand-in and the SES emulator; the postmortem
 * closes it. Each customer has a real charge in the stand-in for the refund to go back to.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { DynamoDbOperationsStore } from '../functions/adapters/dynamodb-operations-store.ts';
import { stripeClient } from '../functions/adapters/stripe-payments.ts';
import { carryOutEffectsDepsFromEnvironment } from '../functions/carry-out-effects/carry-out-effects.ts';
import { effectState } from '../functions/domain/ledger.ts';
import { versionIdOf } from '../functions/domain/plan.ts';
import { LOCAL_CREDENTIALS } from '../local/names.ts';
import { approveRound, done, inPhase, POSTMORTEM, RESPONDER, workLinks } from '../test/support/casework.ts';
import type { StackEndpoints } from '../test/support/local-stack.ts';
import {
  approvalLinks,
  executionArnOf,
  executionHistory,
  inbox,
  postAlert,
  ROOT,
  waitFor,
} from '../test/support/local-stack.ts';

const aws = { region: 'us-east-1', credentials: LOCAL_CREDENTIALS };

/** The name of the state that carries out the effects (statemachines/incident-lifecycle.ts). */
const CARRY_OUT = 'Carry out the approved effects';

/** A refund of what each customer was charged, and an apology to each. */
export const REFUND_AND_NOTICE = {
  summary: 'Refund what each customer was charged twice, and tell each of them.',
  apply: [
    { kind: 'refund', amount: 'affected', obligation: 'tos' },
    { kind: 'notice', obligation: 'brand', template: 'apology' },
  ],
  effects: [],
};

/** What one incident's run measured. */
export interface IncidentRun {
  readonly incidentId: string;
  /** POST /work/{link}/customers of the whole CSV, until it answered. */
  readonly uploadSeconds: number;
  /** POST /plan (the rules expanded over the customers) and /submit-plan, until both answered. */
  readonly planSeconds: number;
  /** From the first run of the carry-out state to Learn, read from the execution's own history. */
  readonly actSeconds: number;
  /** Carry-out runs Act took. */
  readonly actRuns: number;
  /** How long each carry-out run took, from the history. */
  readonly actRunSeconds: readonly number[];
  /**
   * CPU time this process (every emulator and handler of the local stack, and the bench) used
   * while Act ran, over the wall time: near 1 when Act is bound by one core.
   */
  readonly actCpuShare: number;
  /** Every event of the closed incident's execution history. */
  readonly history: HistoryEvent[];
}

/** Runs `work` over `items`, `limit` at a time. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, i: number) => Promise<void>,
) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i] as T, i);
      }
    }),
  );
}

/** The e-mail address the bench gives customer `i` of the incident tagged `tag`. */
export const customerEmail = (tag: string, i: number) => `customer-${i}@${tag}.example.com`;

/**
 * `count` customers as the workroom's CSV, each charged in the Stripe stand-in (EUR 10.00–14.90)
 * so that the refund of "affected" goes back to a payment the stand-in knows.
 */
export async function chargedCustomersCsv(
  stack: StackEndpoints,
  tag: string,
  count: number,
): Promise<string> {
  const stripe = stripeClient('sk_test_casework_bench', { apiBase: stack.endpoints.stripe });
  const rows: string[] = new Array(count);
  await inParallel(
    Array.from({ length: count }, (_, i) => i + 1),
    16,
    async (n, i) => {
      const minor = 1000 + (n % 50) * 10;
      const charge = await stripe.charges.create({ amount: minor, currency: 'eur', source: 'tok_visa' });
      const amount = (minor / 100).toFixed(2);
      rows[i] = `cus_${n},${customerEmail(tag, n)},Customer ${n},${amount},EUR,payments,${charge.id}`;
    },
  );
  return ['customer_ref,email,name,amount,currency,product_area,payment_ref', ...rows].join('\n');
}

const seconds = (since: number) => (performance.now() - since) / 1000;
const entered = (history: readonly HistoryEvent[], name: string) =>
  history.filter((e) => e.stateEnteredEventDetails?.name === name);

/** An incident worked up to its approvers' e-mails: the plan checked, the approvers asked. */
export interface PreparedIncident {
  readonly incidentId: string;
  /** The responder's workroom link. */
  readonly link: string;
  readonly uploadSeconds: number;
  readonly planSeconds: number;
}

/**
 * Opens an incident with an alert of its own (`tag` makes its fingerprint) and works it until its
 * approvers are asked (the plan checked against the provider), with `customersCsv` as the
 * affected customers.
 */
export async function prepareIncident(
  stack: StackEndpoints,
  tag: string,
  customersCsv: string,
  options: { readonly log?: (line: string) => void } = {},
): Promise<PreparedIncident> {
  const log = options.log ?? (() => undefined);
  const alert = readFileSync(join(ROOT, 'test/fixtures/alertmanager/double-charge.json'), 'utf8')
    .replaceAll('5f1a4c2e9b7d3a80', `bench-${tag}`)
    .replaceAll('"PaymentDoubleCharge"', `"PaymentDoubleCharge-${tag}"`);
  const opened = await postAlert(stack, alert);
  if (opened.status !== 201) throw new Error(`the alert answered ${opened.status}: ${await opened.text()}`);
  const { incidentId } = (await opened.json()) as { incidentId: string };
  const link = (await workLinks(stack, incidentId)).get(RESPONDER) as string;

  await done(link, 'acknowledge');
  await done(link, 'contain', {
    actions: [{ description: 'Settlement retries turned off', safety: 'SAFE_REVERSIBLE', world: 'RML2' }],
    contained: true,
  });
  await inPhase(link, 'Understand');
  const rows = customersCsv.split('\n').length - 1;
  await done(link, 'impact', {
    users: rows,
    transactions: rows,
    assets: ['money'],
    from: '2026-11-22T10:23:00Z',
    to: '2026-11-22T11:05:00Z',
    summary: `${rows} settled payments were charged twice.`,
  });

  let started = performance.now();
  await done(link, 'customers', customersCsv);
  const uploadSeconds = seconds(started);
  log(`${incidentId}: ${rows} customers uploaded in ${uploadSeconds.toFixed(2)} s`);

  started = performance.now();
  await done(link, 'plan', REFUND_AND_NOTICE);
  await done(link, 'submit-plan');
  const planSeconds = seconds(started);
  log(`${incidentId}: plan of ${2 * rows} effects written and submitted in ${planSeconds.toFixed(2)} s`);

  await inPhase(link, 'Decide', 60_000);
  await approvalLinks(stack, incidentId, 1);
  return { incidentId, link, uploadSeconds, planSeconds };
}

/** Approves a prepared incident from the approvers' e-mails, waits for Act, and closes it. */
export async function finishIncident(
  stack: StackEndpoints,
  prepared: PreparedIncident,
  options: { readonly actTimeoutMs: number; readonly log?: (line: string) => void },
): Promise<IncidentRun> {
  const log = options.log ?? (() => undefined);
  const { incidentId, link } = prepared;
  await approveRound(stack, incidentId);
  const started = performance.now();
  const cpu = process.cpuUsage();
  await watchPhase(stack, incidentId, 'Learn', options.actTimeoutMs);
  const used = process.cpuUsage(cpu);
  const actCpuShare = (used.user + used.system) / 1e6 / seconds(started);
  log(
    `${incidentId}: Act finished after ${seconds(started).toFixed(1)} s (wall), the process busy ${(100 * actCpuShare).toFixed(0)} % of it`,
  );
  const closing = performance.now();
  await done(link, 'postmortem', POSTMORTEM);
  const executionArn = executionArnOf(stack, incidentId);
  await waitFor(`${incidentId}'s execution to succeed`, async () =>
    (await describe(stack, executionArn)) === 'SUCCEEDED' ? true : undefined,
  );
  const history = await executionHistory(stack, incidentId);
  log(`${incidentId}: closed and its history read in ${seconds(closing).toFixed(1)} s`);
  const actStart = entered(history, CARRY_OUT)[0]?.timestamp;
  const actEnd = entered(history, 'Learn')[0]?.timestamp;
  if (!actStart || !actEnd) throw new Error(`${incidentId}'s history shows no Act`);
  return {
    incidentId,
    uploadSeconds: prepared.uploadSeconds,
    planSeconds: prepared.planSeconds,
    actSeconds: (actEnd.getTime() - actStart.getTime()) / 1000,
    actCpuShare,
    actRuns: entered(history, CARRY_OUT).length,
    actRunSeconds: entered(history, CARRY_OUT).map((run, i) => {
      const end = history.filter((e) => e.stateExitedEventDetails?.name === CARRY_OUT)[i]?.timestamp;
      return end && run.timestamp ? (end.getTime() - run.timestamp.getTime()) / 1000 : Number.NaN;
    }),
    history,
  };
}

/** Works an incident from its alert to CLOSED through the links people are sent. */
export async function runIncident(
  stack: StackEndpoints,
  tag: string,
  customersCsv: string,
  options: { readonly actTimeoutMs: number; readonly log?: (line: string) => void },
): Promise<IncidentRun> {
  return finishIncident(stack, await prepareIncident(stack, tag, customersCsv, options), options);
}

/**
 * Waits until the incident is in `phase`, reading its item in the operations table. Not through the
 * workroom: a workroom view reads the incident's whole ledger, and polling it while Act appends
 * tens of thousands of entries would measure the polling.
 */
async function watchPhase(stack: StackEndpoints, incidentId: string, phase: string, timeoutMs: number) {
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ ...aws, endpoint: stack.endpoints.dynamodb }));
  const store = new DynamoDbOperationsStore(db, stack.tables.operations);
  try {
    await waitFor(
      `${incidentId} to reach ${phase}`,
      async () => ((await store.getIncident(incidentId))?.phase === phase ? true : undefined),
      timeoutMs,
    );
  } finally {
    db.destroy();
  }
}

/**
 * What the incident's own records say Act did, read the way Casebook reads them (the Effect Ledger
 * through its port, the effects from the operations table), with the handlers' configuration this
 * process's stack set.
 */
export interface ActRecord {
  /** Effect entries Act appended to the incident's ledger (intent, executed, confirmed, …). */
  readonly entries: number;
  /** Items the incident's log takes in the ledger table: one per commit. */
  readonly commits: number;
  /** Effects with a confirmed entry on the ledger, by kind. */
  readonly confirmedOnLedger: Readonly<Record<string, number>>;
  /** Entries that answer a payments call: executed (taken, pending) and confirmed, of refunds and credits. */
  readonly paymentAnswers: number;
  /** Effects the operations table holds as confirmed, and all of the plan's effects. */
  readonly confirmedInStore: number;
  readonly planned: number;
}

export async function actRecord(stack: StackEndpoints, incidentId: string): Promise<ActRecord> {
  const { ledger, effects, incidents } = carryOutEffectsDepsFromEnvironment();
  const entries = (await ledger.read(incidentId)).filter((e) => e.log === 'effect' && e.phase === 'Act');
  const confirmed = new Map<string, Set<string>>();
  let paymentAnswers = 0;
  for (const entry of entries) {
    const state = effectState(entry);
    const paid = entry.kind === 'refund' || entry.kind === 'credit';
    if (paid && (state === 'executed' || state === 'confirmed')) paymentAnswers++;
    const effectId = 'effectId' in entry ? entry.effectId : undefined;
    if (state !== 'confirmed' || !effectId) continue;
    const ids = confirmed.get(entry.kind) ?? new Set<string>();
    confirmed.set(entry.kind, ids.add(effectId));
  }
  const plan = (await incidents.getIncident(incidentId))?.plan;
  if (!plan) throw new Error(`${incidentId} has no plan`);
  let confirmedInStore = 0;
  let planned = 0;
  let cursor: string | undefined;
  do {
    const page = await effects.listEffects(incidentId, versionIdOf(plan), cursor, 1000);
    planned += page.items.length;
    confirmedInStore += page.items.filter((e) => e.progress === 'confirmed').length;
    cursor = page.cursor;
  } while (cursor);
  return {
    entries: entries.length,
    commits: await ledgerItems(stack, incidentId),
    confirmedOnLedger: Object.fromEntries([...confirmed].map(([kind, ids]) => [kind, ids.size])),
    paymentAnswers,
    confirmedInStore,
    planned,
  };
}

/** How many items the incident's log takes in the ledger table, counted by the table. */
async function ledgerItems(stack: StackEndpoints, incidentId: string): Promise<number> {
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ ...aws, endpoint: stack.endpoints.dynamodb }));
  try {
    let count = 0;
    const pages = paginateQuery(
      { client: db },
      {
        TableName: stack.tables.ledger,
        KeyConditionExpression: 'incidentId = :id',
        ExpressionAttributeValues: { ':id': incidentId },
        Select: 'COUNT',
      },
    );
    for await (const page of pages) count += page.Count ?? 0;
    return count;
  } finally {
    db.destroy();
  }
}

async function describe(stack: StackEndpoints, executionArn: string): Promise<string | undefined> {
  const sfn = new SFNClient({ ...aws, endpoint: stack.endpoints.stepFunctions });
  try {
    return (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status;
  } finally {
    sfn.destroy();
  }
}

/**
 * What the providers hold for the incident: succeeded refunds in the Stripe stand-in (their
 * metadata names the incident) and notices in SES's store (sent to the incident's customers).
 */
export async function effectsDone(
  stack: StackEndpoints,
  incidentId: string,
  tag: string,
): Promise<{ refunds: number; notices: number }> {
  const stripe = stripeClient('sk_test_casework_bench', { apiBase: stack.endpoints.stripe });
  let refunds = 0;
  for await (const refund of stripe.refunds.list({ limit: 100 }))
    if (refund.metadata?.incident === incidentId && refund.status === 'succeeded') refunds++;
  const domain = `@${tag}.example.com`;
  const notices = (await inbox(stack)).filter((m) => m.destination.to[0]?.endsWith(domain)).length;
  return { refunds, notices };
}

/** The largest state input or output (or task parameters and result) in a history, in bytes. */
export function largestPayloadBytes(history: readonly HistoryEvent[]): number {
  let largest = 0;
  for (const event of history) {
    for (const details of Object.values(event)) {
      if (!details || typeof details !== 'object' || details instanceof Date) continue;
      for (const field of ['input', 'output', 'parameters']) {
        const value = (details as Record<string, unknown>)[field];
        if (typeof value === 'string') largest = Math.max(largest, Buffer.byteLength(value));
      }
    }
  }
  return largest;
}
