/**
 * A responder answers the question about a bounced notice from a phone with JavaScript switched
 * off: the page lists the customer's other address on the list as a choice; "send it again" with no
 * address chosen is named on the page and records nothing; with the address chosen the page says
 * what was answered, and the SES inbox holds the notice to that address.
 */

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Customer } from '../../functions/domain/plan.ts';
import type { LocalStack } from '../../local/stack.ts';
import { apologyPlan, approvedForAct, bouncedQuestionLink, incidentForAct } from '../support/act-setup.ts';
import { launchChromium, SERVER_MS } from '../support/browser.ts';
import { freePorts, inbox, start, tempDataDir, waitFor } from '../support/local-stack.ts';

const BOUNCES = 'bounce+fay@simulator.amazonses.com';
const DELIVERS = 'success+fay@simulator.amazonses.com';

let stack: LocalStack;
let browser: Browser;
const dataDir = tempDataDir();
beforeAll(async () => {
  stack = await start(dataDir, await freePorts());
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('resending a bounced notice from its question page, without JavaScript', () => {
  it('chooses the other address with the form alone', async () => {
    const customers: Customer[] = [
      { customerRef: 'cus_fay', email: BOUNCES, name: 'Fay', otherEmails: [DELIVERS] },
    ];
    const incident = incidentForAct(10, 'INC-2026-8402', 'resend-in-browser');
    await approvedForAct(stack, dataDir, incident, customers, apologyPlan('Apologise to Fay'));
    const link = await bouncedQuestionLink(stack);
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      javaScriptEnabled: false,
    });
    phone.setDefaultTimeout(10_000);
    phone.setDefaultNavigationTimeout(SERVER_MS);
    const page = await phone.newPage();
    expect((await page.goto(link))?.status()).toBe(200);
    const width = await page
      .locator('html')
      .evaluate((root) => root.ownerDocument.documentElement.scrollWidth);
    // The customer's address and pseudonym wrap: the page fits the phone.
    expect(width).toBeLessThanOrEqual(390);

    // "Send it again" without an address: the page names the field, nothing is recorded or sent.
    await page.getByLabel(/Send it again, word for word/).check();
    await page.getByRole('button', { name: 'Record my answer' }).click();
    expect(await page.locator('.box.errors').innerText()).toMatch(/Nothing was recorded[\s\S]*address/);
    expect((await inbox(stack)).filter((m) => m.destination.to.includes(DELIVERS))).toEqual([]);

    // The answer typed is kept; the address is one click.
    expect(await page.getByLabel(/Send it again, word for word/).isChecked()).toBe(true);
    await page.getByLabel(DELIVERS).check();
    await page.getByRole('button', { name: 'Record my answer' }).click();
    await page.waitForURL(link);
    expect(await page.locator('.box.ok').innerText()).toMatch(/Answered "Send it again/);
    expect(await page.locator('form[method=post]').count()).toBe(0);

    const resent = await waitFor('the notice to the other address', async () =>
      (await inbox(stack)).find((m) => m.destination.to.includes(DELIVERS)),
    );
    const first = (await inbox(stack)).find((m) => m.destination.to.includes(BOUNCES));
    expect(resent.subject).toBe(first?.subject);
    await phone.close();
  }, 240_000);
});
