/**
 * An opening whose opener is gone — killed, or failing on every request — after it claimed a key:
 * whoever delivers the trouble next takes the opening over once the opener's grace is past, and
 * the incident opens exactly once (one `opened`, one StartExecution, numbers without gaps).
 */
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { DynamoDbChangeMarks } from '../../functions/adapters/change-marks.ts';
import { DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { StepFunctionsWorkflow } from '../../functions/adapters/sfn-workflow.ts';
import type { NormalizedAlert } from '../../functions/domain/alert.ts';
import { sha256Hex } from '../../functions/domain/json.ts';
import { parseAlertmanagerWebhook } from '../../functions/domain/sources/alertmanager.ts';
import { enterPhase } from '../../functions/use-cases/enter-phase.ts';
import { openIncident } from '../../functions/use-cases/open-incident.ts';
import { testClock } from '../support/dynamodb.ts';
import { ingestWorld } from '../support/ingest.ts';
import { ALERTMANAGER_PAYLOAD, countedDocumentClient, STATE_MACHINE_ARN } from '../support/webhooks.ts';

const world = ingestWorld();
const starts = () => world.sfn.commandCalls(StartExecutionCommand).length;

/**
 * One process of the ingest function over the test's tables: its own clients and instance caches,
 * as after a cold start. `dieAfter(n)`: from the (n+1)th DynamoDB request on, every request fails
 * as one whose caller was killed.
 */
function processOver(tables: { operations: string; ledger: string }, clock: ReturnType<typeof testClock>) {
  const { doc, raw, sent } = countedDocumentClient(world.db.endpoint);
  let allowed = Number.POSITIVE_INFINITY;
  raw.middlewareStack.add(
    (next) => async (args) => {
      if (sent.length > allowed) throw Object.assign(new Error('killed'), { name: 'TimeoutError' });
      return next(args);
    },
    { step: 'initialize', name: 'killedAfter', priority: 'low' },
  );
  const store = new DynamoDbOperationsStore(doc, tables.operations);
  const deps = {
    incidents: store,
    ledger: new DynamoDbLedger(doc, tables.ledger, {
      sealer: world.db.sealer,
      headSigner: world.db.headSigner,
      changes: new DynamoDbChangeMarks(doc, tables.operations, { clock }),
    }),
    workflow: new StepFunctionsWorkflow(new SFNClient({ region: 'us-east-1' }), STATE_MACHINE_ARN),
    clock,
  };
  return {
    deps,
    store,
    raw,
    sent,
    dieAfter(n: number) {
      allowed = n;
    },
  };
}

/** The fixture's alert as `source` reports it: its own key; the service names the trouble across sources. */
function fromSource(source: string, service: string | undefined): NormalizedAlert {
  const alert = parseAlertmanagerWebhook(JSON.parse(ALERTMANAGER_PAYLOAD));
  const { service: _, ...rest } = alert;
  return {
    ...rest,
    source,
    correlationKey: `${source}:${sha256Hex(`${source}-group`).slice(0, 32)}`,
    ...(service ? { service, environment: 'production', tenant: 'acme' } : {}),
  };
}

const GRACE_PAST = 31_000;

describe('a key claimed by an opener that died before writing its incident', () => {
  it('is finished by the redelivery, within the grace and after it, under the claimed number', async () => {
    for (const wait of [0, GRACE_PAST]) {
      const tables = await world.db.tables();
      const clock = testClock();
      const alert = fromSource('alertmanager', undefined);
      const opener = processOver(tables, clock);
      // The counter's read and the claim reach DynamoDB; the opener is gone before its incident.
      opener.dieAfter(2);
      await expect(openIncident(opener.deps, alert)).rejects.toThrow();
      expect(opener.sent.slice(0, 2)).toEqual(['GetItemCommand', 'UpdateItemCommand']);
      expect((await processOver(tables, clock).store.findCorrelation(alert.correlationKey))?.incidentId).toBe(
        'INC-2026-0001',
      );
      clock.advance(wait);
      const before = starts();
      const redelivery = processOver(tables, clock);
      expect(await openIncident(redelivery.deps, alert)).toMatchObject({
        outcome: 'opened',
        incidentId: 'INC-2026-0001',
      });
      expect(starts() - before).toBe(1);
      // Once Detect ran, a repeat folds without starting anything.
      await enterPhase(
        { incidents: redelivery.store, approvals: redelivery.store, clock },
        { incidentId: 'INC-2026-0001', phase: 'Detect', entry: 'entry-1' },
      );
      expect(await openIncident(redelivery.deps, alert)).toMatchObject({ outcome: 'folded' });
      expect(starts() - before).toBe(1);
      expect(await redelivery.store.lastIncidentNumber(2026)).toBe(1);
    }
  });
});

describe('a cross-source key claimed by an opener that died and whose sender never came back', () => {
  it('is taken over by another source after the grace: one incident, one start, no gap', async () => {
    const tables = await world.db.tables();
    const clock = testClock();
    const alertmanager = fromSource('alertmanager', 'payments');
    const pagerduty = fromSource('pagerduty', 'payments');
    const opener = processOver(tables, clock);
    // The counter and cross-source key read, the claim of its own key and of the cross-source key
    // reach DynamoDB; nothing after (its incident, giving the keys back) does.
    opener.dieAfter(3);
    await expect(openIncident(opener.deps, alertmanager)).rejects.toThrow();
    expect(opener.sent.slice(0, 3)).toEqual([
      'BatchGetItemCommand',
      'UpdateItemCommand',
      'UpdateItemCommand',
    ]);
    const cross = await processOver(tables, clock).store.findCorrelation(
      `cross:${sha256Hex('payments\nproduction\nacme').slice(0, 32)}`,
    );
    expect(cross).toMatchObject({
      incidentId: 'INC-2026-0001',
      owner: alertmanager.correlationKey,
      open: true,
    });

    // Within the opener's grace, the other source's report waits for the opening: retry.
    await expect(openIncident(processOver(tables, clock).deps, pagerduty)).rejects.toThrow(
      /still being opened/,
    );
    // Past it the opener is not coming back, and neither is its sender: the report opens the incident.
    clock.advance(GRACE_PAST);
    const taken = await openIncident(processOver(tables, clock).deps, pagerduty);
    expect(taken).toMatchObject({ outcome: 'opened', incidentId: 'INC-2026-0001' });
    expect(starts()).toBe(1);
    // Should the first sender come back after all, it joins that incident.
    expect(await openIncident(processOver(tables, clock).deps, alertmanager)).toMatchObject({
      outcome: 'folded',
      incidentId: 'INC-2026-0001',
    });
    expect(await openIncident(processOver(tables, clock).deps, pagerduty)).toMatchObject({
      outcome: 'folded',
      incidentId: 'INC-2026-0001',
    });
    expect(starts()).toBe(1);
    const store = processOver(tables, clock).store;
    expect((await store.getIncident('INC-2026-0001'))?.correlationKey).toBe(pagerduty.correlationKey);
    expect(await store.getIncident('INC-2026-0002')).toBeUndefined();
    expect(await store.lastIncidentNumber(2026)).toBe(1);
  });
});

describe('an incident write whose answer was lost', () => {
  it("is recognised as the opener's own when the SDK's retry is refused: no second incident", async () => {
    const tables = await world.db.tables();
    const clock = testClock();
    const alert = fromSource('alertmanager', undefined);
    const opener = processOver(tables, clock);
    // The incident's put reaches DynamoDB, its answer does not: the SDK sends it again, and the
    // condition that no incident holds the number refuses the second one.
    let lost = false;
    opener.raw.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const input = args.input as { Item?: { entity?: { S?: string } } };
        if (!lost && context.commandName === 'PutItemCommand' && input.Item?.entity?.S === 'incident') {
          lost = true;
          throw Object.assign(new Error('socket hang up after the write'), {
            name: 'TimeoutError',
            $metadata: {},
          });
        }
        return result;
      },
      { step: 'deserialize', name: 'loseTheAnswer', priority: 'low' },
    );
    expect(await openIncident(opener.deps, alert)).toMatchObject({
      outcome: 'opened',
      incidentId: 'INC-2026-0001',
    });
    expect(lost).toBe(true);
    expect(starts()).toBe(1);
    expect(await opener.store.getIncident('INC-2026-0002')).toBeUndefined();
    expect(await opener.store.lastIncidentNumber(2026)).toBe(1);
    expect((await opener.store.findCorrelation(alert.correlationKey))?.incidentId).toBe('INC-2026-0001');
  });
});

describe('an opener whose detection failed and which could not read its incident back', () => {
  it('keeps its key, so that the redelivery finishes that incident rather than opening another', async () => {
    const tables = await world.db.tables();
    const clock = testClock();
    const alert = fromSource('alertmanager', undefined);
    const opener = processOver(tables, clock);
    // Once the incident is written, the ledger and every read of the incident fail (DynamoDB
    // throttling the opener, say); the writes to the operations table still go through.
    let incidentWritten = false;
    opener.raw.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { TableName?: string; Item?: { entity?: unknown } };
        const entity = input.Item?.entity;
        const failing =
          incidentWritten && (input.TableName === tables.ledger || context.commandName === 'GetItemCommand');
        if (failing) throw Object.assign(new Error('throttled'), { name: 'TimeoutError' });
        const result = await next(args);
        if (
          context.commandName === 'PutItemCommand' &&
          (entity === 'incident' || (entity as { S?: string })?.S === 'incident')
        )
          incidentWritten = true;
        return result;
      },
      { step: 'initialize', name: 'failAfterTheIncident', priority: 'low' },
    );
    await expect(openIncident(opener.deps, alert)).rejects.toThrow();
    expect(incidentWritten).toBe(true);
    const redelivery = processOver(tables, clock);
    expect(await openIncident(redelivery.deps, alert)).toMatchObject({
      outcome: 'folded',
      incidentId: 'INC-2026-0001',
    });
    expect(starts()).toBe(1);
    expect(await redelivery.store.getIncident('INC-2026-0002')).toBeUndefined();
    expect((await redelivery.deps.ledger.read('INC-2026-0001')).map((e) => e.phase)).toEqual(['Detect']);
  });
});
