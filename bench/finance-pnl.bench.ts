/**
 * `casebook pnl` at scale: DuckDB over a 100,000-row `ledger/v1` export (1,000 incidents of 100
 * effect entries over three months: refunds with their intents, credits, voids and replacements,
 * time in three roles, one without a rate, legal fees, two currencies), written by the export's
 * own Parquet writer. Timed: what the CLI does after the objects are on disk — open DuckDB over
 * the files (each file's schema checked), the report's queries (the costs grouped by every
 * dimension in one pass, not yet settled, unpriced labour, incidents) and the report built.
 * Seconds, as the issue names them; the CPU time beside them, since the machine is shared.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FileSink } from '../functions/adapters/byte-sinks.ts';
import { ParquetLedgerWriter } from '../functions/adapters/parquet-ledger.ts';
import { parseLabourRates } from '../functions/domain/labour-rates.ts';
import type { LedgerRow } from '../functions/domain/ledger-export.ts';
import { ledgerObjectKey } from '../functions/domain/ledger-export.ts';
import { pnlReport } from '../scripts/pnl.ts';
import { fullRow } from '../test/support/finance-rows.ts';
import type { BenchReport } from './run.ts';

const INCIDENTS = Number(process.env.BENCH_PNL_INCIDENTS ?? 1000);
const MONTHS = ['2026-09', '2026-10', '2026-11'] as const;

/** The 100 rows of incident `i`, in seq order, all recorded in one month. */
function* incidentRows(i: number): Generator<LedgerRow> {
  const month = MONTHS[i % MONTHS.length] as string;
  const id = `INC-2026-${i + 1}`;
  const currency = i % 4 === 0 ? 'USD' : 'EUR';
  let seq = 0;
  const at = () =>
    `${month}-${String(1 + (seq % 27)).padStart(2, '0')}T10:${String(seq % 60).padStart(2, '0')}:00.000Z`;
  const row = (fields: Partial<LedgerRow> & Pick<LedgerRow, 'kind'>): LedgerRow => {
    seq++;
    return fullRow({
      incident_id: id,
      incident_number: i + 1,
      incident_title: `Incident ${i + 1}`,
      product_area: ['payments', 'notices', 'shipping', 'accounts'][i % 4] as string,
      seq,
      entry_id: `${id}-${seq}`,
      at: at(),
      ...fields,
    });
  };
  // 30 refunds: intent then confirmed (60 rows); 4 of them voided, 1 replaced (5 rows).
  const refunds: string[] = [];
  for (let r = 0; r < 30; r++) {
    const effect = { effect_id: `e${r}`, amount_minor: 1000 + r, currency, obligation: 'tos' };
    yield row({ kind: 'refund', state: 'intent', ...effect });
    const confirmed = row({ kind: 'refund', state: 'confirmed', ...effect });
    refunds.push(confirmed.entry_id);
    yield confirmed;
  }
  for (let v = 0; v < 4; v++)
    yield row({
      kind: 'correction',
      root_kind: 'refund',
      corrects_id: refunds[v] as string,
      state: 'confirmed',
    });
  yield row({
    kind: 'correction',
    root_kind: 'refund',
    corrects_id: refunds[4] as string,
    state: 'confirmed',
    amount_minor: 500,
    currency,
    obligation: 'tos',
  });
  // 10 goodwill credits, 20 time entries in three roles, 5 fees and costs.
  for (let c = 0; c < 10; c++)
    yield row({
      kind: 'credit',
      state: 'confirmed',
      effect_id: `c${c}`,
      amount_minor: 700,
      currency,
      obligation: 'brand',
    });
  for (let t = 0; t < 20; t++)
    yield row({
      kind: 'ops_labour',
      world: 'RML2',
      labour_role: ['SRE', 'Support', 'Comms'][t % 3] as string,
      labour_minutes: 15 + t,
    });
  for (let f = 0; f < 5; f++)
    yield row({
      kind: f % 2 === 0 ? 'legal_fee' : 'other_cost',
      state: 'confirmed',
      amount_minor: 25_000,
      currency,
    });
}

export default async function bench(): Promise<BenchReport> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-pnl-'));
  try {
    const writeStarted = performance.now();
    const files: string[] = [];
    let rows = 0;
    for (const [m, month] of MONTHS.entries()) {
      const file = join(dir, ledgerObjectKey(month));
      mkdirSync(dirname(file), { recursive: true });
      const writer = new ParquetLedgerWriter(new FileSink(file));
      for (let i = m; i < INCIDENTS; i += MONTHS.length)
        for (const r of incidentRows(i)) {
          await writer.add(r);
          rows++;
        }
      await writer.finish();
      files.push(file);
    }
    const writeSeconds = (performance.now() - writeStarted) / 1000;
    const labourRates = parseLabourRates({
      SRE: { amount: '120.00', currency: 'EUR' },
      Support: { amount: '80.00', currency: 'EUR' },
    });
    const request = {
      from: MONTHS[0],
      to: MONTHS[2],
      groupBy: ['category'] as const,
      format: 'json' as const,
      labourRates,
    };
    // One untimed run loads DuckDB's native library, as any first command on a machine does.
    await pnlReport(files, request);
    const cpu = process.cpuUsage();
    const started = performance.now();
    const report = await pnlReport(files, request);
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const cpuSeconds = (used.user + used.system) / 1e6;
    const markdown = [
      '## The P&L over 100,000 exported rows (`bench/finance-pnl.bench.ts`)',
      '',
      `\`casebook pnl\`'s work after the objects are on disk — DuckDB opened over ${files.length} \`ledger/v1\` files (${rows.toLocaleString('en')} rows, ${INCIDENTS.toLocaleString('en')} incidents, written by the export's Parquet writer in ${writeSeconds.toFixed(1)} s, untimed), each file's schema checked, the four queries of the report (every grouping from one pass) and the report built: ${seconds.toFixed(2)} s (${cpuSeconds.toFixed(2)} s of CPU across DuckDB's threads). It found ${report.rows.length} category lines, ${report.notYetSettled.length} effects not yet settled and ${report.unassigned.items.length} unpriced labour lines (Comms has no rate).`,
    ].join('\n');
    return {
      results: { 'finance.pnl_100k_s': Math.round(seconds * 1000) / 1000 },
      targets: { 'finance.pnl_100k_s': '≤ 5' },
      markdown,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
