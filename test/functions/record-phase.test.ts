import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbEffectStore } from '../../functions/adapters/dynamodb-effect-store.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { classify } from '../../functions/domain/alert.ts';
import { openIncident } from '../../functions/domain/incident.ts';
import { pseudonym } from '../../functions/domain/ledger.ts';
import type { ApproverRole } from '../../functions/domain/vocabulary.ts';
import { makeRecordPhaseHandler } from '../../functions/record-phase/record-phase.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase, testClock } from '../support/dynamodb.ts';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());

const ID = 'INC-2026-0021';

async function setup() {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  await store.createIncident(
    openIncident(
      ID,
      {
        source: 'alertmanager',
        correlationKey: 'k',
        deliveryKey: 'd',
        occurrences: ['f@2026-11-22T09:00:00.000Z'],
        status: 'firing',
        title: 'Credits applied twice',
        labels: {},
        annotations: {},
        alerts: [],
        startedAt: '2026-11-22T09:00:00.000Z',
        customerContacts: ['kim@example.com'],
      },
      classify({}),
      '2026-11-22T09:00:00.000Z',
    ),
  );
  const effects = new DynamoDbEffectStore(db.doc, tables.operations);
  const step = makeRecordPhaseHandler({
    incidents: store,
    approvals: store,
    effects,
    pseudonym: async (ref) => pseudonym(Buffer.alloc(32, 1), ref),
    clock: testClock(),
  });
  const enter = (phase: string, execution = ID) =>
    step({ kind: 'enter-phase', incidentId: ID, phase, execution });
  const approve = async (round: number, roles: readonly ApproverRole[] = ['legal', 'business', 'sre']) => {
    const incident = await store.getIncident(ID);
    for (const role of roles) {
      const key = { incidentId: ID, round, role };
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
    }
    return roles;
  };
  /** Every item of the operational table, without what a repeated call may touch: when it last ran. */
  const items = async () =>
    ((await db.raw.send(new ScanCommand({ TableName: tables.operations }))).Items ?? [])
      .map((item) => unmarshall(item))
      .map(({ updatedAt: _, ...rest }) => rest)
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return { store, effects, step, enter, approve, items };
}

describe('lifecycle steps (record-phase)', () => {
  it('moves through the phases, proposing a plan in Understand and opening round 1 in Decide', async () => {
    const { store, effects, enter } = await setup();
    await enter('Detect');
    expect(await enter('Contain')).toMatchObject({ status: 'INVESTIGATING', phase: 'Contain' });
    await enter('Understand');
    const incident = await store.getIncident(ID);
    expect(incident?.plan).toMatchObject({
      version: 1,
      effectCount: 1,
      proposedBy: 'casebook (default plan)',
    });
    const planned = await effects.listEffects(ID, 1);
    expect(planned.items.map((e) => [e.effectId, e.kind, e.template, e.counterparty])).toEqual([
      ['P1-E1', 'notice', 'apology', pseudonym(Buffer.alloc(32, 1), `${ID}-C1`)],
    ]);
    // The customer's address is in the customer list only: not in the plan, not in the effect.
    expect(JSON.stringify({ plan: incident?.plan, planned })).not.toContain('kim@example.com');
    expect((await effects.getCustomer(ID, 1, `${ID}-C1`))?.email).toBe('kim@example.com');
    expect(await enter('Decide')).toMatchObject({ round: 1, phase: 'Decide' });
    // A retried Decide step of the same execution does not open another round.
    expect(await enter('Decide')).toMatchObject({ round: 1 });
    const timeline = await store.listTimeline(ID);
    expect(timeline.filter((t) => t.type === 'phase_entered').map((t) => t.phase)).toEqual([
      'Detect',
      'Contain',
      'Understand',
      'Decide',
    ]);
  });

  it('withdraws what is still pending when a new round replaces it, and when the lifecycle halts', async () => {
    const { store, enter, step, approve } = await setup();
    await enter('Understand');
    await enter('Decide');
    await approve(1);
    await enter('Decide', `${ID}-r2`);
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
      reason: 'approvals-timed-out',
      failure: { Error: 'States.Timeout' },
    });
    expect((await store.listApprovals(ID, 2)).every((a) => a.status === 'WITHDRAWN')).toBe(true);
    expect((await store.getIncident(ID))?.halted).toMatchObject({
      reason: 'approvals-timed-out',
      error: 'States.Timeout',
    });
  });

  // After a crash the local Step Functions server invokes again a step whose result it had not
  // recorded (Step Functions on AWS does the same with a retried invocation): a step invoked twice with
  // the same input must answer the same and change nothing the second time.
  it('answers the same and changes nothing when any step is invoked twice with the same input', async () => {
    const { step, approve, store, items } = await setup();
    const twice = async (input: Record<string, unknown>) => {
      const first = await step(input);
      const after = await items();
      expect(await step(input), JSON.stringify(input)).toEqual(first);
      expect(await items(), JSON.stringify(input)).toEqual(after);
    };
    for (const phase of ['Detect', 'Contain', 'Understand', 'Decide']) {
      await twice({ kind: 'enter-phase', incidentId: ID, phase, execution: ID });
    }
    for (const role of await approve(1)) {
      await store.settleApproval({ incidentId: ID, round: 1, role }, 'APPROVED', {
        decision: { decision: 'approve', name: role, comment: '', at: 't' },
      });
    }
    for (const phase of ['Act', 'Learn'])
      await twice({ kind: 'enter-phase', incidentId: ID, phase, execution: ID });
    await twice({
      kind: 'halt',
      incidentId: ID,
      execution: ID,
      reason: 'failed',
      failure: { Error: 'X', Cause: 'y' },
    });
    await twice({ kind: 'close', incidentId: ID, execution: ID });
  });

  it('closes, and refuses to move a closed incident', async () => {
    const { enter, step } = await setup();
    expect(await step({ kind: 'close', incidentId: ID, execution: ID })).toMatchObject({ status: 'CLOSED' });
    await expect(enter('Act')).rejects.toThrow(/CLOSED/);
  });

  it('rejects a payload the ASL would never send', async () => {
    const { step } = await setup();
    // zod names the field; Lambda reports the name as the errorType the ASL's Catch sees.
    await expect(
      step({ kind: 'enter-phase', incidentId: ID, phase: 'Panic', execution: ID }),
    ).rejects.toMatchObject({ name: 'ZodError', issues: [expect.objectContaining({ path: ['phase'] })] });
    await expect(
      step({ kind: 'enter-phase', incidentId: 'INC-2026-9999', phase: 'Detect', execution: 'x' }),
    ).rejects.toMatchObject({
      name: 'Casebook.IncidentNotFound',
    });
  });
});
