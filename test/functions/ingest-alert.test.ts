import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { StepFunctionsWorkflow } from '../../functions/adapters/sfn-workflow.ts';
import { webhookTokenVerifier } from '../../functions/adapters/webhook-token.ts';
import { makeIngestHandler } from '../../functions/ingest-alert/ingest-alert.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase, testClock } from '../support/dynamodb.ts';
import { apiEvent } from '../support/http.ts';

const TOKEN = 'a-test-token-that-is-long-enough';
const STATE_MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:casebook-incident-lifecycle';
const payload = readFileSync(
  join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'),
  'utf8',
);
const sfn = mockClient(SFNClient);

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(() => db.close());
beforeEach(() => {
  sfn.reset();
  sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:x', startDate: new Date() });
});

async function setup() {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  const ledger = new DynamoDbLedger(db.doc, tables.ledger);
  const handler = makeIngestHandler({
    incidents: store,
    ledger,
    workflow: new StepFunctionsWorkflow(new SFNClient({ region: 'us-east-1' }), STATE_MACHINE),
    clock: testClock(),
    verifyToken: webhookTokenVerifier({ kind: 'value', value: TOKEN }),
  });
  const post = (
    body: string,
    headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
    source = 'alertmanager',
  ) =>
    handler(
      apiEvent({
        method: 'POST',
        path: `/webhooks/${source}`,
        routeKey: 'POST /webhooks/{source}',
        pathParameters: { source },
        headers: { 'content-type': 'application/json', ...headers },
        body,
      }),
    );
  const written = async () => (await db.count(tables.operations)) + (await db.count(tables.ledger));
  return { tables, store, ledger, post, written };
}

describe('POST /webhooks/alertmanager', () => {
  it('opens an incident, appends the Detect entry and starts an execution named after it', async () => {
    // Prepare
    const { post, store, ledger } = await setup();
    // Act
    const res = await post(payload);
    // Assess
    expect(res.statusCode).toBe(201);
    const body = JSON.parse(res.body ?? '{}');
    expect(body).toMatchObject({
      incidentId: 'INC-2026-0001',
      outcome: 'opened',
      world: 'RML3',
      severity: 'SEV1',
    });
    expect(res.headers?.location).toBe('/incidents/INC-2026-0001');
    expect((await store.getIncident('INC-2026-0001'))?.status).toBe('OPEN');
    const entries = await ledger.read('INC-2026-0001');
    expect(entries.map((e) => [e.seq, e.kind, e.phase, e.world])).toEqual([
      [1, 'detection', 'Detect', 'RML3'],
    ]);
    const starts = sfn.commandCalls(StartExecutionCommand);
    expect(starts).toHaveLength(1);
    expect(starts[0]?.args[0].input).toMatchObject({
      stateMachineArn: STATE_MACHINE,
      name: 'INC-2026-0001',
      input: JSON.stringify({ incidentId: 'INC-2026-0001' }),
    });
  });

  it('folds the same payload delivered again into the same incident and writes no second Detect entry', async () => {
    const { post, ledger, store } = await setup();
    await post(payload);
    const again = await post(payload);
    expect(again.statusCode).toBe(200);
    expect(JSON.parse(again.body ?? '{}')).toMatchObject({ incidentId: 'INC-2026-0001', outcome: 'folded' });
    expect((await store.listIncidents(10)).items).toHaveLength(1);
    expect(await ledger.read('INC-2026-0001')).toHaveLength(1);
  });

  it("folds a repeat of a closed incident's alert into it, and opens a new incident when the alert fires anew", async () => {
    const { post, store } = await setup();
    await post(payload);
    const closed = await store.getIncident('INC-2026-0001');
    if (!closed) throw new Error('the incident was not opened');
    await store.saveIncident({ ...closed, status: 'CLOSED', closedAt: '2026-11-22T12:00:00.000Z' });

    // Alertmanager repeats a still-firing alert every repeat_interval: the same occurrence.
    const repeat = await post(payload);
    expect(repeat.statusCode).toBe(200);
    expect(JSON.parse(repeat.body ?? '{}')).toMatchObject({ incidentId: 'INC-2026-0001', outcome: 'folded' });

    // The same alert firing again later is a new occurrence, and a new incident.
    const again = JSON.parse(payload);
    again.alerts[0].startsAt = '2026-11-23T08:00:00Z';
    const reopened = await post(JSON.stringify(again));
    expect(reopened.statusCode).toBe(201);
    expect(JSON.parse(reopened.body ?? '{}').incidentId).toBe('INC-2026-0002');
  });

  it('answers 401 and writes nothing without the right bearer token', async () => {
    const { post, written } = await setup();
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Bearer wrong-token' },
      { authorization: `Basic ${TOKEN}` },
    ]) {
      const res = await post(payload, headers);
      expect(res.statusCode).toBe(401);
      expect(res.headers?.['www-authenticate']).toBe('Bearer');
    }
    expect(await written()).toBe(0);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('answers 400 naming the field and writes nothing for a bad payload', async () => {
    const { post, written } = await setup();
    const bad = JSON.parse(payload);
    bad.alerts[0].startsAt = 'not a time';
    const res = await post(JSON.stringify(bad));
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body ?? '{}').issues).toContainEqual({
      field: 'alerts[0].startsAt',
      message: 'must be an RFC 3339 timestamp',
    });
    const notJson = await post('{"version": "4",');
    expect(notJson.statusCode).toBe(400);
    expect(JSON.parse(notJson.body ?? '{}').issues[0].field).toBe('body');
    expect(await written()).toBe(0);
  });

  it('answers 404 for an unknown source', async () => {
    const { post } = await setup();
    const res = await post(payload, { authorization: `Bearer ${TOKEN}` }, 'nagios');
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body ?? '{}').error).toBe('unknown_source');
  });

  it("answers 404 and writes nothing for the probe's Object.prototype sources, even with the right token", async () => {
    const { post, written } = await setup();
    // What the probe posted to /webhooks/constructor: Object(body) handed it over as a normalized alert.
    const smuggled = JSON.stringify({
      source: 'alertmanager',
      correlationKey: 'alertmanager:00000000000000000000000000000000',
      deliveryKey: 'x',
      occurrences: [],
      status: 'firing',
      title: 'pwned',
      labels: { world: 'RML3' },
      annotations: {},
      alerts: [],
      startedAt: 'not-a-date',
      customerContacts: ['victim@example.com'],
    });
    for (const source of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf']) {
      const res = await post(smuggled, { authorization: `Bearer ${TOKEN}` }, source);
      expect(res.statusCode, source).toBe(404);
      expect(JSON.parse(res.body ?? '{}').error).toBe('unknown_source');
    }
    expect(await written()).toBe(0);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('accepts an explicitly RML2 alert without opening an incident', async () => {
    const { post, written } = await setup();
    const rml2 = JSON.parse(payload);
    for (const labels of [rml2.commonLabels, rml2.alerts[0].labels]) {
      labels.world = 'RML2';
      delete labels.category;
    }
    const res = await post(JSON.stringify(rml2));
    expect(res.statusCode).toBe(202);
    expect(JSON.parse(res.body ?? '{}')).toMatchObject({
      incidentId: null,
      outcome: 'not-an-incident',
      world: 'RML2',
    });
    expect(await written()).toBe(0);
  });

  it('answers 503 when Step Functions is down, and the redelivery Alertmanager then sends completes the work', async () => {
    const { post, ledger } = await setup();
    sfn
      .on(StartExecutionCommand)
      .rejectsOnce(Object.assign(new Error('connect ECONNREFUSED'), { name: 'TimeoutError' }))
      .resolves({ executionArn: 'arn:x', startDate: new Date() });
    const failed = await post(payload);
    expect(failed.statusCode).toBe(503);
    const retried = await post(payload);
    expect(retried.statusCode).toBe(200);
    expect(JSON.parse(retried.body ?? '{}').incidentId).toBe('INC-2026-0001');
    expect(sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input.name)).toEqual([
      'INC-2026-0001',
      'INC-2026-0001',
    ]);
    expect(await ledger.read('INC-2026-0001')).toHaveLength(1);
  });

  it('opens two incidents for concurrent deliveries of two different groups, and one for the same group', async () => {
    const { post, store } = await setup();
    const other = JSON.parse(payload);
    other.groupKey = '{}/{world="RML3"}:{alertname="RefundMissing"}';
    const results = await Promise.all([post(payload), post(payload), post(JSON.stringify(other))]);
    const ids = results.map((r) => JSON.parse(r.body ?? '{}').incidentId);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
    expect((await store.listIncidents(10)).items).toHaveLength(2);
  });
});
