import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbEffectStore } from '../../functions/adapters/dynamodb-effect-store.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { DynamoDbWorkroom } from '../../functions/adapters/dynamodb-workroom.ts';
import { SesMailer } from '../../functions/adapters/ses-mailer.ts';
import { DEFAULT_DEADLINE_POLICY } from '../../functions/domain/deadlines.ts';
import { pseudonym } from '../../functions/domain/ledger.ts';
import type { ApproverRole } from '../../functions/domain/vocabulary.ts';
import { linkStanding, parseWorkLinkId, personKey } from '../../functions/domain/work-link.ts';
import { makeRecordPhaseHandler } from '../../functions/record-phase/record-phase.ts';
import { invitePeople } from '../../functions/use-cases/invite-people.ts';
import { submitPlan } from '../../functions/use-cases/propose-plan.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase, testClock } from '../support/dynamodb.ts';
import { plainIncident } from '../support/incidents.ts';

const ses = mockClient(SESClient);
let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());
beforeEach(() => {
  ses.reset();
  ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
});

let n = 0;

async function setup() {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  const incident = plainIncident(++n);
  const ID = incident.id;
  await store.createIncident(incident);
  const effects = new DynamoDbEffectStore(db.doc, tables.operations);
  const links = new DynamoDbWorkroom(db.doc, tables.operations);
  const clock = testClock();
  const step = makeRecordPhaseHandler({
    incidents: store,
    approvals: store,
    links,
    told: links,
    mailer: new SesMailer(new SESClient({ region: 'us-east-1' }), 'casebook@example.com'),
    people: { responders: ['ana@example.com', 'lead@example.com'], sreLead: 'lead@example.com' },
    policy: DEFAULT_DEADLINE_POLICY,
    publicBaseUrl: 'https://casebook.example.com',
    clock,
  });
  const enter = (phase: string, entered = 't1', execution = ID) =>
    step({ kind: 'enter-phase', incidentId: ID, phase, execution, entered });
  /** A plan over one customer, submitted for approval (as the workroom's plan and submit-plan do). */
  const submitted = async () => {
    const now = await store.getIncident(ID);
    if (!now) throw new Error('no incident');
    await submitPlan(
      { incidents: store, effects, pseudonym: async (ref) => pseudonym(Buffer.alloc(32, 1), ref), clock },
      ID,
      { summary: 'Tell them', apply: [], effects: [] },
      'ana@example.com',
    );
  };
  const approve = async (round: number, roles: readonly ApproverRole[] = ['legal', 'business', 'sre']) => {
    const incident = await store.getIncident(ID);
    for (const role of roles) {
      const key = { incidentId: ID, round, role };
      await store.createApproval({
        ...key,
        approverEmail: `${role}@example.com`,
        approverName: `${role} approver`,
        status: 'PENDING',
        requestedAt: 't',
        planHash: incident?.plan?.hash ?? '',
        planVersion: incident?.plan?.version ?? 0,
        policyVersion: 'p',
        linkSecretHash: 'h',
      });
    }
    return roles;
  };
  /** Every item of the incident, without what a repeated call may touch: when it last ran. */
  const items = async () =>
    ((await db.raw.send(new ScanCommand({ TableName: tables.operations }))).Items ?? [])
      .map((item) => unmarshall(item))
      .filter((item) => String(item.pk).endsWith(ID))
      .map(({ updatedAt: _, ...rest }) => rest)
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return { ID, store, links, step, enter, submitted, approve, items };
}

describe('lifecycle steps (record-phase)', () => {
  it('invites the SRE lead and each responder once, with a link of their own that holds no token', async () => {
    const { ID, step, links, store } = await setup();
    const invite = () => step({ kind: 'invite', incidentId: ID, execution: ID });
    expect(await invite()).toEqual({ invited: 2 });
    // Invited again (a retried step, a restarted execution): nobody gets a second e-mail.
    expect(await invite()).toEqual({ invited: 2 });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(2);
    const mails = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input);
    expect(mails.map((m) => m.Destination?.ToAddresses?.[0]).sort()).toEqual([
      'ana@example.com',
      'lead@example.com',
    ]);
    for (const mail of mails) {
      const url = /https:\/\/casebook\.example\.com\/work\/(\S+)/.exec(
        mail.Message?.Body?.Text?.Data ?? '',
      )?.[1];
      const ref = parseWorkLinkId(url ?? '');
      const to = mail.Destination?.ToAddresses?.[0] ?? '';
      expect(ref?.person).toBe(personKey(ID, to));
      const link = await links.getWorkLink(ID, ref?.person ?? '');
      expect(link?.role).toBe(to === 'lead@example.com' ? 'sre_lead' : 'responder');
      // Only the secret's hash is kept.
      expect(JSON.stringify(link)).not.toContain(ref?.secret);
    }
    expect((await store.listTimeline(ID)).filter((e) => e.type === 'invited')).toHaveLength(2);
  });

  it('keeps the link already e-mailed working when the process dies before marking it e-mailed', async () => {
    const { ID, links, store } = await setup();
    const clock = testClock();
    const deps = {
      incidents: store,
      links,
      mailer: new SesMailer(new SESClient({ region: 'us-east-1' }), 'casebook@example.com'),
      people: { responders: ['ana@example.com'], sreLead: 'lead@example.com' },
      policy: DEFAULT_DEADLINE_POLICY,
      publicBaseUrl: 'https://casebook.example.com',
      clock,
    };
    // The e-mail was accepted; the process died before it was marked sent.
    const dying = Object.create(links) as DynamoDbWorkroom;
    dying.markWorkLinkEmailed = async () => {
      throw new Error('kill -9');
    };
    await expect(invitePeople({ ...deps, links: dying }, { incidentId: ID })).rejects.toThrow('kill -9');
    // The retried step invites again: the link in the inbox and the new one both open the workroom.
    expect(await invitePeople(deps, { incidentId: ID })).toEqual({ invited: 2 });
    const secrets = ses
      .commandCalls(SendEmailCommand)
      .filter((c) => c.args[0].input.Destination?.ToAddresses?.[0] === 'lead@example.com')
      .map((c) =>
        parseWorkLinkId(/\/work\/(\S+)/.exec(c.args[0].input.Message?.Body?.Text?.Data ?? '')?.[1] ?? ''),
      );
    expect(secrets).toHaveLength(2);
    const link = await links.getWorkLink(ID, personKey(ID, 'lead@example.com'));
    expect(link?.emailedAt).toBeDefined();
    for (const ref of secrets)
      expect(linkStanding(link, ref?.secret ?? '', clock.now())).toEqual({ status: 200 });
    // Invited again once marked: nobody gets a third e-mail.
    await invitePeople(deps, { incidentId: ID });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(3);
  });

  it('moves through the phases: Decide needs a submitted plan and opens one round per entry', async () => {
    const { ID, store, enter, submitted } = await setup();
    await enter('Detect');
    // Nobody acknowledged: the workflow does not claim anyone is investigating.
    expect(await enter('Contain')).toMatchObject({ status: 'OPEN', phase: 'Contain' });
    await enter('Understand');
    expect((await store.getIncident(ID))?.plan).toBeUndefined();
    await expect(enter('Decide')).rejects.toThrow(/no submitted plan/);
    await submitted();
    expect(await enter('Decide', 't2')).toMatchObject({ round: 1, phase: 'Decide' });
    // A retried Decide step (the same state entry) does not open another round; a new entry does.
    expect(await enter('Decide', 't2')).toMatchObject({ round: 1 });
    expect(await enter('Decide', 't3')).toMatchObject({ round: 2 });
    const timeline = await store.listTimeline(ID);
    expect(timeline.filter((t) => t.type === 'phase_entered').map((t) => t.phase)).toEqual([
      'Detect',
      'Contain',
      'Understand',
      'Decide',
      'Decide',
    ]);
  });

  it('a rejection records the plan version, withdraws what is pending, and counts the rounds left', async () => {
    const { ID, store, enter, step, submitted, approve } = await setup();
    await submitted();
    await enter('Decide');
    await approve(1);
    const answer = await step({
      kind: 'plan-rejected',
      incidentId: ID,
      execution: ID,
      failure: { Error: 'Casebook.PlanRejected', Cause: 'Legal rejected plan v1: no refund' },
    });
    expect(answer).toEqual({ roundsLeft: 4 });
    const incident = await store.getIncident(ID);
    expect(incident?.planSubmitted).toBeUndefined();
    expect(incident?.planRejected).toMatchObject({ version: 1, reason: 'Legal rejected plan v1: no refund' });
    expect((await store.listApprovals(ID, 1)).every((a) => a.status === 'WITHDRAWN')).toBe(true);
  });

  it('withdraws what is still pending when a new round replaces it, and when the lifecycle halts', async () => {
    const { ID, store, enter, step, submitted, approve } = await setup();
    await submitted();
    await enter('Decide');
    await approve(1);
    await enter('Decide', 't1', `${ID}-r2`);
    const round1 = await store.listApprovals(ID, 1);
    expect(round1.map((a) => [a.status, a.withdrawnReason])).toEqual([
      ['WITHDRAWN', 'Replaced by approval round 2.'],
      ['WITHDRAWN', 'Replaced by approval round 2.'],
      ['WITHDRAWN', 'Replaced by approval round 2.'],
    ]);
    await approve(2);
    await step({
      kind: 'halt',
      incidentId: ID,
      execution: `${ID}-r2`,
      reason: 'failed',
      failure: { Error: 'States.Runtime' },
    });
    expect((await store.listApprovals(ID, 2)).every((a) => a.status === 'WITHDRAWN')).toBe(true);
    expect((await store.getIncident(ID))?.halted).toMatchObject({
      reason: 'failed',
      error: 'States.Runtime',
    });
  });

  // After a crash the local Step Functions server invokes again a step whose result it had not
  // recorded (Step Functions on AWS does the same with a retried invocation): a step invoked twice with
  // the same input must answer the same and change nothing the second time.
  it('answers the same and changes nothing when any step is invoked twice with the same input', async () => {
    const { ID, step, approve, store, items, submitted } = await setup();
    const twice = async (input: Record<string, unknown>) => {
      const first = await step(input);
      const after = await items();
      expect(await step(input), JSON.stringify(input)).toEqual(first);
      expect(await items(), JSON.stringify(input)).toEqual(after);
    };
    await twice({ kind: 'enter-phase', incidentId: ID, phase: 'Detect', execution: ID, entered: 't' });
    await twice({ kind: 'invite', incidentId: ID, execution: ID });
    for (const phase of ['Contain', 'Understand']) {
      await twice({ kind: 'enter-phase', incidentId: ID, phase, execution: ID, entered: 't' });
    }
    await submitted();
    await twice({ kind: 'enter-phase', incidentId: ID, phase: 'Decide', execution: ID, entered: 't' });
    await approve(1, ['legal']);
    await twice({ kind: 'plan-rejected', incidentId: ID, execution: ID, failure: { Cause: 'no' } });
    await submitted();
    await twice({ kind: 'enter-phase', incidentId: ID, phase: 'Decide', execution: ID, entered: 't2' });
    for (const role of await approve(2)) {
      await store.settleApproval({ incidentId: ID, round: 2, role }, 'APPROVED', {
        decision: { decision: 'approve', seat: 'primary', name: role, comment: '', at: 't' },
      });
    }
    for (const phase of ['Act', 'Learn'])
      await twice({ kind: 'enter-phase', incidentId: ID, phase, execution: ID, entered: 't' });
    await twice({
      kind: 'halt',
      incidentId: ID,
      execution: ID,
      reason: 'failed',
      failure: { Error: 'X', Cause: 'y' },
    });
    await twice({ kind: 'close', incidentId: ID, execution: ID });
  });

  it('closes with a status change on the timeline, and refuses to move a closed incident', async () => {
    const { ID, store, enter, step } = await setup();
    expect(await step({ kind: 'close', incidentId: ID, execution: ID })).toMatchObject({ status: 'CLOSED' });
    const change = (await store.listTimeline(ID)).find((e) => e.type === 'status_changed');
    expect(change?.detail).toMatchObject({ from: 'OPEN', to: 'CLOSED', by: 'casebook' });
    await expect(enter('Act')).rejects.toThrow(/CLOSED/);
  });

  it('escalates a ledger that could not be anchored on closing, once per execution', async () => {
    const { ID, store, step } = await setup();
    await step({ kind: 'close', incidentId: ID, execution: ID });
    const failed = {
      kind: 'anchor-failed',
      incidentId: ID,
      execution: ID,
      failure: { Error: 'AccessDenied', Cause: 'Access Denied' },
    };
    expect(await step(failed)).toEqual({ escalated: true });
    expect(await step(failed)).toEqual({ escalated: false });
    // Closing told everyone once; the escalation goes to the SRE lead and the responders.
    const sent = ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input);
    const closed = sent.filter((m) => m.Message?.Subject?.Data?.includes('closed —'));
    expect(closed.map((m) => m.Destination?.ToAddresses?.[0]).sort()).toEqual([
      'ana@example.com',
      'lead@example.com',
    ]);
    const escalations = sent.filter((m) => m.Message?.Subject?.Data?.includes('could not be anchored'));
    expect(escalations.map((m) => m.Destination?.ToAddresses?.[0]).sort()).toEqual([
      'ana@example.com',
      'lead@example.com',
    ]);
    const escalated = (await store.listTimeline(ID)).filter((e) => e.type === 'escalated');
    expect(escalated.map((e) => e.detail?.kind)).toEqual(['anchor']);
  });

  it('ends the execution of a cancelled incident from whichever step finds out (Casebook.Cancelled)', async () => {
    const { ID, store, enter } = await setup();
    const incident = await store.getIncident(ID);
    if (!incident) throw new Error('no incident');
    await store.updateIncident(incident, { status: 'CANCELLED' });
    await expect(enter('Contain')).rejects.toMatchObject({ name: 'Casebook.Cancelled' });
  });

  it('rejects a payload the ASL would never send', async () => {
    const { ID, step } = await setup();
    // zod names the field; Lambda reports the name as the errorType the ASL's Catch sees.
    await expect(
      step({ kind: 'enter-phase', incidentId: ID, phase: 'Panic', execution: ID, entered: 't' }),
    ).rejects.toMatchObject({ name: 'ZodError', issues: [expect.objectContaining({ path: ['phase'] })] });
    await expect(
      step({
        kind: 'enter-phase',
        incidentId: 'INC-2026-9999',
        phase: 'Detect',
        execution: 'x',
        entered: 't',
      }),
    ).rejects.toMatchObject({
      name: 'Casebook.IncidentNotFound',
    });
  });
});
