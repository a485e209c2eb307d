/**
 * The whole of Casebook on one machine: dynalite (DynamoDB), aws-ses-v2-local (SES and its web
 * inbox), s3rver (S3), the Stripe stand-in, the local Step Functions server executing the same
 * ASL, and the local API gateway — with the same handler modules CDK deploys, reaching the
 * emulators through the standard `AWS_ENDPOINT_URL_<SERVICE>` variables.
 */

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { SIGNING_SECRET_ENV } from '../functions/adapters/config.ts';
import { FileHeadSigner } from '../functions/adapters/head-signer.ts';
import { FileKeySealer } from '../functions/adapters/ledger-sealer.ts';
import { STATE_MACHINE } from '../functions/catalog.ts';
import { ENV } from '../functions/env-names.ts';
import { ROUTES } from '../functions/routes.ts';
import { functionSubstitutions, loadDefinition } from './asl.ts';
import { localDynamo } from './dynamodb.ts';
import type { GatewayOptions } from './gateway.ts';
import { startGateway } from './gateway.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION, LocalLambdaRuntime, localFunctionArn } from './lambda-runtime.ts';
import type { LocalPorts } from './names.ts';
import {
  LOCAL_BUCKETS,
  LOCAL_CREDENTIALS,
  LOCAL_TABLES,
  ledgerKeyFile,
  ledgerSigningKeyFile,
  oidcIssuerKeyFile,
  PORTS,
  portsFromEnvironment,
  sessionKeyFile,
} from './names.ts';
import { LOCAL_CLIENT_ID, startLocalIssuer } from './oidc/issuer.ts';
import { startLocalS3 } from './s3.ts';
import { closeServer, listen } from './servers.ts';
import { startSesServer } from './ses.ts';
import { startSesEventsPoller } from './ses-events/poller.ts';
import { startStepFunctionsServer } from './sfn/server.ts';
import { startStripeStandIn } from './stripe/server.ts';
import { createTables } from './tables.ts';

export interface LocalStackOptions {
  /** Repository root (where `functions/` and `statemachines/` are). */
  readonly rootDir: string;
  /** Where emulators keep their data; survives restarts. */
  readonly dataDir: string;
  readonly ports: LocalPorts;
  /** Webhook bearer token; generated into `<dataDir>/alertmanager-token` when not given. */
  readonly alertmanagerToken?: string;
  /**
   * Webhook signing secrets of Grafana, PagerDuty and the generic webhook; each one not given is
   * generated into `<dataDir>/<source>-secret` (mode 600).
   */
  readonly signingSecrets?: Partial<Readonly<Record<SigningSource, string>>>;
  readonly log?: (line: string) => void;
  /** Base URL approvers' links point at (default: the local API's URL). */
  readonly publicBaseUrl?: string;
  /** Powertools log level of the handlers (default INFO). */
  readonly handlerLogLevel?: string;
  /**
   * Configuration for the handlers, as if it were in the environment (`CASEBOOK_DEADLINES`,
   * `CASEBOOK_RESPONDERS`, …). The handlers run in this process and read `process.env`, so it is
   * set there, over what the process had.
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * The gateway's throttle and bound on what is in flight (default: the HTTP API stage's
   * `API_THROTTLE`); a test that measures the handlers, not the throttle, turns it off.
   */
  readonly gateway?: Pick<GatewayOptions, 'throttle' | 'maxInFlight' | 'maxQueued'>;
  /**
   * Where the handlers reach DynamoDB, SES, S3 and the Stripe stand-in, when not the emulators
   * themselves: a fault proxy in between (local/fault-proxy/). The stack's own setup and the
   * `endpoints` it answers stay on the emulators.
   */
  readonly handlerEndpoints?: Partial<Readonly<Record<'dynamodb' | 'ses' | 's3' | 'stripe', string>>>;
}

export interface LocalStack {
  readonly endpoints: {
    readonly api: string;
    readonly sesInbox: string;
    readonly dynamodb: string;
    readonly stepFunctions: string;
    readonly s3: string;
    readonly stripe: string;
    /** The OpenID Connect issuer the console signs in with. */
    readonly oidc: string;
  };
  readonly tables: { readonly operations: string; readonly ledger: string };
  /** Ledger exports. */
  readonly bucket: string;
  /** Whole alert payloads whose values were cut to their bounds. */
  readonly payloadBucket: string;
  readonly stateMachineArn: string;
  readonly alertmanagerToken: string;
  /** Where the generated webhook token is kept, when it was not given. */
  readonly alertmanagerTokenFile?: string;
  /** Each webhook signing secret, and the file it is kept in when it was generated. */
  readonly signingSecrets: Readonly<
    Record<SigningSource, { readonly secret: string; readonly file?: string }>
  >;
  /** Stops every emulator; running executions stay RUNNING and continue at the next start. */
  close(): Promise<void>;
}

export type { LocalPorts };
export { LOCAL_CREDENTIALS, LOCAL_TABLES, portsFromEnvironment, startSesServer };
export const LOCAL_BUCKET = LOCAL_BUCKETS.exports;
export const LOCAL_STATE_MACHINE = `casebook-${STATE_MACHINE.name}`;

/** A secret kept in a file of the data directory (mode 600), made the first time it is needed. */
function localSecret(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

function webhookToken(options: LocalStackOptions): { token: string; file?: string } {
  if (options.alertmanagerToken) return { token: options.alertmanagerToken };
  const file = join(options.dataDir, 'alertmanager-token');
  return { token: localSecret(file), file };
}

export type SigningSource = keyof typeof SIGNING_SECRET_ENV;

/** Each signing secret as given, or kept in `<dataDir>/<source>-secret` (mode 600), made the first time. */
export function localSigningSecrets(
  dataDir: string,
  given: LocalStackOptions['signingSecrets'] = {},
): LocalStack['signingSecrets'] {
  const out: Partial<Record<SigningSource, { secret: string; file?: string }>> = {};
  for (const source of Object.keys(SIGNING_SECRET_ENV) as SigningSource[]) {
    const secret = given[source];
    if (secret) out[source] = { secret };
    else {
      const file = join(dataDir, `${source}-secret`);
      out[source] = { secret: localSecret(file), file };
    }
  }
  return out as LocalStack['signingSecrets'];
}

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
    if (!free) taken.push(`${name} port ${port} is in use (set ${PORTS[name].variable} to move it)`);
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
    const dynamo = localDynamo({ path: join(options.dataDir, 'dynamodb') });
    const dynamoPort = await listen(dynamo, options.ports.dynamodb);
    closers.push(() => closeServer(dynamo));
    const dynamodbUrl = `http://127.0.0.1:${dynamoPort}`;
    await createTables(dynamodbUrl);

    // SES and its inbox
    const ses = await startSesServer({ host: '127.0.0.1', port: options.ports.ses });
    const sesUrl = `http://127.0.0.1:${(ses.address() as AddressInfo).port}`;
    closers.push(() => closeServer(ses));

    // S3: ledger exports and anchored digests of the chain heads.
    const s3 = await startLocalS3({
      port: options.ports.s3,
      directory: join(options.dataDir, 's3'),
      buckets: Object.values(LOCAL_BUCKETS),
    });
    closers.push(() => s3.close());
    const s3Url = s3.url;

    // The payments provider: Stripe's API, with idempotency keys and refunds kept across restarts.
    const stripe = await startStripeStandIn({
      port: options.ports.stripe,
      dataDir: join(options.dataDir, 'stripe'),
      log,
    });
    closers.push(() => stripe.close());

    // The console's OpenID Connect issuer, with its signing key kept beside the ledger's.
    const issuer = await startLocalIssuer({
      port: options.ports.oidc ?? 0,
      keyFile: oidcIssuerKeyFile(options.dataDir),
    });
    closers.push(() => issuer.close());

    // The handlers' environment: endpoints, throwaway credentials (never real AWS), configuration.
    const { token, file } = webhookToken(options);
    const signing = localSigningSecrets(options.dataDir, options.signingSecrets);
    // The key that seals ledger entries: made once per data directory, kept with it (mode 600).
    const ledgerKeys = ledgerKeyFile(options.dataDir);
    FileKeySealer.fromFile(ledgerKeys, { create: true });
    // The key that signs tree heads, likewise; its public key is what anyone verifies with.
    const signingKey = ledgerSigningKeyFile(options.dataDir);
    FileHeadSigner.fromFile(signingKey, { create: true });
    Object.assign(process.env, options.environment);
    const via = options.handlerEndpoints ?? {};
    Object.assign(process.env, {
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: via.dynamodb ?? dynamodbUrl,
      AWS_ENDPOINT_URL_SES: via.ses ?? sesUrl,
      AWS_ENDPOINT_URL_S3: via.s3 ?? s3Url,
      POWERTOOLS_LOG_LEVEL: options.handlerLogLevel ?? process.env.POWERTOOLS_LOG_LEVEL ?? 'INFO',
      // No CloudWatch reads EMF here; `POWERTOOLS_METRICS_DISABLED=false` prints it to stdout.
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
      [ENV.operationsTable]: LOCAL_TABLES.operations,
      [ENV.ledgerTable]: LOCAL_TABLES.ledger,
      [ENV.ledgerKeyFile]: ledgerKeys,
      [ENV.ledgerSigningKeyFile]: signingKey,
      [ENV.anchorBucket]: LOCAL_BUCKETS.anchors,
      [ENV.payloadBucket]: LOCAL_BUCKETS.payloads,
      [ENV.exportBucket]: LOCAL_BUCKETS.exports,
      [ENV.mailFrom]: process.env[ENV.mailFrom] ?? 'casebook@casebook.local',
      [ENV.approverLegal]: process.env[ENV.approverLegal] ?? 'legal@casebook.local',
      [ENV.approverBusiness]: process.env[ENV.approverBusiness] ?? 'business@casebook.local',
      [ENV.approverSre]: process.env[ENV.approverSre] ?? 'sre-lead@casebook.local',
      [ENV.alertmanagerToken]: token,
      ...Object.fromEntries(
        Object.entries(SIGNING_SECRET_ENV).map(([source, { value }]) => [
          value,
          signing[source as SigningSource].secret,
        ]),
      ),
      [ENV.pseudonymKey]: localSecret(join(options.dataDir, 'keys', 'pseudonym.key')),
      [ENV.sesStoreUrl]: `${sesUrl}/store`,
      [ENV.responders]: process.env[ENV.responders] ?? 'responder@casebook.local',
      [ENV.sreLead]: process.env[ENV.sreLead] ?? 'sre-lead@casebook.local',
      [ENV.paymentsProvider]: process.env[ENV.paymentsProvider] ?? 'stripe',
      [ENV.stripeApiKey]: 'sk_test_casebook_local',
      [ENV.stripeApiBase]: via.stripe ?? stripe.url,
      [ENV.mailRatePerSecond]: process.env[ENV.mailRatePerSecond] ?? '200',
      [ENV.paymentsRatePerSecond]: process.env[ENV.paymentsRatePerSecond] ?? '100',
      [ENV.oidcIssuerUrl]: issuer.url,
      [ENV.oidcClientId]: LOCAL_CLIENT_ID,
      [ENV.sessionKeyFile]: sessionKeyFile(options.dataDir),
    });
    localSecret(sessionKeyFile(options.dataDir));
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    for (const onlyOnAws of [
      ENV.alertmanagerTokenSecretArn,
      ...Object.values(SIGNING_SECRET_ENV).map(({ arn }) => arn),
      ENV.pseudonymKeySecretArn,
      ENV.stripeApiKeySecretArn,
      ENV.ledgerKmsKeyId,
      ENV.sessionKeySecretArn,
      ENV.oidcClientSecret,
      ENV.oidcLogoutUrl,
    ])
      delete process.env[onlyOnAws];

    // Step Functions, executing the same ASL with the same handlers. Executions that were running
    // continue as soon as the server starts; their tasks wait until the handlers' environment (the
    // public base URL, the Step Functions endpoint) is complete.
    const runtime = new LocalLambdaRuntime(options.rootDir);
    // Closed after the gateway and the Step Functions server stop calling handlers, before the
    // emulators the running ones still call.
    closers.push(() => runtime.drain(10_000));
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
      ...(options.publicBaseUrl ? { origins: [options.publicBaseUrl] } : {}),
      ...options.gateway,
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

    // SES's events about notices, as its event destination (SNS → SQS) delivers them on AWS.
    const sesEvents = startSesEventsPoller({
      sesUrl,
      invoke: (event) => runtime.invoke('sesEvents', event),
      log,
    });
    closers.push(() => sesEvents.close());

    // The ledger is anchored on a schedule, as EventBridge does on AWS.
    const anchorEvery = Number(process.env.CASEBOOK_ANCHOR_INTERVAL_SECONDS ?? 900) * 1000;
    const anchoring = setInterval(() => {
      runtime
        .invoke('anchorLedger', { source: 'aws.events', 'detail-type': 'Scheduled Event' })
        .catch((error: Error) => log(`scheduled anchor failed: ${error.message}`));
    }, anchorEvery);
    anchoring.unref();
    closers.push(async () => clearInterval(anchoring));
    // The open month's ledger export, on a schedule, as EventBridge runs it daily on AWS.
    const exportEvery = Number(process.env.CASEBOOK_EXPORT_INTERVAL_SECONDS ?? 86_400) * 1000;
    const exporting = setInterval(() => {
      runtime
        .invoke('exportLedger', { source: 'aws.events', 'detail-type': 'Scheduled Event' })
        .catch((error: Error) => log(`scheduled ledger export failed: ${error.message}`));
    }, exportEvery);
    exporting.unref();
    closers.push(async () => clearInterval(exporting));
    return {
      endpoints: {
        api: gateway.url,
        sesInbox: sesUrl,
        dynamodb: dynamodbUrl,
        stepFunctions: sfn.url,
        s3: s3Url,
        stripe: stripe.url,
        oidc: issuer.url,
      },
      tables: { ...LOCAL_TABLES },
      bucket: LOCAL_BUCKET,
      payloadBucket: LOCAL_BUCKETS.payloads,
      stateMachineArn,
      alertmanagerToken: token,
      ...(file ? { alertmanagerTokenFile: file } : {}),
      signingSecrets: signing,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
