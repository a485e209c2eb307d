import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { SesMailer } from '../../functions/adapters/ses-mailer.ts';
import { makeCarryOutEffectHandler } from '../../functions/carry-out-effect/carry-out-effect.ts';
import { classify } from '../../functions/domain/alert.ts';
import { openIncident } from '../../functions/domain/incident.ts';
import { effectState, verifyChain } from '../../functions/domain/ledger.ts';
import { proposeDefaultPlan } from '../../functions/domain/plan.ts';
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
  ses.on(SendEmailCommand).resolves({ MessageId: 'ses-message-1' });
});

async function setup() {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  const ledger = db.ledger(tables.ledger);
  const base = openIncident(
    'INC-2026-0011',
    {
      source: 'alertmanager',
      correlationKey: 'k',
      deliveryKey: 'd',
      occurrences: ['f@2026-11-22T09:00:00.000Z'],
      status: 'firing',
      title: 'Statements sent to the wrong party',
      labels: {},
      annotations: {},
      alerts: [],
      startedAt: '2026-11-22T09:00:00.000Z',
      customerContacts: ['pat@example.com'],
      customerSummary: 'your statement was emailed to another customer by mistake.',
    },
    classify({}),
    '2026-11-22T09:00:00.000Z',
  );
  const plan = proposeDefaultPlan(base, '2026-11-22T09:01:00.000Z');
  await store.createIncident({ ...base, phase: 'Act', plan });
  const handler = makeCarryOutEffectHandler({
    incidents: store,
    ledger,
    mailer: new SesMailer(new SESClient({ region: 'us-east-1' }), 'casebook@example.com'),
    clock: testClock(),
  });
  const effect = plan.effects[0];
  if (!effect) throw new Error('the plan has no effect');
  return { ledger, handler, effect, store };
}

describe('carrying out a customer notice', () => {
  it('sends it once and records intent and completion with the SES message id', async () => {
    const { handler, effect, ledger } = await setup();
    const result = await handler({ incidentId: 'INC-2026-0011', effect });
    expect(result).toMatchObject({ effectId: 'P1-E1', outcome: 'completed' });
    const mail = ses.commandCalls(SendEmailCommand)[0]?.args[0].input;
    expect(mail?.Destination?.ToAddresses).toEqual(['pat@example.com']);
    expect(mail?.Message?.Body?.Text?.Data).toContain(
      'your statement was emailed to another customer by mistake.',
    );
    const entries = await ledger.read('INC-2026-0011');
    expect(entries.map((e) => [e.kind, effectState(e), e.phase, e.world])).toEqual([
      ['notice', 'intent', 'Act', 'RML3'],
      ['notice', 'confirmed', 'Act', 'RML3'],
    ]);
    expect(entries[1]).toMatchObject({
      providerRef: 'ses-message-1',
      effectId: 'P1-E1',
      detail: { attempt: 1 },
    });
    // The customer is named in the operational store only, never in the ledger.
    expect(JSON.stringify(entries)).not.toContain('pat@example.com');
    expect(await verifyChain('INC-2026-0011', entries, db.sealer)).toEqual([]);
  });

  it('does not send again when the Map item is retried after success', async () => {
    const { handler, effect, ledger } = await setup();
    await handler({ incidentId: 'INC-2026-0011', effect });
    const again = await handler({ incidentId: 'INC-2026-0011', effect });
    expect(again.outcome).toBe('already-completed');
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
    expect(await ledger.read('INC-2026-0011')).toHaveLength(2);
  });

  it('records a failed send and lets the retry send it as attempt 2', async () => {
    const { handler, effect, ledger } = await setup();
    ses
      .on(SendEmailCommand)
      // SES answered 400: it did not take the email, so a retry may send it.
      .rejectsOnce(
        Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } }),
      )
      .resolves({ MessageId: 'ses-message-2' });
    await expect(handler({ incidentId: 'INC-2026-0011', effect })).rejects.toMatchObject({
      name: 'Casebook.DependencyUnavailable',
    });
    const retried = await handler({ incidentId: 'INC-2026-0011', effect });
    expect(retried.outcome).toBe('completed');
    const entries = await ledger.read('INC-2026-0011');
    expect(entries.map((e) => [effectState(e), e.detail.attempt])).toEqual([
      ['intent', 1],
      ['failed', 1],
      ['intent', 2],
      ['confirmed', 2],
    ]);
  });

  it('stops in doubt, and never resends, when a send ends without an answer', async () => {
    const { handler, effect, ledger } = await setup();
    ses.on(SendEmailCommand).rejects(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    await expect(handler({ incidentId: 'INC-2026-0011', effect })).rejects.toMatchObject({
      name: 'Casebook.EffectInDoubt',
    });
    await expect(handler({ incidentId: 'INC-2026-0011', effect })).rejects.toMatchObject({
      name: 'Casebook.EffectInDoubt',
    });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
    expect((await ledger.read('INC-2026-0011')).map(effectState)).toEqual(['intent']);
  });

  it('sends once when a retry overlaps the run it retries', async () => {
    const { handler, effect } = await setup();
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => {
      release = resolve;
    });
    ses.on(SendEmailCommand).callsFake(async () => {
      await slow;
      return { MessageId: 'ses-slow' };
    });
    const first = handler({ incidentId: 'INC-2026-0011', effect });
    // The overlapping run reads the chain after the first recorded its intent.
    await new Promise((r) => setTimeout(r, 100));
    const second = handler({ incidentId: 'INC-2026-0011', effect });
    const secondOutcome = await second.then(
      () => 'completed',
      (e: Error) => e.name,
    );
    release();
    expect((await first).outcome).toBe('completed');
    expect(secondOutcome).toBe('Casebook.EffectInDoubt');
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
  });

  it('refuses to resend when an earlier attempt recorded its intent but no outcome', async () => {
    const { handler, effect, ledger } = await setup();
    // The first attempt died between recording its intent and learning whether SES took the email.
    await ledger.append('INC-2026-0011', {
      log: 'effect',
      kind: 'notice',
      world: 'RML3',
      phase: 'Act',
      at: '2026-11-22T10:00:00.000Z',
      actor: 'casebook (Act)',
      idempotencyKey: 'P1-E1:1:intent',
      summary: 'Customer notice P1-E1: intent',
      effectId: 'P1-E1',
      state: 'intent',
      detail: { attempt: 1 },
    });
    await expect(handler({ incidentId: 'INC-2026-0011', effect })).rejects.toMatchObject({
      name: 'Casebook.EffectInDoubt',
    });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });

  it('sends nothing when the notice would differ from the one the approvers read', async () => {
    const { handler, effect, store, ledger } = await setup();
    const incident = await store.getIncident('INC-2026-0011');
    if (!incident) throw new Error('no incident');
    await store.saveIncident({ ...incident, customerSummary: 'something nobody approved.' });
    await expect(handler({ incidentId: 'INC-2026-0011', effect })).rejects.toThrow(
      /no longer matches the one approved/,
    );
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
    expect(await ledger.read('INC-2026-0011')).toEqual([]);
  });

  it('refuses an effect the incident plan does not contain', async () => {
    const { handler, effect } = await setup();
    await expect(
      handler({ incidentId: 'INC-2026-0011', effect: { ...effect, effectId: 'P9-E9' } }),
    ).rejects.toThrow(/no approved effect P9-E9/);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });
});
