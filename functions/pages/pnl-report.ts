/**
 * The P&L as one HTML file (`casebook pnl --format html`): a chart of cost by category per month
 * drawn as inline SVG, the totals table an accountant pastes into a spreadsheet, and what is not
 * yet settled, unpriced or without time. No script and nothing fetched: it opens from a file, a
 * mail attachment or a print queue the same, fits a phone, and prints without the page's chrome.
 */
import type { PnlCategory, PnlDimension } from '../domain/finance-sql.ts';
import { PNL_CATEGORIES } from '../domain/finance-sql.ts';
import type { Column } from '../domain/html.ts';
import { escapeHtml as e, isolated, table } from '../domain/html.ts';
import { RESULT_LABEL } from '../domain/labels.ts';
import { periodsBetween } from '../domain/ledger-export.ts';
import { formatMajorAmount } from '../domain/money.ts';
import type { PnlReport, ReportRow } from '../domain/pnl-report.ts';
import {
  adjustmentLabel,
  CATEGORY_LABEL,
  DIMENSION_HEADER,
  groupValueLabel,
  minutesText,
} from '../domain/pnl-report.ts';
import { layout } from './layout.ts';

/** A colour per category, told apart in grey print too (their lightness differs). */
const COLOUR: Readonly<Record<PnlCategory, string>> = {
  refunds: '#1f4e8c',
  goodwill_credits: '#e08a1e',
  ops_labour: '#2f8f46',
  legal_fees: '#b3261e',
  manual_operations: '#7b5ea7',
  other_costs: '#8a8a8a',
};

const STYLE = `.num{display:block;text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:1rem 0}figcaption{font-weight:600;margin-bottom:.3rem}svg{display:block;max-width:100%;height:auto}
ul.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.3rem 1rem;margin:.3rem 0 1rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:-.05rem}
@media (max-width:600px){.num{display:inline;text-align:left}}
@media print{body{max-width:none;margin:0;font-size:10pt}figure,tr{break-inside:avoid}h2{break-after:avoid}}`;

/**
 * The chart's own size, in CSS pixels at full scale: about 80 px a month, so its labels read at
 * the page's type size where it fits and it shrinks with the screen where it does not.
 */
const chartSize = (months: number) => ({
  width: Math.max(360, months * 80 + 16),
  height: 240,
  left: 8,
  right: 8,
  top: 24,
  bottom: 28,
});

/** One currency's months (every month of the range) as stacked bars, one segment per category. */
function chart(report: PnlReport, currency: string): string {
  const months = periodsBetween(report.from, report.to);
  const CHART = chartSize(months.length);
  const cells = report.byMonth.filter((m) => m.currency === currency);
  const totalOf = (period: string) =>
    cells.filter((c) => c.period === period).reduce((sum, c) => sum + Math.max(c.amountMinor, 0), 0);
  const max = Math.max(1, ...months.map(totalOf));
  const plotWidth = CHART.width - CHART.left - CHART.right;
  const plotHeight = CHART.height - CHART.top - CHART.bottom;
  const slot = plotWidth / Math.max(months.length, 1);
  const barWidth = Math.min(64, slot * 0.6);
  const bars = months.map((period, i) => {
    const x = CHART.left + slot * i + (slot - barWidth) / 2;
    let y = CHART.top + plotHeight;
    const segments = PNL_CATEGORIES.map((category) => {
      const cell = cells.find((c) => c.period === period && c.category === category);
      if (!cell || cell.amountMinor <= 0) return '';
      const h = (cell.amountMinor / max) * plotHeight;
      y -= h;
      const label = `${period} ${CATEGORY_LABEL[category]}: ${formatMajorAmount({ minor: cell.amountMinor, currency })} ${currency}`;
      return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${h.toFixed(1)}" fill="${COLOUR[category]}"><title>${e(label)}</title></rect>`;
    }).join('');
    const total = formatMajorAmount({ minor: totalOf(period), currency });
    const middle = (x + barWidth / 2).toFixed(1);
    return `${segments}<text x="${middle}" y="${(y - 4).toFixed(1)}" text-anchor="middle" font-size="12">${e(total)}</text><text x="${middle}" y="${CHART.height - 8}" text-anchor="middle" font-size="13">${e(period)}</text>`;
  });
  const axis = `<line x1="${CHART.left}" x2="${CHART.width - CHART.right}" y1="${CHART.top + plotHeight}" y2="${CHART.top + plotHeight}" stroke="#555"/>`;
  const title = `Cost by category per month, ${currency}`;
  return `<figure><figcaption>${e(title)}</figcaption><svg xmlns="http://www.w3.org/2000/svg" width="${CHART.width}" height="${CHART.height}" viewBox="0 0 ${CHART.width} ${CHART.height}" role="img" aria-labelledby="chart-${currency}"><title id="chart-${currency}">${e(title)}</title>${axis}${bars.join('')}</svg></figure>`;
}

function legend(report: PnlReport): string {
  const used = PNL_CATEGORIES.filter((c) => report.byMonth.some((m) => m.category === c));
  return `<ul class="legend">${used
    .map(
      (c) => `<li><span class="swatch" style="background:${COLOUR[c]}"></span>${e(CATEGORY_LABEL[c])}</li>`,
    )
    .join('')}</ul>`;
}

const amountCell = (amount: string) => `<span class="num">${e(amount)}</span>`;

/** The whole report as one HTML document. */
export function pnlHtml(report: PnlReport): string {
  const range = report.from === report.to ? report.from : `${report.from} to ${report.to}`;
  const currencies = [...new Set(report.byMonth.map((m) => m.currency))].sort();
  const dimensionColumns: Column<ReportRow>[] = report.groupBy.map((d: PnlDimension) => ({
    header: DIMENSION_HEADER[d],
    cell: (row) =>
      d === 'incident' && row.timeRecorded === false
        ? `${isolated(groupValueLabel(d, row))} (no time recorded)`
        : isolated(groupValueLabel(d, row)),
  }));
  const totalsTable = table<ReportRow>(
    [
      ...dimensionColumns,
      { header: 'Currency', cell: (r) => e(r.currency) },
      { header: 'Amount', cell: (r) => amountCell(r.amount) },
      { header: 'Entries', cell: (r) => amountCell(String(r.entries)) },
    ],
    report.rows,
    'No costs in this range.',
  );
  const totals = report.totals.map((t) => `${t.amount} ${t.currency}`).join(', ') || 'nothing';
  const rates =
    report.reportingCurrency === null
      ? '<p>Each currency is summed apart: no rate table was given.</p>'
      : `<p>Everything is in ${e(report.reportingCurrency)}, converted with these rates (${e(report.reportingCurrency)} per unit): ${
          report.rates.map((r) => `${e(r.currency)} ${e(r.rate)}`).join(', ') || 'none needed'
        }.</p>`;
  const unsettled = table(
    [
      { header: 'Incident', cell: (u: PnlReport['notYetSettled'][number]) => isolated(u.incident) },
      { header: 'Entry', cell: (u) => e(u.seq) },
      { header: 'Category', cell: (u) => e(u.category ? CATEGORY_LABEL[u.category] : 'Other') },
      { header: 'State', cell: (u) => e(RESULT_LABEL[u.state as 'intent'] ?? u.state) },
      { header: 'Amount', cell: (u) => (u.amount ? amountCell(`${u.amount} ${u.currency}`) : 'none') },
      { header: 'Month', cell: (u) => e(u.period) },
    ],
    report.notYetSettled,
    'Nothing in flight: every effect in range is settled.',
  );
  const unpriced = table(
    [
      { header: 'Incident', cell: (u: PnlReport['unassigned']['items'][number]) => isolated(u.incident) },
      { header: 'Month', cell: (u) => e(u.period) },
      { header: 'Role', cell: (u) => isolated(u.role) },
      { header: 'Time', cell: (u) => e(minutesText(u.minutes)) },
    ],
    report.unassigned.items,
    'Every role with time recorded has a rate.',
  );
  const top = table(
    [
      {
        header: 'Incident',
        cell: (t: PnlReport['topIncidents'][number]) =>
          `${isolated(`${t.incident}${t.incidentTitle ? ` ${t.incidentTitle}` : ''}`)}${t.timeRecorded ? '' : ' (no time recorded)'}`,
      },
      { header: 'Currency', cell: (t) => e(t.currency) },
      { header: 'Amount', cell: (t) => amountCell(t.amount) },
    ],
    report.topIncidents,
    'No incident cost anything in this range.',
  );
  const closed =
    report.closed.length === 0
      ? ''
      : `<p>${report.closed
          .map(
            (c) =>
              `${e(c.period)} is closed (at ${e(c.closedAt)}): its figures are its close record's (${e(c.hash.slice(0, 12))}…), whatever was recorded or repriced since.`,
          )
          .join('<br>')}</p>`;
  const adjustments =
    report.adjustments.length === 0
      ? ''
      : `<h2>Adjustments to closed months</h2><p class="meta">Money recorded after a month closed, effective in it: counted in the month it was recorded (in the total above), never in the closed month.</p>${table(
          [
            { header: 'Adjustment', cell: (a: PnlReport['adjustments'][number]) => e(adjustmentLabel(a)) },
            { header: 'Category', cell: (a) => e(CATEGORY_LABEL[a.category]) },
            {
              header: 'Line',
              cell: (a) => isolated(groupValueLabel('obligation', { ...a, entries: 0 })),
            },
            { header: 'Currency', cell: (a) => e(a.currency) },
            { header: 'Amount', cell: (a) => amountCell(a.amount) },
          ],
          report.adjustments,
          '',
        )}`;
  const noTime =
    report.noTimeRecorded.length === 0
      ? '<p class="meta">Every incident in range has time recorded.</p>'
      : `<ul>${report.noTimeRecorded
          .map(
            (i) =>
              `<li>${isolated(`${i.incident}${i.incidentTitle ? ` ${i.incidentTitle}` : ''}`)}: no time recorded</li>`,
          )
          .join('')}</ul>`;
  const body = `<h1>P&amp;L ${e(range)}</h1>
<p class="meta">Costs that stand (corrections netted, failed effects left out), by the month the money moved.</p>
<h2>Cost by category per month</h2>${currencies.map((c) => chart(report, c)).join('')}${legend(report)}
<h2>Totals</h2>${closed}${rates}${totalsTable}<p><strong>Total: ${e(totals)}</strong>${
    report.adjustments.length > 0 ? ', adjustments to closed months included (below)' : ''
  }${
    report.unassigned.items.length > 0
      ? `, and ${e(minutesText(report.unassigned.minutes))} of labour unpriced (the unassigned line below)`
      : ''
  }</p>${adjustments}
<h2>Top incidents by cost</h2>${top}
<h2>Not yet settled</h2><p class="meta">Effects still in flight (intent or executed): not counted above.</p>${unsettled}
<h2>Labour without a rate (unassigned)</h2><p class="meta">${
    report.unassigned.items.length > 0
      ? `${e(minutesText(report.unassigned.minutes))} in roles that have no rate: not priced, and not counted as zero.`
      : 'None.'
  }</p>${report.unassigned.items.length > 0 ? unpriced : ''}
<h2>No time recorded</h2>${noTime}`;
  return layout(`P&L ${range}`, body, STYLE);
}
