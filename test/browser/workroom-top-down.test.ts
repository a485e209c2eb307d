/**
 * The workroom read top-down in a real Chromium with JavaScript off, at 1000 px and on a 390×844
 * phone: an incident worked to Learn (two customers told, approved, carried out) and then closed.
 * At each: the summary first (status, lead, phase, who it waits on, the next deadline), what is
 * asked before any section, the effects summed up per kind, the timeline newest first with all
 * but ten folded, times typed as text (no date-time picker), nothing past the right edge and no
 * word broken mid-word in a table; once the postmortem is in, it comes first. Screenshots go to
 * test-results/ (git-ignored).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { SERVER_MS, stackWithBrowser } from '../support/browser.ts';
import {
  APOLOGY,
  approveRound,
  done,
  inPhase,
  POSTMORTEM,
  RESPONDER,
  TWO_CUSTOMERS,
  workLinks,
  workToDecide,
} from '../support/casework.ts';
import { getCase, postAlert, waitFor } from '../support/local-stack.ts';
import { checkPageLayout, watchRequests } from '../support/page-checks.ts';

const alert = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');
/** On a phone a long address may wrap where it must; at 1000 px no word breaks. */
const SCREENS = [
  { name: '1000px', viewport: { width: 1000, height: 900 }, isMobile: false, wholeWords: true },
  { name: '390x844', viewport: { width: 390, height: 844 }, isMobile: true, wholeWords: false },
] as const;

const local = stackWithBrowser();

/** The summary's value for `term` ("Status", "Lead", …). */
const summary = (page: Page, term: string) => page.locator(`#summary dt:text-is("${term}") + dd`).innerText();

describe('the workroom, read top-down at 1000 px and on a phone', () => {
  it('says status, lead, phase and the next deadline first, sums up the effects, and shows the postmortem first once written', async () => {
    const { stack, browser } = local;
    const opened = await postAlert(
      stack,
      alert
        .replaceAll('5f1a4c2e9b7d3a80', 'top-down')
        .replaceAll('PaymentDoubleCharge', 'PaymentDoubleChargeTD'),
    );
    const { incidentId } = (await opened.json()) as { incidentId: string };
    const link = (await workLinks(stack, incidentId)).get(RESPONDER) as string;
    await inPhase(link, 'Contain');
    await workToDecide(link, TWO_CUSTOMERS, APOLOGY);
    // Notes make the timeline longer than the ten events shown.
    for (let n = 1; n <= 4; n++) await done(link, 'note', { text: `Checked the settlement log, pass ${n}` });
    await inPhase(link, 'Decide', 60_000);
    await approveRound(stack, incidentId);
    await inPhase(link, 'Learn', 90_000);

    for (const screen of SCREENS) {
      const context = await browser.newContext({
        viewport: screen.viewport,
        isMobile: screen.isMobile,
        hasTouch: screen.isMobile,
        javaScriptEnabled: false,
      });
      context.setDefaultNavigationTimeout(SERVER_MS);
      const page = await context.newPage();
      const requested = watchRequests(page);
      expect((await page.goto(link))?.status()).toBe(200);
      const { seen } = await checkPageLayout(page, `workroom-top-down-${screen.name}-learn`, requested, {
        wholeCellWords: screen.wholeWords,
      });
      expect(seen.pickers, screen.name).toBe(0);
      // Title, summary, who you are, what is asked — then the sections.
      expect(seen.order.slice(0, 4)).toEqual(['h1', 'summary', 'p', 'asked']);

      // The facts at a glance.
      expect(await summary(page, 'Status')).toBe('Resolved');
      expect(await summary(page, 'Phase')).toBe('Learn');
      expect(await summary(page, 'Lead')).toBe(RESPONDER);
      expect(await summary(page, 'Waiting on')).toBe('the responders: the postmortem');
      expect(await summary(page, 'Next deadline')).toMatch(/^Postmortem filed: \d{1,2} [A-Z][a-z]{2}/);
      expect(await page.locator('#asked').innerText()).toMatch(/^Asked of you: Write the postmortem/);
      // Only the form for the next step is open; acknowledging is no longer offered.
      expect(await page.locator('form#postmortem').isVisible()).toBe(true);
      expect(await page.locator('form#acknowledge').count()).toBe(0);
      expect(await page.locator('form#note').isVisible()).toBe(false);

      // The effects from their progress, and the entries folded behind them.
      expect(await page.locator('h2#ledger + ul').innerText()).toBe(
        'Notices: 2 confirmed, 0 pending, 0 waiting for a person (of 2)',
      );
      // The timeline: newest first, ten shown, the rest folded.
      const times = await page
        .locator('h2:text-is("Timeline, newest first") + table time')
        .evaluateAll((els) => els.map((el) => Date.parse(el.getAttribute('datetime') ?? '')));
      expect(times).toHaveLength(10);
      expect(times).toEqual([...times].sort((a, b) => b - a));
      expect(
        await page.locator('h2:text-is("Timeline, newest first") ~ details summary').innerText(),
      ).toMatch(/^\d+ earlier events?$/);
      expect(await page.locator('body').innerText()).toContain('Runbook');
      await context.close();
    }

    // The postmortem closes the incident; the page then opens with it.
    await done(link, 'postmortem', POSTMORTEM);
    await waitFor('the incident to close', async () =>
      (await getCase(stack, incidentId)).incident.status === 'CLOSED' ? true : undefined,
    );
    for (const screen of SCREENS) {
      const context = await browser.newContext({
        viewport: screen.viewport,
        isMobile: screen.isMobile,
        javaScriptEnabled: false,
      });
      context.setDefaultNavigationTimeout(SERVER_MS);
      const page = await context.newPage();
      const requested = watchRequests(page);
      await page.goto(link);
      const { seen } = await checkPageLayout(page, `workroom-top-down-${screen.name}-closed`, requested, {
        wholeCellWords: screen.wholeWords,
      });
      expect(seen.pickers, screen.name).toBe(0);
      expect(seen.order.slice(0, 5)).toEqual(['h1', 'summary', 'p', 'postmortem', 'asked']);
      expect(await summary(page, 'Status')).toBe('Closed');
      expect(await summary(page, 'Next deadline')).toBe('none open');
      expect(await page.locator('#postmortem h2').innerText()).toBe(`Postmortem: ${POSTMORTEM.title}`);
      await context.close();
    }
  }, 300_000);
});
