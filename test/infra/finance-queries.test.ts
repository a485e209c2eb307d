/**
 * The P&L on AWS is the CLI's SQL: each named query in the template is the text of
 * `functions/domain/finance-sql.ts`, and that very text runs in DuckDB here, over the fixture
 * ledger as the export's row builder and Parquet writer export it, with labour rates read from the
 * object Athena's `labour_rates` table reads.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABOUR_RATES_COLUMNS, NAMED_FINANCE_QUERIES } from '../../functions/domain/finance-sql.ts';
import { type LabourRate, parseLabourRates } from '../../functions/domain/labour-rates.ts';
import { LABOUR_RATES_KEY, labourRatesObject } from '../../functions/domain/labour-rates-object.ts';
import { LEDGER_V1_COLUMNS, LEDGER_V1_PREFIX } from '../../lib/constructs/finance.ts';
import { REPO_ROOT } from '../../lib/paths.ts';
import { type LedgerDb, openLedgerDb, type SqlRow } from '../../scripts/duckdb-ledger.ts';
import { exportToDir, FIXTURE_LABOUR_RATES, fixtureLedger } from '../support/finance-fixture.ts';
import { writeLedgerRows } from '../support/finance-rows.ts';
import { synthCasebookApp } from './casebook-app.ts';

const { stateful, statefulTemplate } = synthCasebookApp();
type Resource = { Type: string; Properties: Record<string, unknown> };
const resources = statefulTemplate.toJSON().Resources as Record<string, Resource>;
const ofType = (type: string) =>
  Object.entries(resources).filter(([, r]) => r.Type === type) as [string, Resource][];
const [[workGroupId]] = ofType('AWS::Athena::WorkGroup') as [[string, Resource]];
const [[databaseId]] = ofType('AWS::Glue::Database') as [[string, Resource]];

/** The named queries as CloudFormation will create them. */
const deployed = ofType('AWS::Athena::NamedQuery').map(
  ([, r]) => r.Properties as { Name: string; Description: string; QueryString: string; Database: unknown },
);

/** Writes the rates object as the export lays it out under `dir` (the exports bucket's keys as paths). */
function writeRatesObject(dir: string, rates: readonly LabourRate[]): string {
  const file = join(dir, LABOUR_RATES_KEY);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, labourRatesObject(rates));
  return file;
}

/** DuckDB over the files, with `labour_rates` read from the rates object as Athena reads it. */
async function openWithRatesObject(files: readonly string[], ratesFile: string): Promise<LedgerDb> {
  const db = await openLedgerDb(files, []);
  const columns = LABOUR_RATES_COLUMNS.map(
    (c) => `${c.name}: '${c.type === 'bigint' ? 'BIGINT' : 'VARCHAR'}'`,
  );
  await db.query('DROP TABLE labour_rates');
  await db.query(
    `CREATE VIEW labour_rates AS SELECT * FROM read_json('${ratesFile}', format = 'newline_delimited', columns = {${columns.join(', ')}})`,
  );
  return db;
}

const dir = mkdtempSync(join(tmpdir(), 'finance-queries-'));
let fromConfig: LedgerDb;
let fromObject: LedgerDb;
let exportedFiles: string[] = [];

beforeAll(async () => {
  const rates = parseLabourRates(FIXTURE_LABOUR_RATES);
  const files = await exportToDir(dir, await fixtureLedger());
  const ratesFile = writeRatesObject(dir, rates);
  exportedFiles = files;
  fromConfig = await openLedgerDb(files, rates);
  fromObject = await openWithRatesObject(files, ratesFile);
});
afterAll(() => {
  fromConfig?.close();
  fromObject?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the named queries of the finance workgroup', () => {
  it('are the P&L SQL module’s queries, text for text, in the workgroup and the database', () => {
    expect(deployed.map((q) => q.Name)).toEqual(NAMED_FINANCE_QUERIES.map((q) => q.name));
    for (const [i, query] of NAMED_FINANCE_QUERIES.entries()) {
      expect(deployed[i]).toEqual({
        Name: query.name,
        Description: query.description,
        QueryString: query.sql,
        Database: { Ref: databaseId },
        WorkGroup: { Ref: workGroupId },
      });
    }
    const names = deployed.map((q) => q.Name);
    for (const view of ['by-category', 'by-product-area', 'tos-vs-brand', 'top-incidents'])
      expect(
        names.some((n) => n.endsWith(view)),
        view,
      ).toBe(true);
  });

  // Trino (Athena engine 3) types `60.0` as DECIMAL(3,1) and rounds a quotient to that one decimal,
  // half up, before floor() sees it: 19 minutes at 33.33 an hour would be 10.56, not 10.55. DuckDB
  // divides in DOUBLE, so only an exact integer or an explicit DOUBLE means the same in both.
  it('hold no decimal literal, which Athena would read as a DECIMAL and DuckDB as a DOUBLE', () => {
    for (const { QueryString, Name } of deployed) {
      const code = QueryString.replace(/'(?:[^']|'')*'/g, "''");
      expect(code.match(/(?<![\w.])\d+\.\d+(?![\w.])/g), Name).toBeNull();
    }
  });

  // DuckDB accepts these and Athena (Trino) refuses them or reads them otherwise; the shared text
  // must run in both, and only DuckDB runs here.
  it('use none of the DuckDB-only syntax Athena would refuse', () => {
    const duckDbOnly: [RegExp, string][] = [
      [/::/, 'a :: cast'],
      [/\bGROUP BY ALL\b|\bORDER BY ALL\b/i, 'BY ALL'],
      [/\bQUALIFY\b|\bEXCLUDE\b|\bREPLACE\s*\(/i, 'QUALIFY, EXCLUDE or * REPLACE'],
      [/\bILIKE\b|\bstrftime\b|\blist_\w+|\bepoch_ms\b|\bstruct_pack\b/i, 'a DuckDB function'],
      [/\/\//, 'integer division //'],
    ];
    for (const { QueryString, Name } of deployed) {
      const code = QueryString.replace(/'(?:[^']|'')*'/g, "''");
      for (const [pattern, what] of duckDbOnly) expect(pattern.test(code), `${Name}: ${what}`).toBe(false);
    }
  });

  it('give in DuckDB over the real export the figures of the fixture ledger', async () => {
    const [byCategory] = deployed.filter((q) => q.Name === 'pnl-by-category');
    const rows = await fromObject.query(byCategory?.QueryString ?? '');
    const total = (category: string, currency: string) =>
      rows
        .filter((r) => r.category === category && r.currency === currency)
        .reduce((sum, r) => sum + Number(r.amount_minor), 0);
    // The fixture's known totals: 90 + 45 min of SRE at 120.00 plus a manual 60.00; 25.00 + 8.00
    // of refunds (a void and a replacement netted out); a 500.00 legal fee.
    expect(total('ops_labour', 'EUR')).toBe(33000);
    expect(total('refunds', 'EUR')).toBe(3300);
    expect(total('legal_fees', 'EUR')).toBe(50000);
    expect(total('refunds', 'USD')).toBe(1999);
  });

  it('price labour alike from the rates object Athena reads and from the configured rates', async () => {
    for (const { Name, QueryString } of deployed) {
      const [viaObject, viaConfig] = await Promise.all([
        fromObject.query(QueryString),
        fromConfig.query(QueryString),
      ]);
      expect(viaObject.length, Name).toBeGreaterThan(0);
      expect(viaObject, Name).toEqual(viaConfig);
    }
    const [unpriced] = deployed.filter((q) => q.Name === 'pnl-unpriced-labour');
    expect((await fromObject.query(unpriced?.QueryString ?? '')).map((r: SqlRow) => r.role)).toEqual([
      'Comms',
    ]);
  });

  it('round labour half up once, to the cent: 19 minutes at 33.33 an hour is 10.55', async () => {
    const one = mkdtempSync(join(tmpdir(), 'finance-rounding-'));
    try {
      const rates = parseLabourRates({ Analyst: { amount: '33.33', currency: 'EUR' } });
      const ratesFile = writeRatesObject(one, rates);
      const files = await writeLedgerRows(one, [
        {
          incident_id: 'INC-2026-9',
          incident_number: 9,
          seq: 1,
          entry_id: 'T1',
          kind: 'ops_labour',
          labour_role: 'analyst',
          labour_minutes: 19,
          at: '2026-11-03T09:00:00.000Z',
        },
      ]);
      const db = await openWithRatesObject(files, ratesFile);
      try {
        const [byCategory] = deployed.filter((q) => q.Name === 'pnl-by-category');
        expect(await db.query(byCategory?.QueryString ?? '')).toEqual([
          { period: '2026-11', category: 'ops_labour', currency: 'EUR', amount_minor: 1055, entries: 1 },
        ]);
      } finally {
        db.close();
      }
    } finally {
      rmSync(one, { recursive: true, force: true });
    }
  });
});

describe("README's Athena query", () => {
  it('runs on the same tables and counts what stands, confirmed, in RML-3', async () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Finance on AWS'));
    const sql = /```sql\n([\s\S]*?)```/.exec(section)?.[1];
    expect(sql).toMatch(/FROM ledger l/);
    // The fixture's money entries that stand: a refund's void and replacement netted out, the
    // in-flight and failed refunds left out, labour time (no amount) left to the named queries.
    expect(await fromConfig.query(sql ?? '')).toEqual([
      { root_kind: 'legal_fee', currency: 'EUR', amount_minor: 50000 },
      { root_kind: 'ops_labour', currency: 'EUR', amount_minor: 6000 },
      { root_kind: 'refund', currency: 'EUR', amount_minor: 3300 },
      { root_kind: 'credit', currency: 'EUR', amount_minor: 1500 },
      { root_kind: 'other_cost', currency: 'GBP', amount_minor: 2000 },
      { root_kind: 'refund', currency: 'USD', amount_minor: 1999 },
      { root_kind: 'credit', currency: 'USD', amount_minor: 700 },
    ]);
  });
});

describe('the Glue tables finance queries', () => {
  const tables = ofType('AWS::Glue::Table').map(
    ([, r]) =>
      r.Properties.TableInput as {
        Name: string;
        Parameters: Record<string, string>;
        StorageDescriptor: {
          Location: unknown;
          Columns: { Name: string; Type: string }[];
          SerdeInfo: { SerializationLibrary: string };
        };
      },
  );

  it('declare the types DuckDB reads in a file the export wrote', async () => {
    const [file] = exportedFiles;
    expect(file?.startsWith(join(dir, LEDGER_V1_PREFIX))).toBe(true);
    const described = await fromConfig.query(
      `DESCRIBE SELECT * FROM read_parquet('${file}', hive_partitioning = false)`,
    );
    const glue: Record<string, string> = { VARCHAR: 'string', BIGINT: 'bigint', TIMESTAMP: 'timestamp' };
    expect(described.map((c) => ({ Name: c.column_name, Type: glue[String(c.column_type)] }))).toEqual(
      LEDGER_V1_COLUMNS.map((c) => ({ Name: c.name, Type: c.type })),
    );
    const ledger = tables.find((t) => t.Name === 'ledger');
    expect(ledger?.StorageDescriptor.Columns.map(({ Name, Type }) => ({ Name, Type }))).toEqual(
      LEDGER_V1_COLUMNS.map((c) => ({ Name: c.name, Type: c.type })),
    );
  });

  it('read the labour rates the export writes, as JSON lines, with the columns the SQL names', () => {
    const rates = tables.find((t) => t.Name === 'labour_rates');
    expect(rates?.Parameters).toEqual({ classification: 'json' });
    expect(rates?.StorageDescriptor).toMatchObject({
      Location: {
        'Fn::Join': ['', ['s3://', stateful.resolve(stateful.exportBucket.bucketName), '/labour-rates/v1/']],
      },
      Columns: LABOUR_RATES_COLUMNS.map(({ name, type }) => ({ Name: name, Type: type })),
      SerdeInfo: { SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
    });
    expect(LABOUR_RATES_KEY.startsWith('labour-rates/v1/')).toBe(true);
    expect(
      labourRatesObject(parseLabourRates({ 'On-call SRE': { amount: '120.50', currency: 'EUR' } })),
    ).toBe('{"role":"On-call SRE","currency":"EUR","rate_minor":12050}\n');
    expect(labourRatesObject([])).toBe('');
  });
});
