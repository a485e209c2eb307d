import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { DynamoDbWaits } from '../../functions/adapters/dynamodb-waits.ts';
import { SesMailer } from '../../functions/adapters/ses-mailer.ts';
import { DEFAULT_DEADLINE_POLICY } from '../../functions/domain/deadlines.ts';
import { makeWatchDeadlinesHandler } from '../../functions/watch-deadlines/watch-deadlines.ts';
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

async function setup(n: number, start: string) {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  const waits = new DynamoDbWaits(db.doc, tables.operations);
  const incident = plainIncident(n);
  await store.createIncident(incident);
  const clock = testClock(start);
  const watch = makeWatchDeadlinesHandler({
    incidents: store,
    questions: waits,
    waits,
    mailer: new SesMailer(new SESClient({ region: 'us-east-1' }), 'casebook@example.com'),
    people: { sreLead: 'lead@example.com', responders: ['a@example.com', 'lead@example.com'] },
    policy: DEFAULT_DEADLINE_POLICY,
    clock,
  });
  const sent = () =>
    ses.commandCalls(SendEmailCommand).map((c) => ({
      to: c.args[0].input.Destination?.ToAddresses?.[0],
      subject: c.args[0].input.Message?.Subject?.Data ?? '',
    }));
  return { store, waits, incident, clock, watch, sent };
}

describe('reading the clock of an incident that waits for people', () => {
  it('answers how long to wait: until the next deadline, and escalates nothing before it', async () => {
    // SEV2, detected 09:01: the response target is 10:01.
    const { incident, watch, sent } = await setup(1, '2026-11-22T09:31:00.000Z');
    expect(incident.severity).toBe('SEV2');
    expect(await watch({ incidentId: incident.id, step: 'contain' })).toEqual({
      seconds: 1800,
      escalated: 0,
    });
    expect(sent()).toEqual([]);
  });

  it('escalates a missed response target once, to the SRE lead and the responders, however often it looks', async () => {
    const { store, incident, clock, watch, sent } = await setup(2, '2026-11-22T10:30:00.000Z');
    expect(await watch({ incidentId: incident.id, step: 'contain' })).toMatchObject({ escalated: 1 });
    clock.advance(5 * 60_000);
    // Looked at again (the wait timed out, a retry, a restart): nothing more.
    const again = await watch({ incidentId: incident.id, step: 'contain' });
    expect(again.escalated).toBe(0);
    // …and the next look is at the resolution target (17:02), at most an hour away.
    expect(again.seconds).toBe(3600);
    expect(
      sent()
        .map((m) => m.to)
        .sort(),
    ).toEqual(['a@example.com', 'lead@example.com']);
    expect(sent()[0]?.subject).toContain('response target passed');
    const events = (await store.listTimeline(incident.id)).filter((e) => e.type === 'escalated');
    expect(events.map((e) => e.detail)).toEqual([
      { kind: 'response', due: '2026-11-22T10:02:00.000Z', step: 'contain' },
    ]);
  });

  it('records an SLO breach when the resolution target passes, and escalates again', async () => {
    const { store, incident, watch, sent } = await setup(3, '2026-11-22T17:30:00.000Z');
    expect(await watch({ incidentId: incident.id, step: 'understand' })).toMatchObject({ escalated: 2 });
    expect((await store.getIncident(incident.id))?.sloBreachedAt).toBe('2026-11-22T17:30:00.000Z');
    const types = (await store.listTimeline(incident.id)).map((e) => e.type);
    expect(types.filter((t) => t === 'slo_breached')).toHaveLength(1);
    expect(types.filter((t) => t === 'escalated')).toHaveLength(2);
    expect(sent()).toHaveLength(4);
  });

  it("escalates Act's questions nobody answered, once per wait, listing them", async () => {
    const { waits, incident, watch, sent } = await setup(4, '2026-11-22T09:10:00.000Z');
    await waits.createQuestion({
      incidentId: incident.id,
      effectId: 'P1-E1',
      attempt: 1,
      reason: 'in-doubt',
      detail: 'SES did not answer',
      askedAt: '2026-11-22T09:05:00.000Z',
      links: {},
    });
    await waits.holdWait(incident.id, 'act', 'token-1', '2026-11-22T05:00:00.000Z');
    const first = await watch({ incidentId: incident.id, step: 'act' });
    expect(first.escalated).toBe(1);
    expect(sent().every((m) => m.subject.includes('Questions about effects'))).toBe(true);
    // A new wait (entered again after a person answered something else) has its own deadline.
    await waits.holdWait(incident.id, 'act', 'token-2', '2026-11-22T09:09:00.000Z');
    expect((await watch({ incidentId: incident.id, step: 'act' })).escalated).toBe(0);
  });
});
