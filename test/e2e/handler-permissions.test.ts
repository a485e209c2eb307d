/**
 * Each handler's AWS calls against the IAM role CDK gives its function. An incident is taken
 * through its whole lifecycle on the local stack (alert, workroom, approvals, Act, postmortem,
 * anchoring), one is declared by hand and an entry recorded on its ledger, and the API read;
 * every SDK call a handler makes meanwhile is recorded (the function it ran in, the IAM action, the
 * resource's ARN, with local names mapped to the deployed resources'), and each must be allowed
 * by an Allow statement of that function's role in the synthesized template.
 *
 * Locally the ledger is sealed with a key file and secrets are plain values, so KMS and Secrets
 * Manager calls are not exercised here (test/infra/functions.test.ts checks those grants).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FUNCTIONS, type FunctionKey } from '../../functions/catalog.ts';
import { LocalLambdaRuntime } from '../../local/lambda-runtime.ts';
import { LOCAL_BUCKETS, LOCAL_TABLES } from '../../local/names.ts';
import type { LocalStack } from '../../local/stack.ts';
import { CDK_JSON_CONTEXT, synthCasebookApp } from '../infra/casebook-app.ts';
import { type Statement, statementsOf } from '../infra/iam.ts';
import { ACCOUNT, REGION, resolveIn, type Templates } from '../infra/template-values.ts';
import { approveRound, closeCase, openedToDecide } from '../support/casework.ts';
import { signIn } from '../support/console.ts';
import { complaint } from '../support/declarations.ts';
import { freePorts, getCase, ROOT, start, tempDataDir, waitFor } from '../support/local-stack.ts';
import { legalFee } from '../support/manual-entries.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

const { stateful, stateless, statelessTemplate, statefulTemplate } = synthCasebookApp();
const templates = { stateless: statelessTemplate.toJSON(), stateful: statefulTemplate.toJSON() } as Templates;
const deployed = (token: unknown) => String(resolveIn(templates, stateless.resolve(token)));

/** Local resource names and ARNs, and what the deployed stack calls the same resources. */
const tableNames: Record<string, string> = {
  [LOCAL_TABLES.operations]: deployed(stateful.operationsTable.tableName),
  [LOCAL_TABLES.ledger]: deployed(stateful.ledgerTable.tableName),
};
const bucketNames: Record<string, string> = {
  [LOCAL_BUCKETS.anchors]: deployed(stateful.anchorBucket.bucketName),
  [LOCAL_BUCKETS.payloads]: deployed(stateful.payloadBucket.bucketName),
  [LOCAL_BUCKETS.exports]: deployed(stateful.exportBucket.bucketName),
};
const stateMachineArn = deployed(stateless.stateMachine.stateMachineArn);
/** Casebook's sender: locally `casebook@casebook.local`, deployed the address cdk.json names. */
const mailFrom = CDK_JSON_CONTEXT['casebook:mailFrom'] as string;
const LOCAL_MAIL_FROM = 'casebook@casebook.local';

interface Call {
  readonly fn: FunctionKey;
  readonly action: string;
  readonly resources: readonly string[];
}
const calls: Call[] = [];
const running = new AsyncLocalStorage<FunctionKey>();

/** Document-client commands and the DynamoDB actions they are. */
const DOCUMENT_ACTIONS: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
};
const S3_ACTIONS: Record<string, string> = {
  ListObjectsV2: 'ListBucket',
  HeadObject: 'GetObject',
  // A multipart upload is authorized as the PutObject it makes (Abort has an action of its own).
  CreateMultipartUpload: 'PutObject',
  UploadPart: 'PutObject',
  CompleteMultipartUpload: 'PutObject',
};

/** Every table (and index) an input names, as deployed ARNs. */
function tableArns(input: Record<string, unknown>): string[] {
  const found = new Set<string>();
  const visit = (value: unknown) => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      if (typeof record.TableName === 'string') {
        const table = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${tableNames[record.TableName] ?? record.TableName}`;
        found.add(typeof record.IndexName === 'string' ? `${table}/index/${record.IndexName}` : table);
      }
      if (record.RequestItems && typeof record.RequestItems === 'object')
        for (const name of Object.keys(record.RequestItems))
          found.add(`arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${tableNames[name] ?? name}`);
      Object.values(record).forEach(visit);
    }
  };
  visit(input);
  return [...found];
}

/** The IAM action and resources of an SDK call. */
function iamOf(client: string, command: string, input: Record<string, unknown>): Omit<Call, 'fn'> {
  const name = command.replace(/Command$/, '');
  if (client.startsWith('DynamoDB'))
    return { action: `dynamodb:${DOCUMENT_ACTIONS[name] ?? name}`, resources: tableArns(input) };
  if (client === 'S3Client') {
    const bucket = bucketNames[input.Bucket as string] ?? (input.Bucket as string);
    const action = S3_ACTIONS[name] ?? name;
    return {
      action: `s3:${action}`,
      resources: [action === 'ListBucket' ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${input.Key}`],
    };
  }
  if (client === 'SFNClient') {
    const arn = input.stateMachineArn ?? input.executionArn;
    const local = typeof arn === 'string' ? arn : '*';
    // A task token names no resource: IAM checks SendTask* against the token's state machine.
    const resource = local.includes(':execution:')
      ? `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${local.split(':').at(-1)}`
      : stateMachineArn;
    return { action: `states:${name}`, resources: [resource] };
  }
  if (client.startsWith('SES')) {
    const local = String(input.Source ?? input.FromEmailAddress ?? '').replace(/^.*<([^>]+)>.*$/, '$1');
    const from = local === LOCAL_MAIL_FROM ? mailFrom : local;
    return { action: `ses:${name}`, resources: [`arn:aws:ses:${REGION}:${ACCOUNT}:identity/${from}`] };
  }
  return { action: `${client.replace(/Client$/, '').toLowerCase()}:${name}`, resources: ['*'] };
}

/** Records every SDK call made while a handler runs (all SDK clients extend smithy's Client). */
function recordSdkCalls(): void {
  const patched = new Set<unknown>();
  for (const pkg of [
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-s3',
    '@aws-sdk/client-sfn',
    '@aws-sdk/client-ses',
  ]) {
    const fromPkg = createRequire(createRequire(join(ROOT, 'package.json')).resolve(pkg));
    const smithy = fromPkg('@smithy/core/client') as {
      Client: { prototype: { send: (...args: unknown[]) => unknown } };
    };
    const proto = smithy.Client.prototype;
    if (patched.has(proto)) continue;
    patched.add(proto);
    const send = proto.send;
    proto.send = function (this: object, command: unknown, ...rest: unknown[]) {
      const fn = running.getStore();
      if (fn) {
        const c = command as { constructor: { name: string }; input: Record<string, unknown> };
        calls.push({ fn, ...iamOf(this.constructor.name, c.constructor.name, c.input ?? {}) });
      }
      return send.call(this, command, ...rest);
    };
  }
  const invoke = LocalLambdaRuntime.prototype.invoke;
  LocalLambdaRuntime.prototype.invoke = function (this: LocalLambdaRuntime, key, event) {
    return running.run(key, () => invoke.call(this, key, event));
  };
}

/** Whether `pattern` (IAM's `*` and `?` wildcards) matches `value`. */
function wildcard(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

function allowed(statements: readonly Statement[], action: string, resource: string): boolean {
  return statements.some((s) => {
    if (s.Effect !== 'Allow') return false;
    if (![s.Action].flat().some((a) => wildcard(a, action, true))) return false;
    const resources = [resolveIn(templates, s.Resource)].flat().map(String);
    return resources.some((r) => wildcard(r, resource));
  });
}

let stack: LocalStack;
beforeAll(async () => {
  recordSdkCalls();
  // The scheduled ledger export runs every few seconds here instead of daily.
  process.env.CASEBOOK_EXPORT_INTERVAL_SECONDS = '10';
  stack = await start(tempDataDir(), await freePorts());
}, 120_000);
afterAll(() => stack?.close());

describe('every AWS call of every handler, against its deployed role', () => {
  it('is allowed by the role the template gives the function', async () => {
    // An incident's whole lifecycle.
    const { incidentId } = await openedToDecide(stack, sample);
    await approveRound(stack, incidentId);
    await closeCase(stack, incidentId, { timeoutMs: 120_000 });
    // A declaration, a manual ledger entry, the API's reads.
    const declared = await fetch(`${stack.endpoints.api}/incidents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...complaint, csTicketId: 'CS-7777' }),
    });
    expect(declared.status).toBe(201);
    const detectedAt = ((await getCase(stack, incidentId)) as unknown as { incident: { detectedAt: string } })
      .incident.detectedAt;
    const entry = await fetch(`${stack.endpoints.api}/incidents/${incidentId}/ledger`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'permissions' },
      body: JSON.stringify({ ...legalFee, effectiveAt: detectedAt }),
    });
    expect(entry.status).toBe(201);
    expect((await fetch(`${stack.endpoints.api}/incidents`)).status).toBe(200);
    expect((await fetch(`${stack.endpoints.api}/incidents/${incidentId}/case-file.yaml`)).status).toBe(200);
    // The console's reads, signed in: the list (the byCreation index), a case page, its cost, its case file.
    const { cookie } = await signIn(stack, 'auditor@example.com');
    for (const path of [
      '/',
      `/console/incidents/${incidentId}`,
      `/console/incidents/${incidentId}/cost`,
      `/console/incidents/${incidentId}/case-file.txt`,
    ])
      expect((await fetch(`${stack.endpoints.api}${path}`, { headers: { cookie } })).status, path).toBe(200);
    // The declared incident's lifecycle reaches its wait for people before the stack closes.
    const { incidentId: declaredId } = (await declared.json()) as { incidentId: string };
    await waitFor(`${declaredId} to wait for people`, async () =>
      (await getCase(stack, declaredId)).timeline.length > 1 ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 2000));
    // The scheduled export of the open month has written its object.
    await waitFor('a scheduled ledger export', async () =>
      calls.some((c) => c.fn === 'exportLedger' && c.action === 's3:PutObject') ? true : undefined,
    );

    const byFunction = new Map<FunctionKey, Call[]>();
    for (const call of calls) byFunction.set(call.fn, [...(byFunction.get(call.fn) ?? []), call]);
    const missing: string[] = [];
    for (const [fn, made] of byFunction) {
      const statements = statementsOf(statelessTemplate, stateless, stateless.functions[fn].role);
      const seen = new Set<string>();
      for (const call of made)
        for (const resource of call.resources) {
          const key = `${fn} ${call.action} ${resource}`;
          if (seen.has(key)) continue;
          seen.add(key);
          if (!allowed(statements, call.action, resource)) missing.push(key);
        }
    }
    const covered = [...byFunction.keys()].sort();
    const actions = [...new Set(calls.map((c) => `${c.fn} ${c.action}`))].sort();
    console.log(
      `handler permissions: ${calls.length} calls, ${actions.length} function/action pairs: ${actions.join(', ')}`,
    );
    console.log(
      `handler permissions: calls recorded for ${covered.join(', ')}; none from ${(Object.keys(FUNCTIONS) as FunctionKey[]).filter((k) => !byFunction.has(k)).join(', ')}`,
    );
    expect(missing).toEqual([]);
    // The check can fail: a call the role lacks, or a resource it is not granted on, is refused.
    const ingest = statementsOf(statelessTemplate, stateless, stateless.functions.ingestAlert.role);
    const operations = `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${tableNames[LOCAL_TABLES.operations]}`;
    expect(allowed(ingest, 'dynamodb:PutItem', operations)).toBe(true);
    expect(allowed(ingest, 'dynamodb:DeleteTable', operations)).toBe(false);
    expect(allowed(ingest, 'dynamodb:PutItem', `${operations}-elsewhere`)).toBe(false);
    expect(allowed(ingest, 'ses:SendEmail', `arn:aws:ses:${REGION}:${ACCOUNT}:identity/${mailFrom}`)).toBe(
      false,
    );
    expect(calls.length).toBeGreaterThan(50);
    // A wait that finds itself settled answers its own token (a path timing decides): granted on the
    // state machine by the pattern of the name CloudFormation gives it.
    const hold = statementsOf(statelessTemplate, stateless, stateless.functions.holdForPeople.role);
    expect(allowed(hold, 'states:SendTaskSuccess', stateMachineArn)).toBe(true);
    // Not vacuous: the principal paths of the functions that call AWS ran.
    expect(covered).toEqual(
      expect.arrayContaining([
        'ingestAlert',
        'declareIncident',
        'recordLedgerEntry',
        'incidentsApi',
        'workroom',
        'approvalsPage',
        'requestApproval',
        'carryOutEffects',
        'recordPhase',
        'holdForPeople',
        'exportLedger',
      ]),
    );
  }, 300_000);
});
