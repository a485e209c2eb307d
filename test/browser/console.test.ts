/**
 * A person of the organisation opens the incident console in a real Chromium with JavaScript off,
 * at 1000 px and on a 390×844 phone: sent to sign in (the local OpenID Connect issuer, as
 * `login_hint` names them), back to the list of incidents, then the incident's read-only case
 * page and its case file as text. On every page: nothing past the right edge, table headers not
 * broken mid-word, every control labelled, no script, and — once signed in — nothing fetched from
 * any origin but the console's. Screenshots go to test-results/ (git-ignored).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { SERVER_MS, stackWithBrowser } from '../support/browser.ts';
import {
  approveRound,
  chargedCustomers,
  closeCase,
  openedToDecide,
  REFUND_CREDIT_NOTICE,
  THREE_CUSTOMERS,
} from '../support/casework.ts';
import { getCase, postAlert, waitFor } from '../support/local-stack.ts';
import { checkPage, watchRequests } from '../support/page-checks.ts';

const alert = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');
const SCREENS = [
  { name: '1000px', viewport: { width: 1000, height: 800 } },
  { name: '390x844', viewport: { width: 390, height: 844 } },
] as const;

const local = stackWithBrowser();

/** Every console page is checked as every page is, and no word of a cell breaks at either width. */
const checkConsole = (page: Page, step: string, requested: string[]) =>
  checkPage(page, `console-${step}`, requested, { wholeCellWords: true });

async function walk(browser: Browser, screen: (typeof SCREENS)[number], incidentId: string): Promise<void> {
  const { stack } = local;
  const context = await browser.newContext({ viewport: screen.viewport, javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    const requested = watchRequests(page);

    // Not signed in: the console sends the browser to sign in and, once signed in, back to `/`.
    const who = `ada.${screen.name}@example.com`;
    const first = await page.goto(`${stack.endpoints.api}/`, { timeout: SERVER_MS });
    expect(first?.status()).toBe(200);
    expect(page.url()).toBe(`${stack.endpoints.api}/`);
    expect(requested.some((u) => u.startsWith(stack.endpoints.oidc))).toBe(true);
    // Without a hint the local issuer signs in its default person; sign in as Ada instead.
    await page.goto(`${stack.endpoints.api}/auth/login?login_hint=${encodeURIComponent(who)}`, {
      timeout: SERVER_MS,
    });
    expect(page.url()).toBe(`${stack.endpoints.api}/`);
    requested.length = 0;

    const list = await checkConsole(page, `${screen.name}-list`, requested);
    expect(list).toContain(`Signed in as ${who}`);
    const c = (await getCase(stack, incidentId)).incident as unknown as {
      severity: string;
      status: string;
      title: string;
    };
    const row = page.locator('tr', { has: page.locator(`a[href="/console/incidents/${incidentId}"]`) });
    const rowText = await row.innerText();
    expect(rowText).toContain(incidentId);
    expect(rowText).toContain(c.severity);
    expect(rowText).toContain(c.status.charAt(0) + c.status.slice(1).toLowerCase());
    expect(rowText).not.toContain(c.status);

    // The filter form is a plain GET form: choosing a severity needs no script.
    await page.selectOption('#severity', c.severity);
    await page.click('button:has-text("Show")');
    expect(new URL(page.url()).searchParams.get('severity')).toBe(c.severity);
    expect(await page.locator('body').innerText()).toContain(incidentId);

    await page.click(`a[href="/console/incidents/${incidentId}"]`);
    const casePage = await checkConsole(page, `${screen.name}-case`, requested);
    expect(casePage).toContain(incidentId);
    expect(casePage).toContain(c.severity);
    expect(casePage).toContain('Timeline, newest first');
    expect(casePage).toContain('What it cost');

    const file = await page.goto(`${stack.endpoints.api}/console/incidents/${incidentId}/case-file.txt`);
    expect(file?.headers()['content-type']).toBe('text/plain; charset=utf-8');
    expect(await page.locator('body').innerText()).toContain(incidentId);

    const origin = new URL(stack.endpoints.api).origin;
    expect(requested.filter((u) => new URL(u).origin !== origin)).toEqual([]);

    // Signing out ends the session: the console sends the browser to sign in again.
    await page.goto(`${stack.endpoints.api}/`);
    // Casebook's session ends, then the issuer's: its end-session page sends the browser back.
    await page.click('button:has-text("Sign out")');
    await page.waitForURL(`${stack.endpoints.api}/auth/logout`, { timeout: SERVER_MS });
    expect(await page.locator('h1').innerText()).toBe('You are signed out');
    const again = await page.request.get(`${stack.endpoints.api}/`, { maxRedirects: 0 });
    expect(again.status()).toBe(302);
  } finally {
    await context.close();
  }
}

describe('the incident console in a browser', () => {
  it('signs in, lists the incident, opens its case page and case file, at 1000 px and on a phone', async () => {
    const res = await postAlert(local.stack, alert);
    const { incidentId } = (await res.json()) as { incidentId: string };
    await waitFor('the incident', () => getCase(local.stack, incidentId));
    for (const screen of SCREENS) await walk(local.browser, screen, incidentId);
  }, 180_000);

  it('shows a closed case with its plan, approvals, ledger and money, at 1000 px and on a phone', async () => {
    const { stack } = local;
    const customers = await chargedCustomers(stack, THREE_CUSTOMERS);
    const { incidentId } = await openedToDecide(
      stack,
      // Another alert group: its own incident, not folded into the first test's.
      JSON.stringify({ ...JSON.parse(alert), groupKey: '{}:{alertname="PaymentDoubleCharge",closed="yes"}' }),
      customers,
      REFUND_CREDIT_NOTICE,
    );
    await approveRound(stack, incidentId);
    await closeCase(stack, incidentId, { timeoutMs: 120_000 });
    for (const screen of SCREENS) {
      const context = await local.browser.newContext({ viewport: screen.viewport, javaScriptEnabled: false });
      try {
        const page = await context.newPage();
        const requested = watchRequests(page);
        await page.goto(
          `${stack.endpoints.api}/auth/login?login_hint=lawyer@example.com&returnTo=${encodeURIComponent(`/console/incidents/${incidentId}`)}`,
          { timeout: SERVER_MS },
        );
        expect(new URL(page.url()).pathname).toBe(`/console/incidents/${incidentId}`);
        // Signing in went through the issuer: what counts is what the case page fetched.
        requested.length = 0;
        await page.reload();
        const text = await checkConsole(page, `${screen.name}-closed-case`, requested);
        expect(text).toContain(incidentId);
        expect(text).toContain('Closed');
        expect(text).toContain('ToS line');
        expect(text).toContain('EUR 19.75');
      } finally {
        await context.close();
      }
    }
  }, 240_000);
});
