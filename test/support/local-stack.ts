/** Starting the local stack from a test: free ports, a temp data dir, and helpers to read its inbox. */
import { randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient } from '@aws-sdk/client-sfn';
import { LOCAL_CREDENTIALS } from '../../local/names.ts';
import type { LocalPorts, LocalStack, LocalStackOptions } from '../../local/stack.ts';
import { startLocalStack } from '../../local/stack.ts';
import { runScript, type ScriptProcess } from './child-process.ts';

export const ROOT = join(import.meta.dirname, '../..');
export const WEBHOOK_TOKEN = 'e2e-webhook-token-0123456789';
/** The webhook signing secrets a test stack is given, so a test can sign what it sends. */
export const SIGNING_SECRETS = {
  grafana: 'e2e-grafana-secret-0123456789',
  pagerduty: 'e2e-pagerduty-secret-0123456789',
  generic: 'e2e-generic-secret-0123456789',
} as const;

/**
 * Where this machine's test processes reserve ports: one file per port, created only if absent,
 * naming the process that holds it until it exits.
 */
const RESERVATIONS = join(tmpdir(), 'casebook-ports');
/**
 * Below the range the kernel takes outgoing connections' source ports from (Linux: 32768–60999),
 * so no client socket, of this process or any other, is given one between the probe and the
 * stack's listen; above the ports `npm start` uses by default.
 */
const PORT_RANGE = { from: 20_000, to: 32_000 } as const;
const held = new Set<string>();

function reservedByLiveProcess(file: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port no other test process holds and nothing listens on, held by this process until it exits. */
async function reservePort(): Promise<number> {
  mkdirSync(RESERVATIONS, { recursive: true });
  for (let attempt = 0; attempt < 1000; attempt++) {
    const port = randomInt(PORT_RANGE.from, PORT_RANGE.to);
    const file = join(RESERVATIONS, String(port));
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // Left by a process that died without cleaning up: free for the next draw to take.
      if (!reservedByLiveProcess(file)) rmSync(file, { force: true });
      continue;
    }
    if (await canListen(port)) {
      held.add(file);
      return port;
    }
    rmSync(file, { force: true });
  }
  throw new Error(`no free port between ${PORT_RANGE.from} and ${PORT_RANGE.to}`);
}

process.once('exit', () => {
  for (const file of held) rmSync(file, { force: true });
});

/**
 * Ports for a stack, fixed so a restarted stack comes back where it was. Each is reserved for this
 * process (another test process starting a stack at once gets others) and outside the kernel's
 * ephemeral range, so only a stack given it binds it.
 */
export async function freePorts(): Promise<LocalPorts> {
  return {
    api: await reservePort(),
    ses: await reservePort(),
    dynamodb: await reservePort(),
    stepFunctions: await reservePort(),
    s3: await reservePort(),
    stripe: await reservePort(),
    oidc: await reservePort(),
  };
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'casebook-test-'));
}

/** How a test starts its stack: where its lines go, how much the handlers log, their configuration. */
export interface StartOptions {
  readonly log?: (line: string) => void;
  /** Default `POWERTOOLS_LOG_LEVEL`, or SILENT. */
  readonly handlerLogLevel?: string;
  /** The handlers' configuration beyond the local defaults, e.g. `CASEBOOK_DEADLINES`. */
  readonly environment?: Readonly<Record<string, string>>;
  /** The gateway's throttle and bound on what is in flight (see LocalStackOptions). */
  readonly gateway?: LocalStackOptions['gateway'];
}

export function start(dataDir: string, ports: LocalPorts, options: StartOptions = {}): Promise<LocalStack> {
  return startLocalStack({
    rootDir: ROOT,
    dataDir,
    ports,
    alertmanagerToken: WEBHOOK_TOKEN,
    signingSecrets: SIGNING_SECRETS,
    handlerLogLevel: options.handlerLogLevel ?? process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
    ...(options.log ? { log: options.log } : {}),
    ...(options.environment ? { environment: options.environment } : {}),
    ...(options.gateway ? { gateway: options.gateway } : {}),
  });
}

/** What a test reaches a stack through, in this process or in another. */
export type StackEndpoints = Pick<LocalStack, 'endpoints' | 'stateMachineArn' | 'tables'>;

/** The local stack running in a child process (stack-process.ts), which the test may `kill -9`. */
export interface StackProcess extends StackEndpoints, ScriptProcess {}

/**
 * Starts the whole local stack in a child process on the given ports and data dir. `hold` makes a
 * crash point (see stack-process.ts): `requestApproval:1`, `carryOutEffect:1`.
 */
export async function spawnStack(
  dataDir: string,
  ports: LocalPorts,
  hold?: string,
  env: Record<string, string> = {},
): Promise<StackProcess> {
  const script = runScript(join(ROOT, 'test/support/stack-process.ts'), [dataDir, JSON.stringify(ports)], {
    ...env,
    ...(hold ? { CASEBOOK_TEST_HOLD: hold } : {}),
  });
  const ready = JSON.parse((await script.line('READY ')).slice('READY '.length)) as StackEndpoints;
  return { ...ready, ...script };
}

/** The ARN of the execution named `name` of the stack's state machine. */
export function executionArnOf(target: StackEndpoints, name: string): string {
  return `${target.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** Every event of the execution named `name`, all pages of it. */
export async function executionHistory(target: StackEndpoints, name: string): Promise<HistoryEvent[]> {
  const sfn = new SFNClient({
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    endpoint: target.endpoints.stepFunctions,
  });
  try {
    const events: HistoryEvent[] = [];
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(
        new GetExecutionHistoryCommand({ executionArn: executionArnOf(target, name), nextToken }),
      );
      events.push(...(page.events ?? []));
      nextToken = page.nextToken;
    } while (nextToken);
    return events;
  } finally {
    sfn.destroy();
  }
}

/** The status of the execution named `name` (RUNNING, SUCCEEDED, …), as DescribeExecution reports it. */
export async function executionStatus(target: StackEndpoints, name: string): Promise<string | undefined> {
  const sfn = new SFNClient({
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    endpoint: target.endpoints.stepFunctions,
  });
  try {
    return (await sfn.send(new DescribeExecutionCommand({ executionArn: executionArnOf(target, name) })))
      .status;
  } finally {
    sfn.destroy();
  }
}

export interface InboxEmail {
  messageId: string;
  from: string;
  destination: { to: string[] };
  subject: string;
  body: { text?: string; html?: string };
}

export async function inbox(stack: StackEndpoints): Promise<InboxEmail[]> {
  const res = await fetch(`${stack.endpoints.sesInbox}/store`);
  return ((await res.json()) as { emails: InboxEmail[] }).emails;
}

/** Polls until `probe` returns a value, or fails with what it last saw. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/**
 * The approval links e-mailed about `incidentId` for `round`, by role: once the round is open
 * (the case names the roles its rule asks), one for each of them.
 */
export async function approvalLinks(
  stack: StackEndpoints,
  incidentId: string,
  round: number,
): Promise<Map<string, string>> {
  return waitFor(`the approval emails for ${incidentId} round ${round}`, async () => {
    const asked = (await getCase(stack, incidentId)).incident.approvalRound;
    if (asked?.round !== round) return undefined;
    const links = new Map<string, string>();
    for (const email of await inbox(stack)) {
      const m = new RegExp(
        `(http://\\S+/approvals/${incidentId}\\.${round}\\.(legal|business|sre)\\.[A-Za-z0-9_-]{43})`,
      ).exec(email.body.text ?? '');
      if (m?.[1] && m[2]) links.set(m[2], m[1]);
    }
    return links.size === asked.rule.roles.length ? links : undefined;
  });
}

export async function postAlert(
  stack: StackEndpoints,
  body: string,
  token = WEBHOOK_TOKEN,
): Promise<Response> {
  return fetch(`${stack.endpoints.api}/webhooks/alertmanager`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body,
  });
}

export async function getCase(stack: StackEndpoints, incidentId: string): Promise<CaseJson> {
  const res = await fetch(`${stack.endpoints.api}/incidents/${incidentId}`);
  if (res.status !== 200) throw new Error(`GET /incidents/${incidentId} answered ${res.status}`);
  return (await res.json()) as CaseJson;
}

/**
 * Polls the API until Act is done: the incident RESOLVED, waiting in Learn for its postmortem
 * (`closeCase` in casework.ts writes it and waits for CLOSED).
 */
export function resolvedCase(
  stack: StackEndpoints,
  incidentId: string,
  timeoutMs?: number,
): Promise<CaseJson> {
  return waitFor(
    `${incidentId} to be resolved`,
    async () => {
      const c = await getCase(stack, incidentId);
      return c.incident.status === 'RESOLVED' ? c : undefined;
    },
    timeoutMs,
  );
}

export interface CaseJson {
  incident: {
    id: string;
    status: string;
    phase: string;
    decideRound: number;
    executionName: string;
    size?: { size: string };
    planRejected?: { version: number; reason: string };
    approvalRound?: {
      round: number;
      policyVersion: string;
      size: string;
      rule: { roles: string[]; quorum: number; veto: string[] };
      planVersion: number;
      decided?: { verdict: string; reason: string };
    };
  };
  timeline: { type: string; world: string; phase: string; summary: string }[];
  ledger: { seq: number; kind: string; state?: string; world: string; detail: Record<string, unknown> }[];
  decisions: {
    seq: number;
    kind: string;
    actor: string;
    role: string;
    decision: string;
    summary: string;
    basis?: { planVersion?: number; planHash?: string; policy?: string };
    detail: Record<string, unknown>;
  }[];
}

/** Decides through an approval link's form, as the page posts it; `redirect: manual` keeps the 303. */
export async function decide(
  link: string,
  decision: 'approve' | 'reject' | 'request-changes',
  comment = '',
  basis = '',
): Promise<Response> {
  return fetch(link, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ decision, comment, basis }).toString(),
  });
}

/** Approves through an approval link (the approver's name comes from the roster). */
export function approve(link: string, comment = ''): Promise<Response> {
  return decide(link, 'approve', comment);
}
