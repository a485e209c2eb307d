/**
 * The contract the local Step Functions server relies on after a crash (and Step Functions on AWS on
 * a retried Lambda invocation): a task whose result was not recorded is invoked again with the same
 * input, so every handler the ASL invokes — record-phase, request-approval, carry-out-effect — must
 * do nothing more the second time. Each test invokes a handler twice with the same input and checks
 * the answer and every table, and the e-mails.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { SesMailer } from '../../functions/adapters/ses-mailer.ts';
import { makeCarryOutEffectHandler } from '../../functions/carry-out-effect/carry-out-effect.ts';
import { classify } from '../../functions/domain/alert.ts';
import { openIncident } from '../../functions/domain/incident.ts';
import { APPROVER_ROLES } from '../../functions/domain/vocabulary.ts';
import { makeRecordPhaseHandler } from '../../functions/record-phase/record-phase.ts';
import { makeRequestApprovalHandler } from '../../functions/request-approval/request-approval.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase, testClock } from '../support/dynamodb.ts';

const ses = mockClient(SESClient);
let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());
beforeEach(() => {
  ses.reset();
  ses.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });
});

const ID = 'INC-2026-0042';

async function setup() {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  const ledger = new DynamoDbLedger(db.doc, tables.ledger);
  const clock = testClock();
  await store.createIncident(
    openIncident(
      ID,
      {
        source: 'alertmanager',
        correlationKey: 'k',
        deliveryKey: 'd',
        occurrences: ['f@2026-11-22T09:00:00.000Z'],
        status: 'firing',
        title: 'Customers charged twice',
        labels: {},
        annotations: {},
        alerts: [],
        startedAt: '2026-11-22T09:00:00.000Z',
        customerContacts: ['ada@example.com', 'grace@example.com'],
        customerSummary: 'you were charged twice.',
      },
      classify({}),
      '2026-11-22T09:00:00.000Z',
    ),
  );
  const mailer = new SesMailer(new SESClient({ region: 'us-east-1' }), 'casebook@example.com');
  const recordPhase = makeRecordPhaseHandler({ incidents: store, approvals: store, clock });
  const requestApproval = makeRequestApprovalHandler({
    incidents: store,
    approvals: store,
    mailer,
    clock,
    publicBaseUrl: 'https://casebook.example.com',
    approvers: { legal: 'legal@example.com', business: 'business@example.com', sre: 'sre@example.com' },
  });
  const carryOutEffect = makeCarryOutEffectHandler({ incidents: store, ledger, mailer, clock });
  /** Every item of both tables, without the fields a repeated call may touch: when it last ran. */
  const tablesNow = async () => {
    const scan = async (table: string) =>
      ((await db.raw.send(new ScanCommand({ TableName: table }))).Items ?? [])
        .map((item) => unmarshall(item))
        .map(({ updatedAt: _, ...rest }) => rest)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    return { operations: await scan(tables.operations), ledger: await scan(tables.ledger) };
  };
  return { store, recordPhase, requestApproval, carryOutEffect, tablesNow };
}

/** Invokes `handler` twice with the same input; returns both answers and the tables after each. */
async function twice<I, O>(
  handler: (input: I) => Promise<O>,
  input: I,
  tablesNow: () => Promise<unknown>,
): Promise<{ first: O; second: O; afterFirst: unknown; afterSecond: unknown; emails: number }> {
  const first = await handler(input);
  const afterFirst = await tablesNow();
  const emails = ses.commandCalls(SendEmailCommand).length;
  const second = await handler(input);
  return { first, second, afterFirst, afterSecond: await tablesNow(), emails };
}

describe('handlers invoked twice with the same input', () => {
  it('record-phase: every step of the lifecycle answers the same and changes nothing the second time', async () => {
    const { store, recordPhase, tablesNow } = await setup();
    const steps: Record<string, unknown>[] = ['Detect', 'Contain', 'Understand', 'Decide'].map((phase) => ({
      kind: 'enter-phase',
      incidentId: ID,
      phase,
      execution: ID,
    }));
    for (const step of steps) {
      const { first, second, afterFirst, afterSecond } = await twice(recordPhase, step, tablesNow);
      expect(second, `${step.phase}`).toEqual(first);
      expect(afterSecond, `${step.phase}`).toEqual(afterFirst);
    }
    // Act hands over the effects only once every role approved the plan of the round.
    const incident = await store.getIncident(ID);
    for (const role of APPROVER_ROLES) {
      const key = { incidentId: ID, round: 1, role };
      await store.createApproval(
        {
          ...key,
          approverEmail: `${role}@example.com`,
          status: 'PENDING',
          requestedAt: 't',
          planHash: incident?.plan?.hash ?? '',
          planVersion: incident?.plan?.version ?? 0,
          linkSecretHash: 'h',
        },
        `token-${role}`,
      );
      await store.settleApproval(key, 'APPROVED', {
        decision: { decision: 'approve', name: role, comment: '', at: 't' },
      });
    }
    for (const step of [
      { kind: 'enter-phase', incidentId: ID, phase: 'Act', execution: ID },
      { kind: 'enter-phase', incidentId: ID, phase: 'Learn', execution: ID },
      { kind: 'halt', incidentId: ID, reason: 'failed', failure: { Error: 'X', Cause: 'y' }, execution: ID },
      { kind: 'close', incidentId: ID, execution: ID },
    ]) {
      const { first, second, afterFirst, afterSecond } = await twice(recordPhase, step, tablesNow);
      expect(second, step.kind).toEqual(first);
      expect(afterSecond, step.kind).toEqual(afterFirst);
    }
  });

  it('request-approval: one e-mail, and the approval keeps the same link and token', async () => {
    const { recordPhase, requestApproval, store, tablesNow } = await setup();
    for (const phase of ['Detect', 'Contain', 'Understand', 'Decide']) {
      await recordPhase({ kind: 'enter-phase', incidentId: ID, phase, execution: ID });
    }
    const input = { taskToken: 'the-token', incidentId: ID, round: 1, role: 'legal' };
    const { first, second, afterFirst, afterSecond, emails } = await twice(requestApproval, input, tablesNow);
    expect(first).toEqual({ emailed: true });
    expect(second).toEqual({ emailed: false });
    expect(emails).toBe(1);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
    expect(afterSecond).toEqual(afterFirst);
    expect(await store.getTaskToken({ incidentId: ID, round: 1, role: 'legal' })).toBe('the-token');
  });

  it('carry-out-effect: one notice, one intent and one completion in the ledger, the same entry answered', async () => {
    const { recordPhase, carryOutEffect, store, tablesNow } = await setup();
    for (const phase of ['Detect', 'Contain', 'Understand']) {
      await recordPhase({ kind: 'enter-phase', incidentId: ID, phase, execution: ID });
    }
    const effect = (await store.getIncident(ID))?.plan?.effects[0];
    if (!effect) throw new Error('the plan has no effect');
    const { first, second, afterFirst, afterSecond, emails } = await twice(
      carryOutEffect,
      { incidentId: ID, effect },
      tablesNow,
    );
    expect(first).toMatchObject({ effectId: effect.effectId, outcome: 'completed' });
    expect(second).toEqual({ ...first, outcome: 'already-completed' });
    expect(emails).toBe(1);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
    expect(afterSecond).toEqual(afterFirst);
  });
});
