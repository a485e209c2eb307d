/**
 * Counts, in this process, what the local stack's handlers would be billed for on AWS: Lambda
 * invocations and their time (at the 512 MB every function is deployed with), DynamoDB request
 * units (as dynalite reports them when asked with ReturnConsumedCapacity), SES messages, S3
 * requests, KMS requests (locally the ledger is sealed and heads are signed with key files: each
 * seal, verification and signature is the GenerateMac, VerifyMac or Sign call it is on AWS) and
 * API Gateway requests (the invocations of the functions behind routes). State transitions are
 * read from each incident's execution history by the caller.
 *
 * The local time of an invocation includes the emulators it waits for, all in this one process,
 * so Lambda's duration is over-counted, never under-counted.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { FileHeadSigner } from '../functions/adapters/head-signer.ts';
import { FileKeySealer } from '../functions/adapters/ledger-sealer.ts';
import type { FunctionKey } from '../functions/catalog.ts';
import { ROUTES } from '../functions/routes.ts';
import { REPO_ROOT } from '../lib/paths.ts';
import { LocalLambdaRuntime } from '../local/lambda-runtime.ts';
import { emptyUsage, type Usage } from './aws-costs.ts';

/** CasebookFunction's memory; no function is deployed with another. */
const MEMORY_GB = 512 / 1024;
const HTTP_FUNCTIONS = new Set<string>(ROUTES.map((r) => r.fn));

const DYNAMO_COMMANDS = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactGetItems',
  'TransactWriteItems',
  'Get',
  'Put',
  'Update',
  'Delete',
  'BatchGet',
  'BatchWrite',
  'TransactGet',
  'TransactWrite',
]);
const READS = new Set([
  'GetItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'TransactGetItems',
  'Get',
  'BatchGet',
  'TransactGet',
]);
const S3_PUT_CLASS = new Set([
  'PutObject',
  'CopyObject',
  'ListObjectsV2',
  'ListObjects',
  'CreateMultipartUpload',
  'UploadPart',
  'CompleteMultipartUpload',
  'PutObjectRetention',
]);

interface Capacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

const running = new AsyncLocalStorage<FunctionKey>();

/** The usage counted since {@link installUsageMeter}, changing as the stack runs. */
export const meter: Usage = emptyUsage();
/** DynamoDB calls dynalite answered without capacity, priced by their items' size instead. */
export let estimatedDynamoCalls = 0;

let installed = false;

/** Wraps the SDK's send, the local Lambda runtime and the local key files. Once per process. */
export function installUsageMeter(): void {
  if (installed) return;
  installed = true;
  const patched = new Set<unknown>();
  for (const pkg of [
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-s3',
    '@aws-sdk/client-ses',
  ]) {
    const fromPkg = createRequire(createRequire(join(REPO_ROOT, 'package.json')).resolve(pkg));
    const proto = (
      fromPkg('@smithy/core/client') as { Client: { prototype: { send: (...a: unknown[]) => unknown } } }
    ).Client.prototype;
    if (patched.has(proto)) continue;
    patched.add(proto);
    const send = proto.send;
    proto.send = async function (this: object, command: unknown, ...rest: unknown[]) {
      if (!running.getStore()) return send.call(this, command, ...rest);
      const c = command as { constructor: { name: string }; input?: Record<string, unknown> };
      const name = c.constructor.name.replace(/Command$/, '');
      const client = this.constructor.name;
      if (client.startsWith('DynamoDB') && DYNAMO_COMMANDS.has(name) && c.input) {
        c.input.ReturnConsumedCapacity ??= 'TOTAL';
        const output = (await send.call(this, command, ...rest)) as {
          ConsumedCapacity?: Capacity | Capacity[];
        };
        countDynamo(name, c.input, output?.ConsumedCapacity);
        return output;
      }
      if (client.startsWith('SES') && /^Send(Raw)?Email$/.test(name)) meter.sesMessages++;
      if (client === 'S3Client') {
        if (S3_PUT_CLASS.has(name)) meter.s3Puts++;
        else meter.s3Gets++;
      }
      return send.call(this, command, ...rest);
    };
  }

  const invoke = LocalLambdaRuntime.prototype.invoke;
  LocalLambdaRuntime.prototype.invoke = async function (this: LocalLambdaRuntime, key, event) {
    const started = performance.now();
    try {
      return await running.run(key, () => invoke.call(this, key, event));
    } finally {
      meter.lambdaRequests++;
      if (HTTP_FUNCTIONS.has(key)) meter.httpRequests++;
      meter.lambdaGbSeconds += (Math.ceil(performance.now() - started) / 1000) * MEMORY_GB;
    }
  };

  for (const proto of [FileKeySealer.prototype, FileHeadSigner.prototype] as unknown as Record<
    string,
    (...a: unknown[]) => unknown
  >[]) {
    for (const method of ['seal', 'verify', 'sign']) {
      const original = proto[method];
      if (typeof original !== 'function') continue;
      proto[method] = function (this: unknown, ...args: unknown[]) {
        meter.kmsRequests++;
        return original.apply(this, args);
      };
    }
  }
}

function countDynamo(
  name: string,
  input: Record<string, unknown>,
  consumed: Capacity | Capacity[] | undefined,
) {
  const read = READS.has(name);
  const capacities = [consumed ?? []].flat();
  const units = capacities.reduce(
    (sum, c) =>
      sum +
      (read ? (c.ReadCapacityUnits ?? c.CapacityUnits ?? 0) : (c.WriteCapacityUnits ?? c.CapacityUnits ?? 0)),
    0,
  );
  if (capacities.length > 0) {
    if (read) meter.dynamoReadUnits += units;
    else meter.dynamoWriteUnits += units;
    return;
  }
  // Transactions cost two units per KB written or 4 KB read; a plain write one per KB.
  estimatedDynamoCalls++;
  const items = (input.TransactItems as unknown[] | undefined) ?? [input];
  const perItem = (item: unknown) =>
    Math.max(1, Math.ceil(JSON.stringify(item).length / (read ? 4096 : 1024)));
  const factor = name.startsWith('Transact') ? 2 : 1;
  const total = items.reduce<number>((sum, item) => sum + factor * perItem(item), 0);
  if (read) meter.dynamoReadUnits += total;
  else meter.dynamoWriteUnits += total;
}

/** A copy of the usage counted so far. */
export const snapshot = (): Usage => ({ ...meter });

/** What was used between two snapshots, with `stateTransitions` from the execution's history. */
export function usageBetween(before: Usage, after: Usage, stateTransitions: number): Usage {
  const diff = Object.fromEntries(
    Object.entries(after).map(([k, v]) => [k, v - before[k as keyof Usage]]),
  ) as unknown as Usage;
  return { ...diff, stateTransitions };
}
