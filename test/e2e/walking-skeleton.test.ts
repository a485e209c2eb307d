import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPorts, LocalStack } from '../../local/stack.ts';
import { closeCase, openedToDecide, TWO_CUSTOMERS } from '../support/casework.ts';
import { casebook } from '../support/cli.ts';
import type { CaseJson, StackEndpoints } from '../support/local-stack.ts';
import {
  approvalLinks,
  approve,
  executionArnOf,
  freePorts,
  getCase,
  inbox,
  postAlert,
  spawnStack,
  start,
  tempDataDir,
  waitFor,
} from '../support/local-stack.ts';

const LOCAL_CLIENT = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

let stack: LocalStack;
let ports: LocalPorts;
let dataDir: string;
let incidentId: string;
/** Everything the stack writes: its own log lines and the handlers' JSON logs (stdout, stderr). */
const output: string[] = [];
const capture = (chunk: unknown) => {
  output.push(String(chunk));
  return true;
};
const realWrite = {
  out: process.stdout.write.bind(process.stdout),
  err: process.stderr.write.bind(process.stderr),
};

/** Execution name → status, as ListExecutions reports them. */
async function executionStatuses(): Promise<Record<string, string>> {
  const client = new SFNClient({ endpoint: stack.endpoints.stepFunctions, ...LOCAL_CLIENT });
  const { executions = [] } = await client.send(
    new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn }),
  );
  client.destroy();
  return Object.fromEntries(executions.map((e) => [e.name, e.status]));
}

async function scan(table: string): Promise<Record<string, unknown>[]> {
  const client = new DynamoDBClient({ endpoint: stack.endpoints.dynamodb, ...LOCAL_CLIENT });
  const out = await client.send(new ScanCommand({ TableName: table }));
  client.destroy();
  return (out.Items ?? []).map((i) => unmarshall(i));
}

beforeAll(async () => {
  ports = await freePorts();
  dataDir = tempDataDir();
  // Handlers log at INFO here, into `output`, so the token assertions below read real log lines.
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  stack = await start(dataDir, ports, { log: (line) => output.push(line), handlerLogLevel: 'INFO' });
});
afterAll(async () => {
  await stack?.close();
  process.stdout.write = realWrite.out;
  process.stderr.write = realWrite.err;
});

describe('walking skeleton on the local stack', () => {
  it('takes one alert through Detect, Contain, Understand, Decide, Act and Learn to a closed incident', async () => {
    incidentId = (await openedToDecide(stack, sample)).incidentId;
    expect(incidentId).toMatch(/^INC-\d{4}-\d{4}$/);

    const links = await approvalLinks(stack, incidentId, 1);
    const approverEmails = (await inbox(stack)).filter((e) => e.subject.includes('approval needed'));
    // Three customers' double charge, money only: a small incident, decided by SRE and Business.
    expect(approverEmails.map((e) => e.destination.to[0]).sort()).toEqual([
      'business@casebook.local',
      'sre-lead@casebook.local',
    ]);

    // Opening a link, as a person or a mail scanner, decides nothing.
    const pages: string[] = [];
    for (const link of links.values()) {
      const page = await fetch(link);
      expect(page.status).toBe(200);
      pages.push(await page.text());
      expect(pages.at(-1)).toContain('Record my decision');
      expect((await fetch(link, { method: 'HEAD' })).status).toBe(200);
    }
    const waiting = await getCase(stack, incidentId);
    expect(waiting.incident).toMatchObject({ status: 'MITIGATED', phase: 'Decide' });
    expect(approvalsOf(waiting)).toEqual([]);

    // The task tokens are in the operational table and nowhere else.
    const tokens = (await scan(stack.tables.operations)).flatMap((i) =>
      typeof i.taskToken === 'string' ? [i.taskToken] : [],
    );
    // One: the round's wait, not a token per approver.
    expect(tokens).toHaveLength(1);

    for (const [role, link] of links) {
      const res = await approve(link, `ok from ${role}`);
      expect(res.status).toBe(303);
    }

    const closed = await closeCase(stack, incidentId);
    expectClosedCase(closed);

    const notices = (await inbox(stack)).filter((e) => e.subject.startsWith('About your account'));
    expect(notices.map((e) => e.destination.to[0]).sort()).toEqual(['ada@example.com', 'grace@example.com']);
    expect(notices[0]?.body.text).toContain('charged twice');

    // …not in a log line, an email, a link, an approval page or the API's answer.
    const everything = [
      ...output,
      ...(await inbox(stack)).map((e) => JSON.stringify(e)),
      ...pages,
      JSON.stringify(closed),
      await (await fetch(`${stack.endpoints.api}/incidents`)).text(),
    ].join('\n');
    expect(everything).toContain('"message":"Approval decided"');
    for (const token of tokens) expect(everything).not.toContain(token);
  });

  it('lists incidents newest first', async () => {
    const res = await fetch(`${stack.endpoints.api}/incidents`);
    expect(res.status).toBe(200);
    const { incidents } = (await res.json()) as { incidents: { id: string }[] };
    expect(incidents[0]?.id).toBe(incidentId);
  });

  it('opens nothing new when the same payload is delivered again', async () => {
    const again = await postAlert(stack, sample);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ incidentId, outcome: 'folded' });
    expect(
      await scan(stack.tables.operations).then((items) => items.filter((i) => i.entity === 'incident')),
    ).toHaveLength(1);
  });

  it('answers 401 to a missing or wrong token and writes nothing', async () => {
    const before = (await scan(stack.tables.operations)).length + (await scan(stack.tables.ledger)).length;
    expect((await postAlert(stack, sample, 'wrong-token-wrong-token')).status).toBe(401);
    const noAuth = await fetch(`${stack.endpoints.api}/webhooks/alertmanager`, {
      method: 'POST',
      body: sample,
    });
    expect(noAuth.status).toBe(401);
    const after = (await scan(stack.tables.operations)).length + (await scan(stack.tables.ledger)).length;
    expect(after).toBe(before);
  });

  it('answers 400 naming the field for a malformed payload', async () => {
    const bad = JSON.parse(sample);
    delete bad.alerts[0].fingerprint;
    const res = await postAlert(stack, JSON.stringify(bad));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { issues: { field: string }[] }).issues[0]?.field).toBe(
      'alerts[0].fingerprint',
    );
  });

  it('is visible through the AWS APIs: the execution SUCCEEDED and the ledger table holds its entries', async () => {
    expect((await executionStatuses())[incidentId]).toBe('SUCCEEDED');
    // Format 3: each item a batch of entries under a signed tree head.
    const items = (await scan(stack.tables.ledger)).filter((i) => i.incidentId === incidentId) as {
      entries?: { kind: string }[];
      head?: { signature?: string };
    }[];
    expect(items.every((i) => i.head?.signature && i.entries?.length)).toBe(true);
    const kinds = items.flatMap((i) => i.entries?.map((e) => e.kind) ?? []);
    expect(kinds).toEqual(expect.arrayContaining(['detection', 'notice', 'approval']));
  });

  it("passes the auditor's check: every chain verifies against the digest anchored when the incident closed", async () => {
    // What a person sets to reach this stack: its data directory and its moved ports.
    const user = {
      CASEBOOK_DATA_DIR: dataDir,
      CASEBOOK_DYNAMODB_PORT: String(ports.dynamodb),
      CASEBOOK_S3_PORT: String(ports.s3),
    };
    const { stdout, stderr } = await casebook(['ledger', 'verify', '--json'], user);
    expect(stderr).toBe('');
    const report = JSON.parse(stdout) as {
      ok: boolean;
      anchor?: { genuine: boolean };
      incidents: { incidentId: string; problems: unknown[] }[];
    };
    expect(report.anchor?.genuine).toBe(true);
    expect(report.incidents.find((i) => i.incidentId === incidentId)?.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('keeps every incident, ledger entry and workflow across a clean restart: a waiting incident continues in its execution', async () => {
    // A second incident, waiting in Decide when the stack stops.
    const second = await openIncident(stack, otherIncident('StatementMisdelivery'), LIN);
    const links = await approvalLinks(stack, second, 1);
    const asked = async () =>
      (await inbox(stack)).filter(
        (e) => e.subject.includes('approval needed') && e.body.text?.includes(second),
      );
    const askedBefore = await asked();
    const ledgerBefore = await scan(stack.tables.ledger);
    const firstCase = await getCase(stack, incidentId);

    await stack.close();
    stack = await start(dataDir, ports, { log: (line) => output.push(line), handlerLogLevel: 'INFO' });

    const ledgerAfter = await scan(stack.tables.ledger);
    expect(ledgerAfter.length).toBeGreaterThanOrEqual(ledgerBefore.length);
    for (const entry of ledgerBefore) expect(ledgerAfter).toContainEqual(entry);
    expect(await getCase(stack, incidentId)).toEqual(firstCase);
    // The same execution is RUNNING: no continuation, no new round, no new e-mail.
    expect(await executionStatuses()).toMatchObject({ [incidentId]: 'SUCCEEDED', [second]: 'RUNNING' });
    expect(Object.keys(await executionStatuses())).toHaveLength(2);

    for (const [role, link] of links) expect((await approve(link, `ok from ${role}`)).status).toBe(303);
    const closed = await closeCase(stack, second);
    expect(approvalsOf(closed).map((d) => d.detail.round)).toEqual([1, 1]);
    expect(closed.ledger.filter((e) => e.kind === 'notice' && e.state === 'confirmed')).toHaveLength(1);
    expect(await asked()).toEqual(askedBefore);
  });

  it('continues an incident waiting in Decide after kill -9 of the whole stack: same execution, the first links, nothing sent twice', async () => {
    const crashPorts = await freePorts();
    const crashDir = tempDataDir();
    let crashed = await spawnStack(crashDir, crashPorts);
    try {
      const { incidentId: waiting, link: workroom } = await openedToDecide(crashed, sample);
      const links = await approvalLinks(crashed, waiting, 1);
      // A second incident, stopped by an operator while it waits: it must stay stopped.
      const stopped = await openIncident(crashed, otherIncident('StatementMisdelivery'), LIN);
      await approvalLinks(crashed, stopped, 1);
      const sfn = sfnClient(crashed.endpoints.stepFunctions);
      await sfn.send(new StopExecutionCommand({ executionArn: executionArnOf(crashed, stopped) }));
      const before = await sfn.send(
        new DescribeExecutionCommand({ executionArn: executionArnOf(crashed, waiting) }),
      );
      expect(before.status).toBe('RUNNING');

      await crashed.kill();
      crashed = await spawnStack(crashDir, crashPorts);
      const after = sfnClient(crashed.endpoints.stepFunctions);
      const resumed = await after.send(new DescribeExecutionCommand({ executionArn: before.executionArn }));
      expect(resumed).toMatchObject({ executionArn: before.executionArn, name: waiting, status: 'RUNNING' });
      expect(resumed.startDate?.getTime()).toBe(before.startDate?.getTime());
      const stillStopped = await after.send(
        new DescribeExecutionCommand({ executionArn: executionArnOf(crashed, stopped) }),
      );
      expect(stillStopped.status).toBe('ABORTED');

      // The links e-mailed before the crash decide; the inbox (new since the restart) gets no approval request.
      for (const [role, link] of links) expect((await approve(link, `ok from ${role}`)).status).toBe(303);
      // The inbox is new since the restart: the postmortem is written through the first invitation's link.
      const closed = await closeCase(crashed, waiting, { link: workroom });
      expectClosedCase(closed);
      expect(approvalsOf(closed).map((d) => d.detail.round)).toEqual([1, 1]);
      const sent = await inbox(crashed);
      expect(sent.filter((e) => e.subject.includes('approval needed'))).toEqual([]);
      expect(
        sent
          .filter((e) => e.subject.startsWith('About your account'))
          .map((e) => e.destination.to[0])
          .sort(),
      ).toEqual(['ada@example.com', 'grace@example.com']);
      // The incident closes before the execution's last states (anchoring the ledger) have run.
      await waitFor('the execution to succeed', async () =>
        (await after.send(new DescribeExecutionCommand({ executionArn: before.executionArn }))).status ===
        'SUCCEEDED'
          ? true
          : undefined,
      );
      expect((await getCase(crashed, stopped)).incident.phase).toBe('Decide');
      after.destroy();
      sfn.destroy();
    } finally {
      await crashed.kill();
    }
  });
});

/** Posts an alert, works the incident it opened to Decide, and returns it. */
async function openIncident(
  target: StackEndpoints,
  body: string,
  customers = TWO_CUSTOMERS,
): Promise<string> {
  return (await openedToDecide(target, body, customers)).incidentId;
}

/** Another incident's one affected customer. */
const LIN = [
  'customer_ref,email,name,amount,currency,product_area,payment_ref',
  'cus_lin,lin@example.com,Lin,,,,',
].join('\n');

/** The sample alert for another incident: another alert name. */
function otherIncident(alertname: string): string {
  const other = JSON.parse(sample);
  other.groupKey = `{}/{world="RML3"}:{alertname="${alertname}"}`;
  return JSON.stringify(other);
}

/** The approvals on the Decision Log (containment decisions are on it too). */
function approvalsOf(c: CaseJson): CaseJson['decisions'] {
  return c.decisions.filter((d) => d.kind === 'approval');
}

function sfnClient(endpoint: string): SFNClient {
  return new SFNClient({ endpoint, ...LOCAL_CLIENT });
}

function expectClosedCase(closed: CaseJson): void {
  expect(closed.incident.status).toBe('CLOSED');
  const phases = closed.timeline.filter((t) => t.type === 'phase_entered').map((t) => [t.phase, t.world]);
  expect(phases).toEqual([
    ['Detect', 'RML2'],
    ['Contain', 'RML2'],
    ['Understand', 'RML3'],
    ['Decide', 'RML3'],
    ['Act', 'RML3'],
    ['Learn', 'RML2'],
  ]);
  for (const event of closed.timeline) expect(['RML1', 'RML2', 'RML3']).toContain(event.world);
  expect(closed.ledger[0]).toMatchObject({ seq: 1, kind: 'detection', world: 'RML3' });
  expect(closed.ledger.filter((e) => e.kind === 'notice' && e.state === 'confirmed')).toHaveLength(2);
  expect(
    approvalsOf(closed)
      .map((d) => d.role)
      .sort(),
  ).toEqual(['business', 'sre']);
  expect(approvalsOf(closed).every((d) => d.decision === 'approve')).toBe(true);
}
