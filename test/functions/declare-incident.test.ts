/**
 * POST /incidents against dynalite: the handler, the open-incident use case and the real
 * operations store and ledger. The workflow is a recording stand-in for the Workflow port (the
 * real Step Functions start is in test/e2e/declare-incident.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { makeDeclareIncidentHandler } from '../../functions/declare-incident/declare-incident.ts';
import type { Workflow } from '../../functions/domain/ports.ts';
import { complaint } from '../support/declarations.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase, testClock } from '../support/dynamodb.ts';
import { apiEvent } from '../support/http.ts';

const PRINCIPAL = 'arn:aws:iam::123456789012:user/cs-ana';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(async () => {
  await db.close();
});

/** Records the executions started, as Step Functions would name them. */
function recordingWorkflow(): Workflow & { readonly started: string[] } {
  const started: string[] = [];
  return {
    started,
    async start(name) {
      const fresh = !started.includes(name);
      started.push(name);
      return { started: fresh };
    },
    completeTask: async () => false,
    failTask: async () => false,
    executionStatus: async (name) => (started.includes(name) ? 'RUNNING' : undefined),
  };
}

async function setup() {
  const tables = await db.tables();
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  const ledger = db.ledger(tables.ledger);
  const workflow = recordingWorkflow();
  const handler = makeDeclareIncidentHandler({ incidents: store, ledger, workflow, clock: testClock() });
  const post = (body: unknown, options: { principal?: string; contentType?: string } = {}) => {
    const event = apiEvent({
      method: 'POST',
      path: '/incidents',
      routeKey: 'POST /incidents',
      headers: { 'content-type': options.contentType ?? 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    // API Gateway puts the SigV4 signer here on an `iam` route.
    if (options.principal) {
      Object.assign(event.requestContext, { authorizer: { iam: { userArn: options.principal } } });
    }
    return handler(event);
  };
  const written = async () => (await db.count(tables.operations)) + (await db.count(tables.ledger));
  return { store, ledger, workflow, post, written };
}

const bodyOf = (res: { body?: string }) => JSON.parse(res.body ?? '{}');

describe('POST /incidents', () => {
  it('opens an RML3 incident, records who declared it from which ticket, and starts its lifecycle', async () => {
    // Prepare
    const { post, store, ledger, workflow } = await setup();
    // Act
    const res = await post(complaint, { principal: PRINCIPAL });
    // Assess
    expect(res.statusCode).toBe(201);
    expect(bodyOf(res)).toMatchObject({
      incidentId: 'INC-2026-0001',
      location: '/incidents/INC-2026-0001',
      outcome: 'opened',
      world: 'RML3',
      severity: 'SEV2',
      categories: ['financial_discrepancy'],
    });
    expect(res.headers?.location).toBe('/incidents/INC-2026-0001');

    const incident = await store.getIncident('INC-2026-0001');
    expect(incident).toMatchObject({
      status: 'OPEN',
      phase: 'Detect',
      world: 'RML3',
      source: 'declared',
      title: complaint.title,
      description: complaint.description,
      labels: { cs_ticket: 'CS-4521', reporter: 'ana@corp.example' },
    });

    const [detection] = await store.listTimeline('INC-2026-0001');
    expect(detection?.type).toBe('detection');
    expect(detection?.summary).toMatch(/^Declared by ana@corp\.example from CS ticket CS-4521: /);
    expect(detection?.detail).toMatchObject({ reporter: 'ana@corp.example', csTicketId: 'CS-4521' });

    const entries = await ledger.read('INC-2026-0001');
    expect(entries.map((e) => [e.log, e.kind, e.world, e.actor])).toEqual([
      ['effect', 'detection', 'RML3', 'ana@corp.example'],
    ]);
    expect(entries[0]?.detail).toMatchObject({
      source: 'declared',
      reporter: 'ana@corp.example',
      csTicketId: 'CS-4521',
      principal: PRINCIPAL,
    });
    expect(workflow.started).toEqual(['INC-2026-0001']);
  });

  it('answers the incident the ticket already opened, for a retry and for another person, and opens no second', async () => {
    const { post, store, ledger } = await setup();
    expect((await post(complaint)).statusCode).toBe(201);

    const retry = await post(complaint);
    expect(retry.statusCode).toBe(200);
    expect(bodyOf(retry)).toMatchObject({
      incidentId: 'INC-2026-0001',
      location: '/incidents/INC-2026-0001',
      outcome: 'folded',
    });
    expect((await post(complaint)).statusCode).toBe(200);
    const colleague = await post({ ...complaint, csTicketId: 'cs-4521', reporter: 'bo@corp.example' });
    expect(colleague.statusCode).toBe(200);
    expect(bodyOf(colleague).incidentId).toBe('INC-2026-0001');

    expect((await store.listIncidents(10)).items).toHaveLength(1);
    expect(await ledger.read('INC-2026-0001')).toHaveLength(1);
    // Each declaration that came again is on the timeline once, however often it was retried.
    const folded = (await store.listTimeline('INC-2026-0001')).filter((e) => e.type === 'alert_folded');
    expect(folded.map((e) => e.summary).sort()).toEqual([
      'Declared again by ana@corp.example from CS ticket CS-4521; folded into INC-2026-0001',
      'Declared again by bo@corp.example from CS ticket cs-4521; folded into INC-2026-0001',
    ]);
  });

  it('answers the closed incident for its ticket instead of opening another, and opens one for a new ticket', async () => {
    const { post, store, workflow } = await setup();
    await post(complaint);
    const opened = await store.getIncident('INC-2026-0001');
    if (!opened) throw new Error('the incident was not opened');
    await store.updateIncident(opened, { status: 'CLOSED', closedAt: '2026-11-23T12:00:00.000Z' });

    const again = await post({ ...complaint, reporter: 'bo@corp.example' });
    expect(again.statusCode).toBe(200);
    expect(bodyOf(again).incidentId).toBe('INC-2026-0001');
    // A closed incident's lifecycle is over and stays over.
    expect(workflow.started).toEqual(['INC-2026-0001']);

    const other = await post({ ...complaint, csTicketId: 'CS-4600' });
    expect(other.statusCode).toBe(201);
    expect(bodyOf(other).incidentId).toBe('INC-2026-0002');
  });

  it('opens one incident per ticket for concurrent declarations', async () => {
    const { post } = await setup();
    const results = await Promise.all([
      post(complaint),
      post(complaint),
      post({ ...complaint, csTicketId: 'CS-4522' }),
    ]);
    const ids = results.map((r) => bodyOf(r).incidentId);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
    expect(new Set(ids)).toEqual(new Set(['INC-2026-0001', 'INC-2026-0002']));
  });

  it('answers 400 naming each bad field, and writes and starts nothing', async () => {
    const { post, written, workflow } = await setup();
    const cases: [unknown, string][] = [
      [{ ...complaint, category: 'billing' }, 'category'],
      [{ ...complaint, reporter: 'not-an-address' }, 'reporter'],
      [{ ...complaint, csTicketId: undefined }, 'csTicketId'],
      [{ ...complaint, title: 'Refund jane@example.com' }, 'title'],
      [{ ...complaint, severity: 'SEV5' }, 'severity'],
      [{ ...complaint, extra: 1 }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const res = await post(body);
      expect(res.statusCode, field).toBe(400);
      expect(bodyOf(res).issues.map((i: { field: string }) => i.field)).toEqual([field]);
    }
    const notJson = await post('{"title": ');
    expect(bodyOf(notJson).issues[0].field).toBe('body');
    const form = await post('title=x', { contentType: 'application/x-www-form-urlencoded' });
    expect(bodyOf(form).issues[0].field).toBe('content-type');
    expect(await written()).toBe(0);
    expect(workflow.started).toEqual([]);
  });

  it('opens nothing when the person says it is RML2 and names no default-to-RML3 category (202)', async () => {
    const { post, written } = await setup();
    const res = await post({ ...complaint, category: 'other', world: 'RML2' });
    expect(res.statusCode).toBe(202);
    expect(bodyOf(res)).toMatchObject({ incidentId: null, outcome: 'not-an-incident', world: 'RML2' });
    expect(await written()).toBe(0);
  });
});
