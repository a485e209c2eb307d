/**
 * The approval round at the function level: request-approval opens a round under the policy and
 * e-mails the approvers it names; the approval page shows and decides; the round is weighed by
 * its rule after every decision and its one wait (held as hold-for-people holds it) is answered
 * once. DynamoDB is dynalite; SES and Step Functions are mocked.
 */
import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbEffectStore } from '../../functions/adapters/dynamodb-effect-store.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { DynamoDbWaits } from '../../functions/adapters/dynamodb-waits.ts';
import { SesMailer } from '../../functions/adapters/ses-mailer.ts';
import { StepFunctionsWorkflow } from '../../functions/adapters/sfn-workflow.ts';
import { makeApprovalsPageHandler } from '../../functions/approvals-page/approvals-page.ts';
import { classify } from '../../functions/domain/alert.ts';
import type { ApprovalPolicyInput } from '../../functions/domain/approval-policy.ts';
import { parseApprovalPolicy } from '../../functions/domain/approval-policy.ts';
import type { ImpactSize } from '../../functions/domain/deadlines.ts';
import { DEFAULT_DEADLINE_POLICY, type DeadlinePolicy } from '../../functions/domain/deadlines.ts';
import { openIncident } from '../../functions/domain/incident.ts';
import { pseudonym } from '../../functions/domain/ledger.ts';
import type { PlanInput } from '../../functions/domain/plan.ts';
import type { ApproverRole } from '../../functions/domain/vocabulary.ts';
import { makeRequestApprovalHandler } from '../../functions/request-approval/request-approval.ts';
import { holdForPeople } from '../../functions/use-cases/hold-for-people.ts';
import { recordCustomers, submitPlan } from '../../functions/use-cases/propose-plan.ts';
import { rejectPlan } from '../../functions/use-cases/reject-plan.ts';
import { makeWatchDeadlinesHandler } from '../../functions/watch-deadlines/watch-deadlines.ts';
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

const ID = 'INC-2026-0009';
const ADDRESSES = { legal: 'legal@example.com', business: 'business@example.com', sre: 'sre@example.com' };
const ROSTER: ApprovalPolicyInput = {
  approvers: {
    legal: { primary: { email: 'lee@example.com', name: 'Lee Legal' } },
    business: { primary: { email: 'bo@example.com', name: 'Bo Business' } },
    sre: { primary: { email: 'sam@example.com', name: 'Sam SRE' } },
  },
};
const APOLOGY: PlanInput = {
  summary: 'Tell the customer',
  apply: [{ kind: 'notice', obligation: 'brand', template: 'apology' }],
  effects: [],
};

async function setup(
  options: { size?: ImpactSize; policy?: ApprovalPolicyInput; deadlines?: Partial<DeadlinePolicy> } = {},
) {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  const waits = new DynamoDbWaits(db.doc, tables.operations);
  const ledger = db.ledger(tables.ledger);
  const clock = testClock();
  const parsed = parseApprovalPolicy(options.policy, ADDRESSES);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  const base = openIncident(
    ID,
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
  await store.createIncident(base);
  const listed = await recordCustomers({ effects, incidents: store }, base, [
    { customerRef: 'cus_1', email: 'customer@example.com', name: 'Pat', paymentRef: 'ch_1' },
  ]);
  await store.updateIncident(listed, {
    phase: 'Decide',
    status: 'MITIGATED',
    decideRound: 1,
    decideRoundAt: '2026-11-22T10:00:00.000Z',
    size: { size: options.size ?? 'medium', because: 'test' },
  });
  const planDeps = {
    incidents: store,
    effects,
    pseudonym: async (ref: string) => pseudonym(Buffer.alloc(32, 2), ref),
    clock,
  };
  await submitPlan(planDeps, ID, APOLOGY, 'sre@example.com');
  const request = makeRequestApprovalHandler({
    incidents: store,
    approvals: store,
    ledger,
    mailer: new SesMailer(new SESClient({ region: 'us-east-1' }), 'casebook@example.com'),
    clock,
    publicBaseUrl: 'https://casebook.example.com',
    policy: parsed.policy,
    deadlines: { ...DEFAULT_DEADLINE_POLICY, ...options.deadlines },
  });
  const workflow = new StepFunctionsWorkflow(new SFNClient({ region: 'us-east-1' }));
  const pageDeps = {
    incidents: store,
    approvals: store,
    effects,
    ledger,
    waits,
    workflow,
    clock,
    policy: { ...DEFAULT_DEADLINE_POLICY, ...options.deadlines },
  };
  const page = makeApprovalsPageHandler(pageDeps);
  /** The state machine reads the round's clock, as before and between its waits. */
  const watch = makeWatchDeadlinesHandler({
    incidents: store,
    approvals: store,
    questions: waits,
    mailer: new SesMailer(new SESClient({ region: 'us-east-1' }), 'casebook@example.com'),
    people: { sreLead: 'lead@example.com', responders: ['a@example.com'] },
    legal: ADDRESSES.legal,
    roster: parsed.policy.roster,
    publicBaseUrl: 'https://casebook.example.com',
    policy: { ...DEFAULT_DEADLINE_POLICY, ...options.deadlines },
    clock,
  });
  /** The state machine enters the round's wait, as hold-for-people does. */
  const hold = (taskToken = 'decide-token') =>
    holdForPeople(
      { incidents: store, waits, questions: waits, workflow, clock },
      { incidentId: ID, step: 'decide', taskToken },
    );
  /** Opens the round: the approval links e-mailed, by role. */
  const open = async (round = 1) => {
    const before = ses.commandCalls(SendEmailCommand).length;
    const result = await request({ incidentId: ID, round });
    const links = new Map<ApproverRole, { path: string; approvalId: string; to: string; text: string }>();
    for (const call of ses.commandCalls(SendEmailCommand).slice(before)) {
      const text = call.args[0].input.Message?.Body?.Text?.Data ?? '';
      const path = /https:\/\/casebook\.example\.com(\/approvals\/\S+)/.exec(text)?.[1];
      if (!path) throw new Error('no link in the approval email');
      const approvalId = decodeURIComponent(path.split('/').at(-1) ?? '');
      const role = approvalId.split('.')[2] as ApproverRole;
      links.set(role, { path, approvalId, to: call.args[0].input.Destination?.ToAddresses?.[0] ?? '', text });
    }
    return { result, links };
  };
  const call = (
    method: string,
    approvalId: string,
    form?: Record<string, string>,
    client?: { sourceIp: string; userAgent: string },
  ) =>
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
        ...(client ? { client } : {}),
      }),
    );
  const idOf = async (role: ApproverRole, links: Awaited<ReturnType<typeof open>>['links']) => {
    const link = links.get(role);
    if (!link) throw new Error(`${role} was not asked`);
    return link.approvalId;
  };
  const decisions = async () => (await ledger.read(ID)).filter((e) => e.log === 'decision');
  const successes = () => sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input);
  const failures = () => sfn.commandCalls(SendTaskFailureCommand).map((c) => c.args[0].input);
  return {
    store,
    waits,
    ledger,
    tables,
    open,
    call,
    hold,
    idOf,
    decisions,
    successes,
    failures,
    planDeps,
    pageDeps,
    clock,
    watch,
  };
}

const approve = { decision: 'approve' };
const reject = (comment: string) => ({ decision: 'reject', comment });
const changes = (comment: string) => ({ decision: 'request-changes', comment });

describe('opening an approval round', () => {
  it.each([
    ['small', ['business', 'sre']],
    ['medium', ['business', 'legal', 'sre']],
    ['large', ['business', 'legal', 'sre']],
  ] as const)(
    'asks the roles the policy names for a %s incident, each once, by a link that carries no token',
    async (size, roles) => {
      const { open, hold, store, decisions } = await setup({ size, policy: ROSTER });
      await hold('SECRET-TASK-TOKEN-123');
      const { result, links } = await open();
      expect([...links.keys()].sort()).toEqual(roles);
      expect(result).toMatchObject({ round: 1, emailed: roles.length });
      for (const [role, link] of links) {
        expect(link.to).toBe(ROSTER.approvers?.[role]?.primary.email);
        expect(link.approvalId).toMatch(new RegExp(`^${ID}\\.1\\.${role}\\.[A-Za-z0-9_-]{43}$`));
        expect(link.text).not.toContain('SECRET-TASK-TOKEN-123');
      }
      // Opened again (a retried step): nobody is e-mailed twice.
      expect((await open()).links.size).toBe(0);
      const incident = await store.getIncident(ID);
      expect(incident?.approvalRound).toMatchObject({
        round: 1,
        size,
        rule: { roles: expect.arrayContaining([...roles]), veto: size === 'large' ? ['legal'] : [] },
        policyVersion: expect.stringMatching(/^[0-9a-f]{16}$/),
      });
      const opened = (await decisions()).filter((d) => d.kind === 'approval_round');
      expect(opened).toHaveLength(1);
      expect(opened[0]).toMatchObject({
        detail: { round: 1, size, policyVersion: incident?.approvalRound?.policyVersion },
      });
      // Only the secret's hash is kept.
      for (const approval of await store.listApprovals(ID, 1)) {
        const secret = links.get(approval.role)?.approvalId.split('.').at(-1) ?? '';
        expect(JSON.stringify(approval)).not.toContain(secret);
      }
    },
  );

  it('fails its step as an outage the lifecycle retries when SES throttles an approval mail, and the retry asks each role once', async () => {
    const { open } = await setup({ size: 'medium', policy: ROSTER });
    // SES's answer when an account sends faster than its quota: HTTP 400, nothing taken.
    const throttled = Object.assign(new Error('Maximum sending rate exceeded.'), {
      name: 'Throttling',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    ses.on(SendEmailCommand).rejectsOnce(throttled).resolves({ MessageId: 'msg-2' });
    await expect(open()).rejects.toMatchObject({ name: 'Casebook.DependencyUnavailable' });
    const asked = new Set(
      ses
        .commandCalls(SendEmailCommand)
        .slice(1)
        .map((c) => c.args[0].input.Destination?.ToAddresses?.[0]),
    );
    const { links } = await open();
    for (const link of links.values()) expect(asked.has(link.to)).toBe(false);
    expect([...links.keys(), ...asked].length).toBe(3);
  });

  it('asks by the rule a severity sets for the size, where the policy has one', async () => {
    const { open, store } = await setup({
      size: 'small',
      policy: {
        ...ROSTER,
        severities: { SEV1: { small: { roles: ['legal', 'sre'], quorum: 1, veto: ['legal'] } } },
      },
    });
    const severity = (await store.getIncident(ID))?.severity;
    const { links } = await open();
    expect([...links.keys()].sort()).toEqual(severity === 'SEV1' ? ['legal', 'sre'] : ['business', 'sre']);
  });

  it('asks nobody for a round a newer one replaced', async () => {
    const { open } = await setup();
    expect((await open(7)).result).toEqual({ round: 7, asked: [], emailed: 0 });
  });
});

describe('the approval page', () => {
  it('shows the case on GET and HEAD and changes nothing, with headers that keep the link to itself', async () => {
    const { open, call, decisions, store, idOf } = await setup({ policy: ROSTER });
    const { links } = await open();
    const id = await idOf('business', links);
    for (let i = 0; i < 3; i++) {
      const get = await call('GET', id);
      expect(get.statusCode).toBe(200);
      expect(get.headers).toMatchObject({
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-store',
        'content-security-policy': expect.stringContaining("default-src 'none'"),
      });
      expect(get.body).toContain('Approve the plan');
      expect(get.body).not.toMatch(/<script|https?:\/\/(?!casebook\.example\.com)[a-z]/i);
      const head = await call('HEAD', id);
      expect(head.statusCode).toBe(200);
      expect(head.body).toBe('');
    }
    // Approvers see the exact words customers would receive.
    const page = (await call('GET', id)).body ?? '';
    expect(page).toContain('About your account: we made a mistake (ref INC-2026-0009)');
    expect((await decisions()).filter((d) => d.kind === 'approval')).toEqual([]);
    expect((await store.getApproval({ incidentId: ID, round: 1, role: 'business' }))?.status).toBe('PENDING');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('says who the link is for and who decides the round, leads with the ask and ends with the decision', async () => {
    const { open, call, idOf } = await setup({ policy: ROSTER });
    const page = (await call('GET', await idOf('legal', (await open()).links))).body ?? '';
    // The test clock reads 10:30 on 22 Nov; the round began at 10:00, and a SEV2's approvers have 2 hours.
    expect(page).toMatch(
      /Your decision is needed by <time datetime="2026-11-22T12:00:00\.000Z" title="[^"]+">22 Nov 12:00 UTC, in 1 h (30|29) min<\/time>/,
    );
    expect(page).toContain("a SEV2 incident's approvers have 2 h.");
    // Detected at 09:00, a SEV2 is to be resolved within 8 hours.
    expect(page).toMatch(/Resolution deadline <time datetime="2026-11-22T17:00:00\.000Z"/);
    expect(page).toContain('This link is for <bdi>Lee Legal</bdi> (lee@example.com) alone');
    expect(page).toContain('<h2>Who decides round 1</h2>');
    expect(page).toContain('Legal, Business and SRE; 3 of 3 must approve.');
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
    // No name to type: the roster has it.
    expect(page).not.toContain('name="name"');
    expect(page).toContain('value="request-changes"');
    expect(page).toMatch(/<input type="text" id="basis" name="basis" dir="auto"/);
    expect(page).toMatch(/<textarea id="comment" name="comment" dir="auto"/);
    // Every table labels its cells, so a phone can stack them.
    expect(page).not.toMatch(/<td(?! data-label=")/);
  });

  it('asks for the decision by the deadline the round is escalated at, as configured', async () => {
    const { open, call, idOf } = await setup({ deadlines: { decisionMinutes: 90 } });
    const page = (await call('GET', await idOf('business', (await open()).links))).body ?? '';
    expect(page).toMatch(
      /Your decision is needed by <time datetime="2026-11-22T11:30:00\.000Z" title="[^"]+">22 Nov 11:30 UTC, in (1 h|59 min)<\/time>/,
    );
  });

  it('isolates outside text on the page, so a right-to-left override cannot reorder it', async () => {
    const { open, call, store, idOf } = await setup();
    const incident = await store.getIncident(ID);
    if (!incident) throw new Error('no incident');
    await store.updateIncident(incident, { title: 'Refunds \u202Egnissim', description: '\u202Bdetails' });
    const page = (await call('GET', await idOf('legal', (await open()).links))).body ?? '';
    expect(page).toContain('<h1>INC-2026-0009 — <bdi>Refunds \u202Egnissim</bdi></h1>');
    expect(page).toContain('<p><bdi>\u202Bdetails</bdi></p>');
    expect(page).toContain('<title>INC-2026-0009: Legal approval</title>');
    const outside = page.replace(/<bdi>[\s\S]*?<\/bdi>/g, '');
    expect(outside).not.toMatch(/[\u202A-\u202E\u2066-\u2069]/);
  });

  it('answers 404 to a forged, mangled, oversized or non-canonical link, reading nothing and saying nothing of why', async () => {
    const { open, call, tables, idOf } = await setup();
    const id = await idOf('legal', (await open()).links);
    const secret = id.split('.').at(-1) ?? '';
    const before = await db.count(tables.operations);
    const tampered = `${secret.slice(0, -1)}${secret.at(-1) === 'A' ? 'B' : 'A'}`;
    const pages: string[] = [];
    for (const bad of [
      id.replace(secret, tampered),
      id.replace(/\.[^.]+$/, `.${'A'.repeat(43)}`),
      `${ID}.1.legal`,
      id.replace('.1.legal.', '.01.legal.'),
      id.replace('.1.legal.', '.1.business.'),
      id.replace('INC-2026-0009', 'INC-2026-00009'),
      `INC-2026-${'1'.repeat(2100)}.1.legal.${secret}`,
    ]) {
      for (const [method, form] of [['GET'], ['HEAD'], ['POST', approve]] as const) {
        const res = await call(method, bad, form);
        expect(res.statusCode, `${method} ${bad.slice(0, 40)}`).toBe(404);
        if (method === 'GET') pages.push(res.body ?? '');
      }
    }
    // One page for every way a link can be wrong.
    expect(new Set(pages).size).toBe(1);
    expect(await db.count(tables.operations)).toBe(before);
    expect((await call('GET', id)).statusCode).toBe(200);
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('deciding', () => {
  it('records who decided from the roster, with the basis, the plan, the policy version and the client', async () => {
    const { open, call, hold, decisions, store, idOf } = await setup({ size: 'small', policy: ROSTER });
    await hold();
    const { links } = await open();
    const id = await idOf('sre', links);
    const res = await call(
      'POST',
      id,
      { decision: 'approve', comment: 'Notify today', basis: 'ToS §7.2', name: 'Mallory' },
      { sourceIp: '203.0.113.9', userAgent: 'Mozilla/5.0 (iPhone)' },
    );
    expect(res.statusCode).toBe(303);
    expect(res.headers?.location).toBe(links.get('sre')?.path);
    const incident = await store.getIncident(ID);
    const [entry] = (await decisions()).filter((d) => d.kind === 'approval');
    expect(entry).toMatchObject({
      kind: 'approval',
      phase: 'Decide',
      world: 'RML3',
      actor: 'Sam SRE <sam@example.com>',
      role: 'sre',
      decision: 'approve',
      basis: { planVersion: 1, planHash: incident?.plan?.hash, policy: 'ToS §7.2' },
      detail: {
        name: 'Sam SRE',
        email: 'sam@example.com',
        comment: 'Notify today',
        basis: 'ToS §7.2',
        round: 1,
        policyVersion: incident?.approvalRound?.policyVersion,
      },
    });
    expect(JSON.stringify(entry)).not.toContain('Mallory');
    // The client is kept with the request (erasable), not on the append-only log.
    expect((await store.getApproval({ incidentId: ID, round: 1, role: 'sre' }))?.decision?.client).toEqual({
      ip: '203.0.113.9',
      userAgent: 'Mozilla/5.0 (iPhone)',
    });
    expect(JSON.stringify(entry)).not.toContain('203.0.113.9');
    const page = (await call('GET', id)).body ?? '';
    expect(page).toMatch(
      /<strong>Approved<\/strong> by <bdi>Sam SRE<\/bdi> \(sam@example\.com\) at <time [^>]+>22 Nov 10:30 UTC, just now<\/time>/,
    );
    expect(page).not.toContain('Record my decision');
    // One of two: the round waits on.
    expect(sfn.calls()).toHaveLength(0);
  });

  it('ends the round as soon as the quorum is reached, closing the request still pending', async () => {
    const { open, call, hold, successes, store, idOf } = await setup({
      policy: { ...ROSTER, sizes: { medium: { roles: ['legal', 'business', 'sre'], quorum: 2 } } },
    });
    await hold('decide-token');
    const { links } = await open();
    expect((await call('POST', await idOf('sre', links), approve)).statusCode).toBe(303);
    expect(successes()).toEqual([]);
    expect((await call('POST', await idOf('business', links), approve)).statusCode).toBe(303);
    expect(successes()).toEqual([
      { taskToken: 'decide-token', output: expect.stringContaining('"verdict":"approved"') },
    ]);
    expect((await store.getIncident(ID))?.approvalRound?.decided).toMatchObject({
      verdict: 'approved',
      reason: '2 of 3 approved (quorum 2)',
    });
    // Legal's link now says the round is over, and refuses a decision with 410.
    const legal = await idOf('legal', links);
    const page = (await call('GET', legal)).body ?? '';
    expect(page).toContain('<strong>Closed.</strong>');
    expect(page).toContain('Round 1 was decided before you did: Approved');
    expect(page).not.toContain('Record my decision');
    const late = await call('POST', legal, reject('too late?'));
    expect(late.statusCode).toBe(410);
    expect(late.body).toContain('can no longer be decided');
    expect(successes()).toHaveLength(1);
    expect(sfn.commandCalls(SendTaskFailureCommand)).toHaveLength(0);
  });

  it('lets a veto stop the round even after the others approved, and sends the reason back', async () => {
    const { open, call, hold, successes, failures, idOf, store, decisions } = await setup({
      size: 'large',
      policy: ROSTER,
    });
    await hold('decide-token');
    const { links } = await open();
    await call('POST', await idOf('business', links), approve);
    await call('POST', await idOf('sre', links), approve);
    expect(
      await call('POST', await idOf('legal', links), reject('GDPR Art. 34 needs a notice')),
    ).toMatchObject({
      statusCode: 303,
    });
    expect(successes()).toEqual([]);
    expect(failures()).toEqual([
      {
        taskToken: 'decide-token',
        error: 'Casebook.PlanRejected',
        cause: 'Vetoed: Legal rejected: GDPR Art. 34 needs a notice (Legal holds a veto)',
      },
    ]);
    expect((await decisions()).find((d) => d.kind === 'approval_round_decided')).toMatchObject({
      decision: 'vetoed',
      summary: 'Round 1 on plan v1: Vetoed: Legal rejected: GDPR Art. 34 needs a notice (Legal holds a veto)',
    });
    // The incident goes back to Understand with the round's own reason.
    const clock = testClock();
    await rejectPlan(
      { incidents: store, approvals: store, clock },
      { incidentId: ID, failure: { Cause: 'whatever the wait said' } },
    );
    expect((await store.getIncident(ID))?.planRejected?.reason).toBe(
      'Vetoed: Legal rejected: GDPR Art. 34 needs a notice (Legal holds a veto)',
    );
  });

  it('ends the round when rejections leave the quorum out of reach, closing the rest', async () => {
    const { open, call, hold, failures, idOf, store } = await setup({ size: 'small' });
    await hold('decide-token');
    const { links } = await open();
    await call('POST', await idOf('business', links), reject('The credit is missing'));
    expect(failures()).toEqual([
      {
        taskToken: 'decide-token',
        error: 'Casebook.PlanRejected',
        cause:
          'Rejected: the quorum of 2 of 2 can no longer be reached: Business rejected: The credit is missing',
      },
    ]);
    expect((await store.getApproval({ incidentId: ID, round: 1, role: 'sre' }))?.status).toBe('WITHDRAWN');
  });

  it('needs a reason to reject or ask for changes (400, nothing recorded), then sends the request for changes back', async () => {
    const { open, call, hold, failures, idOf, decisions } = await setup({ size: 'small' });
    await hold('decide-token');
    const id = await idOf('business', (await open()).links);
    for (const decision of ['reject', 'request-changes']) {
      const missing = await call('POST', id, { decision, comment: '  ' });
      expect(missing.statusCode).toBe(400);
      expect(missing.body).toContain('<code>comment</code>');
    }
    const notAForm = await call('POST', id);
    expect(notAForm.statusCode).toBe(400);
    expect(notAForm.body).toContain('content-type');
    expect((await decisions()).filter((d) => d.kind === 'approval')).toEqual([]);

    expect((await call('POST', id, changes('Add a goodwill credit'))).statusCode).toBe(303);
    expect(failures()).toEqual([
      {
        taskToken: 'decide-token',
        error: 'Casebook.PlanRejected',
        cause:
          'Changes requested: the quorum of 2 of 2 can no longer be reached: Business requested changes: Add a goodwill credit',
      },
    ]);
    expect((await decisions()).find((d) => d.kind === 'approval')).toMatchObject({
      decision: 'request-changes',
      summary: 'Business (Business approver) requested changes to plan v1: Add a goodwill credit',
    });
  });

  it('answers a second POST with 409 naming who decided and when, whatever it carries, and answers the wait once', async () => {
    const { open, call, hold, successes, idOf, decisions } = await setup({ size: 'small', policy: ROSTER });
    await hold('decide-token');
    const { links } = await open();
    const sre = await idOf('sre', links);
    await call('POST', sre, approve);
    await call('POST', await idOf('business', links), approve);
    for (const body of [approve, reject('changed my mind'), { decision: 'maybe' }, undefined]) {
      const again = await call('POST', sre, body);
      expect(again.statusCode).toBe(409);
      expect(again.body).toContain(
        'Already decided by Sam SRE (sam@example.com) at 22 Nov 10:30 UTC: SRE approved',
      );
    }
    expect((await decisions()).filter((d) => d.kind === 'approval')).toHaveLength(2);
    expect(successes()).toHaveLength(1);
  });

  it('finishes a decision that failed part-way when the approver posts again, then answers 409', async () => {
    const { open, call, hold, idOf, decisions } = await setup({ size: 'small' });
    sfn
      .on(SendTaskSuccessCommand)
      .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }))
      .resolves({});
    await hold('decide-token');
    const { links } = await open();
    await call('POST', await idOf('sre', links), approve);
    const business = await idOf('business', links);
    expect((await call('POST', business, approve)).statusCode).toBe(503);
    expect((await call('POST', business, approve)).statusCode).toBe(409);
    const calls = sfn.commandCalls(SendTaskSuccessCommand);
    expect(calls.map((c) => c.args[0].input.taskToken)).toEqual(['decide-token', 'decide-token']);
    expect((await decisions()).filter((d) => d.kind === 'approval')).toHaveLength(2);
    expect((await decisions()).filter((d) => d.kind === 'approval_round_decided')).toHaveLength(1);
    // Once answered, the wait is gone: a further post answers nothing.
    await call('POST', business, approve);
    expect(sfn.commandCalls(SendTaskSuccessCommand)).toHaveLength(2);
  });

  it('lets the wait find a round decided while the state machine was on its way to it', async () => {
    const { open, call, hold, idOf, failures } = await setup({ size: 'small' });
    const { links } = await open();
    await call('POST', await idOf('sre', links), reject('Not before the fix ships'));
    // Nothing waited yet: nothing was answered, and the wait, once entered, ends at once.
    expect(sfn.calls()).toHaveLength(0);
    expect(await hold('late-token')).toEqual({ settled: true });
    expect(failures()).toEqual([
      expect.objectContaining({ taskToken: 'late-token', error: 'Casebook.PlanRejected' }),
    ]);
  });

  it('keeps links good across a wait entered again, and refuses one from a replaced round with 410', async () => {
    const { open, call, hold, idOf, successes } = await setup({ size: 'small' });
    await hold('first-token');
    const { links } = await open();
    await call('POST', await idOf('sre', links), approve);
    // The round's deadline passed: the clock was read and the wait entered again, with a new token.
    await hold('second-token');
    await call('POST', await idOf('business', links), approve);
    expect(successes().map((s) => s.taskToken)).toEqual(['second-token']);

    const other = await setup({ size: 'small' });
    const id = await other.idOf('sre', (await other.open()).links);
    const incident = await other.store.getIncident(ID);
    if (!incident) throw new Error('no incident');
    await other.store.updateIncident(incident, { decideRound: 2 });
    const page = await other.call('GET', id);
    expect(page.body).not.toContain('Record my decision');
    expect(page.body).toContain('Approval round 2 replaced round 1.');
    const res = await other.call('POST', id, approve);
    expect(res.statusCode).toBe(410);
  });

  it('shows the approvers of the next round what changed since the plan they saw', async () => {
    const { open, call, hold, idOf, store, planDeps, pageDeps } = await setup({
      size: 'small',
      policy: ROSTER,
    });
    await hold('decide-token');
    const first = await open();
    await call('POST', await idOf('business', first.links), changes('Refund them too'));
    await rejectPlan(pageDeps, { incidentId: ID });
    await submitPlan(
      planDeps,
      ID,
      {
        summary: 'Refund and tell the customer',
        apply: [...APOLOGY.apply, { kind: 'refund', amount: '12.50', currency: 'EUR', obligation: 'tos' }],
        effects: [],
      },
      'sre@example.com',
    );
    const incident = await store.getIncident(ID);
    if (!incident) throw new Error('no incident');
    await store.updateIncident(incident, { decideRound: 2, decideRoundAt: '2026-11-22T11:00:00.000Z' });
    const second = await open(2);
    const mail = second.links.get('business')?.text ?? '';
    expect(mail).toContain('What changed since plan v1, which you saw:');
    expect(mail).toContain('- Added Refund EUR (ToS line): 1, EUR 12.50');
    const page = (await call('GET', await idOf('business', second.links))).body ?? '';
    expect(page).toContain('<h2>What changed since plan v1, which you saw in round 1</h2>');
    expect(page).toContain('<li><bdi>Summary was: Tell the customer</bdi></li>');
    expect((await store.getApproval({ incidentId: ID, round: 2, role: 'business' }))?.lastSeen).toMatchObject(
      {
        round: 1,
        version: 1,
      },
    );
  });
});

describe('the deadlines of a round', () => {
  /** Legal has a backup; SRE has none. */
  const BACKED: ApprovalPolicyInput = {
    approvers: {
      legal: {
        primary: { email: 'lee@example.com', name: 'Lee Legal' },
        backup: { email: 'lou@example.com', name: 'Lou Legal' },
      },
      business: { primary: { email: 'bo@example.com', name: 'Bo Business' } },
      sre: { primary: { email: 'sam@example.com', name: 'Sam SRE' } },
    },
  };

  /** A medium round that began at 10:00: reminders at 11:00, backups at 12:00, escalated at 13:00. */
  async function round() {
    const ctx = await setup({ policy: BACKED, deadlines: { decisionMinutes: 120, escalationMinutes: 60 } });
    // Acknowledged, and slow to breach (SEV3): the round's moments are the only ones in this hour.
    const incident = await ctx.store.getIncident(ID);
    if (!incident) throw new Error('no incident');
    await ctx.store.updateIncident(incident, {
      severity: 'SEV3',
      acknowledgedAt: '2026-11-22T09:05:00.000Z',
    });
    await ctx.hold();
    const { links } = await ctx.open();
    const mailsFrom = ses.commandCalls(SendEmailCommand).length;
    const mails = () =>
      ses
        .commandCalls(SendEmailCommand)
        .slice(mailsFrom)
        .map((c) => ({
          to: c.args[0].input.Destination?.ToAddresses?.[0] ?? '',
          subject: c.args[0].input.Message?.Subject?.Data ?? '',
          text: c.args[0].input.Message?.Body?.Text?.Data ?? '',
        }));
    const look = () => ctx.watch({ incidentId: ID, step: 'decide' });
    const timeline = async (type: string) =>
      (await ctx.store.listTimeline(ID)).filter((e) => e.type === type);
    return { ...ctx, links, mails, look, timeline };
  }

  it('reminds the undecided at half the deadline, asks the backups at the deadline and escalates at the final timeout, each once', async () => {
    const { links, call, idOf, mails, look, timeline, clock } = await round();
    await call('POST', await idOf('business', links), approve);

    // 10:30: nothing is due; the wait wakes at the reminder.
    expect(await look()).toEqual({ seconds: 30 * 60, escalated: 0 });
    expect(mails()).toEqual([]);

    // 11:00, half the deadline: the two still undecided are reminded, without a link.
    clock.advance(30 * 60_000);
    expect(await look()).toEqual({ seconds: 3600, escalated: 0 });
    const reminders = mails();
    expect(reminders.map((m) => m.to).sort()).toEqual(['lee@example.com', 'sam@example.com']);
    for (const m of reminders) {
      expect(m.subject).toMatch(
        /^\[SEV3\] INC-2026-0009: reminder — (Legal|SRE) approval needed by 22 Nov 12:00 UTC$/,
      );
      expect(m.text).not.toContain('/approvals/');
      expect(m.text).toContain('e-mailed to you at 22 Nov 10:30 UTC');
    }
    expect(reminders.find((m) => m.to === 'lee@example.com')?.text).toContain(
      'Lou Legal (lou@example.com) is asked as your backup',
    );
    expect(reminders.find((m) => m.to === 'sam@example.com')?.text).toContain(
      'If nobody has decided for SRE by 22 Nov 13:00 UTC, the SRE lead is told',
    );

    // 12:00, the deadline: Legal's backup is asked, by a link of their own; SRE has no backup.
    clock.advance(60 * 60_000);
    expect(await look()).toEqual({ seconds: 3600, escalated: 0 });
    const asked = mails().slice(2);
    expect(asked.map((m) => m.to)).toEqual(['lou@example.com']);
    expect(asked[0]?.subject).toContain('Legal approval needed');
    expect(asked[0]?.text).toContain(
      "You are asked as Legal's backup: Lee Legal (lee@example.com) had not decided by 22 Nov 12:00 UTC",
    );
    expect(asked[0]?.text).toContain('by 22 Nov 13:00 UTC');
    const backupId = decodeURIComponent(/\/approvals\/(\S+)/.exec(asked[0]?.text ?? '')?.[1] ?? '');
    expect(backupId).toMatch(new RegExp(`^${ID}\\.1\\.legal\\.[A-Za-z0-9_-]{43}$`));
    expect(backupId).not.toBe(await idOf('legal', links));
    const backupPage = (await call('GET', backupId)).body ?? '';
    expect(backupPage).toContain('This link is for <bdi>Lou Legal</bdi> (lou@example.com) alone');
    expect(backupPage).toContain("You are asked as Legal's backup");
    expect(backupPage).toMatch(/Your decision is needed by <time datetime="2026-11-22T13:00:00\.000Z"/);
    // The round's own decision deadline stays what it was: the backup has until the final timeout.
    expect(backupPage).toMatch(/Decision deadline <time datetime="2026-11-22T12:00:00\.000Z"/);
    const primaryPage = (await call('GET', await idOf('legal', links))).body ?? '';
    expect(primaryPage).toContain('<bdi>Lou Legal</bdi> (lou@example.com) was asked too, as your backup');

    // 13:00, the final timeout: escalated to the SRE lead and the responders, naming who is awaited.
    clock.advance(60 * 60_000);
    expect(await look()).toMatchObject({ escalated: 1 });
    const escalations = mails().slice(3);
    expect(escalations.map((m) => m.to).sort()).toEqual(['a@example.com', 'lead@example.com']);
    expect(escalations[0]?.subject).toContain('escalated — The approval round is still undecided');
    expect(escalations[0]?.text).toContain(
      '- Legal: Lee Legal (lee@example.com); backup Lou Legal (lou@example.com) asked 22 Nov 12:00 UTC',
    );
    expect(escalations[0]?.text).toContain('- SRE: Sam SRE (sam@example.com); no backup on the roster');

    // However often the clock is read now, nobody hears of any of it again.
    for (let i = 0; i < 3; i++) {
      clock.advance(60_000);
      expect((await look()).escalated).toBe(0);
    }
    expect(mails()).toHaveLength(5);
    expect((await timeline('approval_reminded')).map((e) => e.detail?.role).sort()).toEqual(['legal', 'sre']);
    expect(
      (await timeline('approval_requested'))
        .filter((e) => e.detail?.seat === 'backup')
        .map((e) => e.detail?.role),
    ).toEqual(['legal']);
    expect((await timeline('escalated')).map((e) => e.detail)).toEqual([
      expect.objectContaining({ kind: 'decision', due: '2026-11-22T13:00:00.000Z', step: 'decide' }),
    ]);
  });

  it('counts a late decision, the first for the role whichever link made it, and resumes the round', async () => {
    const { links, call, idOf, mails, look, clock, decisions, successes, store } = await round();
    clock.advance(150 * 60_000);
    await look();
    expect(await look()).toMatchObject({ escalated: 0 });
    const backupId = decodeURIComponent(
      /\/approvals\/(\S+)/.exec(mails().find((m) => m.to === 'lou@example.com')?.text ?? '')?.[1] ?? '',
    );

    // Past the final timeout, the backup approves for Legal; the primary's link is then spent.
    const late = await call(
      'POST',
      backupId,
      { decision: 'approve', comment: 'Lee is away' },
      {
        sourceIp: '198.51.100.7',
        userAgent: 'Mail/1.0',
      },
    );
    expect(late.statusCode).toBe(303);
    const primary = await idOf('legal', links);
    const again = await call('POST', primary, reject('Too late to object'));
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain(
      'Already decided by Lou Legal (lou@example.com) at 22 Nov 13:00 UTC: Legal approved',
    );
    const page = (await call('GET', primary)).body ?? '';
    expect(page).toMatch(
      /<strong>Approved<\/strong> by <bdi>Lou Legal<\/bdi> \(lou@example\.com\), as backup, at/,
    );
    expect(page).toContain('this link can no longer decide');
    const [legal] = (await decisions()).filter((d) => d.kind === 'approval');
    expect(legal).toMatchObject({
      actor: 'Lou Legal <lou@example.com>',
      role: 'legal',
      decision: 'approve',
      detail: { name: 'Lou Legal', email: 'lou@example.com', seat: 'backup' },
    });

    // The other two decide late too: the round is approved and its one wait answered.
    expect(successes()).toEqual([]);
    await call('POST', await idOf('business', links), approve);
    await call('POST', await idOf('sre', links), approve);
    expect(successes()).toHaveLength(1);
    expect((await store.getIncident(ID))?.approvalRound?.decided?.verdict).toBe('approved');
    // A decided round has met its deadline: the clock sends nothing more.
    const sent = mails().length;
    clock.advance(60 * 60_000);
    expect((await look()).escalated).toBe(0);
    expect(mails()).toHaveLength(sent);
  });

  it('asks a backup again when the step failed after asking and before the e-mail went out', async () => {
    const { look, clock, store } = await round();
    clock.advance(120 * 60_000);
    ses.reset();
    ses
      .on(SendEmailCommand)
      .resolvesOnce({ MessageId: 'reminder-lee' })
      .resolvesOnce({ MessageId: 'reminder-sam' })
      .resolvesOnce({ MessageId: 'reminder-bo' })
      .rejectsOnce(new Error('SES is down'))
      .resolves({ MessageId: 'm' });
    await expect(look()).rejects.toThrow();
    // The backup is on the request, not yet e-mailed: the timeline does not say it was asked.
    expect((await store.getApproval({ incidentId: ID, round: 1, role: 'legal' }))?.backup).toMatchObject({
      email: 'lou@example.com',
    });
    expect((await store.getApproval({ incidentId: ID, round: 1, role: 'legal' }))?.backup?.emailedAt).toBe(
      undefined,
    );
    await look();
    const toLou = ses
      .commandCalls(SendEmailCommand)
      .filter((c) => c.args[0].input.Destination?.ToAddresses?.[0] === 'lou@example.com');
    expect(toLou).toHaveLength(2);
    expect((await store.getApproval({ incidentId: ID, round: 1, role: 'legal' }))?.backup?.emailedAt).toEqual(
      expect.any(String),
    );
    await look();
    expect(
      ses
        .commandCalls(SendEmailCommand)
        .filter((c) => c.args[0].input.Destination?.ToAddresses?.[0] === 'lou@example.com'),
    ).toHaveLength(2);
  });
});
