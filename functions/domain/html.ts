import { humanTime } from './human-time.ts';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: string | number): string {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/**
 * Escapes outside text (alert titles, summaries, names people typed) and isolates its direction
 * in `<bdi>`, so right-to-left overrides and other bidi controls inside it cannot reorder the
 * page around it.
 */
export function isolated(value: string | number): string {
  return `<bdi>${escapeHtml(value)}</bdi>`;
}

/**
 * An instant as people read it ("29 Nov 08:59 UTC, 12 min ago") in a `<time>` whose `datetime`
 * keeps it exact for machines and whose title shows it exact on hover; a value that is not an
 * instant is shown as it is.
 */
export function timeHtml(instant: string, now: Date): string {
  const ms = Date.parse(instant);
  if (Number.isNaN(ms)) return escapeHtml(instant);
  const exact = new Date(ms).toISOString();
  return `<time datetime="${exact}" title="${exact}">${escapeHtml(humanTime(instant, now))}</time>`;
}

/** One column of a {@link table}: its header (text) and the HTML of a row's cell. */
export interface Column<R> {
  readonly header: string;
  readonly cell: (row: R) => string;
}

/**
 * A table that folds into stacked "Header: value" lines on a narrow screen (the `stack` rules in
 * the pages' layout): each cell carries its column's header in `data-label`, so a phone reaches
 * every column without scrolling sideways. No rows: `empty` in place of a table of headers only.
 */
export function table<R>(columns: readonly Column<R>[], rows: readonly R[], empty = 'None yet.'): string {
  if (rows.length === 0) return `<p class="meta">${escapeHtml(empty)}</p>`;
  const head = columns.map((c) => `<th scope="col">${escapeHtml(c.header)}</th>`).join('');
  const body = rows
    .map(
      (row) =>
        `<tr>${columns.map((c) => `<td data-label="${escapeHtml(c.header)}">${c.cell(row)}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<table class="stack"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}
