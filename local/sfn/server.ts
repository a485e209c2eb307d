import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compileDefinition } from './definition.ts';
import type { PreparedMachine } from './execution-run.ts';
import { Executions } from './executions.ts';
import { createOperations, type Operation } from './operations.ts';
import { assertExecutionName, partitionOf, SfnApiError, stateMachineArnOf } from './protocol.ts';
import { ExecutionStore } from './store.ts';

/** A state machine the local server runs. */
export interface LocalStateMachine {
  name: string;
  /** The ASL definition, with every substitution already made. */
  definition: object;
  roleArn?: string;
}

/** How to start the local Step Functions server. */
export interface StepFunctionsServerOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  region: string;
  accountId: string;
  /** Executions are journaled here; the ones running when the server stops continue when it starts again. */
  dataDir: string;
  stateMachines: LocalStateMachine[];
  /** In-process Lambda invoke. Throws an Error whose `name` is the Lambda errorType on function error. */
  invokeFunction: (functionNameOrArn: string, payload: unknown) => Promise<unknown>;
  /** Never receives task tokens. */
  log?: (line: string) => void;
  /** AWS's quota of 25,000 history events per execution (lower only to test it quickly). */
  maxHistoryEvents?: number;
}

/** A running local Step Functions server. */
export interface StepFunctionsServer {
  url: string;
  port: number;
  /** The ARN of a configured state machine; throws for a name that is not configured. */
  stateMachineArn(name: string): string;
  /** Resolves once every execution continued after a restart waits on its tasks again. */
  resumed(): Promise<void>;
  /** Stops the HTTP server; running executions stay RUNNING and continue at the next start. */
  close(): Promise<void>;
  /** Stops at once, writing nothing more, as `kill -9` would (tests of what survives a crash). */
  kill(): void;
}

// Execution input and task output are limited to 256 KiB; JSON escaping can at most about double that.
const MAX_BODY_BYTES = 1024 * 1024;

/** Starts a server that speaks the Step Functions JSON protocol and runs the given state machines. */
export async function startStepFunctionsServer(o: StepFunctionsServerOptions): Promise<StepFunctionsServer> {
  const host = o.host ?? '127.0.0.1';
  const log = o.log ?? (() => {});
  const machines = prepareMachines(o, log);
  const executions = new Executions({
    region: o.region,
    accountId: o.accountId,
    store: new ExecutionStore(o.dataDir, log),
    services: { invokeFunction: o.invokeFunction },
    log,
    maxHistoryEvents: o.maxHistoryEvents ?? 25_000,
  });
  await executions.load();
  const operations = createOperations(machines, executions);
  const server = createServer((request, response) => {
    void respond(request, response, operations, log);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  log(
    `sfn: local Step Functions listening on ${url} (${machines.map((m) => m.name).join(', ') || 'no state machines'})`,
  );

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    stateMachineArn(name) {
      const machine = machines.find((candidate) => candidate.name === name);
      if (!machine) throw new Error(`The local Step Functions server has no state machine named '${name}'`);
      return machine.arn;
    },
    resumed: () => executions.resumed(),
    kill() {
      executions.kill();
      server.close();
      server.closeAllConnections();
    },
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await executions.close();
        // Keep-alive connections from SDK clients would otherwise hold the server open.
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}

function prepareMachines(o: StepFunctionsServerOptions, log: (line: string) => void): PreparedMachine[] {
  const creationDate = Date.now();
  const names = new Set<string>();
  return o.stateMachines.map((machine) => {
    if (names.has(machine.name)) throw new Error(`Two state machines are named '${machine.name}'`);
    try {
      assertExecutionName(machine.name);
    } catch {
      throw new Error(`'${machine.name}' is not a valid state machine name`);
    }
    names.add(machine.name);
    let compiled: PreparedMachine['compiled'];
    try {
      compiled = compileDefinition(machine.definition);
    } catch (error) {
      throw new Error(`State machine '${machine.name}' cannot run locally: ${(error as Error).message}`, {
        cause: error,
      });
    }
    for (const task of compiled.unsupportedTasks) {
      log(
        `sfn: state machine '${machine.name}': Task state '${task.name}' uses '${task.resource}', ` +
          'which the local server does not run; executions fail when they reach it',
      );
    }
    return {
      name: machine.name,
      arn: stateMachineArnOf(o.region, o.accountId, machine.name),
      roleArn: machine.roleArn ?? `arn:${partitionOf(o.region)}:iam::${o.accountId}:role/StepFunctionsLocal`,
      definition: JSON.stringify(machine.definition),
      creationDate,
      compiled,
    };
  });
}

async function respond(
  request: IncomingMessage,
  response: ServerResponse,
  operations: Map<string, Operation>,
  log: (line: string) => void,
): Promise<void> {
  const requestId = randomUUID();
  let operationName = 'request';
  try {
    const body = await readBody(request);
    if (request.method !== 'POST') {
      throw new SfnApiError('UnknownOperationException', 'Step Functions requests are POSTs to /', 404);
    }
    const target = request.headers['x-amz-target'];
    operationName = typeof target === 'string' ? target.replace(/^AWSStepFunctions\./, '') : '';
    const operation =
      target === `AWSStepFunctions.${operationName}` ? operations.get(operationName) : undefined;
    if (!operation) {
      throw new SfnApiError(
        'UnknownOperationException',
        `Unknown operation ${String(target ?? '(no X-Amz-Target)')}`,
      );
    }
    const output = await operation(parseInput(body));
    send(response, 200, output ?? {}, requestId);
  } catch (error) {
    if (error instanceof SfnApiError) {
      send(response, error.statusCode, { __type: error.awsName, message: error.message }, requestId);
      return;
    }
    log(`sfn: ${operationName} failed: ${(error as Error).stack ?? String(error)}`);
    send(
      response,
      500,
      { __type: 'InternalFailure', message: 'The local Step Functions server failed on this request' },
      requestId,
    );
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    // Keep reading to the end so the connection stays usable, but stop keeping what is read.
    if (size <= MAX_BODY_BYTES) chunks.push(chunk as Buffer);
  }
  if (size > MAX_BODY_BYTES) throw new SfnApiError('ValidationException', 'Request body is too large', 413);
  return Buffer.concat(chunks).toString('utf8');
}

function parseInput(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new SfnApiError('SerializationException', 'The request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SfnApiError('SerializationException', 'The request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function send(response: ServerResponse, status: number, body: unknown, requestId: string): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.0',
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': requestId,
  });
  response.end(text);
}
