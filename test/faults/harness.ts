/**
 * The fault harness: whole incidents on the local stack — 50 customers, refunds, credits and
 * notices, a change request and then an approval — while the fault proxy (local/fault-proxy/)
 * injects what the schedule says, the stack may be `kill -9`ed and restarted, and people race each
 * other. After each schedule the invariants are read from the providers and the records:
 *
 * - the money at the Stripe stand-in equals the approved plan, customer by customer;
 * - each refund and credit is made at most once (by charge and effect key);
 * - each planned effect ends confirmed, waiting on a question to a person, or voided;
 * - each customer gets each notice at most once, unless a person was asked about it in doubt;
 * - the incident is never wedged: it ends, or waits for a named person with a deadline;
 * - `casebook ledger verify` passes, run as the CLI runs.
 *
 * The stack runs in a child process (stack-child.ts); one stack serves every schedule until a
 * schedule kills it.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type Stripe from 'stripe';
import { DynamoDbEffectStore } from '../../functions/adapters/dynamodb-effect-store.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { EFFECT_KEY_METADATA, stripeClient } from '../../functions/adapters/stripe-payments.ts';
import type { EffectRecord } from '../../functions/domain/effects.ts';
import { parseQuestionId } from '../../functions/domain/effects.ts';
import type { Incident } from '../../functions/domain/incident.ts';
import { customerNotice } from '../../functions/domain/messages.ts';
import { versionIdOf } from '../../functions/domain/plan.ts';
import type { FaultProxy } from '../../local/fault-proxy/proxy.ts';
import { startFaultProxy } from '../../local/fault-proxy/proxy.ts';
import { LOCAL_CREDENTIALS, type LocalPorts } from '../../local/names.ts';
import { runScript, type ScriptProcess } from '../support/child-process.ts';
import type { StackEndpoints } from '../support/local-stack.ts';
import {
  executionArnOf,
  executionHistory,
  freePorts,
  ROOT,
  tempDataDir,
  WEBHOOK_TOKEN,
} from '../support/local-stack.ts';
import type { Schedule, Step } from './schedule.ts';
import { describeSchedule } from './schedule.ts';

/** Short deadlines, so that every wait of the lifecycle reads the clock within a second or two. */
export const FAULT_DEADLINES = { checkFloorSeconds: 1, checkCeilingSeconds: 3 };
/** Customers per incident (CASEBOOK_FAULT_CUSTOMERS, default 50; at least 8, so that the three lists differ). */
function customerCount(): number {
  return Math.max(8, Number(process.env.CASEBOOK_FAULT_CUSTOMERS ?? 50));
}
/** What each customer was charged (EUR minor units); every list refunds at most this. */
const CHARGED = 3000;
/**
 * How long an incident may go without any progress (its record, its effects, its e-mails) while
 * nothing waits on a person before it counts as wedged; and the longest a schedule's Act and Learn
 * may take at all.
 */
const STALL_MS = Number(process.env.CASEBOOK_FAULT_STALL_MS ?? 60_000);
const END_CAP_MS = Number(process.env.CASEBOOK_FAULT_END_CAP_MS ?? 600_000);

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The stack's output lines kept in memory, newest last, so that a schedule whose invariant breaks
 * can write the lines of its time to a file: past this many, the oldest go.
 */
const OUTPUT_KEPT = Number(process.env.CASEBOOK_FAULT_OUTPUT_LINES ?? 200_000);
/** The handlers' log level in the stack (CASEBOOK_TEST_LOG_LEVEL; default WARN: every failure a request met, little else). */
const STACK_LOG_LEVEL = process.env.CASEBOOK_TEST_LOG_LEVEL ?? 'WARN';

/** A line of output, and when (ms since the epoch) the harness read it. */
interface OutputLine {
  readonly at: number;
  readonly line: string;
}

/** What one schedule found: the counts the bench reports, and every broken invariant in words. */
export interface Outcome {
  readonly incidentId?: string;
  readonly duplicatedMoney: number;
  readonly lostEffects: number;
  readonly wedged: number;
  readonly paidNotApproved: number;
  readonly duplicatedNotices: number;
  readonly ledgerFailures: number;
  readonly violations: readonly string[];
  readonly ms: number;
}

interface Mail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
}

/** A customer list the responders may upload, and what it says each customer is owed. */
interface ListBody {
  readonly csv: string;
  readonly count: number;
  readonly amounts: ReadonlyMap<string, number>;
}

/** A plan the responders may write: its rules, and what it means for one customer's amount. */
interface PlanBody {
  readonly body: { summary: string; apply: unknown[]; effects: [] };
  readonly refund: boolean;
  readonly creditMinor: number;
  readonly notices: readonly string[];
}

const PLANS: readonly PlanBody[] = [
  plan('Refund the double charge, a goodwill credit of EUR 5.00, and an apology.', true, 500, ['apology']),
  plan('Refund the double charge, a goodwill credit of EUR 2.00, and an apology.', true, 200, ['apology']),
  plan('Refund the double charge and apologise.', true, 0, ['apology']),
  plan('A goodwill credit of EUR 9.00 and an apology, no refund.', false, 900, ['apology']),
  plan('Refund the double charge, a credit of EUR 0.50, an apology and a correction.', true, 50, [
    'apology',
    'correction',
  ]),
];
const REVISED_PLANS: readonly PlanBody[] = [
  plan('Revised: refund, a credit of EUR 4.00, an apology and a correction.', true, 400, [
    'apology',
    'correction',
  ]),
  plan('Revised: refund, a credit of EUR 1.00, and an apology.', true, 100, ['apology']),
  plan('Revised: a credit of EUR 7.00 and a correction, no refund.', false, 700, ['correction']),
  plan('Revised: refund and an apology, no credit.', true, 0, ['apology']),
  plan('Revised: refund, a credit of EUR 3.00, and a correction.', true, 300, ['correction']),
];

function plan(summary: string, refund: boolean, creditMinor: number, notices: string[]): PlanBody {
  const apply: unknown[] = [];
  if (refund) apply.push({ kind: 'refund', amount: 'affected', obligation: 'tos' });
  if (creditMinor > 0)
    apply.push({
      kind: 'credit',
      amount: (creditMinor / 100).toFixed(2),
      currency: 'EUR',
      obligation: 'brand',
    });
  for (const template of notices)
    apply.push({ kind: 'notice', obligation: template === 'correction' ? 'tos' : 'brand', template });
  return { body: { summary, apply, effects: [] }, refund, creditMinor, notices };
}

/** The stack, the proxy in front of it, and what outlives a `kill -9` of the stack. */
export class FaultWorld {
  readonly proxy: FaultProxy;
  readonly ports: LocalPorts;
  readonly dataDir: string;
  private child?: ScriptProcess & StackEndpoints;
  private readonly log: (line: string) => void;
  /** The stack's output across its lives, and the harness's own lines (kills), by time. */
  private readonly output: OutputLine[] = [];
  kills = 0;

  private constructor(proxy: FaultProxy, ports: LocalPorts, dataDir: string, log: (line: string) => void) {
    this.proxy = proxy;
    this.ports = ports;
    this.dataDir = dataDir;
    this.log = log;
  }

  static async start(log: (line: string) => void = () => undefined): Promise<FaultWorld> {
    const ports = await freePorts();
    const proxy = await startFaultProxy({
      upstreams: {
        dynamodb: `http://127.0.0.1:${ports.dynamodb}`,
        ses: `http://127.0.0.1:${ports.ses}`,
        s3: `http://127.0.0.1:${ports.s3}`,
        stripe: `http://127.0.0.1:${ports.stripe}`,
      },
      record: ['ses'],
      hangMs: 800,
    });
    const world = new FaultWorld(proxy, ports, tempDataDir(), log);
    await world.boot();
    return world;
  }

  get stack(): StackEndpoints {
    if (!this.child) throw new Error('the stack is not running');
    return this.child;
  }

  private async boot(): Promise<void> {
    const script = runScript(
      join(ROOT, 'test/faults/stack-child.ts'),
      [this.dataDir, JSON.stringify(this.ports), JSON.stringify(this.proxy.endpoints), this.proxy.controlUrl],
      {
        CASEBOOK_DEADLINES: JSON.stringify(FAULT_DEADLINES),
        CASEBOOK_ANCHOR_INTERVAL_SECONDS: '3600',
        CASEBOOK_TEST_LOG_LEVEL: STACK_LOG_LEVEL,
      },
    );
    this.keepOutput(script.child.stdout);
    this.keepOutput(script.child.stderr);
    const ready = JSON.parse((await script.line('READY ', 90_000)).slice('READY '.length)) as StackEndpoints;
    this.child = { ...ready, ...script };
  }

  /** Keeps each line `stream` prints (runScript reads it as UTF-8 already). */
  private keepOutput(stream: NodeJS.ReadableStream | null): void {
    let partial = '';
    stream?.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      const at = Date.now();
      for (const line of lines) if (line.length > 0) this.output.push({ at, line });
      if (this.output.length > OUTPUT_KEPT) this.output.splice(0, this.output.length - OUTPUT_KEPT);
    });
  }

  /** Notes a line of the harness's own among the stack's (a kill, a restart). */
  note(line: string): void {
    this.output.push({ at: Date.now(), line: `harness: ${line}` });
  }

  /**
   * Writes what the stack printed from `from` to `to` (ms since the epoch), after the schedule's own
   * trail, to a file under $TMPDIR; answers its path. Lines naming `incidentId` are marked with `>`:
   * the stack's lines name no schedule, and side by side the others' are interleaved.
   */
  keepLog(name: string, from: number, to: number, trail: readonly string[], incidentId?: string): string {
    const dir = join(tmpdir(), 'casebook-faults');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}.log`);
    const time = (at: number) => new Date(at).toISOString().slice(11, 23);
    const lines = this.output
      .filter((o) => o.at >= from && o.at <= to)
      .map((o) => `${incidentId && o.line.includes(incidentId) ? '>' : ' '} ${time(o.at)} ${o.line}`);
    writeFileSync(
      file,
      [
        `# schedule ${name}${incidentId ? `, ${incidentId}` : ''}: what broke and its trail, then the stack's output (log level ${STACK_LOG_LEVEL}) from ${new Date(from).toISOString()} to ${new Date(to).toISOString()}`,
        ...trail,
        '# the stack',
        ...lines,
        '',
      ].join('\n'),
    );
    return file;
  }

  private restarting?: Promise<void>;

  /**
   * `kill -9` of the whole stack, then a start on the same data dir and ports. Schedules running side
   * by side that draw a kill at once share one.
   */
  killAndRestart(): Promise<void> {
    this.restarting ??= (async () => {
      this.log('kill -9 of the stack');
      this.note('kill -9 of the stack');
      await this.child?.kill();
      this.kills++;
      await this.boot();
      this.note('the stack is up again');
    })().finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  async close(): Promise<void> {
    await this.child?.kill();
    await this.proxy.close();
  }

  /**
   * Every e-mail SES took, across the stack's lives: what the proxy saw it answer (the emulator's own
   * store dies with it). An answer the proxy dropped still counts: SES took the message.
   */
  mails(): Mail[] {
    const recorded = this.proxy.recorded;
    for (; this.mailsRead < recorded.length; this.mailsRead++) {
      const x = recorded[this.mailsRead];
      if (x?.service !== 'ses' || x.status !== 200 || !x.target.includes('SendEmail')) continue;
      const form = new URLSearchParams(x.requestBody);
      this.mailLog.push({
        to: form.get('Destination.ToAddresses.member.1') ?? '',
        subject: form.get('Message.Subject.Data') ?? '',
        text: form.get('Message.Body.Text.Data') ?? '',
      });
    }
    return this.mailLog;
  }
  private mailsRead = 0;
  private readonly mailLog: Mail[] = [];

  stripe(): Stripe {
    return stripeClient('sk_test_faults', { apiBase: this.stack.endpoints.stripe });
  }

  /** The incident as the operational store holds it, read from DynamoDB directly. */
  async incident(id: string): Promise<Incident | undefined> {
    const db = this.db();
    try {
      return await new DynamoDbOperationsStore(db, this.stack.tables.operations).getIncident(id);
    } finally {
      db.destroy();
    }
  }

  async effect(id: string, planVersionId: string, effectId: string): Promise<EffectRecord | undefined> {
    const db = this.db();
    try {
      return await new DynamoDbEffectStore(db, this.stack.tables.operations).getEffect(
        id,
        planVersionId,
        effectId,
      );
    } finally {
      db.destroy();
    }
  }

  /** The effects stored under the version id a committed plan names: what Act carries out. */
  async effects(id: string, planVersionId: string): Promise<EffectRecord[]> {
    const db = this.db();
    try {
      const store = new DynamoDbEffectStore(db, this.stack.tables.operations);
      const all: EffectRecord[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listEffects(id, planVersionId, cursor);
        all.push(...page.items);
        cursor = page.cursor;
      } while (cursor);
      return all;
    } finally {
      db.destroy();
    }
  }

  private db(): DynamoDBDocumentClient {
    return DynamoDBDocumentClient.from(
      new DynamoDBClient({
        region: 'us-east-1',
        credentials: LOCAL_CREDENTIALS,
        endpoint: this.stack.endpoints.dynamodb,
      }),
    );
  }

  async executionStatus(name: string): Promise<string | undefined> {
    const sfn = new SFNClient({
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
      endpoint: this.stack.endpoints.stepFunctions,
    });
    try {
      return (
        await sfn.send(new DescribeExecutionCommand({ executionArn: executionArnOf(this.stack, name) }))
      ).status;
    } finally {
      sfn.destroy();
    }
  }
}

/**
 * A person's request, tried again (as a person would) while the network or the server fails it —
 * for up to `patienceMs`, long enough to outlast a restart of the stack.
 */
async function personPost(
  url: string | (() => string),
  init: RequestInit,
  patienceMs = 90_000,
  note: (line: string) => void = () => undefined,
): Promise<Response> {
  let last: unknown;
  const until = Date.now() + patienceMs;
  for (let i = 0; ; i++) {
    try {
      const res = await fetch(typeof url === 'string' ? url : url(), init);
      // A throttled request (429, as the HTTP API stage answers) is sent again after Retry-After.
      if (res.status < 500 && res.status !== 429) return res;
      last = new Error(
        `${typeof url === 'string' ? url : url()} answered ${res.status}: ${await res.text()}`,
      );
      note((last as Error).message);
      const after = Number(res.headers.get('retry-after'));
      if (Number.isFinite(after) && after > 0) await pause(after * 1000);
    } catch (error) {
      last = error;
      note(`${typeof url === 'string' ? url : url()} failed: ${(error as Error).message}`);
    }
    if (Date.now() > until) break;
    await pause(Math.min(2000, 300 + i * 200));
  }
  throw last instanceof Error ? last : new Error(String(last));
}

/** Tries `call` again while it fails, for up to a minute: the stack may be restarting. */
async function patiently<T>(call: () => Promise<T>, patienceMs = 90_000): Promise<T> {
  const until = Date.now() + patienceMs;
  for (let i = 0; ; i++) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() > until) throw error;
      await pause(Math.min(2000, 300 + i * 200));
    }
  }
}

async function personGet(url: string, accept = 'application/json', patienceMs = 90_000): Promise<Response> {
  return personPost(url, { headers: { accept } }, patienceMs);
}

function workPost(link: string | (() => string), action: string, body: unknown): Promise<Response> {
  const csv = typeof body === 'string';
  return personPost(() => `${typeof link === 'string' ? link : link()}/${action}`, {
    method: 'POST',
    headers: { 'content-type': csv ? 'text/csv' : 'application/json', accept: 'application/json' },
    body: csv ? body : JSON.stringify(body),
  });
}

/**
 * Posts one action until recorded. A 409 is a lost race (the person reloads and sends again), or —
 * after an answer that never came — the sign that the first try was recorded: `done` says which.
 */
async function workDone(
  link: () => string,
  action: string,
  body: unknown = {},
  done: () => Promise<boolean> = async () => false,
): Promise<void> {
  let text = '';
  for (let i = 0; i < 10; i++) {
    const res = await workPost(link, action, body);
    if (res.status === 200) return;
    text = await res.text();
    if (res.status !== 409) throw new Error(`${action} answered ${res.status}: ${text}`);
    if (await done().catch(() => false)) return;
    await pause(300);
  }
  throw new Error(`${action} kept answering 409: ${text}`);
}

/** Several people post the same action at once with different bodies; at least one is recorded. */
async function race(
  link: () => string,
  action: string,
  bodies: readonly unknown[],
  log: (line: string) => void = () => undefined,
): Promise<number[]> {
  const answers = await Promise.all(
    bodies.map((b) =>
      workPost(link, action, b).then(
        (r) => r.status,
        () => 0,
      ),
    ),
  );
  if (bodies.length > 1) log(`${bodies.length} ${action} at once: ${answers.join(' ')}`);
  if (!answers.includes(200)) await workDone(link, action, bodies[0]);
  return answers;
}

/** The incident halted while people waited for its next step: nothing more will come by itself. */
class HaltedError extends Error {}

function haltedCheck(inc: Incident | undefined): void {
  if (inc?.halted)
    throw new HaltedError(
      `wedged: ${inc.id} halted in ${inc.phase} (${inc.halted.reason}: ${inc.halted.error ?? ''} ${inc.halted.cause?.slice(0, 300) ?? ''})`,
    );
}

async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (error) {
      if (error instanceof HaltedError) throw error;
      last = error;
    }
    await pause(200);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

let scheduleNumber = 0;

/** `n` bodies for `n` people at once: each different while there are, then again from the first. */
function cycle<T>(bodies: readonly T[], n: number): T[] {
  return Array.from({ length: n }, (_, i) => bodies[i % bodies.length] as T);
}

/** Charges each customer at the stand-in; answers the lists the responders may upload. */
async function chargeCustomers(
  world: FaultWorld,
  tag: string,
): Promise<{ lists: ListBody[]; charges: Map<string, string> }> {
  const stripe = world.stripe();
  const charges = new Map<string, string>();
  const CUSTOMERS = customerCount();
  const refs = Array.from({ length: CUSTOMERS }, (_, i) => `cus_${tag}_${String(i).padStart(2, '0')}`);
  for (let i = 0; i < refs.length; i += 10) {
    await Promise.all(
      refs.slice(i, i + 10).map(async (ref) => {
        const customer = await patiently(() =>
          stripe.customers.create(
            { email: `${ref}@customers.example` },
            { idempotencyKey: `${ref}-customer` },
          ),
        );
        const charge = await patiently(() =>
          stripe.charges.create(
            { amount: CHARGED, currency: 'eur', source: 'tok_visa', customer: customer.id },
            { idempotencyKey: `${ref}-charge` },
          ),
        );
        charges.set(ref, charge.id);
      }),
    );
  }
  // Five different lists: every customer, or fewer, each with other amounts.
  const lists: ListBody[] = [CUSTOMERS, CUSTOMERS - 2, CUSTOMERS - 3, CUSTOMERS - 5, CUSTOMERS - 7].map(
    (count, n) => {
      const amounts = new Map<string, number>();
      const rows = ['customer_ref,email,name,amount,currency,product_area,payment_ref'];
      for (const ref of refs.slice(0, count)) {
        const minor = 500 + ((Number(ref.slice(-2)) * 37 + n * 311) % 2400);
        amounts.set(ref, minor);
        rows.push(
          `${ref},${ref}@customers.example,Customer ${ref.slice(-2)},${(minor / 100).toFixed(2)},EUR,payments,${charges.get(ref)}`,
        );
      }
      return { csv: rows.join('\n'), count, amounts };
    },
  );
  return { lists, charges };
}

function alertBody(tag: string): string {
  const now = new Date().toISOString();
  return JSON.stringify({
    receiver: 'casebook',
    status: 'firing',
    alerts: [
      {
        status: 'firing',
        labels: {
          alertname: 'PaymentDoubleCharge',
          category: 'financial_discrepancy',
          instance: `payments-${tag}`,
          service: 'payments-api',
          product_area: 'payments',
          severity: 'critical',
          world: 'RML3',
        },
        annotations: {
          summary: `Fault schedule ${tag}: settled payments were charged twice`,
          customer_summary: 'a payment you made was charged twice.',
        },
        startsAt: now,
        endsAt: '0001-01-01T00:00:00Z',
        fingerprint: tag.padEnd(16, '0').slice(0, 16),
      },
    ],
    groupLabels: { alertname: 'PaymentDoubleCharge', instance: `payments-${tag}` },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager.example.com:9093',
    version: '4',
    groupKey: `{}:{alertname="PaymentDoubleCharge",instance="payments-${tag}"}`,
    truncatedAlerts: 0,
  });
}

/** Runs one schedule on `world` and checks every invariant. */
export interface RunOptions {
  readonly log?: (line: string) => void;
  /** Run `casebook ledger verify` after the schedule (default); the bench runs it once after all. */
  readonly verifyLedger?: boolean;
}

export async function runSchedule(
  world: FaultWorld,
  schedule: Schedule,
  options: RunOptions = {},
): Promise<Outcome> {
  const from = Date.now();
  const trail: string[] = [describeSchedule(schedule)];
  const log = (line: string) => {
    trail.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
    options.log?.(line);
  };
  const named: Named = {};
  // Only a schedule whose invariant breaks writes its lines out; the others cost the memory they were kept in.
  const keep = (broken: readonly string[]) =>
    world.keepLog(named.tag ?? String(from), from, Date.now(), [...broken, ...trail], named.incidentId);
  let outcome: Outcome;
  try {
    outcome = await driveSchedule(world, schedule, log, options, named);
  } catch (error) {
    const what = (error as Error).message;
    const message = `${what} (the stack's log of the schedule: ${keep([`broken: ${what}`])})`;
    throw error instanceof HaltedError ? new HaltedError(message) : new Error(message, { cause: error });
  }
  if (outcome.violations.length === 0) return outcome;
  const file = keep(outcome.violations.map((v) => `broken: ${v}`));
  // First, so that a report that lists only the first few violations still names it.
  return { ...outcome, violations: [`the stack's log of the schedule: ${file}`, ...outcome.violations] };
}

/** What a schedule's lines are filed under: its tag, and its incident once the alert opened it. */
interface Named {
  tag?: string;
  incidentId?: string;
}

async function driveSchedule(
  world: FaultWorld,
  schedule: Schedule,
  log: (line: string) => void,
  options: RunOptions,
  named: Named,
): Promise<Outcome> {
  const started = Date.now();
  const tag = `${Date.now().toString(36)}${(scheduleNumber++).toString(36)}`.replace(/[^a-z0-9]/g, '');
  named.tag = tag;
  const violations: string[] = [];

  // Faults of a step are armed when it begins, for requests about this incident only (schedules may
  // run side by side on one stack); the kill, if drawn there, runs beside it.
  let killing: Promise<void> | undefined;
  let scope = '';
  const begin = (step: Step) => {
    log(`step ${step}`);
    const rules = schedule.faults
      .filter((f) => f.step === step)
      .map((f) => ({ service: f.service, kind: f.kind, skip: f.skip, count: f.count }));
    world.proxy.setScopedPlan(scope, rules);
    if (schedule.kill?.step === step) {
      const { afterMs } = schedule.kill;
      killing = pause(afterMs).then(() => world.killAndRestart());
    }
  };
  const settleKill = async () => {
    if (killing) {
      await killing;
      killing = undefined;
    }
  };

  const { lists } = await chargeCustomers(world, tag);
  log(`alert ${tag} posted`);
  const res = await personPost(
    `${world.stack.endpoints.api}/webhooks/alertmanager`,
    {
      method: 'POST',
      headers: { authorization: `Bearer ${WEBHOOK_TOKEN}`, 'content-type': 'application/json' },
      body: alertBody(tag),
    },
    90_000,
    (line) => log(`the alert: ${line}`),
  );
  // 200 "folded": an earlier try of this very alert opened the incident, its answer lost in a restart.
  if (res.status !== 201 && res.status !== 200)
    throw new Error(`the alert answered ${res.status}: ${await res.text()}`);
  const { incidentId } = (await res.json()) as { incidentId: string };
  scope = incidentId;
  named.incidentId = incidentId;
  log(`incident ${incidentId} (alert answered ${res.status})`);
  const api = () => world.stack.endpoints.api;
  // The first workroom link the responder was e-mailed, kept for the whole incident: an invitation
  // sent again (its first e-mail's fate in doubt, or a kill before it was marked sent) and every
  // progress e-mail carry further secrets of the same link, and the first must keep working.
  let first: string | undefined;
  const invitation = () => {
    for (const m of first ? [] : world.mails()) {
      const found = new RegExp(`/work/(${incidentId}\\.[0-9a-f]{16}\\.[A-Za-z0-9_-]{43})`).exec(m.text);
      if (found && m.to === 'responder@casebook.local') {
        first = found[1];
        break;
      }
    }
    return first;
  };
  await waitUntil('the responder invitation', async () => invitation(), 90_000);
  const link = () => invitation() ?? '';
  const work = () => `${api()}/work/${link()}`;

  try {
    begin('work');
    const now = () => world.incident(incidentId);
    await workDone(work, 'acknowledge', {}, async () => Boolean((await now())?.acknowledgedAt));
    await workDone(
      work,
      'contain',
      {
        actions: [{ description: 'Settlement batch held back', safety: 'RISKY', world: 'RML3' }],
        contained: true,
      },
      async () => (await now())?.phase !== 'Detect',
    );
    await waitUntil(
      'Understand',
      async () => ((await world.incident(incidentId))?.phase === 'Understand' ? true : undefined),
      60_000,
    );
    await race(
      work,
      'impact',
      Array.from({ length: schedule.races.impact }, (_, i) => ({
        users: customerCount() - i,
        transactions: customerCount() + i,
        assets: ['money'],
        from: new Date(Date.now() - 3_600_000).toISOString(),
        to: new Date().toISOString(),
        summary: `Payments were charged twice (estimate ${i + 1}).`,
      })),
      log,
    );
    await race(
      work,
      'customers',
      cycle(lists, schedule.races.customers).map((l) => l.csv),
      log,
    );
    await race(
      work,
      'plan',
      cycle(PLANS, schedule.races.plan).map((p) => p.body),
      log,
    );
    await workDone(work, 'submit-plan', {}, async () => (await now())?.phase !== 'Understand');
    await settleKill();

    // Round 1: one approver asks for changes; the others may approve at the same moment.
    begin('decide1');
    const round1 = await approvalLinksFrom(world, incidentId, 1);
    const [first, ...others] = [...round1.entries()];
    const decisions: Promise<unknown>[] = [
      decideOn(first?.[1] ?? '', 'request-changes', 'Say what the credit is for, and correct the receipt.'),
    ];
    if (schedule.decisionRacesChangeRequest)
      for (const [, l] of others) decisions.push(decideOn(l, 'approve', 'ok'));
    await Promise.all(decisions);
    await settleKill();
    // A decision whose answer was lost, or posted on a link replaced since (its e-mail was in doubt
    // and sent again), is posted again from the newest e-mail, as the approver would.
    const firstRole = first?.[0];
    const afterRound1 = await untilDecided(world, incidentId, 1, async (links) => {
      const l = firstRole ? links.get(firstRole) : undefined;
      if (l) await decideOn(l, 'request-changes', 'Say what the credit is for, and correct the receipt.');
    });
    if (afterRound1 === 'changes') {
      begin('revise');
      await race(
        work,
        'plan',
        cycle(REVISED_PLANS, schedule.races.revisedPlan).map((p) => p.body),
        log,
      );
      await workDone(work, 'submit-plan', {}, async () => (await now())?.phase !== 'Understand');
      await settleKill();
      begin('decide2');
      const round2 = await approvalLinksFrom(world, incidentId, 2);
      await Promise.all([...round2.values()].map((l) => decideOn(l, 'approve', 'ok')));
      await settleKill();
      await untilDecided(world, incidentId, 2, async (links) => {
        await Promise.all([...links.values()].map((l) => decideOn(l, 'approve', 'ok')));
      });
    }
    // Act (and Learn) under the last step's faults.
    begin('act');
    const ended = await seeItThrough(world, incidentId, link, violations, log);
    await settleKill();
    world.proxy.setScopedPlan(scope, []);
    // Read again from the start if a read fails: another schedule's kill may be restarting the stack.
    const counts = await patiently(async () => {
      const found: string[] = [];
      const c = await checkInvariants(world, incidentId, lists, ended, found, options.verifyLedger ?? true);
      return { ...c, found };
    });
    violations.push(...counts.found);
    const { found: _, ...tally } = counts;
    return { incidentId, ...tally, violations, ms: Date.now() - started };
  } finally {
    await settleKill().catch(() => undefined);
    world.proxy.setScopedPlan(scope, []);
  }
}

/**
 * Waits for a round to be decided; every few seconds while it is not, `again` posts what is missing on
 * the newest links. Answers whether the round asked for changes or approved.
 */
async function untilDecided(
  world: FaultWorld,
  incidentId: string,
  round: number,
  again: (links: Map<string, string>) => Promise<void>,
): Promise<'changes' | 'approved'> {
  let postedAt = Date.now();
  return waitUntil(
    `round ${round} to be decided`,
    async () => {
      const inc = await world.incident(incidentId);
      haltedCheck(inc);
      if (!inc) return undefined;
      if (inc.decideRound > round || (inc.phase === 'Understand' && inc.planRejected))
        return 'changes' as const;
      if (inc.phase === 'Act' || inc.phase === 'Learn') return 'approved' as const;
      if (Date.now() - postedAt > 5000 && inc.approvalRound?.round === round && !inc.approvalRound.decided) {
        postedAt = Date.now();
        await again(await approvalLinksFrom(world, incidentId, round));
      }
      return undefined;
    },
    180_000,
  );
}

async function decideOn(link: string, decision: string, comment: string): Promise<void> {
  if (!link) return;
  await personPost(link, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ decision, comment, basis: '' }).toString(),
  });
}

/** The round's approval links from the e-mails SES took, one per role the round asks. */
async function approvalLinksFrom(
  world: FaultWorld,
  incidentId: string,
  round: number,
): Promise<Map<string, string>> {
  return waitUntil(
    `the approval e-mails of round ${round}`,
    async () => {
      const inc = await world.incident(incidentId);
      haltedCheck(inc);
      if (inc?.approvalRound?.round !== round) return undefined;
      const links = new Map<string, string>();
      for (const m of world.mails()) {
        const found = new RegExp(
          `/approvals/(${incidentId}\\.${round}\\.(legal|business|sre)\\.[A-Za-z0-9_-]{43})`,
        ).exec(m.text);
        if (found?.[1] && found[2]) links.set(found[2], `${world.stack.endpoints.api}/approvals/${found[1]}`);
      }
      return links.size === inc.approvalRound.rule.roles.length ? links : undefined;
    },
    180_000,
  );
}

/**
 * Plays the people while Act and Learn run: answers each question about an effect as a person who
 * reads the mail service's log would (in doubt: sent or not; refused: try again), writes the
 * postmortem when Learn asks. Answers whether the incident ended within the budget.
 */
async function seeItThrough(
  world: FaultWorld,
  incidentId: string,
  link: () => string,
  violations: string[],
  log: (line: string) => void,
): Promise<boolean> {
  const answered = new Set<string>();
  let postmortem = false;
  const cap = Date.now() + END_CAP_MS;
  let seenState = '';
  // Progress is anything that moves: the incident's record, its effects, the e-mails about it.
  let progress = '';
  let progressAt = Date.now();
  let effectsReadAt = 0;
  let effectsSeen = '';
  while (Date.now() < cap && Date.now() - progressAt < STALL_MS) {
    const inc = await world.incident(incidentId).catch(() => undefined);
    if (inc && `${inc.status} ${inc.phase}` !== seenState) {
      seenState = `${inc.status} ${inc.phase}`;
      log(`incident ${seenState}`);
    }
    if (inc?.status === 'CLOSED') return true;
    if (inc?.plan && Date.now() - effectsReadAt > 2000) {
      effectsReadAt = Date.now();
      const effects = await world.effects(incidentId, versionIdOf(inc.plan)).catch(() => undefined);
      if (effects) effectsSeen = effects.map((e) => `${e.progress}${e.attempt}`).join(',');
    }
    const mailsAbout = world.mails().filter((m) => m.subject.includes(incidentId)).length;
    const now = `${inc?.updatedAt} ${effectsSeen} ${mailsAbout}`;
    if (now !== progress) {
      progress = now;
      progressAt = Date.now();
    }
    const mails = world.mails();
    for (const m of mails) {
      if (!m.subject.includes(`${incidentId}:`) || !m.subject.includes('needs you')) continue;
      const question = /\/effects\/(\S+)/.exec(m.text)?.[1];
      if (!question) continue;
      const which = question.split('.').slice(0, 3).join('.');
      if (answered.has(which)) continue;
      const page = await personGet(
        `${world.stack.endpoints.api}/effects/${question}`,
        'text/html',
        5000,
      ).catch(() => undefined);
      if (page?.status !== 200) continue;
      const html = await page.text();
      let answer: string;
      if (html.includes('value="sent"')) {
        // A person checks the mail service's log for this customer and this message.
        const ref = parseQuestionId(question);
        const effect =
          ref && inc?.plan
            ? await world.effect(incidentId, versionIdOf(inc.plan), ref.effectId).catch(() => undefined)
            : undefined;
        const customer = /&lt;([^&]+@customers\.example)&gt;/.exec(html)?.[1];
        const subject = effect?.template
          ? customerNotice({ id: incidentId }, effect.template, { email: customer ?? '' }).subject
          : undefined;
        if (!customer || !subject) continue;
        answer = mails.some((x) => x.to === customer && x.subject === subject) ? 'sent' : 'not-sent';
      } else if (html.includes('value="retry"')) answer = 'retry';
      else answer = 'void';
      log(`answering ${which}: ${answer}`);
      const res = await personPost(`${world.stack.endpoints.api}/effects/${question}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          answer,
          note: 'checked the mail service log',
          reference: 'by hand',
        }).toString(),
      }).catch(() => undefined);
      if (res && (res.status === 303 || res.status === 409)) answered.add(which);
    }
    if (!postmortem && inc?.phase === 'Learn') {
      const res = await workPost(
        `${world.stack.endpoints.api}/work/${link()}`,
        'postmortem',
        POSTMORTEM,
      ).catch(() => undefined);
      postmortem = res?.status === 200;
    }
    await pause(300);
  }
  violations.push(
    Date.now() >= cap
      ? `the incident did not close within ${END_CAP_MS / 1000} s of the last approval`
      : `the incident made no progress for ${STALL_MS / 1000} s`,
  );
  return false;
}

const POSTMORTEM = {
  title: 'Double charge after retry without idempotency keys',
  summary: 'Payments were settled twice.',
  rootCause: 'Retries of the settlement call carried no idempotency key.',
  contributingFactors: ['No alert on settlement duplicates'],
  whatWentWell: ['The kill switch stopped new duplicates'],
  lessons: { technical: ['Idempotency keys'], process: ['Reconcile hourly'], governance: ['Sign-off'] },
  actionItems: [{ item: 'Add idempotency keys', owner: 'payments team', due: '2026-12-15' }],
};

/** The invariants, read from the Stripe stand-in, the records, the mail log and the CLI. */
async function checkInvariants(
  world: FaultWorld,
  incidentId: string,
  lists: readonly ListBody[],
  ended: boolean,
  violations: string[],
  verify: boolean,
): Promise<Omit<Outcome, 'incidentId' | 'violations' | 'ms'>> {
  let duplicatedMoney = 0;
  let lostEffects = 0;
  let wedged = 0;
  let paidNotApproved = 0;
  let duplicatedNotices = 0;
  let ledgerFailures = 0;

  const inc = await world.incident(incidentId);
  if (!inc) throw new Error(`${incidentId} is gone`);
  // What people committed: the customer list and the plan the incident names.
  const list = lists.find((l) => l.count === inc.customerList?.count);
  const approved = [...PLANS, ...REVISED_PLANS].find((p) => p.body.summary === inc.plan?.summary);
  if (!list || !approved || !inc.plan) {
    violations.push(
      `the incident names a list of ${inc.customerList?.count} and plan "${inc.plan?.summary}", which no one uploaded`,
    );
    return { duplicatedMoney, lostEffects, wedged: 1, paidNotApproved, duplicatedNotices, ledgerFailures };
  }
  const expected = new Map<string, { refund: number; credit: number }>();
  for (const [ref, minor] of list.amounts)
    expected.set(ref, { refund: approved.refund ? minor : 0, credit: approved.creditMinor });
  const expectedCount =
    list.count * (Number(approved.refund) + Number(approved.creditMinor > 0) + approved.notices.length);
  if (inc.plan.effectCount !== expectedCount)
    violations.push(
      `the approved plan counts ${inc.plan.effectCount} effects; its list of ${list.count} and its rules make ${expectedCount}`,
    );
  for (const total of inc.plan.totals) {
    if (total.kind !== 'refund' && total.kind !== 'credit') continue;
    const want = [...expected.values()].reduce(
      (s, e) => s + (total.kind === 'refund' ? e.refund : e.credit),
      0,
    );
    if (total.minor !== want)
      violations.push(
        `the approved plan's ${total.kind} total is ${total.minor}; its list and rules make ${want}`,
      );
  }

  // Effects: each ends confirmed, waiting on a question, or voided.
  const effects = await world.effects(incidentId, versionIdOf(inc.plan));
  const byCustomer = new Map<string, EffectRecord[]>();
  for (const e of effects) byCustomer.set(e.customerRef, [...(byCustomer.get(e.customerRef) ?? []), e]);
  const excused = new Set<string>();
  const lost = new Set<string>();
  for (const e of effects) {
    if (e.progress === 'confirmed') continue;
    if (e.progress === 'voided' || e.progress === 'attention') {
      excused.add(`${e.customerRef}:${e.kind}`);
      if (e.progress === 'attention' && ended)
        violations.push(
          `${e.effectId} (${e.kind}, ${e.customerRef}) waits for a person after the incident closed`,
        );
      continue;
    }
    lostEffects++;
    lost.add(`${e.customerRef}:${e.kind}`);
    violations.push(`${e.effectId} (${e.kind}, ${e.customerRef}) ended ${e.progress}: lost`);
  }
  for (const [ref] of expected) {
    const kinds = (byCustomer.get(ref) ?? []).map((e) => e.kind);
    const want = [
      ...(approved.refund ? ['refund'] : []),
      ...(approved.creditMinor > 0 ? ['credit'] : []),
      ...approved.notices.map(() => 'notice'),
    ];
    const missing = want.filter((k) => {
      const i = kinds.indexOf(k as EffectRecord['kind']);
      if (i < 0) return true;
      kinds.splice(i, 1);
      return false;
    });
    if (missing.length > 0) {
      lostEffects += missing.length;
      for (const k of missing) lost.add(`${ref}:${k}`);
      violations.push(`${ref}: no stored effect for ${missing.join(', ')} of the approved plan`);
    }
  }
  if (inc.plan.effectCount !== effects.length)
    violations.push(
      `Act's plan version holds ${effects.length} effects; the approved plan counts ${inc.plan.effectCount}`,
    );

  // Money at the provider, customer by customer, and each made at most once (by effect key). Every
  // customer of every list this schedule uploaded is read: one outside the approved list is owed nothing.
  const stripe = world.stripe();
  const chargeOf = new Map<string, string>();
  for (const l of lists)
    for (const row of l.csv.split('\n').slice(1)) {
      const parts = row.split(',');
      if (parts[0] && parts[6]) chargeOf.set(parts[0], parts[6]);
    }
  for (const [ref, chargeId] of chargeOf) {
    const want = expected.get(ref) ?? { refund: 0, credit: 0 };
    const charge = await stripe.charges.retrieve(chargeId);
    const refunds = (await stripe.refunds.list({ charge: chargeId, limit: 100 })).data.filter(
      (r) => r.status !== 'failed' && r.status !== 'canceled',
    );
    const credits = (
      await stripe.customers.listBalanceTransactions(String(charge.customer), { limit: 100 })
    ).data.filter((t) => t.amount < 0);
    for (const [kind, made] of [
      ['refund', refunds.map((r) => ({ amount: r.amount, key: r.metadata?.[EFFECT_KEY_METADATA] ?? '' }))],
      ['credit', credits.map((t) => ({ amount: -t.amount, key: t.metadata?.[EFFECT_KEY_METADATA] ?? '' }))],
    ] as const) {
      const byEffect = new Map<string, number[]>();
      for (const m of made) {
        // The effect key is incident:effect:attempt; one effect is paid once whatever the attempt.
        const effect = m.key.split(':').slice(0, 2).join(':');
        byEffect.set(effect, [...(byEffect.get(effect) ?? []), m.amount]);
      }
      let duplicated = 0;
      for (const [effect, amounts] of byEffect)
        if (amounts.length > 1) {
          duplicatedMoney += amounts.length - 1;
          duplicated += amounts.slice(1).reduce((x, y) => x + y, 0);
          violations.push(
            `${ref}: ${amounts.length} ${kind}s at the provider for ${effect || 'no effect key'} (${amounts.join(', ')})`,
          );
        }
      const paid = made.reduce((x, m) => x + m.amount, 0);
      const approvedMinor = kind === 'refund' ? want.refund : want.credit;
      if (paid === approvedMinor) continue;
      if (paid < approvedMinor && (excused.has(`${ref}:${kind}`) || lost.has(`${ref}:${kind}`))) continue;
      violations.push(`${ref}: ${kind}s of ${paid} at the provider; the approved plan says ${approvedMinor}`);
      if (paid - duplicated !== approvedMinor) paidNotApproved++;
    }
  }

  // Notices: at most once per customer and message, unless a person was asked about it in doubt.
  const mails = world.mails();
  // The customers whose notice a person was asked about, in doubt (the question names the effect).
  const inDoubtEffects = new Set(
    mails
      .filter((m) => m.subject.includes(`${incidentId}:`) && m.subject.includes('needs you (in doubt)'))
      .map((m) => /: Notice (\S+) needs you/.exec(m.subject)?.[1]),
  );
  const askedAbout = new Set(
    effects.filter((e) => inDoubtEffects.has(e.effectId)).map((e) => `${e.customerRef}@customers.example`),
  );
  const told = new Map<string, number>();
  for (const m of mails) {
    if (!m.to.endsWith('@customers.example') || !m.to.includes(`_${incidentTag(list)}_`)) continue;
    const key = `${m.to} | ${m.subject}`;
    told.set(key, (told.get(key) ?? 0) + 1);
  }
  for (const [key, n] of told) {
    if (n <= 1) continue;
    const to = key.split(' | ')[0] ?? '';
    if (!askedAbout.has(to)) {
      duplicatedNotices += n - 1;
      violations.push(`${key}: sent ${n} times, and no person was asked about it in doubt`);
    }
  }

  // Never wedged: it ended, or it waits for a named person with a deadline.
  const status = await world.executionStatus(inc.executionName);
  if (!ended) {
    const waitsForPerson =
      status === 'RUNNING' &&
      (effects.some((e) => e.progress === 'attention') || (inc.approvalRound && !inc.approvalRound.decided));
    if (!waitsForPerson) {
      wedged++;
      violations.push(
        `wedged: the incident is ${inc.status} in ${inc.phase}${inc.halted ? ` (halted: ${inc.halted.reason} ${inc.halted.error ?? ''} ${inc.halted.cause?.slice(0, 200) ?? ''})` : ''}, its execution ${status}; last steps: ${await historyTail(world, inc.executionName)}`,
      );
    }
  } else if (status !== 'RUNNING' && status !== 'SUCCEEDED') {
    wedged++;
    violations.push(`the incident closed but its execution is ${status}`);
  }

  // The auditor's check, as the CLI runs it, with only what a user of the local stack sets.
  const ledger = verify ? await verifyLedger(world) : { ok: true, detail: '' };
  if (!ledger.ok) {
    ledgerFailures++;
    violations.push(`casebook ledger verify: ${ledger.detail}`);
  }
  return { duplicatedMoney, lostEffects, wedged, paidNotApproved, duplicatedNotices, ledgerFailures };
}

/** The execution's last events, in a line: where it stands and what failed last. */
async function historyTail(world: FaultWorld, name: string): Promise<string> {
  try {
    const events = await executionHistory(world.stack, name);
    return events
      .slice(-6)
      .map((e) => {
        const failed =
          e.taskFailedEventDetails ?? e.lambdaFunctionFailedEventDetails ?? e.executionFailedEventDetails;
        const entered = e.stateEnteredEventDetails?.name;
        return `${e.type}${entered ? ` ${entered}` : ''}${failed ? ` ${failed.error}` : ''}`;
      })
      .join(' → ');
  } catch (error) {
    return `(history unreadable: ${(error as Error).message})`;
  }
}

/** The schedule's tag, as the customer references carry it. */
function incidentTag(list: ListBody): string {
  return [...list.amounts.keys()][0]?.split('_')[1] ?? '';
}

export async function verifyLedger(world: FaultWorld): Promise<{ ok: boolean; detail: string }> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    CASEBOOK_DATA_DIR: world.dataDir,
    CASEBOOK_DYNAMODB_PORT: String(world.ports.dynamodb),
    CASEBOOK_S3_PORT: String(world.ports.s3),
  };
  // Exit 1 is the CLI's "verification found a difference": its report is on stdout all the same.
  const { stdout, failure } = await promisify(execFile)(
    process.execPath,
    [join(ROOT, 'scripts/casebook.ts'), 'ledger', 'verify', '--json'],
    { env, maxBuffer: 64 * 1024 * 1024 },
  ).then(
    ({ stdout }) => ({ stdout, failure: undefined }),
    (error: { code?: number; stderr?: string; stdout?: string; message: string }) => ({
      stdout: error.code === 1 ? (error.stdout ?? '') : '',
      failure: error,
    }),
  );
  try {
    return { ok: failure === undefined, detail: differences(JSON.parse(stdout) as VerifyReport) };
  } catch {
    const e = failure ?? { message: stdout };
    return {
      ok: false,
      detail: `exit ${e.code}: ${(e.stderr || e.stdout || e.message).trim().slice(0, 400)}`,
    };
  }
}

/** `casebook ledger verify --json` as the harness reads it: the chains and, beside them, the anchors. */
interface VerifyReport {
  readonly ok: boolean;
  readonly incidents: readonly { readonly incidentId: string; readonly problems: readonly unknown[] }[];
  readonly [part: string]: unknown;
}

/** What the report found, leaving out every incident that verified. */
function differences(report: VerifyReport): string {
  if (report.ok) return 'ok';
  const { incidents, ok: _, ...rest } = report;
  const problems = incidents.filter((i) => i.problems.length > 0);
  return JSON.stringify({ incidents: problems, ...rest }).slice(0, 1000);
}
