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
  /** Words of any table cell (header or data) set on more than one line, but long ones and code. */
  readonly brokenCells: readonly string[];
  readonly unlabelled: readonly string[];
  readonly scripts: number;
  /** Date and time pickers (times are typed as text in UTC). */
  readonly pickers: number;
  readonly duplicateIds: readonly string[];
  /** The body's children in order, each by its id, else its tag (lower case). */
  readonly order: readonly string[];
  /** The body's children's tags in order (lower case). */
  readonly tags: readonly string[];
}

/** What {@link checkPage} asks beyond what every page must be. */
export interface CheckOptions {
  /**
   * No word of a data cell broken mid-word either (a wide screen; on a phone a stacked table may
   * wrap an address where it must).
   */
  readonly wholeCellWords?: boolean;
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
    const brokenIn = (selector: string): string[] => {
      const broken: string[] = [];
      for (const cell of document.querySelectorAll(selector)) {
        if (cell.closest('table.stack thead') || cell.getBoundingClientRect().width <= 1) continue;
        const walker = document.createTreeWalker(cell, 4 /* NodeFilter.SHOW_TEXT */);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          if (node.parentElement?.closest('code')) continue;
          // A line may end after a hyphen or a slash: the parts between are the words.
          for (const m of (node.textContent ?? '').matchAll(/[^\s/-]+/g)) {
            if (m[0].length > 24) continue;
            const range = document.createRange();
            range.setStart(node, m.index);
            range.setEnd(node, m.index + m[0].length);
            const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
            if (tops.size > 1) broken.push(m[0]);
          }
        }
      }
      return broken;
    };
    const ids = [...document.querySelectorAll('[id]')].map((el) => el.id);
    const children = [...document.body.children];
    return {
      width,
      scrollWidth: document.documentElement.scrollWidth,
      outside: shown
        .map((el) => ({ el, box: el.getBoundingClientRect() }))
        .filter(({ box }) => box.width > 0 && (box.left < -0.5 || box.right > width + 0.5))
        .map(({ el, box }) => `${el.tagName.toLowerCase()}#${el.id} [${box.left}, ${box.right}]`),
      brokenHeaders: brokenIn('th'),
      brokenCells: brokenIn('th, td'),
      // `labels` holds only the labels that really name the control (a duplicate id breaks it).
      unlabelled: [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
        .filter((c) => ((c as unknown as { labels: { length: number } | null }).labels?.length ?? 0) === 0)
        .map((c) => c.outerHTML),
      scripts: document.scripts.length,
      pickers: document.querySelectorAll('input[type=datetime-local], input[type=time], input[type=date]')
        .length,
      duplicateIds: ids.filter((id, i) => ids.indexOf(id) !== i),
      order: children.map((el) => el.id || el.tagName.toLowerCase()),
      tags: children.map((el) => el.tagName.toLowerCase()),
    };
  });
}

/**
 * Checks the page as it stands (see the file's comment), keeps its screenshot as `<name>.png` and
 * answers its visible text. `requested` is what {@link watchRequests} collected; it is emptied.
 */
export async function checkPage(
  page: Page,
  name: string,
  requested: string[],
  options: CheckOptions = {},
): Promise<string> {
  return (await checkPageLayout(page, name, requested, options)).text;
}

/** {@link checkPage}, answering the page's layout too, for the checks a test adds of its own. */
export async function checkPageLayout(
  page: Page,
  name: string,
  requested: string[],
  options: CheckOptions = {},
): Promise<{ readonly text: string; readonly seen: PageLayout }> {
  const seen = await layoutOf(page);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  expect(seen, name).toMatchObject({ outside: [], brokenHeaders: [], unlabelled: [], scripts: 0 });
  if (options.wholeCellWords) expect(seen.brokenCells, name).toEqual([]);
  expect(seen.scrollWidth, name).toBeLessThanOrEqual(seen.width);
  const text = await page.locator('body').innerText();
  expect(rawValuesIn(text), name).toEqual([]);
  const origin = new URL(page.url()).origin;
  expect(
    requested.filter((u) => new URL(u).origin !== origin),
    name,
  ).toEqual([]);
  requested.length = 0;
  return { text, seen };
}
