/**
 * `casebook period close YYYY-MM`: closes a month for good. On the local stack the CLI closes it
 * itself — its P&L totals from the ledger exports (the same SQL as `casebook pnl`, in DuckDB),
 * every incident's chain head now, the labour and exchange rates that priced it, linked to the
 * previous close, signed with the local head signing key — claimed in the operational table and
 * kept under `closes/` in the anchors bucket. On AWS it invokes the close function, which does
 * the same with the KMS key.
 */
import type { KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Command } from 'commander';
import { s3Client } from '../functions/adapters/aws.ts';
import { DynamoDbLedger } from '../functions/adapters/dynamodb-ledger.ts';
import type { DynamoDbOperationsStore } from '../functions/adapters/dynamodb-operations-store.ts';
import { DynamoDbCloseClaims, S3CloseStore } from '../functions/adapters/period-closes.ts';
import { closeConfig, DEFAULT_CLOSE_LAG_DAYS } from '../functions/adapters/rules-config.ts';
import type { HeadSigner } from '../functions/domain/checkpoint.ts';
import { pnlSql } from '../functions/domain/finance-sql.ts';
import type { LabourRate } from '../functions/domain/labour-rates.ts';
import { LabourRatesError, parseLabourRates } from '../functions/domain/labour-rates.ts';
import type { Sealer } from '../functions/domain/ledger.ts';
import { isPeriod } from '../functions/domain/ledger-export.ts';
import type { CloseHead, CloseProblem, CloseTotal } from '../functions/domain/period-close.ts';
import { CloseInputError, verifyCloses } from '../functions/domain/period-close.ts';
import { ReportInputError } from '../functions/domain/pnl-report.ts';
import { ENV } from '../functions/env-names.ts';
import { everyIncidentId } from '../functions/use-cases/anchor-ledger.ts';
import type { ClosedPeriod, CloseFigures } from '../functions/use-cases/close-period.ts';
import { closePeriod } from '../functions/use-cases/close-period.ts';
import { LOCAL_BUCKETS } from '../local/names.ts';
import { LedgerSchemaError, openLedgerDb } from './duckdb-ledger.ts';
import { fetchExports } from './pnl.ts';

interface PeriodTarget {
  readonly db: DynamoDBDocumentClient;
  readonly sealer: Sealer;
  /** The ledger's head signer: it signs closes as it signs tree heads. */
  readonly headSigner: () => HeadSigner;
  /** The head signing key's public key, which verifies closes; undefined when none is known. */
  readonly publicKey: (file?: string) => Promise<KeyObject | undefined>;
  readonly ledgerTable: string;
  readonly operationsTable?: string;
  readonly operations?: DynamoDbOperationsStore;
  readonly exportBucket?: string;
  /** The anchors bucket, whose `closes/` holds the closes: the local stack's, or on AWS its variable's. */
  readonly anchorBucket?: string;
}

const noCloses = `the closes are in the anchors bucket: set ${ENV.anchorBucket} or --anchor-bucket`;

interface CloseOptions {
  table?: string;
  lagDays?: string;
  anchorBucket?: string;
  closeFunction?: string;
}

/**
 * On AWS the close function closes the month: it alone may sign closes, and the CLI user holds no
 * signing key. Its answer is printed as a local close's; its refusal of bad input (a
 * CloseInputError, by name) is one line and exit 2, as locally.
 */
async function invokeClose(functionName: string, month: string): Promise<ClosedPeriod> {
  const out = await new LambdaClient({}).send(
    new InvokeCommand({ FunctionName: functionName, Payload: JSON.stringify({ period: month }) }),
  );
  const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    throw new Error(
      `the close function ${functionName} answered something that is not JSON: ${text.slice(0, 200)}`,
    );
  }
  if (out.FunctionError) {
    const { errorType, errorMessage } = (payload ?? {}) as { errorType?: string; errorMessage?: string };
    if (errorType === 'CloseInputError') throw new CloseInputError(String(errorMessage));
    throw new Error(
      `the close function ${functionName} failed: ${errorType ?? 'error'}: ${errorMessage ?? text}`,
    );
  }
  return payload as ClosedPeriod;
}

/** The lag (`--lag-days` over `CASEBOOK_CLOSE_LAG_DAYS`) and the exchange rates, or one line saying what is wrong. */
function closeSettings(options: CloseOptions, env: NodeJS.ProcessEnv) {
  const parsed = closeConfig.safeParse({
    [ENV.closeLagDays]: options.lagDays ?? env[ENV.closeLagDays],
    [ENV.exchangeRates]: env[ENV.exchangeRates],
  });
  if (parsed.success) return parsed.data;
  throw new CloseInputError(
    parsed.error.issues
      .map((i) => {
        const where = String(i.path[0] ?? '');
        return `${where === ENV.closeLagDays && options.lagDays !== undefined ? '--lag-days' : where} ${i.message}`;
      })
      .join('; '),
  );
}

function labourRates(env: NodeJS.ProcessEnv): LabourRate[] {
  const configured = env[ENV.labourRates];
  if (configured === undefined || configured.trim() === '') return [];
  try {
    return parseLabourRates(configured);
  } catch (error) {
    if (error instanceof LabourRatesError) throw new CloseInputError(`${ENV.labourRates}: ${error.message}`);
    throw error;
  }
}

async function readFigures(
  t: PeriodTarget,
  s3: S3Client,
  rates: readonly LabourRate[],
  period: string,
): Promise<CloseFigures> {
  const temp = mkdtempSync(join(tmpdir(), 'casebook-close-'));
  try {
    const files = await fetchExports(s3, t.exportBucket as string, period, temp);
    const db = await openLedgerDb(files, rates);
    let rows: Awaited<ReturnType<typeof db.query>>;
    try {
      rows = await db.query(pnlSql({ from: period, to: period, groupBy: ['category', 'obligation'] }));
    } finally {
      db.close();
    }
    const ledger = new DynamoDbLedger(t.db, t.ledgerTable, { sealer: t.sealer });
    const heads: Record<string, CloseHead> = {};
    for (const id of await everyIncidentId(t.operations as DynamoDbOperationsStore)) {
      const head = await ledger.readHead(id);
      if (head) heads[id] = { size: head.size, seq: head.seq, hash: head.hash };
    }
    return { rows, heads };
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
}

/** Adds `casebook period close` to the program. */
export function addPeriodCommands(
  program: Command,
  tools: {
    readonly target: (options: never) => PeriodTarget;
    readonly addTargetOptions: (command: Command) => Command;
  },
): void {
  const period = program.command('period').description('closing months for good');
  tools
    .addTargetOptions(
      period
        .command('close')
        .description(
          'close a month: its totals, chain heads and rates, sealed under closes/ in the anchors bucket',
        )
        .argument('<YYYY-MM>', 'the month to close')
        .option(
          '--close-function <name>',
          `on AWS, the close function to invoke (default: ${ENV.closeFunction})`,
        )
        .option(
          '--lag-days <n>',
          `days after the month before it may be closed (default: ${ENV.closeLagDays}, else ${DEFAULT_CLOSE_LAG_DAYS})`,
        ),
    )
    .action(async (month: string, options: CloseOptions) => {
      const env = process.env;
      try {
        if (options.table ?? env[ENV.ledgerTable]) {
          if (!isPeriod(month)) throw new CloseInputError(`"${month}" is not a month (YYYY-MM)`);
          if (options.lagDays !== undefined)
            throw new CloseInputError(
              `on AWS the lag is the close function's ${ENV.closeLagDays} (CDK context casebook:closeLagDays), not --lag-days`,
            );
          const name = options.closeFunction ?? env[ENV.closeFunction];
          if (!name)
            throw new CloseInputError(
              `on AWS the close function closes the month: set ${ENV.closeFunction} (the stack's CloseFunctionName output) or --close-function`,
            );
          printClosed(await invokeClose(name, month));
          return;
        }
        const settings = closeSettings(options, env);
        const rates = labourRates(env);
        const t = tools.target(options as never);
        const s3 = s3Client();
        const bucket = options.anchorBucket ?? LOCAL_BUCKETS.anchors;
        if (!t.operationsTable || !bucket || !t.exportBucket)
          throw new CloseInputError(
            'period close needs the operational table, the anchors and the exports bucket',
          );
        const result = await closePeriod(
          {
            claims: new DynamoDbCloseClaims(t.db, t.operationsTable),
            closes: new S3CloseStore(s3, bucket),
            figures: (p) => readFigures(t, s3, rates, p),
            now: () => new Date(),
            lagDays: settings.closeLagDays,
            labourRates: rates,
            ...(settings.exchangeRates ? { exchangeRates: settings.exchangeRates } : {}),
            // Loaded when the close is signed: a refused month needs no key.
            signer: {
              sign: (message) => t.headSigner().sign(message),
              publicKey: () => t.headSigner().publicKey(),
            },
          },
          month,
        );
        printClosed(result);
      } catch (error) {
        if (
          error instanceof CloseInputError ||
          error instanceof ReportInputError ||
          error instanceof LedgerSchemaError
        ) {
          console.error(`casebook period close: ${error.message}`);
          process.exitCode = 2;
          return;
        }
        throw error;
      }
    });

  tools
    .addTargetOptions(
      period
        .command('verify')
        .description(
          'walk the chain of closes: names a gap, an edited or deleted close, a broken link, and heads the ledger no longer matches',
        ),
    )
    .option(
      '--public-key <file>',
      "the ledger signing key's public key (PEM), which checks the closes' signatures",
    )
    .action(async (options: CloseOptions & { publicKey?: string }) => {
      const t = tools.target(options as never);
      const bucket = options.anchorBucket ?? t.anchorBucket;
      if (!bucket) {
        console.error(
          `casebook period verify: the closes are in the anchors bucket: set ${ENV.anchorBucket} or --anchor-bucket`,
        );
        process.exitCode = 2;
        return;
      }
      const { closes, problems } = await closeProblems(t, bucket, await t.publicKey(options.publicKey));
      printCloseProblems({ closes, problems });
      process.exitCode = problems.length === 0 ? 0 : 1;
    });

  tools
    .addTargetOptions(
      period
        .command('report')
        .description(
          "a closed month's totals, read from its close record: what no later entry or rate changes",
        )
        .argument('<YYYY-MM>', 'the closed month'),
    )
    .action(async (month: string, options: CloseOptions) => {
      if (!isPeriod(month)) {
        console.error(`casebook period report: "${month}" is not a month (YYYY-MM)`);
        process.exitCode = 2;
        return;
      }
      const t = tools.target(options as never);
      const bucket = options.anchorBucket ?? t.anchorBucket;
      if (!bucket) {
        console.error(`casebook period report: ${noCloses}`);
        process.exitCode = 2;
        return;
      }
      const close = await new S3CloseStore(s3Client(), bucket).get(month);
      if (!close) {
        console.error(`casebook period report: ${month} is not closed (casebook pnl reports an open month)`);
        process.exitCode = 2;
        return;
      }
      console.log(`${close.period}, closed at ${close.closedAt} (${close.hash})`);
      for (const total of close.totals) console.log(totalLine(total));
    });
}

function printClosed(result: ClosedPeriod): void {
  const { close } = result;
  console.log(
    result.closedNow
      ? `Closed ${close.period}: ${close.hash}`
      : `${close.period} was already closed at ${close.closedAt}: ${close.hash}`,
  );
  for (const total of close.totals) console.log(totalLine(total));
}

function totalLine(total: CloseTotal): string {
  return `  ${total.category.padEnd(18)} ${(total.obligation ?? '-').padEnd(14)} ${total.currency} ${total.amountMinor} (minor units, ${total.entries} entries)`;
}

/**
 * The chain of closes checked against the ledger as it is now: what `period verify` and
 * `ledger verify` print. Only the chains the closes name are read.
 */
export async function closeProblems(
  t: Pick<PeriodTarget, 'db' | 'ledgerTable' | 'sealer' | 'operationsTable'>,
  bucket: string,
  publicKey: KeyObject | undefined,
): Promise<{ readonly closes: number; readonly problems: CloseProblem[] }> {
  const stored = await new S3CloseStore(s3Client(), bucket).list();
  const ledger = new DynamoDbLedger(t.db, t.ledgerTable, { sealer: t.sealer });
  const chains = new Map<string, Map<number, string>>();
  for (const s of stored) {
    const heads = (s.body as { heads?: Record<string, unknown> } | null)?.heads;
    for (const id of Object.keys(heads && typeof heads === 'object' ? heads : {})) {
      if (chains.has(id)) continue;
      const items = await ledger.readChain(id);
      chains.set(id, new Map(items.map((i) => [i.seq, i.hash])));
    }
  }
  const claimed = t.operationsTable ? await new DynamoDbCloseClaims(t.db, t.operationsTable).periods() : [];
  return {
    closes: stored.length,
    problems: verifyCloses(stored, { hashAt: (id, seq) => chains.get(id)?.get(seq) }, claimed, publicKey),
  };
}

/** One line per problem, or how many closes verified. */
export function printCloseProblems(result: {
  readonly closes: number;
  readonly problems: readonly CloseProblem[];
}): void {
  for (const p of result.problems) console.log(`${p.period} ${p.kind}: ${p.message}`);
  if (result.problems.length === 0) console.log(`${result.closes} closes verified`);
}
