/**
 * The approval page as an approver sees it on a phone: a real Chromium at 390×844 (an iPhone 14's
 * viewport) opens the link e-mailed to Business. Nothing may reach past the right edge (the plan
 * table used to cut off its last columns), times read as people read them, and the page asks
 * first and decides last. The screenshot goes to test-results/ (git-ignored).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stackWithBrowser } from '../support/browser.ts';
import { openedToDecide } from '../support/casework.ts';
import { approvalLinks } from '../support/local-stack.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');
const PHONE = { width: 390, height: 844 };
/** "29 Nov 08:59 UTC, 12 min ago", "… in 29 min", "… just now"; the year only when not this one. */
const HUMAN_TIME = /^\d{1,2} [A-Z][a-z]{2}( \d{4})? \d{2}:\d{2} UTC, (just now|in .+|.+ ago)$/;

const local = stackWithBrowser();

describe('the approval page on a 390-px phone', () => {
  it('fits the screen, reads its times as people do, and ends with the decision', async () => {
    const { stack, browser } = local;
    const { incidentId } = await openedToDecide(stack, sample);
    const link = (await approvalLinks(stack, incidentId, 1)).get('business') as string;

    const context = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true });
    context.setDefaultTimeout(10_000);
    const page = await context.newPage();
    const requested: string[] = [];
    page.on('request', (request) => requested.push(request.url()));
    const opened = await page.goto(link);
    expect(opened?.status()).toBe(200);

    // The timeline and the ledger are folded away; open them, so their tables are measured too.
    await page.locator('details').evaluateAll((all) => {
      for (const d of all) d.setAttribute('open', '');
    });
    expect(await page.locator('details[open] table.stack').count()).toBe(2);

    const planTable = page.locator('h2:has-text("Remediation plan") ~ table').first();
    const planCells = await planTable.locator('td').evaluateAll((cells) =>
      cells.map((td) => {
        const box = td.getBoundingClientRect();
        return { label: td.getAttribute('data-label'), left: box.left, right: box.right, width: box.width };
      }),
    );
    const firstRowTops = await planTable
      .locator('tbody tr')
      .first()
      .locator('td')
      .evaluateAll((cells) => cells.map((td) => td.getBoundingClientRect().top));
    const unlabelled = await page
      .locator('input, textarea, select')
      .evaluateAll((controls) =>
        controls
          .filter((c) => !c.closest('label') && !c.ownerDocument.querySelector(`label[for="${c.id}"]`))
          .map((c) => c.outerHTML),
      );
    const layout = await page.locator('html').evaluate((root) => {
      const document = root.ownerDocument;
      const width = document.documentElement.clientWidth;
      // A stacked table's header row stays for screen readers only, clipped to 1 px: not seen.
      const seen = [...document.body.querySelectorAll('*')].filter((el) => !el.closest('table.stack thead'));
      const outside = seen
        .map((el) => ({ el, box: el.getBoundingClientRect() }))
        .filter(({ box }) => box.width > 0 && (box.left < -0.5 || box.right > width + 0.5))
        .map(({ el, box }) => `${el.tagName.toLowerCase()}.${el.className} [${box.left}, ${box.right}]`);
      return {
        width,
        scrollWidth: document.documentElement.scrollWidth,
        outside,
        scripts: document.scripts.length,
        lastElement: document.body.lastElementChild?.id,
      };
    });
    expect(layout.width).toBe(PHONE.width);
    expect(layout.scrollWidth).toBeLessThanOrEqual(PHONE.width);
    expect(layout.outside).toEqual([]);
    // Every column of the plan table is on screen, each cell under the one before it.
    expect(planCells.map((c) => c.label)).toEqual(
      expect.arrayContaining(['Kind', 'Total', 'Line', 'Customers']),
    );
    for (const cell of planCells) {
      expect(cell.width).toBeGreaterThan(0);
      expect(cell.left).toBeGreaterThanOrEqual(0);
      expect(cell.right).toBeLessThanOrEqual(PHONE.width);
    }
    expect(firstRowTops.length).toBe(4);
    expect([...firstRowTops].sort((a, b) => a - b)).toEqual(firstRowTops);
    expect(new Set(firstRowTops).size).toBe(firstRowTops.length);

    // Times: in words, to the minute, in UTC; none raw.
    const times = await page.locator('time').allTextContents();
    expect(times.length).toBeGreaterThan(3);
    for (const time of times) expect(time).toMatch(HUMAN_TIME);
    // The alert began on 22 Nov (the fixture's startsAt); Casebook opened the incident just now.
    expect(await page.locator('li', { hasText: 'Began' }).locator('time').textContent()).toMatch(
      /^22 Nov( 2026)? 10:23 UTC, .+ ago$/,
    );
    expect(await page.locator('.meta time').first().textContent()).toMatch(/ UTC, (just now|\d+ min ago)$/);
    // The fixture's incident is a SEV1: its approvers have 30 minutes.
    expect(await page.locator('.box time').first().textContent()).toMatch(/ UTC, in (29|30) min$/);
    expect(await page.locator('body').innerText()).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);

    // What is asked comes first, the decision last; no script, nothing fetched from elsewhere.
    const text = await page.locator('body').innerText();
    expect(text.indexOf('Your decision is needed by')).toBeLessThan(text.indexOf('Impact'));
    expect(text.indexOf('What each customer receives')).toBeLessThan(text.indexOf('Your decision\n'));
    expect(layout.lastElement).toBe('decide');
    expect(unlabelled).toEqual([]);
    expect(layout.scripts).toBe(0);
    const origin = new URL(link).origin;
    expect(requested.filter((url) => !url.startsWith(origin))).toEqual([]);

    // What the approver sees first, and the whole page.
    const shots = join(import.meta.dirname, '../../test-results');
    await page.locator('h1').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, 'approval-page-390x844-first-screen.png') });
    await page.screenshot({ path: join(shots, 'approval-page-390x844.png'), fullPage: true });
    await context.close();
  });
});
