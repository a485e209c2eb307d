import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { DynamoDbChangeMarks } from '../../functions/adapters/change-marks.ts';
import { DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { keys } from '../../functions/adapters/operations-keys.ts';
import { StepFunctionsWorkflow } from '../../functions/adapters/sfn-workflow.ts';
import { sha256Hex } from '../../functions/domain/json.ts';
import { parseAlertmanagerWebhook } from '../../functions/domain/sources/alertmanager.ts';
import { enterPhase } from '../../functions/use-cases/enter-phase.ts';
import { openIncident } from '../../functions/use-cases/open-incident.ts';
import { testClock } from '../support/dynamodb.ts';
import { ingestHandler, ingestWorld } from '../support/ingest.ts';
import {
  ALERTMANAGER_PAYLOAD,
  countedDocumentClient,
  postWebhook,
  STATE_MACHINE_ARN,
} from '../support/webhooks.ts';

const payload = ALERTMANAGER_PAYLOAD;
const world = ingestWorld();
const { sfn } = world;

/** A handler over a DynamoDB client whose every request is counted by command name. */
async function setup() {
  const tables = await world.db.tables();
  const { doc, raw, sent } = countedDocumentClient(world.db.endpoint);
  const store = new DynamoDbOperationsStore(doc, tables.operations);
  const clock = testClock();
  const ledger = new DynamoDbLedger(doc, tables.ledger, {
    sealer: world.db.sealer,
    headSigner: world.db.headSigner,
    changes: new DynamoDbChangeMarks(doc, tables.operations, { clock }),
  });
  const { handler } = await ingestHandler(world, { tables, incidents: store, ledger, clock });
  const post = (body: string) => postWebhook(handler, body);
  /** Posts through a handler over the same tables as fresh as a cold start's (it knows no incident number). */
  const postCold = async (body: string) => {
    const cold = await ingestHandler(world, {
      tables,
      incidents: new DynamoDbOperationsStore(doc, tables.operations),
      ledger: new DynamoDbLedger(doc, tables.ledger, {
        sealer: world.db.sealer,
        headSigner: world.db.headSigner,
        changes: new DynamoDbChangeMarks(doc, tables.operations, { clock }),
      }),
      clock,
    });
    return postWebhook(cold.handler, body);
  };
  /** The requests `act` sends. */
  const counted = async <T>(act: () => Promise<T>): Promise<{ result: T; requests: string[] }> => {
    sent.length = 0;
    const result = await act();
    return { result, requests: [...sent] };
  };
  const starts = () => sfn.commandCalls(StartExecutionCommand).length;
  const detect = (incidentId: string) =>
    enterPhase(
      { incidents: store, approvals: store, clock },
      { incidentId, phase: 'Detect', entry: 'entry-1' },
    );
  return { tables, store, ledger, post, postCold, counted, starts, detect, clock, raw };
}

function firing(startsAt: string): string {
  const body = JSON.parse(payload);
  body.alerts[0].startsAt = startsAt;
  return JSON.stringify(body);
}

describe('a new alert', () => {
  it('opens its incident in at most 7 DynamoDB requests and one StartExecution', async () => {
    const { post, counted, starts } = await setup();
    const body = JSON.parse(payload);
    for (const labels of [body.commonLabels, ...body.alerts.map((a: { labels: object }) => a.labels)])
      delete labels.service;
    const { result, requests } = await counted(() => post(JSON.stringify(body)));
    expect(result.statusCode).toBe(201);
    expect(requests.length, requests.join(', ')).toBeLessThanOrEqual(7);
    expect(requests).not.toContain('QueryCommand');
    expect(starts()).toBe(1);
  });

  it('claims its cross-source key too when it names a service: one request more', async () => {
    const { post, counted, starts } = await setup();
    const { result, requests } = await counted(() => post(payload));
    expect(result.statusCode).toBe(201);
    expect(requests.length, requests.join(', ')).toBeLessThanOrEqual(8);
    expect(requests).not.toContain('QueryCommand');
    expect(starts()).toBe(1);
  });

  it('opens in at most 7 when another group of its source holds its cross-source key, warm or cold', async () => {
    const { post, postCold, counted, starts, store } = await setup();
    const group = (name: string) => payload.replaceAll('PaymentDoubleCharge', name);
    expect((await post(group('One'))).statusCode).toBe(201);
    // The instance that opened the first knows the last number: its claim of the cross key is refused.
    const warm = await counted(() => post(group('Two')));
    expect(warm.result.statusCode).toBe(201);
    expect(warm.requests.length, warm.requests.join(', ')).toBeLessThanOrEqual(7);
    // A fresh instance reads the counter, and the cross key with it.
    const cold = await counted(() => postCold(group('Three')));
    expect(cold.result.statusCode).toBe(201);
    expect(cold.requests.length, cold.requests.join(', ')).toBeLessThanOrEqual(7);
    expect(starts()).toBe(3);
    const ids = [warm, cold].map((r) => JSON.parse(r.result.body ?? '{}').incidentId);
    expect(ids).toEqual(['INC-2026-0002', 'INC-2026-0003']);
    // The cross-source key stays with the group that claimed it.
    const first = await store.getIncident('INC-2026-0001');
    const own = first && (await store.findCorrelation(first.correlationKey));
    expect(own?.cross && (await store.findCorrelation(own.cross))?.incidentId).toBe('INC-2026-0001');
  });

  it('opens one incident per group of one source, though the groups name the same service', async () => {
    const { post } = await setup();
    const group = (name: string) => payload.replaceAll('PaymentDoubleCharge', name);
    const answers = await Promise.all([post(group('One')), post(group('Two'))]);
    expect(answers.map((a) => a.statusCode)).toEqual([201, 201]);
    const ids = answers.map((a) => JSON.parse(a.body ?? '{}').incidentId);
    expect(ids[0]).not.toBe(ids[1]);
  });

  it('answers 201 exactly once to 50 concurrent deliveries, 200 to the others, and starts one execution', async () => {
    const { post, store, starts } = await setup();
    const results = await Promise.all(Array.from({ length: 50 }, () => post(payload)));
    const codes = results.map((r) => r.statusCode);
    expect(codes.filter((c) => c === 201)).toHaveLength(1);
    expect(codes.filter((c) => c === 200)).toHaveLength(49);
    expect(new Set(results.map((r) => JSON.parse(r.body ?? '{}').incidentId))).toEqual(
      new Set(['INC-2026-0001']),
    );
    expect((await store.listIncidents(10)).items).toHaveLength(1);
    expect(starts()).toBe(1);
  });

  it('answers 201 once per group when 5 groups arrive 10 times each at once, under numbers without gaps', async () => {
    const { post, store, starts } = await setup();
    const groups = Array.from({ length: 5 }, (_, g) => {
      const body = JSON.parse(payload);
      body.groupKey = `{}/{world="RML3"}:{alertname="Group${g}"}`;
      return JSON.stringify(body);
    });
    const results = await Promise.all(groups.flatMap((g) => Array.from({ length: 10 }, () => post(g))));
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(5);
    expect(results.filter((r) => r.statusCode === 200)).toHaveLength(45);
    const ids = (await store.listIncidents(10)).items.map((i) => i.id).sort();
    expect(ids).toEqual([
      'INC-2026-0001',
      'INC-2026-0002',
      'INC-2026-0003',
      'INC-2026-0004',
      'INC-2026-0005',
    ]);
    // Every delivery of a group names its group's incident.
    for (const [g, body] of groups.entries()) {
      const mine = results.slice(g * 10, g * 10 + 10).map((r) => JSON.parse(r.body ?? '{}').incidentId);
      const key = parseAlertmanagerWebhook(JSON.parse(body)).correlationKey;
      const holder = (await store.listIncidents(10)).items.find((i) => i.correlationKey === key);
      expect(new Set(mine)).toEqual(new Set([holder?.id]));
    }
    expect(starts()).toBe(5);
  });
});

describe('a repeat of an open incident', () => {
  it('is one UpdateItem and no StartExecution once Detect ran; a new occurrence adds one timeline put', async () => {
    const { post, counted, starts, detect, store } = await setup();
    await post(payload);
    await detect('INC-2026-0001');
    const before = (await store.listTimeline('INC-2026-0001')).length;

    const repeat = await counted(() => post(payload));
    expect(repeat.result.statusCode).toBe(200);
    expect(repeat.requests).toEqual(['UpdateItemCommand']);
    expect((await store.listTimeline('INC-2026-0001')).length).toBe(before);

    const fresh = await counted(() => post(firing('2026-11-22T10:25:00Z')));
    expect(fresh.result.statusCode).toBe(200);
    expect(fresh.requests).toEqual(['UpdateItemCommand', 'PutItemCommand']);
    expect(starts()).toBe(1);
    const correlation = await store.findCorrelation(
      parseAlertmanagerWebhook(JSON.parse(payload)).correlationKey,
    );
    expect(correlation?.repeats).toBe(3);
    expect(correlation?.occurrences).toHaveLength(2);
  });

  it('starts the execution again when its start never completed, once the opener has had its time', async () => {
    const { post, starts, clock } = await setup();
    await post(payload);
    // Within the opener's grace the repeat only counts itself.
    expect((await post(payload)).statusCode).toBe(200);
    expect(starts()).toBe(1);
    clock.advance(60_000);
    expect((await post(payload)).statusCode).toBe(200);
    expect(starts()).toBe(2);
  });

  it('finishes an opening at once on the redelivery when the opener could not write its detection', async () => {
    const { post, starts, raw, tables, ledger } = await setup();
    let failed = false;
    raw.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { TableName?: string };
        if (
          !failed &&
          input.TableName === tables.ledger &&
          /Put|Update|Transact/.test(String(context.commandName))
        ) {
          failed = true;
          throw Object.assign(new Error('injected'), { name: 'InternalServerError', $fault: 'server' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'failTheDetectEntryOnce' },
    );
    expect((await post(payload)).statusCode).toBeGreaterThanOrEqual(500);
    expect(failed).toBe(true);
    expect(starts()).toBe(0);
    // At once, within the opener's grace: the redelivery writes what the opener left and starts it.
    expect((await post(payload)).statusCode).toBe(200);
    expect(starts()).toBe(1);
    expect((await ledger.read('INC-2026-0001')).map((e) => e.phase)).toEqual(['Detect']);
  });

  it('finishes an opening whose opener died before its detection, within the grace, with no mark on its key', async () => {
    const { post, starts, raw, tables, ledger } = await setup();
    // The opener is gone after writing the incident: nothing after that write reaches DynamoDB.
    let incidentWritten = false;
    raw.middlewareStack.add(
      (next, context) => async (args) => {
        if (incidentWritten) throw Object.assign(new Error('killed'), { name: 'TimeoutError' });
        const result = await next(args);
        const input = args.input as { TableName?: string; Item?: { entity?: unknown } };
        const entity = input.Item?.entity;
        if (context.commandName === 'PutItemCommand' && input.TableName === tables.operations)
          incidentWritten = entity === 'incident' || (entity as { S?: string })?.S === 'incident';
        return result;
      },
      { step: 'initialize', name: 'dieAfterTheIncident' },
    );
    expect((await post(payload)).statusCode).toBeGreaterThanOrEqual(500);
    expect(incidentWritten).toBe(true);
    incidentWritten = false;
    expect((await post(payload)).statusCode).toBe(200);
    expect(starts()).toBe(1);
    expect((await ledger.read('INC-2026-0001')).map((e) => e.phase)).toEqual(['Detect']);
  });

  it('starts an opening whose opener died after its detection, before its start, within the grace', async () => {
    const { post, raw, tables, ledger } = await setup();
    // The opener is gone once its detection is written: no DynamoDB request after it arrives, and
    // its StartExecution never reaches Step Functions (the mock's first start fails).
    let detectionWritten = false;
    raw.middlewareStack.add(
      (next, context) => async (args) => {
        if (detectionWritten) throw Object.assign(new Error('killed'), { name: 'TimeoutError' });
        const result = await next(args);
        const input = args.input as { TableName?: string; TransactItems?: unknown[] };
        const onLedger =
          input.TableName === tables.ledger ||
          JSON.stringify(input.TransactItems ?? []).includes(tables.ledger);
        if (onLedger && /Put|Transact/.test(String(context.commandName))) detectionWritten = true;
        return result;
      },
      { step: 'initialize', name: 'dieAfterTheDetection' },
    );
    world.failStarts(1);
    expect((await post(payload)).statusCode).toBeGreaterThanOrEqual(500);
    expect(detectionWritten).toBe(true);
    expect(world.started()).toEqual([]);
    detectionWritten = false;
    // Within the grace: the execution the detection promises does not exist, so the redelivery starts it.
    expect((await post(payload)).statusCode).toBe(200);
    expect(world.started()).toEqual(['INC-2026-0001']);
    expect((await ledger.read('INC-2026-0001')).map((e) => e.phase)).toEqual(['Detect']);
  });

  it('records the resolution, then "all signals resolved" once every occurrence is resolved', async () => {
    const { post, store, detect } = await setup();
    await post(payload);
    await detect('INC-2026-0001');
    const resolved = JSON.parse(payload);
    resolved.status = 'resolved';
    for (const a of resolved.alerts) {
      a.status = 'resolved';
      a.endsAt = '2026-11-22T10:40:00Z';
    }
    const res = await post(JSON.stringify(resolved));
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body ?? '{}')).toMatchObject({ incidentId: 'INC-2026-0001', outcome: 'folded' });
    const timeline = await store.listTimeline('INC-2026-0001');
    expect(timeline.filter((e) => e.type === 'alert_folded').map((e) => e.detail?.status)).toEqual([
      'resolved',
    ]);
    const all = timeline.filter((e) => e.type === 'signals_resolved');
    expect(all).toHaveLength(1);
    expect(all[0]?.summary).toMatch(/^All signals resolved/);
    // The incident's status is a person's to change.
    expect((await store.getIncident('INC-2026-0001'))?.status).toBe('OPEN');
    // The same resolution again is a repeat: nothing more on the timeline.
    await post(JSON.stringify(resolved));
    expect((await store.listTimeline('INC-2026-0001')).length).toBe(timeline.length);
  });
});

describe('closing or cancelling an incident', () => {
  it('clears the open flag of its key; a repeat then folds the long way, a new occurrence opens anew', async () => {
    const { post, store } = await setup();
    await post(payload);
    const key = parseAlertmanagerWebhook(JSON.parse(payload)).correlationKey;
    expect((await store.findCorrelation(key))?.open).toBe(true);
    const opened = await store.getIncident('INC-2026-0001');
    if (!opened) throw new Error('not opened');
    await store.updateIncident(opened, { status: 'CANCELLED' });
    expect((await store.findCorrelation(key))?.open).toBe(false);
    const repeat = await post(payload);
    expect(repeat.statusCode).toBe(200);
    expect(JSON.parse(repeat.body ?? '{}').incidentId).toBe('INC-2026-0001');
    const anew = await post(firing('2026-11-23T08:00:00Z'));
    expect(anew.statusCode).toBe(201);
    expect(JSON.parse(anew.body ?? '{}').incidentId).toBe('INC-2026-0002');
    expect((await store.findCorrelation(key))?.open).toBe(true);
  });
});

describe('a key claimed before keys carried the open flag', () => {
  it('takes the long way once, is adopted, and then takes the short way', async () => {
    const { post, store, counted, raw, tables } = await setup();
    await post(payload);
    const key = parseAlertmanagerWebhook(JSON.parse(payload)).correlationKey;
    // As an older version wrote it: the incident id and occurrences only.
    const k = keys.correlation(key);
    await raw.send(
      new UpdateItemCommand({
        TableName: tables.operations,
        Key: { pk: { S: k.pk }, sk: { S: k.sk } },
        UpdateExpression: 'REMOVE #open, claimedAt, repeats, #status',
        ExpressionAttributeNames: { '#open': 'open', '#status': 'status' },
      }),
    );
    const first = await counted(() => post(payload));
    expect(first.result.statusCode).toBe(200);
    expect(first.requests.length).toBeGreaterThan(1);
    expect(await store.findCorrelation(key)).toMatchObject({ open: true, started: true });
    const second = await counted(() => post(payload));
    expect(second.result.statusCode).toBe(200);
    expect(second.requests).toEqual(['UpdateItemCommand']);
  });
});

describe('the same trouble from two sources', () => {
  /** The fixture's alert as another tool would report it: its own key, the same service. */
  function fromSource(source: string, service: string | undefined, labels: Record<string, string> = {}) {
    const alert = parseAlertmanagerWebhook(JSON.parse(payload));
    return {
      ...alert,
      source,
      correlationKey: `${source}:${sha256Hex(`${source}-group`).slice(0, 32)}`,
      labels: { ...alert.labels, ...labels },
      ...(service ? { service, environment: 'production', tenant: 'acme' } : {}),
    };
  }

  it('folds into one incident through the cross-source key, and closing ends every key', async () => {
    const { store, ledger, starts } = await setup();
    const deps = {
      incidents: store,
      ledger,
      workflow: new StepFunctionsWorkflow(new SFNClient({ region: 'us-east-1' }), STATE_MACHINE_ARN),
      clock: testClock(),
    };
    const first = await openIncident(deps, fromSource('alertmanager', 'payments'));
    expect(first).toMatchObject({ outcome: 'opened', incidentId: 'INC-2026-0001' });
    const second = await openIncident(deps, fromSource('pagerduty', 'payments'));
    expect(second).toMatchObject({ outcome: 'folded', incidentId: 'INC-2026-0001' });
    // Its repeat takes the short way into the same incident.
    expect(await openIncident(deps, fromSource('pagerduty', 'payments'))).toMatchObject({
      outcome: 'folded',
      incidentId: 'INC-2026-0001',
    });
    // Another service, or a label naming another key, is another incident.
    expect(await openIncident(deps, fromSource('grafana', 'ledger'))).toMatchObject({
      outcome: 'opened',
      incidentId: 'INC-2026-0002',
    });
    expect(
      await openIncident(deps, fromSource('generic', 'payments', { casebook_correlation: 'elsewhere' })),
    ).toMatchObject({ outcome: 'opened', incidentId: 'INC-2026-0003' });
    expect(starts()).toBe(3);
    const timeline = await store.listTimeline('INC-2026-0001');
    expect(timeline.filter((e) => e.type === 'alert_folded').map((e) => e.summary)).toEqual([
      'pagerduty reports the same trouble (1 alert); joined to INC-2026-0001 across sources',
    ]);

    const incident = await store.getIncident('INC-2026-0001');
    if (!incident) throw new Error('not opened');
    await store.updateIncident(incident, { status: 'CLOSED' });
    const pagerduty = fromSource('pagerduty', 'payments');
    expect((await store.findCorrelation(pagerduty.correlationKey))?.open).toBe(false);
    // The same trouble firing anew after the close is a new incident, whichever source says so.
    const anew = { ...pagerduty, occurrences: ['new@2026-11-23T08:00:00Z'] };
    expect(await openIncident(deps, anew)).toMatchObject({ outcome: 'opened', incidentId: 'INC-2026-0004' });
    // …and the other source's report of it joins that new incident.
    const again = { ...fromSource('alertmanager', 'payments'), occurrences: ['new@2026-11-23T08:00:01Z'] };
    expect(await openIncident(deps, again)).toMatchObject({ outcome: 'folded', incidentId: 'INC-2026-0004' });
  });
});
