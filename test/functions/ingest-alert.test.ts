import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { classify } from '../../functions/domain/alert.ts';
import type { Incident } from '../../functions/domain/incident.ts';
import { openIncident } from '../../functions/domain/incident.ts';
import { sha256Hex } from '../../functions/domain/json.ts';
import { LIMITS, TRUNCATION_MARKER } from '../../functions/domain/limits.ts';
import { expandPlan, sealPlan } from '../../functions/domain/plan.ts';
import { parseAlertmanagerWebhook } from '../../functions/domain/sources/alertmanager.ts';
import { ingestHandler, ingestWorld } from '../support/ingest.ts';
import { ALERTMANAGER_PAYLOAD, postWebhook, STATE_MACHINE_ARN, WEBHOOK_TOKEN } from '../support/webhooks.ts';

const TOKEN = WEBHOOK_TOKEN;
const payload = ALERTMANAGER_PAYLOAD;
const world = ingestWorld();
const { sfn } = world;

async function setup() {
  const tables = await world.db.tables();
  const ledger = world.db.ledger(tables.ledger);
  const { handler, store, written } = await ingestHandler(world, { tables, ledger });
  const post = (body: string, headers?: Record<string, string>, source?: string) =>
    postWebhook(handler, body, headers, source);
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
      stateMachineArn: STATE_MACHINE_ARN,
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
    await store.updateIncident(closed, { status: 'CLOSED', closedAt: '2026-11-22T12:00:00.000Z' });

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
    const smuggled = readFileSync(
      join(import.meta.dirname, '../fixtures/probe/smuggled-normalized-alert.json'),
      'utf8',
    );
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
    expect(failed.headers?.['retry-after']).toBe('5');
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

describe("the probe's poison-pill alerts: too large for one item, under the body limit", () => {
  it('opens an incident from a 900,000-character description, cut with a marker, the whole payload kept in S3', async () => {
    const { post, store, ledger } = await setup();
    const body = JSON.parse(payload);
    const description = 'x'.repeat(900_000);
    body.commonAnnotations.description = description;
    const raw = JSON.stringify(body);
    const res = await post(raw);
    expect(res.statusCode).toBe(201);
    const incident = await store.getIncident('INC-2026-0001');
    expect(incident?.description).toHaveLength(LIMITS.annotationValueBytes - 2);
    expect(incident?.description?.endsWith(TRUNCATION_MARKER)).toBe(true);
    expect(incident?.truncated).toEqual([
      { field: 'commonAnnotations.description', bytes: 900_000, sha256: sha256Hex(description) },
    ]);
    const key = `alertmanager/${sha256Hex(raw)}.json`;
    expect(incident?.originalPayload).toEqual({ key, sha256: sha256Hex(raw), bytes: raw.length });
    expect(await world.s3.read(key)).toBe(raw);
    const [detect] = await ledger.read('INC-2026-0001');
    expect(detect?.detail).toMatchObject({ truncated: incident?.truncated, originalPayload: { key } });
    // The key points at the incident that exists.
    expect((await store.findCorrelation(incident?.correlationKey ?? ''))?.incidentId).toBe('INC-2026-0001');
  });

  it('opens an incident from a 500,000-character label, cut to its bound', async () => {
    const { post, store } = await setup();
    const body = JSON.parse(payload);
    body.commonLabels.instance = 'i'.repeat(500_000);
    const res = await post(JSON.stringify(body));
    expect(res.statusCode).toBe(201);
    const incident = await store.getIncident('INC-2026-0001');
    expect(Buffer.byteLength(incident?.labels.instance ?? '')).toBe(LIMITS.labelValueBytes);
    expect(incident?.truncated?.map((t) => t.field)).toEqual(['commonLabels.instance']);
  });

  it('stores a notification with every field at its bound in one item, plan and halt included', async () => {
    const { post, store, tables } = await setup();
    // Four-byte characters where text is cut by bytes; at the bound everywhere else.
    const filled = (bytes: number) => '😀'.repeat(Math.floor(bytes / 4));
    const name = (i: number) => `${String(i).padStart(3, '0')}${'n'.repeat(LIMITS.nameBytes - 3)}`;
    const address = (i: number) =>
      `${String(i).padStart(3, '0')}${'a'.repeat(61)}@${'b'.repeat(56)}.${'c'.repeat(56)}.${'d'.repeat(56)}.example.com`;
    const contacts = Array.from({ length: LIMITS.customerContacts }, (_, i) => address(i));
    const body = JSON.parse(payload);
    body.groupLabels = {};
    body.commonLabels = Object.fromEntries(
      Array.from({ length: LIMITS.labels }, (_, i) => [name(i), filled(LIMITS.labelValueBytes + 100)]),
    );
    const specials = {
      summary: filled(LIMITS.titleBytes + 100),
      description: filled(LIMITS.annotationValueBytes + 100),
      customer_summary: filled(LIMITS.annotationValueBytes + 100),
      customer_contacts: contacts.join(','),
    };
    body.commonAnnotations = {
      ...Object.fromEntries(
        Array.from({ length: LIMITS.annotations - 4 }, (_, i) => [
          name(i),
          filled(LIMITS.annotationValueBytes + 100),
        ]),
      ),
      ...specials,
    };
    body.externalURL = `https://example.com/${'u'.repeat(LIMITS.urlBytes)}`;
    // More alerts than occurrences are kept, each with the longest fingerprint.
    body.alerts = Array.from({ length: LIMITS.occurrencesKept + 100 }, (_, i) => ({
      status: 'firing',
      labels: {},
      startsAt: '2026-11-22T10:23:45Z',
      fingerprint: `${String(i).padStart(4, '0')}${'f'.repeat(LIMITS.fingerprintBytes - 4)}`,
    }));
    const raw = JSON.stringify(body);
    expect(Buffer.byteLength(raw)).toBeLessThan(LIMITS.bodyBytes);
    const res = await post(raw);
    expect(res.statusCode, res.body).toBe(201);
    const incident = await store.getIncident('INC-2026-0001');
    if (!incident) throw new Error('not opened');
    // The alert's customer addresses are counted, not kept: the customer list is where they go.
    expect(incident.alertNamedCustomers).toBe(LIMITS.customerContacts);
    expect(JSON.stringify(incident)).not.toContain('@bbbb');
    // Later steps add the casework at its bounds, the plan (a notice per customer) and, if it
    // halts, a failure's cause. The plan's effects are items of their own; on the incident, the
    // plan is its totals and hash.
    const effects = expandPlan(
      1,
      { summary: 'Tell every customer', apply: [{ kind: 'notice', obligation: 'brand' }], effects: [] },
      contacts.map((email, i) => ({ customerRef: `${incident.id}-C${i + 1}`, email })),
      (ref) => `cp_${sha256Hex(ref).slice(0, 32)}`,
      () => 'f'.repeat(64),
    );
    await store.updateIncident(incident, {
      plan: sealPlan(
        { version: 1, summary: 's'.repeat(2000), proposedAt: '2026-11-22T10:31:00.000Z', proposedBy: 'sre' },
        effects,
      ),
      halted: {
        reason: 'failed',
        at: '2026-11-22T10:32:00.000Z',
        error: 'x'.repeat(256),
        cause: 'c'.repeat(32_768),
      },
      impact: {
        users: 1e9,
        transactions: 1e9,
        assets: ['money', 'pii', 'legal', 'operational_integrity'],
        from: '2026-11-22T10:00:00.000Z',
        to: '2026-11-22T11:00:00.000Z',
        summary: filled(4 * 4000),
        by: address(1),
        at: '2026-11-22T10:33:00.000Z',
      },
      size: { size: 'large', because: filled(4 * 2000), overriddenBy: address(2) },
      planRejected: { version: 1, reason: filled(4 * 2000), at: '2026-11-22T10:34:00.000Z' },
      cancelled: {
        outcome: 'downscoped',
        reason: filled(4 * 2000),
        world: 'RML2',
        by: address(3),
        at: '2026-11-22T10:35:00.000Z',
      },
      regulatorNotified: { at: '2026-11-22T10:36:00.000Z', reference: filled(4 * 500), by: address(4) },
    });
    const full = await store.getIncident('INC-2026-0001');
    expect(full?.plan?.effectCount).toBe(LIMITS.customerContacts);
    // Well within DynamoDB's 400 KB item (dynalite refuses larger ones too).
    expect(Buffer.byteLength(JSON.stringify(full))).toBeLessThan(400_000);
    expect(await world.db.ledger(tables.ledger).read('INC-2026-0001')).toHaveLength(1);
  });
});

describe('write order: a failure leaves nothing claimed', () => {
  /** The operational store with one injected outage of the incident write. */
  class IncidentWriteFailsOnce extends DynamoDbOperationsStore {
    failures = 1;
    override async createIncident(incident: Incident): Promise<boolean> {
      if (this.failures-- > 0) {
        throw Object.assign(new Error('Service unavailable'), {
          name: 'ServiceUnavailable',
          $fault: 'server',
          $metadata: { httpStatusCode: 503 },
        });
      }
      return super.createIncident(incident);
    }
  }

  async function failingSetup() {
    const tables = await world.db.tables();
    const store = new IncidentWriteFailsOnce(world.db.doc, tables.operations);
    const { handler } = await ingestHandler(world, { tables, incidents: store });
    return { store, post: (body: string) => postWebhook(handler, body), tables };
  }

  it('gives the correlation key and the number back when the incident cannot be written, so the retry opens INC-0001', async () => {
    const { store, post, tables } = await failingSetup();
    const correlationKey = parseAlertmanagerWebhook(JSON.parse(payload)).correlationKey;
    const failed = await post(payload);
    expect(failed.statusCode).toBe(503);
    expect(failed.headers?.['retry-after']).toBe('5');
    expect(await store.findCorrelation(correlationKey)).toBeUndefined();
    expect(await store.lastIncidentNumber(2026)).toBe(0);
    expect(await world.db.count(tables.operations)).toBe(0);
    const retried = await post(payload);
    expect(retried.statusCode).toBe(201);
    expect(JSON.parse(retried.body ?? '{}').incidentId).toBe('INC-2026-0001');
    expect(await store.lastIncidentNumber(2026)).toBe(1);
  });

  it('points the key back at the closed incident it held when a new incident for it cannot be written', async () => {
    const { store, post } = await failingSetup();
    store.failures = 0;
    await post(payload);
    const closed = await store.getIncident('INC-2026-0001');
    if (!closed) throw new Error('not opened');
    await store.updateIncident(closed, { status: 'CLOSED' });
    const before = await store.findCorrelation(closed.correlationKey);
    const anew = JSON.parse(payload);
    anew.alerts[0].startsAt = '2026-11-23T08:00:00Z';
    store.failures = 1;
    expect((await post(JSON.stringify(anew))).statusCode).toBe(503);
    expect(await store.findCorrelation(closed.correlationKey)).toEqual(before);
    const retried = await post(JSON.stringify(anew));
    expect(JSON.parse(retried.body ?? '{}').incidentId).toBe('INC-2026-0002');
  });

  it("takes the next number when another group's incident holds the one the counter offered", async () => {
    const { store, post } = await failingSetup();
    store.failures = 0;
    const other = JSON.parse(payload);
    other.groupKey = '{}/{world="RML3"}:{alertname="RefundMissing"}';
    const otherAlert = parseAlertmanagerWebhook(other);
    // Written, but its number never recorded (the step after it failed): the counter lags.
    await store.createIncident(
      openIncident('INC-2026-0001', otherAlert, classify(otherAlert.labels), '2026-11-22T10:00:00.000Z'),
    );
    const res = await post(payload);
    expect(JSON.parse(res.body ?? '{}').incidentId).toBe('INC-2026-0002');
    const mine = parseAlertmanagerWebhook(JSON.parse(payload)).correlationKey;
    expect((await store.findCorrelation(mine))?.incidentId).toBe('INC-2026-0002');
    expect((await store.getIncident('INC-2026-0001'))?.correlationKey).toBe(otherAlert.correlationKey);
    expect(await store.lastIncidentNumber(2026)).toBe(2);
  });
});
