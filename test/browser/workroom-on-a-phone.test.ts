/**
 * A responder works an incident from their phone, as a new user would: a real Chromium opens the
 * invitation in the local stack's SES inbox and follows its link; then, on a 390×844 screen with
 * JavaScript switched off, the workroom is acknowledged, the incident contained (two actions, one
 * RISKY), its impact assessed, the affected customers uploaded as a CSV file, a plan written —
 * first with a mistake the page names, then right — and submitted, with the totals per kind,
 * currency and P&L line on the page. After every step the page must fit the screen, ask first,
 * label every control, run no script and fetch nothing from elsewhere. Screenshots of each step go
 * to test-results/ (git-ignored).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { followToNewTab, SERVER_MS, stackWithBrowser } from '../support/browser.ts';
import { chargedCustomers, inPhase, RESPONDER, THREE_CUSTOMERS, workLinks } from '../support/casework.ts';
import { getCase, postAlert } from '../support/local-stack.ts';
import { checkPageLayout, SHOTS, watchRequests } from '../support/page-checks.ts';

const alert = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');
const PHONE = { width: 390, height: 844 };

const local = stackWithBrowser();

/**
 * What every state of the workroom must be on a phone: what every page must be, and the phone's
 * own width, each id once, no date-time picker, what is asked of this person before any section
 * (after the title, the summary and what came back to them), times in words. Answers the text.
 */
async function checkOnPhone(page: Page, step: string, requested: string[]): Promise<string> {
  const { text, seen } = await checkPageLayout(page, `workroom-390x844-${step}`, requested);
  expect(seen.width, step).toBe(PHONE.width);
  expect(seen.duplicateIds, step).toEqual([]);
  expect(seen.pickers, step).toBe(0);
  expect(seen.order.indexOf('asked'), step).toBeLessThan(seen.tags.indexOf('h2'));
  expect(text, step).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/);
  return text;
}

/** The page's summary as one line: "status Open · phase Contain · led by …". */
const statusLine = async (page: Page) => {
  const value = (term: string) => page.locator(`#summary dt:text-is("${term}") + dd`).innerText();
  return `status ${await value('Status')} · phase ${await value('Phase')} · led by ${await value('Lead')}`;
};

/** Reloads the workroom until its status line says `phase`: the state machine moves on its own. */
async function reloadUntil(page: Page, phase: string): Promise<void> {
  await expect
    .poll(
      async () => {
        await page.reload();
        return statusLine(page);
      },
      { timeout: 20_000, interval: 250 },
    )
    .toContain(`phase ${phase}`);
}

describe('the workroom on a 390-px phone, from the invitation e-mail', () => {
  it('is worked from Contain to a submitted plan with forms alone, and shows the plan totals', async () => {
    const { stack, browser } = local;
    const opened = await postAlert(stack, alert);
    expect(opened.status).toBe(201);
    const { incidentId } = (await opened.json()) as { incidentId: string };
    const sentTo = (await workLinks(stack, incidentId)).get(RESPONDER) as string;
    await inPhase(sentTo, 'Contain');

    // The inbox viewer needs JavaScript; the workroom must not.
    const mail = await browser.newContext();
    mail.setDefaultTimeout(10_000);
    const inboxPage = await mail.newPage();
    await inboxPage.goto(stack.endpoints.sesInbox);
    const email = inboxPage
      .locator('.email', { hasText: `${incidentId}: you are a responder` })
      .filter({ hasText: `To: ${RESPONDER}` });
    await email.getByRole('button', { name: 'Toggle HTML view' }).click();
    const link = email.locator('iframe').contentFrame().getByRole('link', { name: 'Open the workroom' });
    const followed = await followToNewTab(mail, link);
    expect(followed.url()).toBe(sentTo);
    expect(await followed.title()).toBe(`${incidentId}: workroom`);
    await mail.close();

    const phone = await browser.newContext({
      viewport: PHONE,
      isMobile: true,
      hasTouch: true,
      javaScriptEnabled: false,
    });
    phone.setDefaultTimeout(10_000);
    // A form's POST and the page it leads to wait on the stack, which a loaded machine makes slow.
    phone.setDefaultNavigationTimeout(SERVER_MS);
    const page = await phone.newPage();
    // Each check looks at what its page fetched; `everything` keeps it all for the end.
    const requested = watchRequests(page);
    const everything = watchRequests(page);
    expect((await page.goto(sentTo))?.status()).toBe(200);
    let text = await checkOnPhone(page, '1-opened', requested);
    expect(await statusLine(page)).toContain('status Open · phase Contain');
    expect(await page.locator('#asked').innerText()).toMatch(
      /^Asked of you: Acknowledge the incident: .+ By \d{1,2} [A-Z][a-z]{2} \d{2}:\d{2} UTC, in 1\d min\.$/,
    );
    expect(text.indexOf('Asked of you')).toBeLessThan(text.indexOf('Deadlines'));

    // Acknowledge.
    await page.locator('#acknowledge').getByRole('button', { name: 'Acknowledge' }).click();
    text = await checkOnPhone(page, '2-acknowledged', requested);
    expect(await statusLine(page)).toContain(`status Investigating · phase Contain`);
    expect(await statusLine(page)).toContain(`led by ${RESPONDER}`);
    expect(text).toContain('Recorded. You acknowledged the incident.');
    expect(await page.locator('#asked').innerText()).toMatch(
      /^Asked of you: Contain it: .+ By .+ UTC, in 1 h 5\d min\.$/,
    );

    // Contain: two actions, one of them RISKY, and contained.
    const contain = page.locator('form#contain');
    const action = (n: number) => contain.getByRole('group', { name: new RegExp(`^Action ${n}`) });
    await action(1).getByLabel('What was done').fill('Feature flag payments.retry-with-backoff turned off');
    await action(1).getByLabel('Safety').selectOption('SAFE_REVERSIBLE');
    await action(2).getByLabel('What was done').fill('Settlement batch 2026-11-22 held back');
    await action(2).getByLabel('Safety').selectOption('RISKY');
    await action(2).getByLabel('World').selectOption('RML3');
    await contain.getByLabel('The incident is contained').check();
    await contain.getByRole('button', { name: 'Report containment' }).click();
    text = await checkOnPhone(page, '3-contained', requested);
    expect(await statusLine(page)).toContain('status Mitigated');
    expect(text).toContain('Recorded. Your containment report is recorded.');
    // What comes next is asked at once, though the state machine may still be leaving Contain.
    expect(await page.locator('#asked').innerText()).toMatch(/^Asked of you: Assess the impact/);
    expect(text).toContain(
      'Settlement batch 2026-11-22 held back (risky (goes to the Decision Log), RML3 (history))',
    );
    await reloadUntil(page, 'Understand');

    // Impact.
    const impact = page.locator('form#impact');
    await impact.getByLabel('Users affected').fill('3');
    await impact.getByLabel('Transactions affected').fill('3');
    await impact.getByRole('group', { name: 'At risk' }).getByLabel('money').check();
    await impact.getByLabel('Since (UTC').fill('2026-11-22 10:23');
    await impact.getByLabel('Until (UTC').fill('2026-11-22 11:05');
    await impact.getByLabel('Summary').fill('Three settled payments were charged twice.');
    await impact.getByRole('button', { name: 'Assess the impact' }).click();
    text = await checkOnPhone(page, '4-impact', requested);
    expect(text).toContain('Recorded. The impact is recorded.');
    expect(text).toMatch(
      /3 users, 3 transactions; at risk: Money; since 22 Nov( 2026)? 10:23 UTC, .+ until 22 Nov( 2026)? 11:05 UTC/,
    );
    expect(text).toMatch(/Size Small: /);
    expect(await page.locator('#asked').innerText()).toMatch(/^Asked of you: List the affected customers/);

    // The customers, as a CSV file: three in two currencies, each charged at the Stripe stand-in, so
    // the refund check before approval finds the payments the plan refunds.
    const customers = page.locator('form#customers');
    expect(await customers.getAttribute('enctype')).toBe('multipart/form-data');
    await customers.getByLabel('CSV file').setInputFiles({
      name: 'affected-customers.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(await chargedCustomers(stack, THREE_CUSTOMERS)),
    });
    await customers.getByRole('button', { name: 'Upload the affected customers' }).click();
    text = await checkOnPhone(page, '5-customers', requested);
    expect(text).toContain('Recorded. The customer list is uploaded.');
    expect(text).toContain('3 customers (list v1); EUR 19.75 over 2; JPY 1200 over 1.');
    const customerTable = page.locator('h2:has-text("Affected customers") + p + table');
    expect(await customerTable.locator('td[data-label="Customer"]').allInnerTexts()).toEqual([
      'cus_ada',
      'cus_alan',
      'cus_grace',
    ]);
    // Folded on the phone: a row's cells one under the other, none cut off.
    const adaTops = await customerTable
      .locator('tbody tr')
      .first()
      .locator('td')
      .evaluateAll((cells) => cells.map((td) => td.getBoundingClientRect().top));
    expect(adaTops).toEqual([...adaTops].sort((a, b) => a - b));
    expect(new Set(adaTops).size).toBe(6);

    // The plan, first with a comma for a decimal point: the page names the field, nothing is written.
    const plan = page.locator('form#plan');
    const rule = (n: number) => plan.getByRole('group', { name: new RegExp(`^Rule ${n}`) });
    await plan.getByLabel('Summary').fill('Refund the double charge, add a goodwill credit, and apologise.');
    await rule(1).getByLabel('Kind').selectOption('refund');
    await rule(1).getByLabel('Amount per customer').fill('affected');
    await rule(1).getByLabel('P&L line').selectOption('tos');
    await rule(2).getByLabel('Kind').selectOption('credit');
    await rule(2).getByLabel('Amount per customer').fill('5,00');
    await rule(2).getByLabel('Currency of a decimal amount').fill('eur');
    await rule(2).getByLabel('P&L line').selectOption('brand');
    await rule(3).getByLabel('Kind').selectOption('notice');
    await rule(3).getByLabel('P&L line').selectOption('brand');
    await rule(3).getByLabel('Notice template').selectOption('apology');
    const before = JSON.stringify(await getCase(stack, incidentId));
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/plan')),
      plan.getByRole('button', { name: 'Write the remediation plan' }).click(),
    ]);
    expect(refused.status()).toBe(400);
    await page.waitForLoadState();
    text = await checkOnPhone(page, '6-plan-refused', requested);
    await page.screenshot({ path: join(SHOTS, 'workroom-390x844-6-plan-refused-first-screen.png') });
    expect((await page.getByRole('alert').innerText()).replace(/\n+/g, '\n')).toBe(
      'Nothing was recorded (Write the remediation plan):\nRule 2: Amount per customer: must be a decimal such as 12.50',
    );
    expect(text).toContain('No plan yet.');
    expect(JSON.stringify(await getCase(stack, incidentId))).toBe(before);
    // What was typed is still there; only the wrong amount needs retyping.
    await expect.poll(() => rule(1).getByLabel('Amount per customer').inputValue()).toBe('affected');
    expect(await rule(3).getByLabel('Notice template').inputValue()).toBe('apology');
    const amount = rule(2).getByLabel('Amount per customer');
    expect(await amount.getAttribute('aria-invalid')).toBe('true');
    await amount.fill('5.00');
    await plan.getByRole('button', { name: 'Write the remediation plan' }).click();
    text = await checkOnPhone(page, '7-plan', requested);
    expect(text).toContain('Recorded. The plan is written');

    // The totals per kind, currency and P&L line, and per line.
    const totals = page.locator('h2:has-text("Remediation plan") ~ table').first();
    const rows = await totals
      .locator('tbody tr')
      .evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent).join(' | ')),
      );
    expect(rows).toEqual([
      'Goodwill credit | EUR 15.00 | Brand line | 3',
      'Notice | — | Brand line | 3',
      'Refund | EUR 19.75 | ToS line | 2',
      'Refund | JPY 1200 | ToS line | 1',
    ]);
    expect(text).toContain('ToS line EUR 19.75, JPY 1200 · Brand line EUR 15.00');
    expect(await page.locator('#asked').innerText()).toMatch(/^Asked of you: Submit plan v1 for approval/);
    // …and by the submit button, which comes next, so a phone need not scroll down to check them.
    expect(await page.locator('form#submit-plan').innerText()).toContain(
      '9 effects; ToS line EUR 19.75, JPY 1200 · Brand line EUR 15.00.',
    );

    // Submit it: the incident goes to the approvers.
    await page
      .locator('form#submit-plan')
      .getByRole('button', { name: 'Submit the plan for approval' })
      .click();
    text = await checkOnPhone(page, '8-submitted', requested);
    expect(text).toContain('Recorded. The plan is submitted for approval.');
    expect(text).toMatch(/v1 by responder@casebook\.local: Refund the double charge.+\(submitted\)/);
    await reloadUntil(page, 'Decide');
    text = await checkOnPhone(page, '9-decide', requested);
    // Three users and money: a small incident, which the default policy gives to SRE and Business.
    expect(await page.locator('#asked').innerText()).toMatch(
      /(Business and SRE|SRE and Business); 2 of 2 must approve — on plan v1/,
    );

    // Nothing was fetched from another origin, on any page.
    const origin = new URL(sentTo).origin;
    expect(everything.length).toBeGreaterThan(10);
    expect(everything.filter((url) => !url.startsWith(origin))).toEqual([]);
    await page.locator('h1').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'workroom-390x844-first-screen.png') });
    await phone.close();
  }, 120_000);
});
