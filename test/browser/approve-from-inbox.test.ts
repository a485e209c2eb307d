/**
 * As a new user would: a real Chromium opens the SES inbox of the local stack, follows each
 * approver's emailed link (the roles the approval policy asks for the incident's size) and
 * approves the plan with the form; the incident closes and the customer notices arrive in the
 * same inbox.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stackWithBrowser } from '../support/browser.ts';
import { closeCase, openedToDecide } from '../support/casework.ts';
import { inbox, waitFor } from '../support/local-stack.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

const local = stackWithBrowser();

describe('approving from the SES inbox in a browser', () => {
  it('opens each approval email, follows its link, approves, and sees the incident close', async () => {
    const { stack, browser } = local;
    const { incidentId } = await openedToDecide(stack, sample);
    // A small incident (three customers, money only): SRE and Business decide.
    await waitFor('two approval emails', async () => {
      const n = (await inbox(stack)).filter(
        (e) => e.subject.includes(`${incidentId}:`) && e.subject.includes('approval needed'),
      ).length;
      return n === 2 ? n : undefined;
    });

    const context = await browser.newContext();
    // A step that cannot happen fails naming its locator, well inside the test's own timeout.
    context.setDefaultTimeout(10_000);
    const inboxPage = await context.newPage();
    await inboxPage.goto(stack.endpoints.sesInbox);
    for (const role of ['Business', 'SRE']) {
      const email = inboxPage.locator('.email', { hasText: `${role} approval needed` });
      await email.getByRole('button', { name: 'Toggle HTML view' }).click();
      const link = email
        .locator('iframe')
        .contentFrame()
        .getByRole('link', { name: 'Open the case to approve, reject or ask for changes' });
      const [casePage] = await Promise.all([context.waitForEvent('page'), link.click()]);
      await casePage.waitForLoadState();
      await expect.poll(() => casePage.title()).toContain(`${incidentId}: ${role} approval`);
      expect(await casePage.getByText('Opening this page changed nothing').count()).toBe(1);

      await casePage.getByLabel('Approve the plan').check();
      await casePage
        .getByLabel('Reason (required to reject or ask for changes)')
        .fill(`${role}: notify both customers today`);
      await casePage.getByRole('button', { name: 'Record my decision' }).click();
      await casePage.waitForURL(/\/approvals\//);
      await expect
        .poll(() => casePage.locator('.box.ok').textContent())
        .toContain(`Approved by ${role} approver`);
      await casePage.close();
    }

    const closed = await closeCase(stack, incidentId);
    expect(
      closed.decisions
        .filter((d) => d.kind === 'approval')
        .map((d) => d.actor)
        .sort(),
    ).toEqual(['Business approver <business@casebook.local>', 'SRE approver <sre-lead@casebook.local>']);

    // The inbox page polls the store: the customer notices show up without a reload.
    await expect
      .poll(() => inboxPage.locator('.email', { hasText: 'About your account' }).count(), { timeout: 15_000 })
      .toBe(2);
    await inboxPage.screenshot({
      path: join(import.meta.dirname, '../../test-results/inbox-after-approvals.png'),
      fullPage: true,
    });
    await context.close();
  });
});
