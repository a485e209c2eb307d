/**
 * The auditor's check, as the auditor runs it: `casebook ledger verify` against a ledger that was
 * tampered with directly in dynalite, in every way a writer of the table could, after a digest of
 * the chain heads was anchored in S3 (s3rver) — chains written in format 2 (one sealed entry an
 * item) and in format 3 (batches under signed tree heads).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { FileHeadSigner } from '../../functions/adapters/head-signer.ts';
import { FileKeySealer, newKeyFile } from '../../functions/adapters/ledger-sealer.ts';
import type { LedgerVerification } from '../../functions/adapters/ledger-verification.ts';
import { formatIncidentId } from '../../functions/domain/incident.ts';
import type {
  ChainItemV3,
  ChainTip,
  LedgerEntryDraft,
  LedgerEntryV2,
} from '../../functions/domain/ledger.ts';
import {
  batchItem,
  entryHash,
  entryLeaf,
  genesisTip,
  itemHash,
  newEntryId,
  sealEntry,
  tipAfter,
} from '../../functions/domain/ledger.ts';
import { rootOf } from '../../functions/domain/merkle.ts';
import { LOCAL_CREDENTIALS } from '../../local/names.ts';
import type { LocalS3 } from '../../local/s3.ts';
import { startLocalS3 } from '../../local/s3.ts';
import { type CliResult, casebook as run } from '../support/cli.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase } from '../support/dynamodb.ts';
import { plainIncident } from '../support/incidents.ts';

const BUCKET = 'casebook-anchors-test';

let db: TestDatabase;
let s3: LocalS3;
let env: Record<string, string>;
let tables: { operations: string; ledger: string };
let ledger: DynamoDbLedger;

const draft = (n: number): LedgerEntryDraft => ({
  log: 'effect',
  kind: 'credit',
  world: 'RML3',
  phase: 'Act',
  at: `2026-11-22T10:00:0${n}.000Z`,
  actor: 'test',
  idempotencyKey: `k${n}`,
  summary: `goodwill credit ${n}`,
  amount: { minor: 500 * n, currency: 'USD' },
  obligation: 'brand',
  detail: { n },
});

const id = (n: number) => formatIncidentId(2026, n);

const casebook = (...args: string[]): Promise<CliResult> => run(args, env);

async function entries(incident: string): Promise<LedgerEntryV2[]> {
  const out = await db.doc.send(
    new QueryCommand({
      TableName: tables.ledger,
      KeyConditionExpression: 'incidentId = :id',
      ExpressionAttributeValues: { ':id': incident },
    }),
  );
  return (out.Items ?? []) as LedgerEntryV2[];
}

async function items(incident: string): Promise<ChainItemV3[]> {
  return (await entries(incident)) as unknown as ChainItemV3[];
}

/** A format 3 item moved to another place, its entries' places with it. */
const movedTo = (item: ChainItemV3, seq: number): ChainItemV3 => ({
  ...item,
  seq,
  entries: item.entries.map((e, i) => ({ ...e, seq: seq + i })),
});

/** What a writer of the table without the signing key can do: rebuild an item's hashes around a change. */
function rebuilt(item: ChainItemV3, before: ChainTip): ChainItemV3 {
  const leaves = item.entries.map((e) => entryLeaf(e));
  const frontier = before.frontier.clone();
  for (const leaf of leaves) frontier.append(leaf);
  const body = {
    ...item,
    batchRoot: rootOf(leaves).toString('hex'),
    frontier: frontier.toJSON(),
    root: frontier.root().toString('hex'),
  };
  return { ...body, hash: itemHash(body) };
}

const put = (item: object) => db.doc.send(new PutCommand({ TableName: tables.ledger, Item: item }));
const remove = (incident: string, seq: number) =>
  db.doc.send(new DeleteCommand({ TableName: tables.ledger, Key: { incidentId: incident, seq } }));

beforeAll(async () => {
  db = await startTestDatabase();
  tables = await db.tables();
  const dir = mkdtempSync(join(tmpdir(), 'casebook-verify-'));
  s3 = await startLocalS3({ port: 0, directory: join(dir, 's3'), buckets: [BUCKET] });
  const keyFile = join(dir, 'ledger.json');
  const keys = newKeyFile('k1');
  writeFileSync(keyFile, JSON.stringify(keys), { mode: 0o600 });
  const signingKeyFile = join(dir, 'ledger-signing.pem');
  const sealer = new FileKeySealer(keys);
  ledger = new DynamoDbLedger(db.doc, tables.ledger, {
    sealer,
    headSigner: FileHeadSigner.fromFile(signingKeyFile, { create: true }),
  });
  // What a person pointing the CLI at AWS sets: a region, credentials, endpoints, the names.
  env = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: db.endpoint,
    AWS_ENDPOINT_URL_S3: s3.url,
    CASEBOOK_LEDGER_TABLE: tables.ledger,
    CASEBOOK_OPERATIONS_TABLE: tables.operations,
    CASEBOOK_ANCHOR_BUCKET: BUCKET,
    CASEBOOK_LEDGER_KEY_FILE: keyFile,
    CASEBOOK_LEDGER_SIGNING_KEY_FILE: signingKeyFile,
  };
  const store = new DynamoDbOperationsStore(db.doc, tables.operations);
  for (let n = 1; n <= 18; n++) {
    await store.createIncident(plainIncident(n));
    if (n < 10) {
      // Chains written in format 2, as the ledger wrote them before batches.
      const chain: LedgerEntryV2[] = [];
      for (let e = 1; e <= 4; e++) chain.push(await sealEntry(id(n), chain.at(-1), draft(e), sealer));
      for (const entry of chain) await put(entry);
    }
    // Incident 9's chain goes on in format 3; incident 10 opened, but its chain never began.
    // Incidents 11–18 are format 3 from the start: batches of 3, 2, 3 and 1 entries.
    if (n === 9 || n > 10) {
      let e = n === 9 ? 4 : 0;
      for (const size of n === 9 ? [2] : [3, 2, 3, 1]) {
        await Promise.all(Array.from({ length: size }, () => ledger.append(id(n), draft(++e))));
      }
    }
  }
});

afterAll(async () => {
  await s3?.close();
  await db?.close();
});

describe('casebook ledger verify (the auditor’s check)', () => {
  it('verifies an untouched ledger against a fresh digest, and names the incident whose chain never began', async () => {
    const anchored = await casebook('ledger', 'anchor', '--reason', 'test');
    expect(anchored.stderr).toBe('');
    expect(anchored.stdout).toMatch(/Anchored 17 chain head\(s\) in anchors\//);
    const { code, stdout } = await casebook('ledger', 'verify', '--json');
    const report = JSON.parse(stdout) as LedgerVerification;
    expect(report.anchor?.genuine).toBe(true);
    expect(report.incidents.filter((i) => i.problems.length > 0)).toEqual([
      {
        incidentId: id(10),
        entries: 0,
        problems: [
          { seq: 0, problem: 'missing-chain', detail: 'the incident exists but has no ledger entries' },
        ],
      },
    ]);
    expect(code).toBe(1);
  });

  it('names every kind of tampering, each in its incident, and exits 1', async () => {
    // 1: an entry edited in place.
    await db.doc.send(
      new UpdateCommand({
        TableName: tables.ledger,
        Key: { incidentId: id(1), seq: 2 },
        UpdateExpression: 'SET amount = :a',
        ExpressionAttributeValues: { ':a': { minor: 1, currency: 'USD' } },
      }),
    );
    // 2: an entry deleted from the middle; 3: the last entry deleted.
    await remove(id(2), 2);
    await remove(id(3), 4);
    // 4: an entry inserted at seq 2, the rest moved one place up.
    const four = await entries(id(4));
    for (const e of [...four.slice(1)].reverse()) await put({ ...e, seq: e.seq + 1 });
    const second = four[1] as LedgerEntryV2;
    await put({
      ...second,
      summary: 'a credit nobody gave',
      hash: entryHash({ ...second, summary: 'a credit nobody gave' }),
    });
    // 5: two entries swapped.
    const five = await entries(id(5));
    await put({ ...(five[2] as LedgerEntryV2), seq: 2 });
    await put({ ...(five[1] as LedgerEntryV2), seq: 3 });
    // 6: a forged entry appended, its hash correctly recomputed (sealed with a key that is not Casebook's).
    const six = await entries(id(6));
    await put(await sealEntry(id(6), six.at(-1), draft(5), new FileKeySealer(newKeyFile('k1'))));
    // 7: a middle entry rewritten and every later one re-hashed.
    const seven = await entries(id(7));
    let prev = seven[0] as LedgerEntryV2;
    for (const e of seven.slice(1)) {
      const changed = {
        ...e,
        prevHash: prev.hash,
        ...(e.seq === 2 ? { amount: { minor: 0, currency: 'USD' } } : {}),
      };
      prev = { ...changed, hash: entryHash(changed) };
      await put(prev);
    }
    // 8: a whole incident's entries deleted.
    for (let s = 1; s <= 4; s++) await remove(id(8), s);

    // Format 3, items at seq 1, 4, 6 and 9. 11: an entry edited in place.
    await db.doc.send(
      new UpdateCommand({
        TableName: tables.ledger,
        Key: { incidentId: id(11), seq: 4 },
        UpdateExpression: 'SET entries[1].amount = :a',
        ExpressionAttributeValues: { ':a': { minor: 1, currency: 'USD' } },
      }),
    );
    // 12: an item deleted from the middle; 13: the last item deleted.
    await remove(id(12), 4);
    await remove(id(13), 9);
    // 14: an item inserted at seq 4, signed with another key, the rest moved one place up.
    const fourteen = await items(id(14));
    for (const item of [...fourteen.slice(1)].reverse()) await put(movedTo(item, item.seq + 1));
    for (const seq of [6, 9]) await remove(id(14), seq);
    const otherKey = FileHeadSigner.fromFile(join(mkdtempSync(join(tmpdir(), 'other-')), 'k.pem'), {
      create: true,
    });
    await put(
      await batchItem(
        id(14),
        tipAfter(fourteen[0] as ChainItemV3, genesisTip()),
        [{ draft: draft(9), id: newEntryId(draft(9)) }],
        otherKey,
      ),
    );
    // 15: two items swapped.
    const fifteen = await items(id(15));
    await put(movedTo(fifteen[2] as ChainItemV3, 4));
    await put(movedTo(fifteen[1] as ChainItemV3, 7));
    await remove(id(15), 6);
    // 16: a forged item appended, its hashes and tree right, its head signed with another key.
    const sixteen = await items(id(16));
    let tip = genesisTip();
    for (const item of sixteen) tip = tipAfter(item, tip);
    await put(await batchItem(id(16), tip, [{ draft: draft(10), id: newEntryId(draft(10)) }], otherKey));
    // 17: a middle item rewritten, every later one rebuilt and linked again, without the signing key.
    const seventeen = await items(id(17));
    let before = tipAfter(seventeen[0] as ChainItemV3, genesisTip());
    for (const item of seventeen.slice(1)) {
      const changed = rebuilt(
        {
          ...item,
          prevHash: before.hash,
          entries:
            item.seq === 4
              ? item.entries.map((e) => ({ ...e, amount: { minor: 0, currency: 'USD' } }))
              : item.entries,
        },
        before,
      );
      await put(changed);
      before = tipAfter(changed, before);
    }

    const { code, stdout } = await casebook('ledger', 'verify', '--json');
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as LedgerVerification;
    const found = Object.fromEntries(
      report.incidents.map((i) => [i.incidentId, i.problems.map((p) => `${p.seq}:${p.problem}`)]),
    );
    expect(found).toEqual({
      [id(1)]: ['2:edited'],
      [id(2)]: ['2:deleted'],
      [id(3)]: ['4:truncated'],
      [id(4)]: ['2:inserted', '3:reordered', '4:reordered', '5:reordered'],
      [id(5)]: ['2:reordered', '3:reordered', '4:broken-link'],
      [id(6)]: ['5:forged'],
      [id(7)]: ['2:forged', '3:forged', '4:forged', '4:edited'],
      [id(8)]: ['0:missing-chain'],
      [id(9)]: [],
      [id(10)]: ['0:missing-chain'],
      [id(11)]: ['4:edited'],
      [id(12)]: ['4:deleted'],
      [id(13)]: ['9:truncated'],
      [id(14)]: ['4:inserted', '5:reordered', '7:reordered', '10:reordered'],
      [id(15)]: ['4:reordered', '7:reordered', '9:broken-link'],
      [id(16)]: ['10:forged'],
      [id(17)]: ['4:forged', '6:forged', '9:forged', '9:edited'],
      [id(18)]: [],
    });

    const text = await casebook('ledger', 'verify', '--incident', id(3));
    expect(text.stdout).toContain(`${id(3)}: 3 entries, 1 problem(s)`);
    expect(text.stdout).toMatch(
      /seq 4: truncated — the digest of .* anchored the chain at seq 4; it now ends at 3/,
    );
    expect(text.stdout).toContain('Ledger NOT verified.');
  });

  it('refuses a digest written without the key', async () => {
    const digest = await casebook('ledger', 'anchor', '--reason', 'second');
    expect(digest.code).toBe(0);
    // Someone with write access to the bucket but not the key writes a newer digest.
    const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
    const client = new S3Client({
      endpoint: env.AWS_ENDPOINT_URL_S3,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: LOCAL_CREDENTIALS,
    });
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'anchors/9999-12-31T00-00-00-000Z-forged.json',
        Body: JSON.stringify({
          format: 1,
          createdAt: '9999-12-31T00:00:00.000Z',
          reason: 'x',
          heads: [],
          hash: 'f'.repeat(64),
          seal: { keyId: 'local:k1', mac: 'AAAA' },
        }),
      }),
    );
    const { code, stdout } = await casebook('ledger', 'verify');
    expect(code).toBe(1);
    expect(stdout).toContain('is NOT genuine');
  });
});
