import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { DynamoDbWaits } from '../../functions/adapters/dynamodb-waits.ts';
import { SesMailer } from '../../functions/adapters/ses-mailer.ts';
import { makeEscalateHandler } from '../../functions/escalate/escalate.ts';
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

describe('escalating a wait that passed its deadline', () => {
  it('tells the SRE lead and the responders once per missed wait, however often it is invoked', async () => {
    const tables = await db.tables();
    const store = new DynamoDbOperationsStore(db.doc, tables.operations);
    const waits = new DynamoDbWaits(db.doc, tables.operations);
    const incident = plainIncident(3);
    await store.createIncident(incident);
    const clock = testClock();
    const escalate = makeEscalateHandler({
      incidents: store,
      questions: waits,
      waits,
      mailer: new SesMailer(new SESClient({ region: 'us-east-1' }), 'casebook@example.com'),
      sreLead: 'lead@example.com',
      responders: ['a@example.com', 'lead@example.com'],
      clock,
    });
    await waits.holdWait(incident.id, 'act', 'token-1', '2026-11-22T10:00:00.000Z');
    expect(await escalate({ incidentId: incident.id, step: 'act' })).toEqual({ escalated: true });
    clock.advance(5 * 60_000);
    // Invoked again for the same wait (a retry, or a restart replaying the step): nothing more.
    expect(await escalate({ incidentId: incident.id, step: 'act' })).toEqual({ escalated: false });
    const recipients = () =>
      ses.commandCalls(SendEmailCommand).map((c) => c.args[0].input.Destination?.ToAddresses?.[0]);
    expect(recipients().sort()).toEqual(['a@example.com', 'lead@example.com']);
    // The next wait that passes its deadline is escalated again.
    await waits.holdWait(incident.id, 'act', 'token-2', '2026-11-22T14:00:00.000Z');
    expect(await escalate({ incidentId: incident.id, step: 'act' })).toEqual({ escalated: true });
    expect(recipients()).toHaveLength(4);
    expect((await store.listTimeline(incident.id)).filter((e) => e.type === 'escalated')).toHaveLength(2);
  });
});
