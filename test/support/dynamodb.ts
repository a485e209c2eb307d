/** An in-memory dynalite per test file, with Casebook's tables created from the shared schemas. */
import type { KeyObject } from 'node:crypto';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import { FileHeadSigner } from '../../functions/adapters/head-signer.ts';
import { FileKeySealer, newKeyFile } from '../../functions/adapters/ledger-sealer.ts';
import { localDynamo } from '../../local/dynamodb.ts';
import { createTables } from '../../local/tables.ts';

export interface TestDatabase {
  readonly endpoint: string;
  readonly doc: DynamoDBDocumentClient;
  readonly raw: DynamoDBClient;
  /** Fresh table names per call, so tests in one file do not see each other's items. */
  tables(): Promise<{ operations: string; ledger: string }>;
  count(table: string): Promise<number>;
  /** A ledger on `table`, its heads signed with this database's test key ({@link TestDatabase.headSigner}). */
  ledger(table: string): DynamoDbLedger;
  /** A fresh ledger key per database, as `npm start` makes one per data directory (format 2 seals). */
  readonly sealer: FileKeySealer;
  /** A fresh P-256 key pair per database that signs tree heads, and its public key. */
  readonly headSigner: FileHeadSigner;
  readonly publicKey: KeyObject;
  /** The keys a chain of this database verifies with. */
  readonly chainKeys: { readonly sealer: FileKeySealer; readonly publicKey: KeyObject };
  close(): Promise<void>;
}

export async function startTestDatabase(): Promise<TestDatabase> {
  const server = localDynamo();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const raw = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const doc = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const sealer = new FileKeySealer(newKeyFile('test'));
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const headSigner = new FileHeadSigner(pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
  return {
    endpoint,
    doc,
    raw,
    sealer,
    headSigner,
    publicKey: pair.publicKey,
    chainKeys: { sealer, publicKey: pair.publicKey },
    ledger: (table) => new DynamoDbLedger(doc, table, { sealer, headSigner }),
    async tables() {
      const suffix = randomUUID().slice(0, 8);
      const names = { operations: `ops-${suffix}`, ledger: `ledger-${suffix}` };
      await createTables(endpoint, names);
      return names;
    },
    async count(table) {
      const out = await raw.send(new ScanCommand({ TableName: table, Select: 'COUNT' }));
      return out.Count ?? 0;
    },
    async close() {
      raw.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A clock that starts at a fixed time and moves one millisecond per reading, as time does. */
export function testClock(start = '2026-11-22T10:30:00.000Z') {
  let now = new Date(start);
  return {
    now: () => {
      const reading = new Date(now);
      now = new Date(now.getTime() + 1);
      return reading;
    },
    advance(ms: number) {
      now = new Date(now.getTime() + ms);
    },
  };
}
