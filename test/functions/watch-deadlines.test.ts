import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { DynamoDbWaits } from '../../functions/adapters/dynamodb-waits.ts';
import { SesMailer } from '../../functions/adapters/ses-mailer.ts';
import type { DeadlinePolicy } from '../../functions/domain/deadlines.ts';
import { DEFAULT_DEADLINE_POLICY } from '../../functions/domain/deadlines.ts';
import type { Incident } from '../../functions/domain/incident.ts';
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

async function setup(
  n: number,
  start: string,
  options: { readonly incident?: Partial<Incident>; readonly policy?: Partial<DeadlinePolicy> } = {},
) {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  const waits = new DynamoDbWaits(db.doc, tables.operations);
  const incident: Incident = { ...plainIncident(n), ...options.incident };
  await store.createIncident(incident);
  const clock = testClock(start);
  const watch = makeWatchDeadlinesHandler({
    incidents: store,
    approvals: store,
    questions: waits,
    mailer: new SesMailer(new SESClient({ region: 'us-east-1' }), 'casebook@example.com'),
    people: { sreLead: 'lead@example.com', responders: ['a@example.com', 'lead@example.com'] },
    legal: 'legal@example.com',
    roster: {},
    publicBaseUrl: 'https://casebook.example.com',
    policy: { ...DEFAULT_DEADLINE_POLICY, ...options.policy },
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
      {
        kind: 'response',
        due: '2026-11-22T10:02:00.000Z',
        step: 'contain',
        to: ['lead@example.com', 'a@example.com'],
      },
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

  it('records a resolution target met late (no clock read while it passed) as an SLO breach, escalated once', async () => {
    // Due 17:02; Act ran past it with nobody looking, and Learn set resolvedAt at 17:40.
    const { store, incident, clock, watch, sent } = await setup(13, '2026-11-22T17:41:00.000Z', {
      incident: {
        acknowledgedAt: '2026-11-22T09:10:00.000Z',
        resolvedAt: '2026-11-22T17:40:00.000Z',
        phase: 'Learn',
        status: 'RESOLVED',
      },
    });
    expect(await watch({ incidentId: incident.id, step: 'learn' })).toMatchObject({ escalated: 1 });
    clock.advance(60 * 60_000);
    expect(await watch({ incidentId: incident.id, step: 'learn' })).toMatchObject({ escalated: 0 });
    expect((await store.getIncident(incident.id))?.sloBreachedAt).toBe('2026-11-22T17:41:00.000Z');
    const timeline = await store.listTimeline(incident.id);
    expect(timeline.filter((e) => e.type === 'slo_breached')).toHaveLength(1);
    expect(timeline.filter((e) => e.type === 'escalated').map((e) => e.detail?.kind)).toEqual(['resolution']);
    expect(sent()).toHaveLength(2);
    expect(sent()[0]?.subject).toContain('met late, at 2026-11-22T17:40:00.000Z');
  });

  it("escalates Act's questions nobody answered once, due from the earliest asked, however often the wait is entered", async () => {
    // Asked at 05:00 and 07:00; answers are due within 4 hours: 09:00, from the earliest.
    const { store, waits, incident, clock, watch, sent } = await setup(4, '2026-11-22T08:30:00.000Z');
    for (const [effectId, askedAt] of [
      ['P1-E1', '2026-11-22T05:00:00.000Z'],
      ['P1-E2', '2026-11-22T07:00:00.000Z'],
    ] as const) {
      await waits.createQuestion({
        incidentId: incident.id,
        effectId,
        attempt: 1,
        reason: 'in-doubt',
        detail: 'SES did not answer',
        askedAt,
        links: {},
      });
    }
    // The wait is entered again at every look at the clock; its deadline does not move with it.
    await waits.holdWait(incident.id, 'act', 'token-1', '2026-11-22T08:30:00.000Z');
    expect(await watch({ incidentId: incident.id, step: 'act' })).toMatchObject({
      escalated: 0,
      seconds: 1800,
    });
    clock.advance(31 * 60_000);
    await waits.holdWait(incident.id, 'act', 'token-2', clock.now().toISOString());
    expect((await watch({ incidentId: incident.id, step: 'act' })).escalated).toBe(1);
    expect(sent().length).toBeGreaterThan(0);
    expect(sent().every((m) => m.subject.includes('Questions about effects'))).toBe(true);
    for (const token of ['token-3', 'token-4']) {
      clock.advance(60 * 60_000);
      await waits.holdWait(incident.id, 'act', token, clock.now().toISOString());
      await watch({ incidentId: incident.id, step: 'act' });
    }
    const answers = (await store.listTimeline(incident.id)).filter(
      (e) => e.type === 'escalated' && e.detail?.kind === 'answers',
    );
    expect(answers.map((e) => e.detail?.due)).toEqual(['2026-11-22T09:00:00.000Z']);
  });

  it('tells Legal once that the regulatory clock runs, and escalates to Legal too when it runs out', async () => {
    // Personal data learnt of at 09:30; the clock is configured to 30 minutes: due 10:00.
    const { store, incident, clock, watch, sent } = await setup(5, '2026-11-22T09:31:00.000Z', {
      incident: { acknowledgedAt: '2026-11-22T09:05:00.000Z', piiAwareAt: '2026-11-22T09:30:00.000Z' },
      policy: { regulatoryMinutes: 30 },
    });
    const first = await watch({ incidentId: incident.id, step: 'understand' });
    // The next deadline is the regulator's, sooner than the resolution target (17:05).
    expect(first).toEqual({ seconds: 29 * 60, escalated: 0 });
    expect(sent()).toEqual([
      {
        to: 'legal@example.com',
        subject: expect.stringContaining('notify the regulator by 2026-11-22T10:00:00.000Z'),
      },
    ]);
    clock.advance(10 * 60_000);
    await watch({ incidentId: incident.id, step: 'understand' });
    expect(sent()).toHaveLength(1);

    clock.advance(30 * 60_000);
    const late = await watch({ incidentId: incident.id, step: 'understand' });
    expect(late.escalated).toBe(1);
    const escalations = sent().slice(1);
    expect(escalations.map((m) => m.to).sort()).toEqual([
      'a@example.com',
      'lead@example.com',
      'legal@example.com',
    ]);
    expect(escalations.find((m) => m.to === 'legal@example.com')?.subject).toContain(
      'the regulatory clock ran out (due 2026-11-22T10:00:00.000Z) without the regulator told',
    );
    expect(escalations.find((m) => m.to === 'a@example.com')?.subject).toContain(
      'The regulatory clock ran out',
    );
    const timeline = await store.listTimeline(incident.id);
    expect(timeline.filter((e) => e.type === 'deadline_shown').map((e) => e.detail)).toEqual([
      { kind: 'regulatory', due: '2026-11-22T10:00:00.000Z', to: 'legal@example.com' },
    ]);
    expect(timeline.filter((e) => e.type === 'escalated').map((e) => e.detail)).toEqual([
      {
        kind: 'regulatory',
        due: '2026-11-22T10:00:00.000Z',
        step: 'understand',
        to: ['lead@example.com', 'a@example.com', 'legal@example.com'],
      },
    ]);

    // Once the SRE lead records the notification, the clock is met: nothing more, however often it looks.
    const now = (await store.getIncident(incident.id)) as Incident;
    await store.updateIncident(now, {
      regulatorNotified: { at: '2026-11-22T10:15:00.000Z', reference: 'DPA-1', by: 'lead@example.com' },
    });
    clock.advance(60_000);
    expect((await watch({ incidentId: incident.id, step: 'understand' })).escalated).toBe(0);
    expect(sent()).toHaveLength(4);
  });

  it('tells nobody of a regulatory clock that was met, and nothing of one that never started', async () => {
    const { incident, watch, sent } = await setup(6, '2026-11-22T09:31:00.000Z', {
      incident: {
        acknowledgedAt: '2026-11-22T09:05:00.000Z',
        piiAwareAt: '2026-11-22T09:10:00.000Z',
        regulatorNotified: { at: '2026-11-22T09:20:00.000Z', reference: 'DPA-2', by: 'lead@example.com' },
      },
    });
    await watch({ incidentId: incident.id, step: 'understand' });
    const other = await setup(7, '2026-11-22T09:31:00.000Z', {
      incident: { acknowledgedAt: '2026-11-22T09:05:00.000Z' },
    });
    await other.watch({ incidentId: other.incident.id, step: 'understand' });
    expect(sent()).toEqual([]);
  });

  it('sends an escalation that failed halfway when the step is retried, and then never again', async () => {
    const { store, incident, clock, watch, sent } = await setup(8, '2026-11-22T10:30:00.000Z');
    ses.reset();
    ses
      .on(SendEmailCommand)
      .resolvesOnce({ MessageId: 'm1' })
      .rejectsOnce(new Error('SES is down'))
      .resolves({ MessageId: 'm' });
    await expect(watch({ incidentId: incident.id, step: 'contain' })).rejects.toThrow();
    // Nothing on the timeline says it was escalated while someone was left untold.
    expect((await store.listTimeline(incident.id)).filter((e) => e.type === 'escalated')).toEqual([]);

    clock.advance(2_000);
    expect((await watch({ incidentId: incident.id, step: 'contain' })).escalated).toBe(1);
    // Each address heard of it, the first one twice (the retry cannot know the first send went out).
    expect(sent().map((m) => m.to)).toEqual([
      'lead@example.com',
      'a@example.com',
      'lead@example.com',
      'a@example.com',
    ]);
    for (let look = 0; look < 5; look += 1) {
      clock.advance(60_000);
      expect((await watch({ incidentId: incident.id, step: 'contain' })).escalated).toBe(0);
    }
    expect(sent()).toHaveLength(4);
    expect((await store.listTimeline(incident.id)).filter((e) => e.type === 'escalated')).toHaveLength(1);
  });
});
