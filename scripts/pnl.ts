/**
 * `casebook pnl`: the P&L across incidents, from the ledger exports, in DuckDB on this machine —
 * the same SQL text Athena's named queries run (`functions/domain/finance-sql.ts`).
 *
 * The objects are fetched with the S3 SDK into a temporary directory (DuckDB's S3 extension is not
 * bundled and must not be downloaded), or read where `--in` says a copy of the bucket is.
 */
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { s3Client } from '../functions/adapters/aws.ts';
import type { PnlDimension } from '../functions/domain/finance-sql.ts';
import {
  incidentsSql,
  PNL_DIMENSIONS,
  pnlSql,
  unpricedLabourSql,
  unsettledSql,
} from '../functions/domain/finance-sql.ts';
import type { LabourRate } from '../functions/domain/labour-rates.ts';
import { LabourRatesError, parseLabourRates } from '../functions/domain/labour-rates.ts';
import { isPeriod } from '../functions/domain/ledger-export.ts';
import type { Conversion, PnlReport } from '../functions/domain/pnl-report.ts';
import {
  buildPnlReport,
  parseExchangeRates,
  pnlCsv,
  pnlJson,
  pnlTable,
  ReportInputError,
  rollUp,
} from '../functions/domain/pnl-report.ts';
import { ENV } from '../functions/env-names.ts';
import { pnlHtml } from '../functions/pages/pnl-report.ts';
import { LOCAL_BUCKETS, LOCAL_CREDENTIALS, PORTS, portsFromEnvironment } from '../local/names.ts';
import { LedgerSchemaError, openLedgerDb } from './duckdb-ledger.ts';

const FORMATS = ['table', 'csv', 'json', 'html'] as const;
type Format = (typeof FORMATS)[number];

const PREFIX = 'ledger/v1/';
const KEY = /^ledger\/v1\/period=(\d{4}-\d{2})\/ledger\.parquet$/;

interface PnlOptions {
  from?: string;
  to?: string;
  groupBy: string;
  currency?: string;
  rates?: string;
  format: string;
  out?: string;
  in?: string;
  exportBucket?: string;
}

/** What was asked, checked: every problem is a {@link ReportInputError}, one line, exit 2. */
export interface PnlRequest {
  readonly from: string;
  readonly to: string;
  readonly groupBy: readonly PnlDimension[];
  readonly format: Format;
  readonly conversion?: Conversion;
  readonly labourRates: readonly LabourRate[];
}

function request(options: PnlOptions, env: NodeJS.ProcessEnv): PnlRequest {
  const month = (flag: string, value: string | undefined): string => {
    if (value === undefined) throw new ReportInputError(`${flag} YYYY-MM is required`);
    if (!isPeriod(value))
      throw new ReportInputError(`${flag} "${value}" is not a month (YYYY-MM, e.g. 2026-11)`);
    return value;
  };
  const from = month('--from', options.from);
  const to = options.to === undefined ? from : month('--to', options.to);
  if (from > to) throw new ReportInputError(`--from ${from} is after --to ${to}`);
  const groupBy = options.groupBy
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean);
  const unknown = groupBy.filter((d) => !(PNL_DIMENSIONS as readonly string[]).includes(d));
  if (unknown.length > 0 || groupBy.length === 0)
    throw new ReportInputError(
      `--group-by ${unknown.length > 0 ? `has ${unknown.join(', ')}: ` : 'is empty: '}choose from ${PNL_DIMENSIONS.join(', ')}`,
    );
  if (!(FORMATS as readonly string[]).includes(options.format))
    throw new ReportInputError(`--format ${options.format} is not one of ${FORMATS.join(', ')}`);
  if (options.currency !== undefined && options.rates === undefined)
    throw new ReportInputError(`--currency ${options.currency} needs --rates FILE (currency → rate into it)`);
  if (options.rates !== undefined && options.currency === undefined)
    throw new ReportInputError('--rates needs --currency: the currency the report is in');
  let conversion: Conversion | undefined;
  if (options.currency !== undefined && options.rates !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.rates, 'utf8');
    } catch (error) {
      throw new ReportInputError(
        `--rates ${options.rates} cannot be read (${(error as NodeJS.ErrnoException).code})`,
      );
    }
    let rates: unknown;
    try {
      rates = JSON.parse(text);
    } catch {
      throw new ReportInputError(`--rates ${options.rates} is not JSON (e.g. {"USD": "0.92"})`);
    }
    conversion = parseExchangeRates(options.currency, rates);
  }
  let labourRates: LabourRate[] = [];
  const configured = env[ENV.labourRates];
  if (configured !== undefined && configured.trim() !== '') {
    try {
      labourRates = parseLabourRates(configured);
    } catch (error) {
      if (error instanceof LabourRatesError)
        throw new ReportInputError(`${ENV.labourRates}: ${error.message}`);
      throw error;
    }
  }
  return {
    from,
    to,
    groupBy: [...new Set(groupBy)] as PnlDimension[],
    format: options.format as Format,
    ...(conversion ? { conversion } : {}),
    labourRates,
  };
}

/** The export files of `from` onwards under a local copy of the bucket (`--in DIR`). */
async function localExports(dir: string, from: string): Promise<string[]> {
  let folders: string[];
  try {
    folders = await readdir(join(dir, 'ledger', 'v1'));
  } catch (error) {
    throw new ReportInputError(
      `--in ${dir} has no ledger/v1/ folder (${(error as NodeJS.ErrnoException).code}): point it at a copy of the exports bucket`,
    );
  }
  return folders
    .map((f) => /^period=(\d{4}-\d{2})$/.exec(f)?.[1])
    .filter((p): p is string => p !== undefined && p >= from)
    .sort()
    .map((p) => join(dir, 'ledger', 'v1', `period=${p}`, 'ledger.parquet'));
}

/**
 * The export objects of `from` onwards, downloaded into `into` under their keys. Later months
 * come too: an entry recorded late for a month in range is in a later month's object.
 */
export async function fetchExports(
  s3: S3Client,
  bucket: string,
  from: string,
  into: string,
): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: PREFIX, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) {
      const period = KEY.exec(o.Key ?? '')?.[1];
      if (period && period >= from) keys.push(o.Key as string);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const files: string[] = [];
  for (const key of keys.sort()) {
    const file = join(into, key);
    await mkdir(dirname(file), { recursive: true });
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await writeFile(
      file,
      await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    files.push(file);
  }
  return files;
}

/** Where the exports are: `--in`, the bucket on AWS, or the local stack's bucket. */
function exportSource(options: PnlOptions, env: NodeJS.ProcessEnv) {
  if (options.in) return { kind: 'dir' as const, dir: options.in };
  const bucket = options.exportBucket ?? env[ENV.exportBucket];
  if (bucket) return { kind: 's3' as const, bucket, client: s3Client() };
  // The local stack's emulator, whatever else this shell points at (see `target` in casebook.ts).
  const ports = portsFromEnvironment({ [PORTS.s3.variable]: env[PORTS.s3.variable] });
  for (const name of Object.keys(env)) if (name.startsWith('AWS_')) delete env[name];
  Object.assign(env, {
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${ports.s3}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  });
  return { kind: 's3' as const, bucket: LOCAL_BUCKETS.exports, client: s3Client() };
}

/** Runs the queries and builds the report (the CLI's whole work but printing it). */
export async function pnlReport(files: readonly string[], req: PnlRequest): Promise<PnlReport> {
  const db = await openLedgerDb(files, req.labourRates);
  try {
    const range = { from: req.from, to: req.to };
    // One pass for every grouping the report shows: the finest, summed up in memory.
    const fine = await db.query(pnlSql({ ...range, groupBy: PNL_DIMENSIONS }));
    return buildPnlReport({
      ...range,
      groupBy: req.groupBy,
      rows: rollUp(fine, req.groupBy),
      byMonth: rollUp(fine, ['period', 'category']),
      byIncident: rollUp(fine, ['incident']),
      unsettled: await db.query(unsettledSql(range)),
      unpriced: await db.query(unpricedLabourSql(range)),
      incidents: await db.query(incidentsSql(range)),
      ...(req.conversion ? { conversion: req.conversion } : {}),
    });
  } finally {
    db.close();
  }
}

function render(report: PnlReport, format: Format): string {
  if (format === 'csv') return pnlCsv(report);
  if (format === 'json') return pnlJson(report);
  if (format === 'html') return pnlHtml(report);
  return pnlTable(report);
}

/** Adds `casebook pnl` to the program. */
export function addPnlCommand(program: Command): void {
  program
    .command('pnl')
    .description('the P&L across incidents from the ledger exports, in DuckDB on this machine')
    .option('--from <YYYY-MM>', 'the first month (by when the money moved)')
    .option('--to <YYYY-MM>', 'the last month (default: --from)')
    .option('--group-by <list>', `comma-separated: ${PNL_DIMENSIONS.join(', ')}`, 'category')
    .option('--currency <code>', 'report in this one currency (needs --rates)')
    .option('--rates <file>', 'JSON exchange rates into --currency: {"USD": "0.92", …}')
    .option('--format <format>', FORMATS.join(' | '), 'table')
    .option('--out <path>', 'write the report to this file (default: standard output)')
    .option('--in <dir>', 'read the exports from a local copy of the bucket (ledger/v1/period=…/)')
    .option(
      '--bucket <name>',
      `the exports bucket on AWS (default: ${ENV.exportBucket}, else the local stack)`,
    )
    .addHelpText(
      'after',
      `\nLabour is priced from ${ENV.labourRates} (JSON {"SRE": {"amount": "120.00", "currency": "EUR"}}):\nround half up of minutes ÷ 60 × rate, once per incident, role and month; roles without a rate are listed, not priced.`,
    )
    .action(async (options: PnlOptions) => {
      const env = process.env;
      let report: PnlReport;
      let temp: string | undefined;
      try {
        const req = request(options, env);
        const source = exportSource(options, env);
        let files: string[];
        if (source.kind === 'dir') files = await localExports(source.dir, req.from);
        else {
          temp = mkdtempSync(join(tmpdir(), 'casebook-pnl-'));
          files = await fetchExports(source.client, source.bucket, req.from, temp);
        }
        report = await pnlReport(files, req);
        const text = render(report, req.format);
        if (options.out) {
          const partial = join(dirname(options.out), `.${basename(options.out)}.${process.pid}.partial`);
          try {
            writeFileSync(partial, text);
            renameSync(partial, options.out);
          } catch (error) {
            rmSync(partial, { force: true });
            throw new ReportInputError(
              `--out ${options.out} cannot be written (${(error as NodeJS.ErrnoException).code})`,
            );
          }
          process.stderr.write(`Wrote ${options.out}.\n`);
        } else process.stdout.write(text);
      } catch (error) {
        if (error instanceof ReportInputError || error instanceof LedgerSchemaError) {
          console.error(`casebook pnl: ${error.message}`);
          process.exitCode = 2;
          return;
        }
        throw error;
      } finally {
        if (temp) rmSync(temp, { recursive: true, force: true });
      }
    });
}
