/**
 * `casebook ledger verify` at scale: one incident of 100,000 entries written as the ledger writes
 * them (format 3 items of 25, each with its head signed by the ledger's P-256 key), anchored half-way,
 * then verified from the table as the auditor's command does — a consistent scan of every item,
 * every leaf hashed, every batch and tree root recomputed, one signature checked per item (per
 * head, not per entry), the anchors walked and a consistency proof from the anchored head to the
 * table's head. Seconds, as the issue names them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { verifyLedger } from '../functions/adapters/ledger-verification.ts';
import { S3AnchorStore } from '../functions/adapters/s3-anchor-store.ts';
import { makeAnchor } from '../functions/domain/anchor.ts';
import { ledgerPublicKey } from '../functions/domain/checkpoint.ts';
import type { ChainItemV3, ChainTip, LedgerEntryDraft } from '../functions/domain/ledger.ts';
import { batchItem, genesisTip, newEntryId, tipAfter } from '../functions/domain/ledger.ts';
import { LOCAL_CREDENTIALS } from '../local/names.ts';
import { startLocalS3 } from '../local/s3.ts';
import { startTestDatabase } from '../test/support/dynamodb.ts';
import type { BenchReport } from './run.ts';

const ENTRIES = Number(process.env.BENCH_VERIFY_ENTRIES ?? 100_000);
const PER_ITEM = 25;
const INCIDENT = 'INC-2026-0100';
const PUTS_IN_FLIGHT = 4;

const draft = (n: number): LedgerEntryDraft => ({
  log: 'effect',
  kind: 'refund',
  world: 'RML3',
  phase: 'Act',
  at: '2026-11-22T10:00:00.000Z',
  actor: 'bench',
  idempotencyKey: `refund-${n}`,
  summary: `refund ${n}`,
  detail: { orderId: `o${n}` },
  amount: { minor: 1299, currency: 'EUR' },
  obligation: 'tos',
  counterparty: `cp_${n.toString(16).padStart(32, '0')}`,
});

export default async function run(): Promise<BenchReport> {
  const dir = mkdtempSync(join(tmpdir(), 'casebook-verify-bench-'));
  const db = await startTestDatabase();
  const local = await startLocalS3({ port: 0, directory: join(dir, 's3'), buckets: ['anchors'] });
  const s3 = new S3Client({
    endpoint: local.url,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
  try {
    const tables = await db.tables();
    const anchors = new S3AnchorStore(s3, 'anchors');
    const writeStarted = Date.now();
    // The items are made in order (each starts from the tree the one before ends with), and written
    // 25 to a call: writing is not what is measured.
    const items: ChainItemV3[] = [];
    let tip: ChainTip = genesisTip();
    for (let first = 1; first <= ENTRIES; first += PER_ITEM) {
      const drafts = [];
      for (let n = first; n < first + PER_ITEM && n <= ENTRIES; n++) {
        const d = draft(n);
        drafts.push({ draft: d, id: newEntryId(d) });
      }
      const item = await batchItem(INCIDENT, tip, drafts, db.headSigner);
      items.push(item);
      tip = tipAfter(item, tip);
    }
    let next = 0;
    await Promise.all(
      Array.from({ length: PUTS_IN_FLIGHT }, async () => {
        while (next < items.length) {
          const batch = items.slice(next, next + 25);
          next += 25;
          await db.doc.send(
            new BatchWriteCommand({
              RequestItems: { [tables.ledger]: batch.map((Item) => ({ PutRequest: { Item } })) },
            }),
          );
        }
      }),
    );
    // Anchored half-way, as an anchor run would have anchored it then.
    const half = items[Math.floor(items.length / 2) - 1] as ChainItemV3;
    await anchors.put(
      await makeAnchor(
        {
          createdAt: '2026-11-22T10:15:00.000Z',
          reason: 'bench',
          windows: { seconds: 900, from: 0, to: 1 },
          heads: [{ incidentId: INCIDENT, seq: half.seq, hash: half.hash, head: half.head }],
        },
        db.headSigner,
      ),
    );
    const writeSeconds = (Date.now() - writeStarted) / 1000;

    const publicKey = ledgerPublicKey(await db.headSigner.publicKey());
    const started = process.hrtime.bigint();
    const report = await verifyLedger({
      db: db.doc,
      ledgerTable: tables.ledger,
      sealer: db.sealer,
      publicKey,
      anchors,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const checked = report.incidents.reduce((n, i) => n + i.entries, 0);
    const problems =
      report.incidents.reduce((n, i) => n + i.problems.length, 0) + report.anchors.problems.length;
    if (!report.ok || checked !== ENTRIES)
      throw new Error(
        `verify found ${problems} problem(s) over ${checked} entries: ${JSON.stringify(report).slice(0, 500)}`,
      );
    const markdown = [
      '## Verifying 100,000 entries (`bench/verify.bench.ts`)',
      '',
      `\`verifyLedger\` (what \`casebook ledger verify\` runs) over one incident of ${ENTRIES.toLocaleString('en')} entries in ${items.length.toLocaleString('en')} format 3 items on dynalite, anchored half-way: ${seconds.toFixed(2)} s — the consistent scan of the table, every leaf, batch root and tree root, ${items.length.toLocaleString('en')} head signatures (one per item), the anchor walk and a consistency proof from the anchored head (${half.size.toLocaleString('en')} entries) to the table's; ${problems} problems. Writing the items took ${writeSeconds.toFixed(1)} s (untimed).`,
    ].join('\n');
    return {
      results: { 'ledger.verify_100k_s': Math.round(seconds * 1000) / 1000 },
      targets: { 'ledger.verify_100k_s': '≤ 10' },
      markdown,
    };
  } finally {
    s3.destroy();
    await local.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
