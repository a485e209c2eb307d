/**
 * An alert storm through the ingest handler, against a baseline measured in the same run on the
 * same dynalite: plain conditional PutItems (`attribute_not_exists`) at the same concurrency.
 * 10,000 Alertmanager notifications in 10 groups (each group's first notification opens its
 * incident; the rest repeat it, one in a hundred with a new occurrence) are handled 16 at a time;
 * `ingest.storm_vs_put` is notifications per second over puts per second. StartExecution calls
 * are counted with SDK middleware on the Step Functions client, which answers them itself (a
 * started execution runs Detect a moment later, as the lifecycle would). The round trips of one
 * new incident and of one repeat with a new occurrence are counted with middleware on the
 * DynamoDB client. The handler's logging is off.
 */
import { randomUUID } from 'node:crypto';
import { SFNClient } from '@aws-sdk/client-sfn';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { systemClock } from '../functions/adapters/aws.ts';
import { DynamoDbChangeMarks } from '../functions/adapters/change-marks.ts';
import { DynamoDbLedger } from '../functions/adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../functions/adapters/dynamodb-operations-store.ts';
import { logger } from '../functions/adapters/logger.ts';
import { S3PayloadArchive } from '../functions/adapters/s3-payload-archive.ts';
import { StepFunctionsWorkflow } from '../functions/adapters/sfn-workflow.ts';
import { webhookTokenVerifier } from '../functions/adapters/webhook-token.ts';
import { makeIngestHandler } from '../functions/ingest-alert/ingest-alert.ts';
import { enterPhase } from '../functions/use-cases/enter-phase.ts';
import { startTestDatabase } from '../test/support/dynamodb.ts';
import { startTestBucket } from '../test/support/s3.ts';
import {
  ALERTMANAGER_PAYLOAD,
  countedDocumentClient,
  postWebhook,
  STATE_MACHINE_ARN,
  WEBHOOK_TOKEN,
} from '../test/support/webhooks.ts';
import type { BenchReport } from './run.ts';

const NOTIFICATIONS = Number(process.env.BENCH_STORM_NOTIFICATIONS ?? 10_000);
const GROUPS = 10;
const CONCURRENCY = 16;
const NEW_OCCURRENCE_EVERY = 100;
const sample = JSON.parse(ALERTMANAGER_PAYLOAD);

/** Runs `count` ops, `concurrency` at a time; returns the seconds it took. */
async function pool(count: number, concurrency: number, op: (i: number) => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await op(next++);
    }),
  );
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Notification `i` of group `g`: a repeat of its group's alert, or now and then a new occurrence of it. */
function notification(g: number, i: number): string {
  const body = structuredClone(sample);
  body.groupKey = `{}/{world="RML3"}:{alertname="Storm${g}"}`;
  body.groupLabels = { ...body.groupLabels, alertname: `Storm${g}` };
  const wave = Math.floor(i / NEW_OCCURRENCE_EVERY);
  body.alerts[0].startsAt = new Date(Date.parse('2026-11-22T10:00:00Z') + wave * 60_000).toISOString();
  return JSON.stringify(body);
}

export default async function run(): Promise<BenchReport> {
  // The handler's line per notification is measured by nothing here; the local stack's tests keep
  // it off too. The comparison is with DynamoDB puts.
  logger.setLogLevel('SILENT');
  const db = await startTestDatabase();
  const bucket = await startTestBucket();
  try {
    const tables = await db.tables();
    const { doc, sent } = countedDocumentClient(db.endpoint);
    const store = new DynamoDbOperationsStore(doc, tables.operations);

    const starts: string[] = [];
    const detects: Promise<unknown>[] = [];
    const sfn = new SFNClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    });
    sfn.middlewareStack.add(
      (_next, context) => async (args) => {
        if (context.commandName === 'DescribeExecutionCommand') {
          const name = String((args.input as { executionArn: string }).executionArn)
            .split(':')
            .pop();
          if (!starts.includes(String(name)))
            throw Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' });
          return { output: { status: 'RUNNING', $metadata: {} }, response: {} };
        }
        if (context.commandName !== 'StartExecutionCommand')
          throw new Error(`unexpected ${context.commandName}`);
        const { incidentId } = JSON.parse(String((args.input as { input: string }).input));
        starts.push(incidentId);
        detects.push(
          new Promise((resolve) => setTimeout(resolve, 50)).then(() =>
            enterPhase(
              { incidents: store, approvals: store, clock: systemClock },
              { incidentId, phase: 'Detect', entry: 'bench' },
            ),
          ),
        );
        return {
          output: { executionArn: `arn:bench:${incidentId}`, startDate: new Date(), $metadata: {} },
          response: {},
        };
      },
      { step: 'initialize', name: 'answerStartExecution' },
    );
    /** The handler over `doc`, with a store and a ledger as a new function instance has them. */
    const handlerOver = (incidents: DynamoDbOperationsStore) =>
      makeIngestHandler({
        incidents,
        ledger: new DynamoDbLedger(doc, tables.ledger, {
          sealer: db.sealer,
          headSigner: db.headSigner,
          changes: new DynamoDbChangeMarks(doc, tables.operations),
        }),
        workflow: new StepFunctionsWorkflow(sfn, STATE_MACHINE_ARN),
        payloads: new S3PayloadArchive(bucket.client, bucket.bucket),
        clock: systemClock,
        verifyToken: webhookTokenVerifier({ kind: 'value', value: WEBHOOK_TOKEN }),
      });
    const handler = handlerOver(store);
    const post = (body: string) => postWebhook(handler, body);

    // The baseline: conditional puts of new items at the same concurrency, on the same table.
    const putItem = { entity: 'bench', detail: JSON.stringify(sample).slice(0, 400) };
    for (let i = 0; i < 50; i++) {
      await db.doc.send(
        new PutCommand({
          TableName: tables.operations,
          Item: { pk: `WARM#${i}`, sk: 'META', ...putItem },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    }
    const putSeconds = await pool(NOTIFICATIONS, CONCURRENCY, async (i) => {
      await db.doc.send(
        new PutCommand({
          TableName: tables.operations,
          Item: { pk: `BASE#${randomUUID()}#${i}`, sk: 'META', ...putItem },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    });

    // The storm: groups interleaved, so every group is being delivered at once.
    const bodies = Array.from({ length: NOTIFICATIONS }, (_, i) =>
      notification(i % GROUPS, Math.floor(i / GROUPS)),
    );
    const statuses = new Map<number, number>();
    const stormSeconds = await pool(NOTIFICATIONS, CONCURRENCY, async (i) => {
      const res = await post(bodies[i] as string);
      const code = res.statusCode ?? 0;
      statuses.set(code, (statuses.get(code) ?? 0) + 1);
    });
    await Promise.all(detects);
    const incidents = (await store.listIncidents(100)).items.length;
    const executions = starts.length;

    // One repeat with a new occurrence of an open incident whose Detect ran.
    const repeat = JSON.parse(notification(0, 0));
    repeat.alerts[0].startsAt = '2026-11-23T09:00:00.000Z';
    sent.length = 0;
    const repeatStatus = (await post(JSON.stringify(repeat))).statusCode;
    const repeatRoundTrips = sent.length;
    const repeatRequests = [...sent];

    // One new incident, from a handler as fresh as a cold start (its first claim reads the counter).
    const cold = handlerOver(new DynamoDbOperationsStore(doc, tables.operations));
    sent.length = 0;
    const fresh = await postWebhook(cold, notification(GROUPS, 0));
    const newRoundTrips = sent.length;
    const newRequests = [...sent];
    await Promise.all(detects);
    if (repeatStatus !== 200 || fresh.statusCode !== 201) {
      throw new Error(`the round-trip probes answered ${repeatStatus} and ${fresh.statusCode}`);
    }

    const stormRate = NOTIFICATIONS / stormSeconds;
    const putRate = NOTIFICATIONS / putSeconds;
    const results = {
      'ingest.storm_vs_put': Number((stormRate / putRate).toFixed(3)),
      'ingest.storm_incidents': incidents,
      'ingest.storm_executions': executions,
      'ingest.storm_201': statuses.get(201) ?? 0,
      'ingest.repeat_round_trips': repeatRoundTrips,
      'ingest.new_round_trips': newRoundTrips,
    };
    const answered = [...statuses.entries()]
      .sort(([a], [b]) => a - b)
      .map(([code, n]) => `${n} × ${code}`)
      .join(', ');
    return {
      results,
      targets: {
        'ingest.storm_vs_put': '≥ 0.4',
        'ingest.storm_incidents': `= ${GROUPS}`,
        'ingest.storm_executions': `= ${GROUPS}`,
        'ingest.storm_201': `= ${GROUPS}`,
        'ingest.repeat_round_trips': '≤ 2',
        'ingest.new_round_trips': '≤ 7',
      },
      markdown: [
        '## Ingest under an alert storm (`bench/ingest-storm.bench.ts`)',
        '',
        `${NOTIFICATIONS.toLocaleString('en')} Alertmanager notifications in ${GROUPS} groups, ${CONCURRENCY} at a time through the ingest handler (one in ${NEW_OCCURRENCE_EVERY} of a group's notifications reports a new occurrence), on dynalite: ${stormRate.toFixed(0)} notifications/s, against ${putRate.toFixed(0)} plain conditional puts/s at the same concurrency in the same run (ratio ${results['ingest.storm_vs_put']}). Answered: ${answered}. ${incidents} incidents, ${executions} StartExecution calls (counted with SDK middleware).`,
        '',
        `A repeat with a new occurrence: ${repeatRequests.join(', ')}. A new incident from a cold handler: ${newRequests.join(', ')} (and one StartExecution).`,
      ].join('\n'),
    };
  } finally {
    await db.close();
    await bucket.close();
  }
}
