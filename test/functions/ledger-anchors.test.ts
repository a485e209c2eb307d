/**
 * Anchors as the auditor meets them: `casebook ledger anchor` and `casebook ledger verify` run as a
 * user runs them (a process of their own, AWS mode over dynalite and s3rver), against an anchor
 * bucket an attacker changed with the SDK as they could — deleting, swapping, editing an anchor,
 * re-signing one with the ledger signing key, writing one with another key, writing one that skips
 * windows — and against a ledger table a writer holding the signing key rewrote and re-signed, or
 * gave a second head: each named by verify.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbChangeMarks } from '../../functions/adapters/change-marks.ts';
import { DynamoDbLedger } from '../../functions/adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../../functions/adapters/dynamodb-operations-store.ts';
import { FileHeadSigner } from '../../functions/adapters/head-signer.ts';
import { FileKeySealer, newKeyFile } from '../../functions/adapters/ledger-sealer.ts';
import type { LedgerVerification } from '../../functions/adapters/ledger-verification.ts';
import type { SignedAnchor } from '../../functions/domain/anchor.ts';
import { anchorKey, makeAnchor, windowOf } from '../../functions/domain/anchor.ts';
import { signHead } from '../../functions/domain/checkpoint.ts';
import { formatIncidentId } from '../../functions/domain/incident.ts';
import type { ChainItemV3, LedgerEntryDraft, StoredEntryV3 } from '../../functions/domain/ledger.ts';
import { batchItem, genesisTip } from '../../functions/domain/ledger.ts';
import { closeObjectKey, makeClose, signClose } from '../../functions/domain/period-close.ts';
import { LOCAL_CREDENTIALS } from '../../local/names.ts';
import type { LocalS3 } from '../../local/s3.ts';
import { startLocalS3 } from '../../local/s3.ts';
import { CLI, type CliResult, casebook as run, userEnvironment } from '../support/cli.ts';
import type { TestDatabase } from '../support/dynamodb.ts';
import { startTestDatabase } from '../support/dynamodb.ts';
import { plainIncident } from '../support/incidents.ts';

const BUCKET = 'casebook-anchors-test';

let db: TestDatabase;
let s3: LocalS3;
let client: S3Client;
let env: Record<string, string>;
let tables: { operations: string; ledger: string };
let ledger: DynamoDbLedger;
let marks: DynamoDbChangeMarks;
let signer: FileHeadSigner;
let stranger: FileHeadSigner;

const id = (n: number) => formatIncidentId(2026, n);
const casebook = (...args: string[]): Promise<CliResult> => run(args, env);

const draft = (n: number, key: string): LedgerEntryDraft => ({
  log: 'effect',
  kind: 'credit',
  world: 'RML3',
  phase: 'Act',
  at: '2026-11-22T10:00:00.000Z',
  actor: 'test',
  idempotencyKey: key,
  summary: `goodwill credit ${n}`,
  amount: { minor: 500 * n, currency: 'USD' },
  obligation: 'brand',
  detail: { n },
});

let appended = 0;
async function change(incident: string): Promise<void> {
  appended++;
  await ledger.append(incident, draft(appended, `k${appended}`));
}

async function getAnchor(number: number): Promise<SignedAnchor> {
  const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: anchorKey(number) }));
  return JSON.parse((await out.Body?.transformToString()) ?? '') as SignedAnchor;
}
const putObject = (key: string, body: unknown) =>
  client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: JSON.stringify(body) }));

async function verify(): Promise<{ code: number; report: LedgerVerification }> {
  const { code, stdout, stderr } = await casebook('ledger', 'verify', '--json');
  expect(stderr).toBe('');
  return { code, report: JSON.parse(stdout) as LedgerVerification };
}
const named = (report: LedgerVerification) =>
  report.anchors.problems.map((p) => `${p.key.replace('signed-anchors/', '')} ${p.problem}`);

beforeAll(async () => {
  db = await startTestDatabase();
  tables = await db.tables();
  const dir = mkdtempSync(join(tmpdir(), 'casebook-anchors-'));
  s3 = await startLocalS3({ port: 0, directory: join(dir, 's3'), buckets: [BUCKET] });
  client = new S3Client({
    endpoint: s3.url,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  const keyFile = join(dir, 'ledger.json');
  const keys = newKeyFile('k1');
  writeFileSync(keyFile, JSON.stringify(keys), { mode: 0o600 });
  const signingKeyFile = join(dir, 'ledger-signing.pem');
  signer = FileHeadSigner.fromFile(signingKeyFile, { create: true });
  stranger = FileHeadSigner.fromFile(join(dir, 'stranger.pem'), { create: true });
  marks = new DynamoDbChangeMarks(db.doc, tables.operations);
  // As every appending function's ledger: heads signed with the ledger key, each commit marked.
  ledger = new DynamoDbLedger(db.doc, tables.ledger, {
    sealer: new FileKeySealer(keys),
    headSigner: signer,
    changes: marks,
  });
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
  for (let n = 1; n <= 3; n++) {
    await store.createIncident(plainIncident(n));
    await change(id(n));
  }
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
  await db?.close();
});

describe('casebook ledger anchor', () => {
  it('anchors every incident first, then only the heads that changed, and nothing when nothing did', async () => {
    const first = await casebook('ledger', 'anchor', '--reason', 'test');
    expect(first).toMatchObject({
      code: 0,
      stderr: '',
      stdout: `Anchored 3 incident head(s) in ${anchorKey(1)}.\n`,
    });
    await change(id(2));
    const second = await casebook('ledger', 'anchor');
    expect(second.stdout).toBe(`Anchored 1 incident head(s) in ${anchorKey(2)}.\n`);
    const anchor = await getAnchor(2);
    expect(anchor.heads.map((h) => [h.incidentId, h.seq])).toEqual([[id(2), 2]]);
    expect(anchor.previous?.key).toBe(anchorKey(1));
    // It read the change marks of its windows: from the one before the last anchor's last window to now.
    const now = windowOf(new Date());
    expect(anchor.windows.to).toBeGreaterThanOrEqual(now - 1);
    expect(anchor.windows.from).toBe((await getAnchor(1)).windows.to - 1);
    expect(await casebook('ledger', 'anchor')).toMatchObject({
      code: 0,
      stdout: `Nothing changed since anchor 2 (${anchorKey(2)}): no new anchor.\n`,
    });
    // One mark per incident per window (two windows, should the test straddle their boundary).
    const marked: string[] = [];
    for (let w = (await getAnchor(1)).windows.to; w <= now; w++) {
      const out = await db.doc.send(
        new QueryCommand({
          TableName: tables.operations,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `CHANGED#${w}` },
        }),
      );
      marked.push(...(out.Items ?? []).map((i) => String(i.sk)));
    }
    expect(new Set(marked)).toEqual(new Set([id(1), id(2), id(3)]));
  });

  it('verifies the anchors it wrote, walking them from the first', async () => {
    const { code, report } = await verify();
    expect(report.anchors).toMatchObject({
      anchors: 2,
      last: { number: 2, key: anchorKey(2) },
      problems: [],
    });
    expect(report.ok).toBe(true);
    expect(code).toBe(0);
  });

  it('draws a progress bar on a terminal, on stderr, and not when stderr is not one', async () => {
    // `script` gives the command a terminal of its own, as a person's shell would.
    const { stdout } = await promisify(execFile)(
      'script',
      ['-qec', `${process.execPath} ${CLI} ledger verify`, '/dev/null'],
      { env: userEnvironment(env) },
    );
    expect(stdout).toMatch(/\r\[#{30}\] 2\/2 anchors/);
    expect(stdout).toMatch(/\r\[#{30}\] 3\/3 incidents/);
    expect(stdout).toContain('Walked 2 anchor(s); checked against anchor 2');
    const piped = await casebook('ledger', 'verify');
    expect(piped.stderr).toBe('');
  });
});

describe('casebook ledger verify against a changed anchor bucket', () => {
  const originals = new Map<number, SignedAnchor>();

  beforeAll(async () => {
    for (const n of [1, 3]) {
      await change(id(n));
      expect((await casebook('ledger', 'anchor')).code).toBe(0);
    }
    for (let n = 1; n <= 4; n++) originals.set(n, await getAnchor(n));
  });

  /** Puts every anchor back as it was written, and removes anything else under the prefix. */
  async function restore(extra: number[] = []): Promise<void> {
    for (const [n, anchor] of originals) await putObject(anchorKey(n), anchor);
    for (const n of extra) await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: anchorKey(n) }));
    expect((await verify()).report.anchors.problems).toEqual([]);
  }

  it('names a missing anchor: one deleted from the middle', async () => {
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: anchorKey(2) }));
    const { code, report } = await verify();
    expect(named(report)).toEqual(['000000000003.json anchor-missing']);
    expect(report.anchors.problems[0]?.detail).toBe(
      `anchor 3 follows ${anchorKey(2)}, which is not in the bucket`,
    );
    expect(code).toBe(1);
    const text = await casebook('ledger', 'verify');
    expect(text.stdout).toContain(
      `anchor ${anchorKey(3)}: anchor-missing — anchor 3 follows ${anchorKey(2)}, which is not in the bucket`,
    );
    expect(text.stdout).toContain('Ledger NOT verified.');
    await restore();
  });

  it('names reordered anchors: two swapped', async () => {
    await putObject(anchorKey(2), originals.get(3));
    await putObject(anchorKey(3), originals.get(2));
    const { code, report } = await verify();
    expect(named(report)).toEqual([
      '000000000002.json anchor-reordered',
      '000000000003.json anchor-reordered',
    ]);
    expect(code).toBe(1);
    await restore();
  });

  it('names a replaced anchor: edited in place, re-signed with the ledger key, or signed with another', async () => {
    const two = originals.get(2) as SignedAnchor;
    // Edited: a head taken out, nothing re-signed.
    await putObject(anchorKey(2), { ...two, heads: [] });
    expect(named((await verify()).report)).toEqual(['000000000002.json anchor-replaced']);
    // Re-signed by a writer holding the ledger signing key: the next anchor's link shows it.
    const one = originals.get(1) as SignedAnchor;
    const resigned = await makeAnchor(
      {
        createdAt: two.createdAt,
        reason: two.reason,
        windows: two.windows,
        heads: [],
        previous: { key: anchorKey(1), anchor: one },
      },
      signer,
    );
    await putObject(anchorKey(2), resigned);
    const { code, report } = await verify();
    expect(named(report)).toEqual(['000000000002.json anchor-replaced']);
    expect(report.anchors.problems[0]?.detail).toMatch(/is not the anchor 3 follows \(its hash differs\)/);
    expect(code).toBe(1);
    // Signed with a key that is not the ledger's.
    await putObject(
      anchorKey(2),
      await makeAnchor({ ...two, previous: { key: anchorKey(1), anchor: one } }, stranger),
    );
    expect(named((await verify()).report)).toEqual(['000000000002.json anchor-replaced']);
    await restore();
  });

  it('names an anchor gap: an anchor, signed with the ledger key, that skips windows', async () => {
    const four = originals.get(4) as SignedAnchor;
    const skipping = await makeAnchor(
      {
        createdAt: new Date().toISOString(),
        reason: 'schedule',
        windows: { seconds: four.windows.seconds, from: four.windows.to + 3, to: four.windows.to + 4 },
        heads: [],
        previous: { key: anchorKey(4), anchor: four },
      },
      signer,
    );
    await putObject(anchorKey(5), skipping);
    const { code, report } = await verify();
    expect(named(report)).toEqual(['000000000005.json anchor-gap']);
    expect(report.anchors.problems[0]?.detail).toMatch(
      /^no anchor read the changes of .* to .*: anchor 4 ends at the window before, anchor 5 begins after it$/,
    );
    expect(code).toBe(1);
    await restore([5]);
  });
});

describe('casebook ledger verify against a chain rewritten by a writer holding the signing key', () => {
  const items = async (incident: string): Promise<ChainItemV3[]> => {
    const out = await db.doc.send(
      new QueryCommand({
        TableName: tables.ledger,
        KeyConditionExpression: 'incidentId = :id',
        ExpressionAttributeValues: { ':id': incident },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []) as ChainItemV3[];
  };
  const draftOf = ({
    format: _f,
    id: _i,
    incidentId: _n,
    seq: _s,
    ...draft
  }: StoredEntryV3): LedgerEntryDraft => draft;

  beforeAll(async () => {
    const store = new DynamoDbOperationsStore(db.doc, tables.operations);
    for (const n of [4, 5]) {
      await store.createIncident(plainIncident(n));
      for (let e = 0; e < 3; e++) await change(id(n));
    }
    expect((await casebook('ledger', 'anchor')).stdout).toMatch(/^Anchored 2 incident head\(s\)/);
    expect((await verify()).code).toBe(0);
  });

  it('names a chain rewritten and re-signed: whole on its own, it no longer holds the anchored head', async () => {
    // The writer takes the chain out and puts it back as one batch, the first credit made larger and
    // one more entry after it, every head signed with the ledger's own key.
    const before = (await items(id(4))).sort((a, b) => a.seq - b.seq);
    const entries = before.flatMap((i) => i.entries);
    for (const item of before)
      await db.doc.send(
        new DeleteCommand({ TableName: tables.ledger, Key: { incidentId: id(4), seq: item.seq } }),
      );
    const drafts = entries.map((e, i) => ({
      id: e.id,
      draft: i === 0 ? { ...draftOf(e), amount: { minor: 99_999, currency: 'USD' } } : draftOf(e),
    }));
    drafts.push({ id: '01JFAKEENTRY0000000000000Z', draft: draft(99, 'k-extra') });
    await db.doc.send(
      new PutCommand({
        TableName: tables.ledger,
        Item: await batchItem(id(4), genesisTip(), drafts, signer),
      }),
    );
    const { code, report } = await verify();
    const four = report.incidents.find((i) => i.incidentId === id(4));
    expect(four?.problems).toEqual([
      {
        seq: 3,
        problem: 'rewritten',
        detail: expect.stringMatching(
          /^the table's first 3 entries no longer hash to the root anchor \d+ holds for them; the table’s heads are signed with the ledger key: the log was rewritten and re-signed$/,
        ),
      },
    ]);
    expect(code).toBe(1);
    const text = await casebook('ledger', 'verify', '--incident', id(4));
    expect(text.stdout).toContain(`${id(4)}: 4 entries, 1 problem(s)`);
    expect(text.stdout).toMatch(/seq 3: rewritten — the table's first 3 entries no longer hash/);
  });

  it('names a forked head: a second head of an anchored size, signed with the ledger key, in the table', async () => {
    const last = (await items(id(5))).sort((a, b) => a.seq - b.seq).at(-1) as ChainItemV3;
    const other = await signHead(signer, {
      origin: last.head.origin,
      size: last.head.size,
      root: 'f'.repeat(64),
    });
    await db.doc.send(new PutCommand({ TableName: tables.ledger, Item: { ...last, head: other } }));
    const { code, report } = await verify();
    const five = report.incidents.find((i) => i.incidentId === id(5));
    expect(five?.problems).toContainEqual({
      seq: 3,
      problem: 'forked-head',
      detail: expect.stringMatching(
        /^two heads of size 3 signed with the ledger key, with different roots: [0-9a-f]{12}… in anchor \d+, ffffffffffff… in the table's item at seq 3$/,
      ),
    });
    expect(code).toBe(1);
  });
});

describe('casebook period on AWS', () => {
  it('reports a close from the anchors bucket and verifies it, naming one the signing key did not sign', async () => {
    const november = makeClose({
      period: '2026-11',
      closedAt: '2026-12-05T02:30:00.000Z',
      totals: [{ category: 'refunds', obligation: 'tos', currency: 'EUR', amountMinor: -4242, entries: 1 }],
      heads: {},
      labourRates: [],
      exchangeRates: null,
      previous: null,
    });
    const key = closeObjectKey('2026-11');
    try {
      await putObject(key, await signClose(signer, november));
      const report = await casebook('period', 'report', '2026-11');
      expect(report.code, report.stderr).toBe(0);
      expect(report.stdout).toMatch(/^ {2}refunds +tos +EUR -4242 \(minor units, 1 entries\)$/m);
      expect(await casebook('period', 'verify')).toMatchObject({ code: 0, stdout: '1 closes verified\n' });

      await putObject(key, await signClose(stranger, november));
      expect(await casebook('period', 'verify')).toMatchObject({
        code: 1,
        stdout:
          '2026-11 bad-signature: the close of 2026-11 is not signed by the ledger signing key: someone wrote it without the key\n',
      });
    } finally {
      await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    }
  });
});
