/**
 * Exactly once on the local stack: concurrent deliveries of one new alert group over HTTP open
 * one incident, answer 201 once, and call StartExecution once — counted with SDK middleware on
 * every Step Functions client the in-process handlers build (starting by name is idempotent, so
 * counting executions could not fail).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { parseAlertmanagerWebhook } from '../../functions/domain/sources/alertmanager.ts';
import type { LocalStack } from '../../local/stack.ts';
import { freePorts, postAlert, start, tempDataDir, waitFor } from '../support/local-stack.ts';

const LOCAL_CLIENT = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

/** StartExecution calls per execution name, from every SFNClient in this process. */
const started: string[] = [];
const counting = new WeakSet<object>();
const realSend = SFNClient.prototype.send;

let stack: LocalStack;
beforeAll(async () => {
  SFNClient.prototype.send = function send(this: SFNClient, ...args: Parameters<SFNClient['send']>) {
    if (!counting.has(this)) {
      counting.add(this);
      this.middlewareStack.add(
        (next, context) => async (input) => {
          if (context.commandName === 'StartExecutionCommand') {
            started.push(String((input.input as { name?: string }).name));
          }
          return next(input);
        },
        { step: 'initialize', name: 'countStartExecution' },
      );
    }
    return realSend.apply(this, args) as ReturnType<SFNClient['send']>;
  } as SFNClient['send'];
  // The test measures the handlers, not the stage's throttle.
  stack = await start(tempDataDir(), await freePorts(), { gateway: { throttle: false } });
});
afterAll(async () => {
  await stack?.close();
  SFNClient.prototype.send = realSend;
});

function group(name: string): string {
  const body = JSON.parse(sample);
  body.groupKey = `{}/{world="RML3"}:{alertname="${name}"}`;
  return JSON.stringify(body);
}

describe('concurrent deliveries over HTTP', () => {
  it('of one new alert group: one incident, one 201 and 49 200s, one StartExecution', async () => {
    const body = group('OnceOnly');
    const answers = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const res = await postAlert(stack, body);
        return { status: res.status, incidentId: ((await res.json()) as { incidentId: string }).incidentId };
      }),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(49);
    const ids = new Set(answers.map((a) => a.incidentId));
    expect(ids.size).toBe(1);
    const [incidentId] = [...ids];
    expect(started.filter((name) => name === incidentId)).toHaveLength(1);

    // Its execution runs Detect, which marks the key started: a later repeat starts nothing.
    const doc = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: stack.endpoints.dynamodb, ...LOCAL_CLIENT }),
    );
    const store = new DynamoDbOperationsStore(doc, stack.tables.operations);
    const key = parseAlertmanagerWebhook(JSON.parse(body)).correlationKey;
    await waitFor('Detect to mark the key started', async () =>
      (await store.findCorrelation(key))?.started ? true : undefined,
    );
    doc.destroy();
    const again = await postAlert(stack, body);
    expect(again.status).toBe(200);
    expect(started.filter((name) => name === incidentId)).toHaveLength(1);
  });

  it('of three new groups, each sent 10 times at once: three 201s, one StartExecution each', async () => {
    const bodies = ['StormA', 'StormB', 'StormC'].map(group);
    const before = started.length;
    const answers = await Promise.all(
      bodies.flatMap((body) =>
        Array.from({ length: 10 }, async () => {
          const res = await postAlert(stack, body);
          return {
            status: res.status,
            incidentId: ((await res.json()) as { incidentId: string }).incidentId,
          };
        }),
      ),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(3);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(27);
    const ids = [...new Set(answers.map((a) => a.incidentId))];
    expect(ids).toHaveLength(3);
    expect(started.slice(before).sort()).toEqual([...ids].sort());
  });
});
