/**
 * `casebook pnl`: the P&L across incidents, from the ledger exports, in DuckDB on this machine —
 * the same SQL text Athena's named queries run (`functions/domain/finance-sql.ts`).
 *
 * The objects are fetched with the S3 SDK into a temporary directory (DuckDB's S3 extension is not
 * bundled and must not be downloaded), or read where `--in` says a copy of the bucket is.
 */

import type { KeyObject } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { kmsClient, s3Client } from '../functions/adapters/aws.ts';
import { KmsHeadSigner, publicKeyFileOf } from '../functions/adapters/head-signer.ts';
import { S3CloseStore } from '../functions/adapters/period-closes.ts';
import { ledgerPublicKey } from '../functions/domain/checkpoint.ts';
import type { PnlDimension } from '../functions/domain/finance-sql.ts';
import {
  incidentsSql,
  lateEntriesSql,
  PNL_DIMENSIONS,
  pnlSql,
  unpricedLabourSql,
  unsettledSql,
} from '../functions/domain/finance-sql.ts';
import type { LabourRate } from '../functions/domain/labour-rates.ts';
import { LabourRatesError, parseLabourRates } from '../functions/domain/labour-rates.ts';
import { isPeriod, periodBounds, periodsBetween } from '../functions/domain/ledger-export.ts';
import type { CloseRate, PeriodClose, StoredClose } from '../functions/domain/period-close.ts';
import { CLOSE_SCHEMA, closeHash, closeSignatureValid } from '../functions/domain/period-close.ts';
import type { Conversion, PnlReport, SqlRow } from '../functions/domain/pnl-report.ts';
import {
  adjustmentRows,
  buildPnlReport,
  convertMinor,
  parseExchangeRates,
  pnlCsv,
  pnlJson,
  pnlTable,
  ReportInputError,
  rollUp,
} from '../functions/domain/pnl-report.ts';
import { ENV } from '../functions/env-names.ts';
import { pnlHtml } from '../functions/pages/pnl-report.ts';
import {
  defaultDataDir,
  LOCAL_BUCKETS,
  LOCAL_CREDENTIALS,
  ledgerSigningKeyFile,
  PORTS,
  portsFromEnvironment,
} from '../local/names.ts';
import type { LedgerDb } from './duckdb-ledger.ts';
import { LedgerSchemaError, openLedgerDb } from './duckdb-ledger.ts';

const FORMATS = ['table', 'csv', 'json', 'html'] as const;
type Format = (typeof FORMATS)[number];

const PREFIX = 'ledger/v1/';
const KEY = /^ledger\/v1\/period=(\d{4}-\d{2})\/ledger\.parquet$/;

interface PnlOptions {
  period?: string;
  from?: string;
  to?: string;
  groupBy: string;
  currency?: string;
  rates?: string;
  format: string;
  out?: string;
  in?: string;
  exportBucket?: string;
  anchorBucket?: string;
  publicKey?: string;
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
  if (options.period !== undefined && (options.from !== undefined || options.to !== undefined))
    throw new ReportInputError('--period is one month: give it or --from/--to, not both');
  const from = month(options.period === undefined ? '--from' : '--period', options.period ?? options.from);
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

/** Where the exports are, and the closes: `--in`, the buckets on AWS, or the local stack's. */
function exportSource(options: PnlOptions, env: NodeJS.ProcessEnv) {
  if (options.in) return { kind: 'dir' as const, dir: options.in };
  const bucket = options.exportBucket ?? env[ENV.exportBucket];
  if (bucket) {
    const anchors = options.anchorBucket ?? env[ENV.anchorBucket];
    // Without the closes a closed month would be recomputed: better no report than a moved one.
    if (!anchors)
      throw new ReportInputError(
        `closed months are read from their closes: set ${ENV.anchorBucket} or --anchor-bucket`,
      );
    return { kind: 's3' as const, bucket, anchors, local: false, client: s3Client() };
  }
  // The local stack's emulator, whatever else this shell points at (see `target` in casebook.ts).
  const ports = portsFromEnvironment({ [PORTS.s3.variable]: env[PORTS.s3.variable] });
  for (const name of Object.keys(env)) if (name.startsWith('AWS_')) delete env[name];
  Object.assign(env, {
    AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${ports.s3}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
  });
  return {
    kind: 's3' as const,
    bucket: LOCAL_BUCKETS.exports,
    anchors: options.anchorBucket ?? LOCAL_BUCKETS.anchors,
    local: true,
    client: s3Client(),
  };
}

/**
 * The closes kept in the anchors bucket. A local emulator without that bucket has never closed a
 * month; on AWS a missing bucket is a misconfiguration, said as such.
 */
async function storedCloses(s3: S3Client, bucket: string, local: boolean): Promise<StoredClose[]> {
  try {
    return await new S3CloseStore(s3, bucket).list();
  } catch (error) {
    if (local && (error as { cause?: { name?: string } }).cause?.name === 'NoSuchBucket') return [];
    throw error;
  }
}

/** The closes under `closes/` of a local copy of the anchors bucket (`--in DIR`), if it has one. */
function localCloses(dir: string): StoredClose[] {
  const folder = join(dir, 'closes');
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .map((f) => /^(\d{4}-\d{2})\.json$/.exec(f)?.[1])
    .filter((p): p is string => p !== undefined)
    .sort()
    .map((period) => {
      const text = readFileSync(join(folder, `${period}.json`), 'utf8');
      try {
        return { period, body: JSON.parse(text) as unknown };
      } catch {
        return { period, body: text };
      }
    });
}

/**
 * The closes a report may stand on: each must hash to what it says and carry the ledger signing
 * key's signature over that hash. An edited close, or one written by someone without the key (the
 * hash alone anyone can recompute), is refused, never reported from.
 */
export function trustedCloses(
  stored: readonly StoredClose[],
  publicKey: KeyObject | undefined,
): PeriodClose[] {
  if (stored.length > 0 && !publicKey)
    throw new ReportInputError(
      `closed months stand on signed closes and no key checks them: pass --public-key FILE (casebook ledger public-key prints it) or set ${ENV.ledgerSigningKmsKeyId}`,
    );
  return stored.map((s) => {
    const c = s.body as Partial<PeriodClose> | null;
    if (
      c === null ||
      typeof c !== 'object' ||
      c.schema !== CLOSE_SCHEMA ||
      c.period !== s.period ||
      !Array.isArray(c.totals) ||
      closeHash(c as PeriodClose) !== c.hash ||
      !closeSignatureValid({ period: s.period, hash: c.hash }, c.signature, publicKey as KeyObject)
    )
      throw new ReportInputError(
        `the close of ${s.period} does not verify: casebook period verify says what is wrong`,
      );
    return c as PeriodClose;
  });
}

/**
 * The key that signed the closes: `--public-key`, else the local stack's signing key's public key
 * beside it, else the KMS key's on AWS. Read only when there are closes to check.
 */
async function closesPublicKey(
  options: PnlOptions,
  env: NodeJS.ProcessEnv,
  local: boolean,
): Promise<KeyObject | undefined> {
  const file =
    options.publicKey ?? (local ? publicKeyFileOf(ledgerSigningKeyFile(defaultDataDir(env))) : undefined);
  if (file) {
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (error) {
      if (!options.publicKey && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ReportInputError(
        `--public-key ${file} cannot be read (${(error as NodeJS.ErrnoException).code})`,
      );
    }
    try {
      return ledgerPublicKey(pem);
    } catch {
      throw new ReportInputError(`--public-key ${file} is not a P-256 public key in PEM`);
    }
  }
  const keyId = env[ENV.ledgerSigningKmsKeyId];
  return keyId ? ledgerPublicKey(await new KmsHeadSigner(kmsClient(), keyId).publicKey()) : undefined;
}

const labourRatesOf = (rates: readonly CloseRate[]): LabourRate[] =>
  rates.map((r) => ({ role: r.role, rate: { minor: r.minor, currency: r.currency } }));

/**
 * Rows counted in `currency`, converted with a close's own exchange rates when it has them into
 * the report's currency: a closed month (and what was recorded in it) keeps the rates it closed at.
 */
function atCloseRates(
  rows: readonly SqlRow[],
  close: PeriodClose | undefined,
  conversion: Conversion | undefined,
): SqlRow[] {
  const own = close?.exchangeRates;
  if (!own || !conversion || own.currency !== conversion.currency) return [...rows];
  return rows.map((r) => {
    const currency = String(r.currency);
    if (own.rates[currency] === undefined) return r;
    return {
      ...r,
      currency: own.currency,
      amount_minor: convertMinor(Number(r.amount_minor ?? 0), currency, own),
    };
  });
}

/** Every run of consecutive months of `from`..`to` that is not in `closed`. */
function openRuns(from: string, to: string, closed: ReadonlySet<string>): { from: string; to: string }[] {
  const runs: { from: string; to: string }[] = [];
  for (const p of periodsBetween(from, to)) {
    if (closed.has(p)) continue;
    const last = runs[runs.length - 1];
    if (last && periodsBetween(last.to, p).length === 2) last.to = p;
    else runs.push({ from: p, to: p });
  }
  return runs;
}

/** The first month whose export a report of `from` onwards reads: closed months may be adjusted later. */
export function firstExportNeeded(from: string, to: string, closes: readonly PeriodClose[]): string {
  return closes
    .filter((c) => c.period < to)
    .reduce((first, c) => (c.period < first ? c.period : first), from);
}

const ADD_MS = (at: string, ms: number) => new Date(Date.parse(at) + ms).toISOString();

/**
 * Runs the queries and builds the report (the CLI's whole work but printing it). A closed month is
 * its close record's totals; what was recorded after a close and is effective in its month is an
 * adjustment in the month it was recorded, priced as that month is (its close's rates if closed).
 */
export async function pnlReport(
  files: readonly string[],
  req: PnlRequest,
  closes: readonly PeriodClose[] = [],
): Promise<PnlReport> {
  const db = await openLedgerDb(files, req.labourRates);
  const repriced = new Map<string, LedgerDb>();
  try {
    const range = { from: req.from, to: req.to };
    const byPeriod = new Map(closes.map((c) => [c.period, c]));
    const closedIn = closes.filter((c) => c.period >= req.from && c.period <= req.to);
    const closedSet = new Set(closedIn.map((c) => c.period));
    const finer = req.groupBy.filter((d) => d === 'productArea' || d === 'incident');
    if (closedIn.length > 0 && finer.length > 0)
      throw new ReportInputError(
        `${closedIn.map((c) => c.period).join(', ')} ${closedIn.length > 1 ? 'are' : 'is'} closed: its close holds category, line and month, not ${finer.join(' or ')}`,
      );
    const open = (r: SqlRow) => !closedSet.has(String(r.period));
    // One pass for every grouping the report shows: the finest, summed up in memory.
    const fine = (await db.query(pnlSql({ ...range, groupBy: PNL_DIMENSIONS }))).filter(open);
    const frozen = closedIn.flatMap((c) =>
      atCloseRates(
        c.totals.map((t) => ({
          period: c.period,
          category: t.category,
          obligation: t.obligation,
          product_area: null,
          incident_id: null,
          currency: t.currency,
          amount_minor: t.amountMinor,
          entries: t.entries,
        })),
        c,
        req.conversion,
      ),
    );
    const all = [...fine, ...frozen];

    const dbFor = async (recorded: string): Promise<LedgerDb> => {
      const close = byPeriod.get(recorded);
      if (!close) return db;
      const key = JSON.stringify(close.labourRates);
      let other = repriced.get(key);
      if (!other) {
        other = await openLedgerDb(files, labourRatesOf(close.labourRates));
        repriced.set(key, other);
      }
      return other;
    };
    const snapshots = new Map<LedgerDb, Map<string, SqlRow[]>>();
    const snapshot = async (on: LedgerDb, month: string, before: string) => {
      const cache = snapshots.get(on) ?? new Map<string, SqlRow[]>();
      snapshots.set(on, cache);
      const key = `${month}|${before}`;
      let rows = cache.get(key);
      if (!rows) {
        rows = await on.query(
          pnlSql({
            from: month,
            to: month,
            groupBy: ['period', 'category', 'obligation'],
            recordedBefore: before,
          }),
        );
        cache.set(key, rows);
      }
      return rows;
    };
    const adjustments: SqlRow[] = [];
    for (const recorded of periodsBetween(req.from, req.to)) {
      const on = await dbFor(recorded);
      const { start, end } = periodBounds(recorded);
      for (const close of closes) {
        if (close.period >= recorded) continue;
        const cut = ADD_MS(close.closedAt, 1);
        const from = cut > start ? cut : start;
        if (from >= end) continue;
        const rows = adjustmentRows(
          await snapshot(on, close.period, from),
          await snapshot(on, close.period, end),
        );
        if (rows.length === 0) continue;
        const late = await on.query(lateEntriesSql(close.period, close.closedAt, recorded));
        const last = late[late.length - 1]?.recorded_at;
        const recordedOn = last ? String(last).slice(0, 10) : recorded;
        adjustments.push(
          ...atCloseRates(
            rows.map((r) => ({ ...r, recorded, recorded_on: recordedOn })),
            byPeriod.get(recorded),
            req.conversion,
          ),
        );
      }
    }

    const runs = openRuns(req.from, req.to, closedSet);
    const incidents = new Map<string, Record<string, SqlRow[string]>>();
    for (const run of runs)
      for (const r of await db.query(incidentsSql(run))) {
        const before = incidents.get(String(r.incident_id));
        incidents.set(String(r.incident_id), {
          ...r,
          labour_entries: Number(before?.labour_entries ?? 0) + Number(r.labour_entries ?? 0),
        });
      }
    return buildPnlReport({
      ...range,
      groupBy: req.groupBy,
      rows: rollUp(all, req.groupBy),
      byMonth: rollUp(all, ['period', 'category']),
      byIncident: rollUp(fine, ['incident']),
      unsettled: (await db.query(unsettledSql(range))).filter(open),
      unpriced: (await db.query(unpricedLabourSql(range))).filter(open),
      incidents: [...incidents.values()],
      ...(req.conversion ? { conversion: req.conversion } : {}),
      closed: closedIn.map((c) => ({ period: c.period, closedAt: c.closedAt, hash: c.hash })),
      adjustments,
    });
  } finally {
    db.close();
    for (const other of repriced.values()) other.close();
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
    .option('--period <YYYY-MM>', 'one month (--from and --to at once)')
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
    .option(
      '--anchor-bucket <name>',
      `where the closes are (closes/YYYY-MM.json) on AWS (default: ${ENV.anchorBucket}); with --in, DIR/closes/`,
    )
    .option(
      '--public-key <file>',
      `the ledger signing key's public key (PEM), which checks the closes (default: the local stack's, or ${ENV.ledgerSigningKmsKeyId}'s)`,
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
        let closes: PeriodClose[];
        if (source.kind === 'dir') {
          const stored = localCloses(source.dir);
          closes = trustedCloses(
            stored,
            stored.length ? await closesPublicKey(options, env, false) : undefined,
          );
          files = await localExports(source.dir, firstExportNeeded(req.from, req.to, closes));
        } else {
          const stored = await storedCloses(source.client, source.anchors, source.local);
          closes = trustedCloses(
            stored,
            stored.length ? await closesPublicKey(options, env, source.local) : undefined,
          );
          temp = mkdtempSync(join(tmpdir(), 'casebook-pnl-'));
          files = await fetchExports(
            source.client,
            source.bucket,
            firstExportNeeded(req.from, req.to, closes),
            temp,
          );
        }
        report = await pnlReport(files, req, closes);
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
