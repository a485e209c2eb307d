/**
 * The HTML P&L as finance opens it: the file `casebook pnl --format html --out` wrote, from a file
 * URL, in a real Chromium at 1000 px and on a 390-px phone. The chart and the totals are there,
 * nothing reaches past the right edge, no script, no request leaves the file, and print keeps
 * the chart and the table.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { casebook } from '../support/cli.ts';
import { exportToDir, FIXTURE_LABOUR_RATES, fixtureLedger } from '../support/finance-fixture.ts';
import { checkPage, watchRequests } from '../support/page-checks.ts';

const dir = mkdtempSync(join(tmpdir(), 'pnl-html-'));
const report = join(dir, 'report.html');
let browser: Browser;

beforeAll(async () => {
  const exports = join(dir, 'bucket');
  await exportToDir(exports, await fixtureLedger());
  const result = await casebook(
    [
      'pnl',
      '--from',
      '2026-11',
      '--to',
      '2026-12',
      '--group-by',
      'category,obligation',
      '--format',
      'html',
      '--in',
      exports,
      '--out',
      report,
    ],
    { CASEBOOK_LABOUR_RATES: JSON.stringify(FIXTURE_LABOUR_RATES) },
  );
  expect(result.code, result.stderr).toBe(0);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the HTML P&L report', () => {
  it.each([
    ['at 1000 px', { width: 1000, height: 900 }, false],
    ['on a 390-px phone', { width: 390, height: 844 }, true],
  ] as const)(
    '%s: the chart and the totals, nothing past the right edge, no script, nothing fetched',
    async (name, viewport, phone) => {
      const context = await browser.newContext({ viewport, isMobile: phone, hasTouch: phone });
      try {
        const page = await context.newPage();
        const requested = watchRequests(page);
        await page.goto(pathToFileURL(report).href);
        const text = await checkPage(page, `pnl-report-${name.replaceAll(' ', '-')}`, requested);

        // One chart per currency, each with a bar per month it has costs in.
        expect(await page.locator('figure svg').count()).toBe(3);
        const eur = page.locator('figure svg', { has: page.locator('title', { hasText: 'EUR' }) });
        expect(await eur.locator('rect').count()).toBe(6);
        expect(await eur.locator('text').allTextContents()).toEqual([
          '810.00',
          '2026-11',
          '68.00',
          '2026-12',
        ]);
        const chartBox = await eur.boundingBox();
        expect(chartBox?.width).toBeGreaterThan(300);
        expect(await page.locator('figure svg').nth(1).locator('text').allTextContents()).toEqual([
          '0.00',
          '2026-11',
          '20.00',
          '2026-12',
        ]);

        expect(text).toContain('Refunds');
        expect(text).toContain('Goodwill credits');
        expect(text).toContain('Total: 878.00 EUR, 20.00 GBP, 26.99 USD');
        expect(text).toContain('Ops labour');
        expect(text).toMatch(/Comms[\s\S]*30 min/);
        expect(text).toContain('INC-2026-3 Courier fee: no time recorded');
        const cells = await page
          .locator('h2:has-text("Totals") ~ table')
          .first()
          .locator('tbody tr')
          .allInnerTexts();
        expect(cells).toHaveLength(7);
        expect(cells[0]).toMatch(/Refunds[\s\S]*ToS line[\s\S]*EUR[\s\S]*33\.00[\s\S]*2/);
        expect(requested).toEqual([]);
      } finally {
        await context.close();
      }
    },
  );

  it('prints the chart and the totals table, with no page wider than the paper', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(pathToFileURL(report).href);
      await page.emulateMedia({ media: 'print' });
      const widths = await page.locator('html').evaluate((root) => ({
        page: root.scrollWidth,
        view: root.clientWidth,
      }));
      expect(widths.page).toBeLessThanOrEqual(widths.view);
      const pdf = await page.pdf({ format: 'A4' });
      expect(pdf.byteLength).toBeGreaterThan(10_000);
      expect(await page.locator('figure svg').first().isVisible()).toBe(true);
    } finally {
      await context.close();
    }
  });
});
