/**
 * `npm run bench`: what the ledger's guarantees cost per append, as ratios to a baseline measured
 * in the same run on the same dynalite — a plain PutItem of the same entry. The ledger's append
 * reads the incident's whole chain (consistent Query) before its conditional put, so its cost
 * grows with the chain; the ratios show by how much at a few chain lengths.
 */
import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbLedger } from '../functions/adapters/dynamodb-ledger.ts';
import type { LedgerEntryDraft } from '../functions/domain/ledger.ts';
import { startTestDatabase } from '../test/support/dynamodb.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);
const LENGTHS = [1, 10, 50, 200];

const draft = (key: string): LedgerEntryDraft => ({
  log: 'effect',
  kind: 'refund',
  world: 'RML3',
  phase: 'Act',
  at: '2026-11-22T10:00:00.000Z',
  actor: 'bench',
  idempotencyKey: key,
  summary: `refund ${key}`,
  detail: { orderId: key, reason: 'double charge' },
  amount: { minor: 1299, currency: 'EUR' },
  costLine: 'tos',
});

async function time(rounds: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) await op(i);
  return Number(process.hrtime.bigint() - started) / 1e6 / rounds;
}

const db = await startTestDatabase();
try {
  const tables = await db.tables();
  const ledger = new DynamoDbLedger(db.doc, tables.ledger);
  // Warm up connections and dynalite's first-write paths.
  for (let i = 0; i < 20; i++) await ledger.append(`warmup-${i % 2}`, draft(`w${i}`));

  const rows: string[] = [];
  const perBatch = 10;
  const batches = Math.max(1, Math.floor(ROUNDS / perBatch));
  for (const length of LENGTHS) {
    let baseline = 0;
    let measured = 0;
    // Alternate baseline and measured batches so machine noise hits both alike.
    for (let b = 0; b < batches; b++) {
      const incident = `bench-${length}-${b}`;
      for (let n = 1; n < length; n++) await ledger.append(incident, draft(`p${n}`)); // untimed
      baseline += await time(perBatch, (i) =>
        db.doc.send(
          new PutCommand({
            TableName: tables.ledger,
            Item: {
              incidentId: `base-${randomUUID()}`,
              seq: 1,
              ...draft(`b${b}-${i}`),
              prevHash: '0',
              hash: '0',
            },
          }),
        ),
      );
      measured += await time(perBatch, (i) => ledger.append(incident, draft(`m${i}`)));
    }
    baseline /= batches;
    measured /= batches;
    const chain = `${length}–${length + perBatch - 1}`;
    rows.push(
      `| ${chain.padStart(9)} | ${baseline.toFixed(3).padStart(10)} | ${measured.toFixed(3).padStart(9)} | ${(measured / baseline).toFixed(2).padStart(5)}× |`,
    );
  }
  console.log(
    `Ledger append vs plain PutItem on dynalite (${batches * perBatch} of each per row; ms per op; the append's seq is the chain length)\n`,
  );
  console.log('| chain seq | PutItem ms | append ms | ratio |');
  console.log('|----------:|-----------:|----------:|------:|');
  for (const row of rows) console.log(row);
} finally {
  await db.close();
}
