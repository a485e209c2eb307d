/**
 * Where the local stack keeps things — ports, table and bucket names, the data directory and its
 * files — in one light module that `npm start`, the demo and the `casebook` CLI share without
 * loading any emulator.
 */
import { join } from 'node:path';

/** Ports of the local stack; 0 picks a free port (what the tests do). */
export interface LocalPorts {
  readonly api: number;
  readonly ses: number;
  readonly dynamodb: number;
  readonly stepFunctions: number;
  readonly s3: number;
  readonly stripe: number;
  /** The local OpenID Connect issuer the console signs in with; absent: any free port. */
  readonly oidc?: number;
}

/** The variable that moves each port, and its default. */
export const PORTS: Readonly<Record<keyof LocalPorts, { readonly variable: string; readonly port: number }>> =
  {
    api: { variable: 'CASEBOOK_API_PORT', port: 3000 },
    ses: { variable: 'CASEBOOK_SES_PORT', port: 8005 },
    dynamodb: { variable: 'CASEBOOK_DYNAMODB_PORT', port: 8000 },
    stepFunctions: { variable: 'CASEBOOK_SFN_PORT', port: 8083 },
    s3: { variable: 'CASEBOOK_S3_PORT', port: 4569 },
    stripe: { variable: 'CASEBOOK_STRIPE_PORT', port: 12111 },
    oidc: { variable: 'CASEBOOK_OIDC_PORT', port: 8484 },
  };

/** The ports of `npm start`, each overridable by the environment variable README names. */
export function portsFromEnvironment(env: NodeJS.ProcessEnv = process.env): LocalPorts {
  const ports: Partial<Record<keyof LocalPorts, number>> = {};
  for (const [name, { variable, port }] of Object.entries(PORTS) as [
    keyof LocalPorts,
    (typeof PORTS)['api'],
  ][]) {
    const raw = env[variable];
    const value = raw === undefined || raw === '' ? port : Number(raw);
    if (!Number.isInteger(value) || value < 0 || value > 65535)
      throw new Error(`${variable} must be a port number, not "${raw}"`);
    ports[name] = value;
  }
  return ports as LocalPorts;
}

/** Table names on the local stack (CDK lets CloudFormation name them on AWS). */
export const LOCAL_TABLES = { operations: 'casebook-operations', ledger: 'casebook-ledger' } as const;

/** Bucket names on the local stack. */
export const LOCAL_BUCKETS = {
  exports: 'casebook-ledger-exports',
  anchors: 'casebook-ledger-anchors',
  payloads: 'casebook-alert-payloads',
} as const;

/** `npm start`'s data directory: `CASEBOOK_DATA_DIR`, or `.casebook/` in the repository. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.CASEBOOK_DATA_DIR ?? join(import.meta.dirname, '..', '.casebook');
}

/** The key file that seals ledger entries locally (mode 600), under the data directory. */
export function ledgerKeyFile(dataDir: string): string {
  return join(dataDir, 'keys', 'ledger.json');
}

/** The P-256 private key that signs the ledger's tree heads; its public key is beside it (`.pub.pem`). */
export function ledgerSigningKeyFile(dataDir: string): string {
  return join(dataDir, 'keys', 'ledger-signing.pem');
}

/** The key the local OpenID Connect issuer signs ID tokens with (mode 600), under the data directory. */
export function oidcIssuerKeyFile(dataDir: string): string {
  return join(dataDir, 'keys', 'oidc-issuer.json');
}

/** The key console session cookies are signed with locally (mode 600), under the data directory. */
export function sessionKeyFile(dataDir: string): string {
  return join(dataDir, 'keys', 'console-session.key');
}

/**
 * The throwaway credentials everything on the local stack signs with, never real ones: s3rver
 * accepts only its own built-in key pair, the other emulators accept any, so all sign with s3rver's.
 */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
