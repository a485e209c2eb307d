/**
 * What every page people read must be in a browser, at any width: nothing past the right edge, no
 * table header broken mid-word, every control labelled, no script, no value the code keeps shown
 * raw (`refund_confirmation`, `CHANGES_REQUESTED`, `tos`), nothing fetched from another origin.
 * One place for the browser tests to ask it; a screenshot of each look goes to test-results/.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { LABELS } from '../../functions/domain/labels.ts';

export const SHOTS = join(import.meta.dirname, '../../test-results');

/**
 * The values a person must never read raw: those whose label differs and that are not words of
 * the language (snake or kebab case, upper case, `tos`).
 */
export const RAW_VALUES: readonly string[] = [
  ...new Set(
    Object.values(LABELS).flatMap((table) =>
      Object.entries(table as Record<string, string>)
        .filter(([value, label]) => value !== label)
        .map(([value]) => value)
        .filter((v) => /[_-]/.test(v) || /^[A-Z]{4,}$/.test(v) || v === 'tos'),
    ),
  ),
];

/** The raw values standing as words of `text` (not inside a longer word, an address or an id). */
export function rawValuesIn(text: string): string[] {
  return RAW_VALUES.filter((v) =>
    new RegExp(`(^|[^\\w./-])${v.replace(/[-]/g, '\\-')}($|[^\\w/-])`).test(text),
  );
}

/** Every URL `page` requests from now on; {@link checkPage} fails on one from another origin. */
export function watchRequests(page: Page): string[] {
  const requested: string[] = [];
  page.on('request', (request) => requested.push(request.url()));
  return requested;
}

export interface PageLayout {
  readonly width: number;
  readonly scrollWidth: number;
  readonly outside: readonly string[];
  readonly brokenHeaders: readonly string[];
  readonly unlabelled: readonly string[];
  readonly scripts: number;
}

/** How the page lays out at its width. */
export function layoutOf(page: Page): Promise<PageLayout> {
  return page.locator('html').evaluate((root) => {
    const document = root.ownerDocument;
    const width = document.documentElement.clientWidth;
    // A stacked table's header row stays for screen readers only, clipped to 1 px: not seen.
    const shown = [...document.body.querySelectorAll('*')].filter((el) => !el.closest('table.stack thead'));
    // A header word set on more than one line box is broken mid-word; a word past 24 characters
    // (an address, a hash) may break where it must.
    const brokenHeaders: string[] = [];
    for (const th of document.querySelectorAll('th')) {
      if (th.closest('table.stack thead') || th.getBoundingClientRect().width <= 1) continue;
      const walker = document.createTreeWalker(th, 4 /* NodeFilter.SHOW_TEXT */);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const m of (node.textContent ?? '').matchAll(/\S+/g)) {
          if (m[0].length > 24) continue;
          const range = document.createRange();
          range.setStart(node, m.index);
          range.setEnd(node, m.index + m[0].length);
          const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
          if (tops.size > 1) brokenHeaders.push(m[0]);
        }
      }
    }
    return {
      width,
      scrollWidth: document.documentElement.scrollWidth,
      outside: shown
        .map((el) => ({ el, box: el.getBoundingClientRect() }))
        .filter(({ box }) => box.width > 0 && (box.left < -0.5 || box.right > width + 0.5))
        .map(({ el, box }) => `${el.tagName.toLowerCase()}#${el.id} [${box.left}, ${box.right}]`),
      brokenHeaders,
      // `labels` holds only the labels that really name the control (a duplicate id breaks it).
      unlabelled: [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter((c) => ((c as unknown as { labels: { length: number } | null }).labels?.length ?? 0) === 0)
        .map((c) => c.outerHTML),
      scripts: document.scripts.length,
    };
  });
}

/**
 * Checks the page as it stands (see the file's comment), keeps its screenshot as `<name>.png` and
 * answers its visible text. `requested` is what {@link watchRequests} collected; it is emptied.
 */
export async function checkPage(page: Page, name: string, requested: string[]): Promise<string> {
  const seen = await layoutOf(page);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  expect(seen, name).toMatchObject({ outside: [], brokenHeaders: [], unlabelled: [], scripts: 0 });
  expect(seen.scrollWidth, name).toBeLessThanOrEqual(seen.width);
  const text = await page.locator('body').innerText();
  expect(rawValuesIn(text), name).toEqual([]);
  const origin = new URL(page.url()).origin;
  expect(
    requested.filter((u) => new URL(u).origin !== origin),
    name,
  ).toEqual([]);
  requested.length = 0;
  return text;
}
