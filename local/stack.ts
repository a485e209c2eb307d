/**
 * The whole of Casebook on one machine: dynalite (DynamoDB), aws-ses-v2-local (SES and its web
 * inbox), s3rver (S3), the local Step Functions server executing the same ASL, and the local API
 * gateway — with the same handler modules CDK deploys, reaching the emulators through the
 * standard `AWS_ENDPOINT_URL_<SERVICE>` variables.
 */

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { join } from 'node:path';
import sesLocal from 'aws-ses-v2-local';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { STATE_MACHINE } from '../functions/catalog.ts';
import { ENV } from '../functions/env-names.ts';
import { ROUTES } from '../functions/routes.ts';
import { functionSubstitutions, loadDefinition } from './asl.ts';
import { startGateway } from './gateway.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, LocalLambdaRuntime, localFunctionArn } from './lambda-runtime.ts';
import { startStepFunctionsServer } from './sfn/server.ts';
import { createTables, LOCAL_TABLES } from './tables.ts';

/** Ports of the local stack; 0 picks a free port (what the tests do). */
export interface LocalPorts {
  readonly api: number;
  readonly ses: number;
  readonly dynamodb: number;
  readonly stepFunctions: number;
  readonly s3: number;
}

/** The defaults of `npm start`, each overridable by the environment variable README names. */
export function portsFromEnvironment(env: NodeJS.ProcessEnv = process.env): LocalPorts {
  const port = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 0 || value > 65535)
      throw new Error(`${name} must be a port number, not "${raw}"`);
    return value;
  };
  return {
    api: port('CASEBOOK_API_PORT', 3000),
    ses: port('CASEBOOK_SES_PORT', 8005),
    dynamodb: port('CASEBOOK_DYNAMODB_PORT', 8000),
    stepFunctions: port('CASEBOOK_SFN_PORT', 8083),
    s3: port('CASEBOOK_S3_PORT', 4569),
  };
}

export interface LocalStackOptions {
  /** Repository root (where `functions/` and `statemachines/` are). */
  readonly rootDir: string;
  /** Where emulators keep their data; survives restarts. */
  readonly dataDir: string;
  readonly ports: LocalPorts;
  /** Webhook bearer token; generated into `<dataDir>/alertmanager-token` when not given. */
  readonly alertmanagerToken?: string;
  readonly log?: (line: string) => void;
  /** Base URL approvers' links point at (default: the local API's URL). */
  readonly publicBaseUrl?: string;
  /** Powertools log level of the handlers (default INFO). */
  readonly handlerLogLevel?: string;
}

export interface LocalStack {
  readonly endpoints: {
    readonly api: string;
    readonly sesInbox: string;
    readonly dynamodb: string;
    readonly stepFunctions: string;
    readonly s3: string;
  };
  readonly tables: { readonly operations: string; readonly ledger: string };
  readonly bucket: string;
  readonly stateMachineArn: string;
  readonly alertmanagerToken: string;
  /** Where the generated webhook token is kept, when it was not given. */
  readonly alertmanagerTokenFile?: string;
  /** Stops every emulator; running executions stay RUNNING and continue at the next start. */
  close(): Promise<void>;
}

// aws-ses-v2-local is CommonJS with `exports.default`: Node's loader hands over module.exports,
// while bundler-style interop (vitest) honours __esModule and hands over the function itself.
const sesExport: unknown = sesLocal;
const startSesServer = (
  typeof sesExport === 'function' ? sesExport : (sesExport as { default: unknown }).default
) as typeof sesLocal.default;

export { LOCAL_TABLES };
export const LOCAL_BUCKET = 'casebook-ledger-exports';
export const LOCAL_STATE_MACHINE = `casebook-${STATE_MACHINE.name}`;

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

function webhookToken(options: LocalStackOptions): { token: string; file?: string } {
  if (options.alertmanagerToken) return { token: options.alertmanagerToken };
  const file = join(options.dataDir, 'alertmanager-token');
  if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), file };
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return { token, file };
}

const PORT_VARIABLES: Readonly<Record<keyof LocalPorts, string>> = {
  api: 'CASEBOOK_API_PORT',
  ses: 'CASEBOOK_SES_PORT',
  dynamodb: 'CASEBOOK_DYNAMODB_PORT',
  stepFunctions: 'CASEBOOK_SFN_PORT',
  s3: 'CASEBOOK_S3_PORT',
};

/** Fails before anything starts if a fixed port is taken, naming the variable that moves it. */
async function assertPortsFree(ports: LocalPorts): Promise<void> {
  const taken: string[] = [];
  for (const [name, port] of Object.entries(ports) as [keyof LocalPorts, number][]) {
    if (port === 0) continue;
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (!free) taken.push(`${name} port ${port} is in use (set ${PORT_VARIABLES[name]} to move it)`);
  }
  if (taken.length > 0)
    throw new Error(`Cannot start Casebook locally: ${taken.join('; ')}. Is npm start already running?`);
}

/** Starts every emulator, creates missing tables and the bucket, and serves the API. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? (() => undefined);
  await assertPortsFree(options.ports);
  mkdirSync(options.dataDir, { recursive: true });
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.reverse())
      await close().catch((e) => log(`shutdown: ${(e as Error).message}`));
  };
  try {
    // DynamoDB
    const dynamo = dynalite({
      path: join(options.dataDir, 'dynamodb'),
      createTableMs: 0,
      deleteTableMs: 0,
      updateTableMs: 0,
    });
    const dynamoPort = await listen(dynamo, options.ports.dynamodb);
    closers.push(() => closeServer(dynamo));
    const dynamodbUrl = `http://127.0.0.1:${dynamoPort}`;
    await createTables(dynamodbUrl);

    // SES and its inbox
    const ses = await startSesServer({ host: '127.0.0.1', port: options.ports.ses });
    const sesUrl = `http://127.0.0.1:${(ses.address() as AddressInfo).port}`;
    closers.push(() => closeServer(ses));

    // S3
    const s3 = new S3rver({
      address: '127.0.0.1',
      port: options.ports.s3,
      silent: true,
      directory: join(options.dataDir, 's3'),
      configureBuckets: [{ name: LOCAL_BUCKET }],
    });
    const s3Address = await s3.run();
    closers.push(() => s3.close());
    const s3Url = `http://127.0.0.1:${s3Address.port}`;

    // The handlers' environment: endpoints, throwaway credentials (never real AWS), configuration.
    const { token, file } = webhookToken(options);
    Object.assign(process.env, {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: dynamodbUrl,
      AWS_ENDPOINT_URL_SES: sesUrl,
      AWS_ENDPOINT_URL_S3: s3Url,
      POWERTOOLS_LOG_LEVEL: options.handlerLogLevel ?? process.env.POWERTOOLS_LOG_LEVEL ?? 'INFO',
      [ENV.operationsTable]: LOCAL_TABLES.operations,
      [ENV.ledgerTable]: LOCAL_TABLES.ledger,
      [ENV.mailFrom]: process.env[ENV.mailFrom] ?? 'casebook@casebook.local',
      [ENV.approverLegal]: process.env[ENV.approverLegal] ?? 'legal@casebook.local',
      [ENV.approverBusiness]: process.env[ENV.approverBusiness] ?? 'business@casebook.local',
      [ENV.approverSre]: process.env[ENV.approverSre] ?? 'sre-lead@casebook.local',
      [ENV.alertmanagerToken]: token,
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    delete process.env[ENV.alertmanagerTokenSecretArn];

    // Step Functions, executing the same ASL with the same handlers. Executions that were running
    // continue as soon as the server starts; their tasks wait until the handlers' environment (the
    // public base URL, the Step Functions endpoint) is complete.
    const runtime = new LocalLambdaRuntime(options.rootDir);
    const handlersReady = Promise.withResolvers<void>();
    const definition = loadDefinition(options.rootDir, functionSubstitutions(localFunctionArn));
    const sfn = await startStepFunctionsServer({
      host: '127.0.0.1',
      port: options.ports.stepFunctions,
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT,
      dataDir: join(options.dataDir, 'stepfunctions'),
      stateMachines: [{ name: LOCAL_STATE_MACHINE, definition }],
      invokeFunction: async (nameOrArn, payload) => {
        await handlersReady.promise;
        const key = runtime.resolve(nameOrArn);
        if (!key)
          throw Object.assign(new Error(`Function not found: ${nameOrArn}`), {
            name: 'Lambda.ResourceNotFoundException',
          });
        return runtime.invoke(key, payload);
      },
      log,
    });
    closers.push(() => sfn.close());
    const stateMachineArn = sfn.stateMachineArn(LOCAL_STATE_MACHINE);

    // API Gateway; the public base URL must be known before the handlers' cold start.
    const gateway = await startGateway({
      port: options.ports.api,
      routes: ROUTES,
      invoke: (route, event) => runtime.invoke(route.fn, event),
      log,
    });
    closers.push(() => gateway.close());
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SFN: sfn.url,
      [ENV.stateMachineArn]: stateMachineArn,
      [ENV.publicBaseUrl]: options.publicBaseUrl ?? gateway.url,
    });
    await runtime.warm();
    handlersReady.resolve();

    return {
      endpoints: {
        api: gateway.url,
        sesInbox: sesUrl,
        dynamodb: dynamodbUrl,
        stepFunctions: sfn.url,
        s3: s3Url,
      },
      tables: { ...LOCAL_TABLES },
      bucket: LOCAL_BUCKET,
      stateMachineArn,
      alertmanagerToken: token,
      ...(file ? { alertmanagerTokenFile: file } : {}),
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
