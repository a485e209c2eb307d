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
