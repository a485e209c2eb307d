/**
 * What an anchor costs as history grows: the time of one anchor over a table of 10,000 incidents of
 * which 10 changed since the last anchor, over the time of one anchor over a table of 10 incidents,
 * all 10 changed — the same work if the anchor reads only what changed (the change marks of its
 * windows and the heads they name), 1,000 times more if it read every incident. Both tables start
 * with an anchor that holds every incident's head (untimed); then rounds alternate between the two, each round changing the 10
 * incidents one window later and timing the anchor that follows (the median of the rounds).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbChangeMarks } from '../functions/adapters/change-marks.ts';
import { DynamoDbLedger } from '../functions/adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../functions/adapters/dynamodb-operations-store.ts';
import { S3AnchorStore } from '../functions/adapters/s3-anchor-store.ts';
import { CHANGE_WINDOW_SECONDS, makeAnchor } from '../functions/domain/anchor.ts';
import type { LedgerEntryDraft, LedgerEntryV2 } from '../functions/domain/ledger.ts';
import { sealEntry } from '../functions/domain/ledger.ts';
import { anchorLedger } from '../functions/use-cases/anchor-ledger.ts';
import { LOCAL_CREDENTIALS } from '../local/names.ts';
import { startLocalS3 } from '../local/s3.ts';
import type { TestDatabase } from '../test/support/dynamodb.ts';
import { startTestDatabase } from '../test/support/dynamodb.ts';
import type { BenchReport } from './run.ts';

const BIG = Number(process.env.BENCH_ANCHOR_INCIDENTS ?? 10_000);
const CHANGED = 10;
const ROUNDS = Number(process.env.BENCH_ANCHOR_ROUNDS ?? 11);
const WINDOW_MS = CHANGE_WINDOW_SECONDS * 1000;

const draft = (n: number, key: string): LedgerEntryDraft => ({
  log: 'effect',
  kind: 'refund',
  world: 'RML3',
  phase: 'Act',
  at: '2026-11-22T10:00:00.000Z',
  actor: 'bench',
  idempotencyKey: key,
  summary: `refund ${n}`,
  detail: { n },
  amount: { minor: 1299, currency: 'EUR' },
  obligation: 'tos',
});

/** A settable clock: every window of the run is a moment the bench chooses. */
function windowClock(start: number) {
  let now = start;
  return {
    now: () => new Date(now),
    at: (window: number) => {
      now = window * WINDOW_MS + 1000;
    },
  };
}

const incidentId = (n: number) => `INC-2026-${String(n).padStart(5, '0')}`;

/** One table pair and bucket with `count` incidents, each with one entry, marked in `window`. */
async function setUp(db: TestDatabase, s3: S3Client, bucket: string, count: number, window: number) {
  const tables = await db.tables();
  const clock = windowClock(window * WINDOW_MS);
  clock.at(window);
  const marks = new DynamoDbChangeMarks(db.doc, tables.operations, { clock });
  // Written in batches: the setting-up is not what is measured.
  const rows: { ledger: LedgerEntryV2; mark: Record<string, unknown> }[] = [];
  for (let n = 1; n <= count; n++) {
    const id = incidentId(n);
    rows.push({
      ledger: await sealEntry(id, undefined, draft(n, `e${n}`), db.sealer),
      mark: { pk: `CHANGED#${window}`, sk: id, entity: 'changed', incidentId: id },
    });
  }
  for (let i = 0; i < rows.length; i += 25) {
    const slice = rows.slice(i, i + 25);
    await db.doc.send(
      new BatchWriteCommand({
        RequestItems: {
          [tables.ledger]: slice.map((r) => ({ PutRequest: { Item: r.ledger } })),
          [tables.operations]: slice.map((r) => ({ PutRequest: { Item: r.mark } })),
        },
      }),
    );
  }
  // Appends mark their incident changed, as every appending function's ledger does.
  const ledger = new DynamoDbLedger(db.doc, tables.ledger, {
    sealer: db.sealer,
    headSigner: db.headSigner,
    changes: marks,
  });
  const deps = {
    incidents: new DynamoDbOperationsStore(db.doc, tables.operations),
    ledger,
    anchors: new S3AnchorStore(s3, bucket),
    changes: marks,
    signer: db.headSigner,
    clock,
  };
  // The anchor before the rounds holds every incident's head as an anchor run would have written
  // it after their marks (made here from the heads just written, rather than read back).
  await deps.anchors.put(
    await makeAnchor(
      {
        createdAt: new Date((window + 2) * WINDOW_MS).toISOString(),
        reason: 'bench',
        windows: { seconds: CHANGE_WINDOW_SECONDS, from: 0, to: window + 2 },
        heads: rows.map(({ ledger: e }) => ({ incidentId: e.incidentId, seq: e.seq, hash: e.hash })),
      },
      deps.signer,
    ),
  );
  return { deps, clock, ledger };
}

export default async function run(): Promise<BenchReport> {
  const dir = mkdtempSync(join(tmpdir(), 'casebook-anchor-bench-'));
  const db = await startTestDatabase();
  const local = await startLocalS3({ port: 0, directory: join(dir, 's3'), buckets: ['small', 'big'] });
  const s3 = new S3Client({
    endpoint: local.url,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  try {
    const start = Math.floor(Date.parse('2026-12-06T00:00:00.000Z') / WINDOW_MS);
    const setupStarted = Date.now();
    const small = await setUp(db, s3, 'small', CHANGED, start);
    const big = await setUp(db, s3, 'big', BIG, start);
    const setupSeconds = (Date.now() - setupStarted) / 1000;

    const times = { small: [] as number[], big: [] as number[] };
    const heads = { small: [] as number[], big: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      const window = start + 4 + 2 * round;
      for (const [name, side] of [
        ['small', small],
        ['big', big],
      ] as const) {
        side.clock.at(window);
        for (let n = 1; n <= CHANGED; n++)
          await side.ledger.append(incidentId(n), draft(n, `r${round}-${n}`));
        const started = process.hrtime.bigint();
        const result = await anchorLedger(side.deps, 'bench');
        times[name].push(Number(process.hrtime.bigint() - started) / 1e6);
        heads[name].push(result.chains);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const ratio = median(times.big) / median(times.small);
    const results = { 'ledger.anchor_vs_changed': Math.round(ratio * 1000) / 1000 };
    const markdown = [
      '## Anchors (`bench/anchor.bench.ts`)',
      '',
      `One anchor over ${BIG.toLocaleString('en')} incidents of which ${CHANGED} changed since the last anchor, against one over ${CHANGED} incidents all changed, same dynalite and s3rver, ${ROUNDS} rounds alternating (median ms):`,
      '',
      '| incidents | changed | heads anchored per round | anchor ms: median (each round) |',
      '|---:|---:|---|---:|',
      `| ${CHANGED} | ${CHANGED} | ${heads.small.join(', ')} | ${median(times.small).toFixed(1)} (${times.small.map((t) => t.toFixed(0)).join(', ')}) |`,
      `| ${BIG.toLocaleString('en')} | ${CHANGED} | ${heads.big.join(', ')} | ${median(times.big).toFixed(1)} (${times.big.map((t) => t.toFixed(0)).join(', ')}) |`,
      '',
      `Setting up both tables and the anchor before the rounds took ${setupSeconds.toFixed(1)} s (untimed). Reading: an anchor queries the change marks of the windows since the last anchor and reads the heads they name, so its cost follows what changed, not how many incidents there are.`,
    ].join('\n');
    return { results, targets: { 'ledger.anchor_vs_changed': '≤ 2' }, markdown };
  } finally {
    s3.destroy();
    await local.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
