import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbEffectStore } from '../../functions/adapters/dynamodb-effect-store.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { SesMailer } from '../../functions/adapters/ses-mailer.ts';
import { StepFunctionsWorkflow } from '../../functions/adapters/sfn-workflow.ts';
import { makeApprovalsPageHandler } from '../../functions/approvals-page/approvals-page.ts';
import { classify } from '../../functions/domain/alert.ts';
import { DEFAULT_DEADLINE_POLICY, type DeadlinePolicy } from '../../functions/domain/deadlines.ts';
import { openIncident } from '../../functions/domain/incident.ts';
import { pseudonym } from '../../functions/domain/ledger.ts';
import type { ApproverRole } from '../../functions/domain/vocabulary.ts';
import { makeRequestApprovalHandler } from '../../functions/request-approval/request-approval.ts';
import { recordCustomers, submitPlan } from '../../functions/use-cases/propose-plan.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase, testClock } from '../support/dynamodb.ts';
import { apiEvent } from '../support/http.ts';

const ses = mockClient(SESClient);
const sfn = mockClient(SFNClient);
let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());
beforeEach(() => {
  ses.reset();
  sfn.reset();
  ses.on(SendEmailCommand).resolves({ MessageId: 'msg-1' });
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
});

const APPROVERS = { legal: 'legal@example.com', business: 'business@example.com', sre: 'sre@example.com' };

async function setup(policy: Pick<DeadlinePolicy, 'decisionMinutes'> = DEFAULT_DEADLINE_POLICY) {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  const ledger = db.ledger(tables.ledger);
  const clock = testClock();
  const base = openIncident(
    'INC-2026-0009',
    {
      source: 'alertmanager',
      correlationKey: 'k',
      deliveryKey: 'd',
      occurrences: ['f@2026-11-22T09:00:00.000Z'],
      status: 'firing',
      title: 'Refunds missing',
      labels: { category: 'financial_discrepancy' },
      annotations: {},
      alerts: [],
      startedAt: '2026-11-22T09:00:00.000Z',
      customerContacts: ['customer@example.com'],
    },
    classify({ category: 'financial_discrepancy' }),
    '2026-11-22T09:00:00.000Z',
  );
  const effects = new DynamoDbEffectStore(db.doc, tables.operations);
  await store.createIncident({ ...base, phase: 'Decide', status: 'INVESTIGATING', decideRound: 1 });
  const listed = await recordCustomers({ effects, incidents: store }, base, [
    { customerRef: 'cus_1', email: 'customer@example.com', name: 'Pat' },
  ]);
  await store.updateIncident(listed, {
    phase: 'Decide',
    status: 'INVESTIGATING',
    decideRound: 1,
    decideRoundAt: '2026-11-22T10:00:00.000Z',
  });
  await submitPlan(
    { incidents: store, effects, pseudonym: async (ref) => pseudonym(Buffer.alloc(32, 2), ref), clock },
    base.id,
    {
      summary: 'Tell the customer',
      apply: [{ kind: 'notice', obligation: 'brand', template: 'apology' }],
      effects: [],
    },
    'sre@example.com',
  );
  const request = makeRequestApprovalHandler({
    incidents: store,
    approvals: store,
    mailer: new SesMailer(new SESClient({ region: 'us-east-1' }), 'casebook@example.com'),
    clock,
    publicBaseUrl: 'https://casebook.example.com',
    approvers: APPROVERS,
  });
  const page = makeApprovalsPageHandler({
    incidents: store,
    approvals: store,
    effects,
    ledger,
    workflow: new StepFunctionsWorkflow(new SFNClient({ region: 'us-east-1' })),
    clock,
    policy,
  });
  const ask = async (role: ApproverRole, taskToken = `token-for-${role}`) => {
    await request({ taskToken, incidentId: 'INC-2026-0009', round: 1, role });
    const mail = ses.commandCalls(SendEmailCommand).at(-1)?.args[0].input;
    const link = /https:\/\/casebook\.example\.com(\/approvals\/\S+)/.exec(
      mail?.Message?.Body?.Text?.Data ?? '',
    )?.[1];
    if (!link) throw new Error('no link in the approval email');
    return { mail, path: link, approvalId: decodeURIComponent(link.split('/').at(-1) ?? '') };
  };
  const call = (method: string, approvalId: string, form?: Record<string, string>) =>
    page(
      apiEvent({
        method,
        path: `/approvals/${approvalId}`,
        routeKey: `${method} /approvals/{approvalId}`,
        pathParameters: { approvalId },
        ...(form
          ? {
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams(form).toString(),
            }
          : {}),
      }),
    );
  return { store, ledger, ask, call, tables };
}

describe('approval requests and decisions', () => {
  it('emails the role its link, which carries no task token', async () => {
    const { ask } = await setup();
    const { mail, approvalId } = await ask('legal', 'SECRET-TASK-TOKEN-123');
    expect(mail?.Destination?.ToAddresses).toEqual(['legal@example.com']);
    expect(mail?.Source).toBe('casebook@example.com');
    expect(approvalId).toMatch(/^INC-2026-0009\.1\.legal\./);
    expect(JSON.stringify(mail)).not.toContain('SECRET-TASK-TOKEN-123');
  });

  it('does not email again when Step Functions retries the request, but keeps the newest token', async () => {
    const { ask, store, call } = await setup();
    const { approvalId } = await ask('sre', 'first-token');
    // A retried task attempt carries a new token; the approver keeps the first email.
    await ask('sre', 'second-token');
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
    expect(await store.getTaskToken({ incidentId: 'INC-2026-0009', round: 1, role: 'sre' })).toBe(
      'second-token',
    );
    await call('POST', approvalId, { decision: 'approve', name: 'Sam SRE' });
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input.taskToken).toBe('second-token');
  });

  // The contract a restarted local Step Functions server relies on: a request whose result it had
  // not recorded is invoked again with the same input, and e-mails nobody again.
  it('e-mails once, and keeps the same token, when the request is invoked twice with the same input', async () => {
    const { ask, store } = await setup();
    await ask('legal', 'the-token');
    await ask('legal', 'the-token');
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
    expect(await store.getTaskToken({ incidentId: 'INC-2026-0009', round: 1, role: 'legal' })).toBe(
      'the-token',
    );
    expect((await store.listApprovals('INC-2026-0009', 1)).map((a) => [a.role, a.status])).toEqual([
      ['legal', 'PENDING'],
    ]);
  });

  it('shows the case on GET and HEAD and changes nothing', async () => {
    const { ask, call, ledger, store } = await setup();
    const { approvalId } = await ask('business');
    const get = await call('GET', approvalId);
    expect(get.statusCode).toBe(200);
    expect(get.body).toContain('INC-2026-0009');
    expect(get.body).toContain('Approve the plan');
    expect(get.headers?.['referrer-policy']).toBe('no-referrer');
    // Approvers see the exact words customers would receive.
    expect(get.body).toContain('What each customer receives');
    expect(get.body).toContain('About your account: we made a mistake (ref INC-2026-0009)');
    const head = await call('HEAD', approvalId);
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(await ledger.read('INC-2026-0009')).toEqual([]);
    expect(
      (await store.getApproval({ incidentId: 'INC-2026-0009', round: 1, role: 'business' }))?.status,
    ).toBe('PENDING');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('leads with what is asked and by when, then impact, plan and message, and ends with the decision', async () => {
    const { ask, call } = await setup();
    const { approvalId } = await ask('legal');
    const page = (await call('GET', approvalId)).body ?? '';
    // The test clock reads 10:30 on 22 Nov; the round began at 10:00 and may take 72 hours.
    expect(page).toMatch(
      /Your decision is needed by <time datetime="2026-11-25T10:00:00\.000Z" title="[^"]+">25 Nov 10:00 UTC, in 2 d 23 h[^<]*<\/time>/,
    );
    expect(page).toContain('This link is for legal@example.com.');
    const order = [
      'Your decision is needed by',
      '<h2>Impact</h2>',
      '<h2>Remediation plan v1</h2>',
      'What each customer receives',
      '<h2>Your decision</h2>',
    ].map((marker) => page.indexOf(marker));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(page.trimEnd().endsWith('</form></body></html>')).toBe(true);
  });

  it('shows every time as people read it, and no raw instant in the text', async () => {
    const { ask, call } = await setup();
    const { approvalId } = await ask('sre');
    await call('POST', approvalId, { decision: 'approve', name: 'Sam SRE' });
    const page = (await call('GET', approvalId)).body ?? '';
    expect(page).toContain('detected <time datetime="2026-11-22T09:00:00.000Z"');
    expect(page).toContain('>22 Nov 09:00 UTC, 1 h 30 min ago</time>');
    expect(page).toMatch(
      /APPROVED<\/strong> by <bdi>Sam SRE<\/bdi> \(sre@example\.com\) at <time [^>]+>22 Nov 10:30 UTC, just now<\/time>/,
    );
    const text = page.replace(/<[^>]*>/g, '');
    expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
    // Every table labels its cells, so a phone can stack them.
    expect(page).not.toMatch(/<td(?! data-label=")/);
  });

  it('asks for the decision by the deadline the round is escalated at, as configured', async () => {
    const { ask, call } = await setup({ decisionMinutes: 90 });
    const { approvalId } = await ask('business');
    const page = (await call('GET', approvalId)).body ?? '';
    expect(page).toMatch(
      /Your decision is needed by <time datetime="2026-11-22T11:30:00\.000Z" title="[^"]+">22 Nov 11:30 UTC, in (1 h|59 min)<\/time>/,
    );
  });

  it('isolates outside text on the page, so a right-to-left override cannot reorder it', async () => {
    const { ask, call, store } = await setup();
    const incident = await store.getIncident('INC-2026-0009');
    if (!incident) throw new Error('no incident');
    await store.updateIncident(incident, { title: 'Refunds \u202Egnissim', description: '\u202Bdetails' });
    const { approvalId } = await ask('legal');
    const page = (await call('GET', approvalId)).body ?? '';
    expect(page).toContain('<h1>INC-2026-0009 — <bdi>Refunds \u202Egnissim</bdi></h1>');
    expect(page).toContain('<p><bdi>\u202Bdetails</bdi></p>');
    expect(page).toContain('<title>INC-2026-0009: Legal approval</title>');
    // Every override on the page sits inside an isolate.
    const outside = page.replace(/<bdi>[\s\S]*?<\/bdi>/g, '');
    expect(outside).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/);
    expect(page).toMatch(/<input type="text" id="name" name="name" dir="auto"/);
    expect(page).toMatch(/<textarea id="comment" name="comment" dir="auto"/);
  });

  it('answers 404 for a forged or mangled link', async () => {
    const { ask, call } = await setup();
    const { approvalId } = await ask('legal');
    const forged = approvalId.replace(/\.[^.]+$/, '.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    expect((await call('GET', forged)).statusCode).toBe(404);
    expect((await call('POST', forged, { decision: 'approve', name: 'x' })).statusCode).toBe(404);
    expect((await call('GET', 'INC-2026-0009.1.legal')).statusCode).toBe(404);
    expect(sfn.calls()).toHaveLength(0);
  });

  it("answers 404, reading nothing, for the probe's oversized incident id and for a non-canonical round", async () => {
    const { ask, call, tables } = await setup();
    const { approvalId } = await ask('legal');
    const secret = approvalId.split('.').at(-1);
    const before = await db.count(tables.operations);
    // Past DynamoDB's key limit, this answered 503 (ValidationException) before.
    const huge = `INC-2026-${'1'.repeat(2100)}.1.legal.${secret}`;
    // Round 01 was another name for round 1.
    const alias = approvalId.replace('.1.legal.', '.01.legal.');
    for (const id of [huge, alias]) {
      expect((await call('GET', id)).statusCode).toBe(404);
      expect((await call('HEAD', id)).statusCode).toBe(404);
      expect((await call('POST', id, { decision: 'approve', name: 'x' })).statusCode).toBe(404);
    }
    expect((await call('GET', approvalId)).statusCode).toBe(200);
    expect(await db.count(tables.operations)).toBe(before);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('records an approval in the Decision Log and resumes the task once, however often it is clicked', async () => {
    const { ask, call, ledger } = await setup();
    const { approvalId, path } = await ask('legal', 'legal-token');
    const first = await call('POST', approvalId, {
      decision: 'approve',
      name: 'Lee Legal',
      comment: 'ToS 7.2 requires notice',
    });
    expect(first.statusCode).toBe(303);
    expect(first.headers?.location).toBe(path);
    const second = await call('POST', approvalId, { decision: 'approve', name: 'Lee Legal' });
    expect(second.statusCode).toBe(303);
    const decisions = (await ledger.read('INC-2026-0009')).filter((e) => e.log === 'decision');
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({
      kind: 'approval',
      phase: 'Decide',
      world: 'RML3',
      actor: 'Lee Legal <legal@example.com>',
      role: 'legal',
      decision: 'approve',
      basis: { planVersion: 1 },
      detail: { comment: 'ToS 7.2 requires notice', round: 1 },
    });
    const successes = sfn.commandCalls(SendTaskSuccessCommand);
    expect(successes).toHaveLength(1);
    expect(successes[0]?.args[0].input.taskToken).toBe('legal-token');
    const page = await call('GET', approvalId);
    expect(page.body).toContain('APPROVED');
    expect(page.body).not.toContain('Record my decision');
  });

  it('refuses a different decision on a decided approval with 409', async () => {
    const { ask, call } = await setup();
    const { approvalId } = await ask('legal');
    await call('POST', approvalId, { decision: 'approve', name: 'Lee' });
    const conflict = await call('POST', approvalId, {
      decision: 'reject',
      name: 'Lee',
      comment: 'changed my mind',
    });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.body).toContain('already decided');
  });

  it('requires a reason to reject (400, nothing recorded), then fails the task with Casebook.PlanRejected', async () => {
    const { ask, call, ledger } = await setup();
    const { approvalId } = await ask('business', 'business-token');
    const missing = await call('POST', approvalId, { decision: 'reject', name: 'Bo Business' });
    expect(missing.statusCode).toBe(400);
    expect(missing.body).toContain('comment');
    expect(await ledger.read('INC-2026-0009')).toEqual([]);

    const rejected = await call('POST', approvalId, {
      decision: 'reject',
      name: 'Bo Business',
      comment: 'Refund too, not only an apology',
    });
    expect(rejected.statusCode).toBe(303);
    const failure = sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input;
    expect(failure).toMatchObject({ taskToken: 'business-token', error: 'Casebook.PlanRejected' });
    expect(failure?.cause).toContain('Refund too');
  });

  it('keeps a decision made after the round closed, and says it changed nothing', async () => {
    const { ask, call, store, ledger } = await setup();
    sfn
      .on(SendTaskSuccessCommand)
      .rejects(Object.assign(new Error('Task Timed Out'), { name: 'TaskTimedOut' }));
    const { approvalId } = await ask('sre');
    const res = await call('POST', approvalId, { decision: 'approve', name: 'Sam' });
    expect(res.statusCode).toBe(303);
    expect((await ledger.read('INC-2026-0009')).filter((e) => e.log === 'decision')).toHaveLength(1);
    const timeline = await store.listTimeline('INC-2026-0009');
    expect(timeline.find((t) => t.type === 'approval_decided')?.summary).toContain(
      'after the round had closed',
    );
  });

  it('finishes a decision that failed part-way when the approver submits it again', async () => {
    const { ask, call, ledger } = await setup();
    sfn
      .on(SendTaskSuccessCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }))
      .resolves({});
    const { approvalId } = await ask('legal', 'legal-token');
    const failed = await call('POST', approvalId, { decision: 'approve', name: 'Lee' });
    expect(failed.statusCode).toBe(503);
    const retried = await call('POST', approvalId, { decision: 'approve', name: 'Lee' });
    expect(retried.statusCode).toBe(303);
    const calls = sfn.commandCalls(SendTaskSuccessCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args[0].input.taskToken).toBe('legal-token');
    expect((await ledger.read('INC-2026-0009')).filter((e) => e.log === 'decision')).toHaveLength(1);
    // Once answered, a further click resumes nothing.
    await call('POST', approvalId, { decision: 'approve', name: 'Lee' });
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(2);
  });

  it('shows a request from a replaced round as no longer decidable, and refuses it with 409', async () => {
    const { ask, call, store } = await setup();
    const { approvalId } = await ask('business');
    const incident = await store.getIncident('INC-2026-0009');
    if (!incident) throw new Error('no incident');
    await store.updateIncident(incident, { decideRound: 2 });
    const page = await call('GET', approvalId);
    expect(page.body).not.toContain('Record my decision');
    const res = await call('POST', approvalId, { decision: 'approve', name: 'Bo' });
    expect(res.statusCode).toBe(409);
    expect(res.body).toContain('round 2 replaced it');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('answers a post that is not a form with 400 naming the content type, recording nothing', async () => {
    const { ask, call, ledger } = await setup();
    const { approvalId } = await ask('legal');
    const res = await call('POST', approvalId);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('content-type');
    expect(await ledger.read('INC-2026-0009')).toEqual([]);
  });
});
