/**
 * The ledger export at scale: 100,000 Effect Ledger entries (10 incidents of 10,000) exported as
 * one period's Parquet object, streamed to s3rver by a multipart upload, against a plain
 * consistent paged Query of the same items in the same run (the two take turns, twice; the faster
 * of each counts); and the heap while exporting 100,000 entries against 10,000 (10 incidents of
 * 1,000), sampled after a full GC ten times in each (every 10,000 and every 1,000 rows; the ten
 * collections are inside the timed export): memory must not grow with the ledger.
 * dynalite and s3rver run in processes of their own, so their memory is not in the figure.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, paginateQuery } from '@aws-sdk/lib-dynamodb';
import { S3MultipartSink } from '../functions/adapters/byte-sinks.ts';
import { DynamoDbLedgerExportSource } from '../functions/adapters/dynamodb-ledger-export.ts';
import { FileHeadSigner } from '../functions/adapters/head-signer.ts';
import { ParquetLedgerWriter } from '../functions/adapters/parquet-ledger.ts';
import type { LedgerRowWriter } from '../functions/domain/ledger-export.ts';
import { ledgerObjectKey } from '../functions/domain/ledger-export.ts';
import { exportLedger } from '../functions/use-cases/export-ledger.ts';
import { LOCAL_CREDENTIALS } from '../local/names.ts';
import { createTables } from '../local/tables.ts';
import { seedFinanceLedger } from './finance-seed.ts';
import type { BenchReport } from './run.ts';

const ENTRIES = Number(process.env.BENCH_EXPORT_ENTRIES ?? 100_000);
const INCIDENTS = 10;
const BUCKET = 'exports';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Emulator {
  readonly url: string;
  close(): Promise<void>;
}

async function startEmulator(...args: string[]): Promise<Emulator> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'finance-emulators.ts'), ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n').find((l) => l.startsWith('READY '));
      if (line) resolve(line.slice(6).trim());
    });
    child.once('exit', (code) => reject(new Error(`the ${args[0]} emulator exited (${code})`)));
  });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

/** Heap after a full GC, sampled every `every` rows a writer takes; the highest. */
function sampled(writer: LedgerRowWriter, every: number, peak: { bytes: number }): LedgerRowWriter {
  let rows = 0;
  return {
    add: async (row) => {
      await writer.add(row);
      if (++rows % every === 0) {
        gc();
        peak.bytes = Math.max(peak.bytes, process.memoryUsage().heapUsed);
      }
    },
    finish: () => writer.finish(),
    abort: () => writer.abort(),
  };
}

export default async function run(): Promise<BenchReport> {
  const dir = mkdtempSync(join(tmpdir(), 'casebook-export-bench-'));
  const dynamodb = await startEmulator('dynamodb');
  const objects = await startEmulator('s3', join(dir, 's3'), BUCKET);
  const doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: dynamodb.url, region: 'us-east-1', credentials: LOCAL_CREDENTIALS }),
    { marshallOptions: { removeUndefinedValues: true } },
  );
  const s3 = new S3Client({
    endpoint: objects.url,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = new FileHeadSigner(pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
  try {
    const small = { operations: 'ops-10k', ledger: 'ledger-10k' };
    const large = { operations: 'ops-100k', ledger: 'ledger-100k' };
    await createTables(dynamodb.url, small);
    await createTables(dynamodb.url, large);
    const seedStarted = Date.now();
    const per = ENTRIES / INCIDENTS;
    await seedFinanceLedger(doc, small, signer, { incidents: INCIDENTS, entriesPerIncident: per / 10 });
    await seedFinanceLedger(doc, large, signer, { incidents: INCIDENTS, entriesPerIncident: per });
    const seedSeconds = (Date.now() - seedStarted) / 1000;

    const sourceOf = (tables: typeof large) =>
      new DynamoDbLedgerExportSource(doc, { operationsTable: tables.operations, ledgerTable: tables.ledger });
    const exportTo = async (tables: typeof large, key: string, peak: { bytes: number }, every: number) => {
      const started = process.hrtime.bigint();
      const result = await exportLedger(
        {
          source: sourceOf(tables),
          writerFor: () => {
            const writer = new ParquetLedgerWriter(new S3MultipartSink(s3, BUCKET, key));
            return sampled(writer, every, peak);
          },
        },
        { from: '2026-11' },
      );
      return { result, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
    };

    // The floor: every item of every incident by consistent paged Queries, nothing done with them.
    // Query and export take turns, twice, and the faster of each counts: on a shared machine a
    // neighbour's burst would otherwise decide the ratio.
    const query = async () => {
      const started = process.hrtime.bigint();
      let queried = 0;
      for (const incident of await sourceOf(large).incidentsDetectedBefore('2026-12-01T00:00:00.000Z')) {
        const pages = paginateQuery(
          { client: doc },
          {
            TableName: large.ledger,
            KeyConditionExpression: 'incidentId = :id',
            ExpressionAttributeValues: { ':id': incident.id },
            ConsistentRead: true,
          },
        );
        for await (const page of pages) {
          for (const item of page.Items ?? []) queried += (item.entries as unknown[]).length;
        }
      }
      if (queried !== ENTRIES) throw new Error(`the Query read ${queried} entries, not ${ENTRIES}`);
      return Number(process.hrtime.bigint() - started) / 1e9;
    };

    // The heap of the small export first, then the timed large one, each sampled ten times.
    gc();
    const baseline = process.memoryUsage().heapUsed;
    const smallPeak = { bytes: baseline };
    const smallRun = await exportTo(small, 'heap/10k.parquet', smallPeak, ENTRIES / 100);
    const largePeak = { bytes: baseline };
    const queries: number[] = [];
    const exports: number[] = [];
    let timed: Awaited<ReturnType<typeof exportTo>> | undefined;
    for (let round = 0; round < 2; round++) {
      queries.push(await query());
      timed = await exportTo(large, ledgerObjectKey('2026-11'), largePeak, ENTRIES / 10);
      exports.push(timed.seconds);
    }
    if (!timed) throw new Error('no export ran');
    const querySeconds = Math.min(...queries);
    const exportSeconds = Math.min(...exports);
    if (smallRun.result.rows !== ENTRIES / 10 || timed.result.rows !== ENTRIES)
      throw new Error(`the exports wrote ${smallRun.result.rows} and ${timed.result.rows} rows`);
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: ledgerObjectKey('2026-11') }));
    const bytes = Number(object.ContentLength ?? 0);
    await object.Body?.transformToByteArray();

    const ratio = querySeconds / exportSeconds;
    const heapRatio = largePeak.bytes / smallPeak.bytes;
    const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
    const markdown = [
      '## Exporting 100,000 ledger entries (`bench/finance-export.bench.ts`)',
      '',
      `\`exportLedger\` (what \`casebook ledger export\` and the export function run) over ${ENTRIES.toLocaleString('en')} Effect Ledger entries — ${INCIDENTS} incidents of ${per.toLocaleString('en')}, in format 3 items of 25 on dynalite — into one period's Parquet object (${mb(bytes)}, Snappy, row groups of 10,000) streamed to s3rver by a multipart upload: ${exportSeconds.toFixed(2)} s (the faster of ${exports.map((x) => x.toFixed(2)).join(' s and ')} s). A plain consistent paged Query of the same items, nothing done with them, taking turns with the export: ${querySeconds.toFixed(2)} s (of ${queries.map((x) => x.toFixed(2)).join(' s and ')} s): the export runs at ${ratio.toFixed(2)} of that rate (every entry's leaf hash computed for \`entry_hash\`, corrections resolved, rows encoded and uploaded).`,
      '',
      `Heap after a full GC, sampled ten times during each export (every 10,000 and every 1,000 rows; both timed exports of 100,000 sampled), highest: ${mb(largePeak.bytes)} exporting ${ENTRIES.toLocaleString('en')} entries against ${mb(smallPeak.bytes)} exporting ${(ENTRIES / 10).toLocaleString('en')} (10 incidents of ${(per / 10).toLocaleString('en')}); ${mb(baseline)} before either. dynalite and s3rver ran in processes of their own. Seeding (pre-sealed items, batch writes) took ${seedSeconds.toFixed(1)} s, untimed.`,
    ].join('\n');
    return {
      results: {
        'finance.export_100k_s': Math.round(exportSeconds * 1000) / 1000,
        'finance.export_vs_query': Math.round(ratio * 1000) / 1000,
        'finance.export_heap_ratio_100k_vs_10k': Math.round(heapRatio * 1000) / 1000,
      },
      targets: {
        'finance.export_vs_query': '≥ 0.7',
        'finance.export_heap_ratio_100k_vs_10k': '≤ 1.25',
      },
      markdown,
    };
  } finally {
    s3.destroy();
    doc.destroy();
    await dynamodb.close();
    await objects.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
