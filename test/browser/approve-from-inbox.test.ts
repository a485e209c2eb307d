/**
 * As a new user would: a real Chromium opens the SES inbox of the local stack and follows each
 * approver's emailed link (the roles the approval policy asks for the incident's size). In round 1
 * SRE approves and Business asks for changes, with a comment, from the page's form; the incident
 * goes back to Understand, where the responder revises the plan through the workroom (over HTTP).
 * Round 2's e-mails arrive; each approver opens theirs, sees what changed since the plan they saw,
 * and approves; the incident closes and the customer notices arrive in the same inbox.
 * Screenshots go to test-results/ (git-ignored), kept as the run's artifacts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { followToNewTab, SERVER_MS, stackWithBrowser } from '../support/browser.ts';
import { closeCase, inPhase, openedToDecide, resubmitPlan } from '../support/casework.ts';
import { getCase, inbox, waitFor } from '../support/local-stack.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');
const ARTIFACTS = join(import.meta.dirname, '../../test-results');

const local = stackWithBrowser();

/** Waits until the store has `count` approval e-mails about `incidentId` for `round`. */
function approvalMails(incidentId: string, round: number, count: number): Promise<number> {
  return waitFor(`${count} approval emails for round ${round}`, async () => {
    const n = (await inbox(local.stack)).filter(
      (e) => e.subject.includes(`${incidentId}:`) && e.body.text?.includes(`Round ${round}:`),
    ).length;
    return n === count ? n : undefined;
  });
}

/**
 * Opens `role`'s approval e-mail of `round` in the inbox, shows its HTML, and clicks the link in it,
 * as a person does: the case opens in a new tab.
 */
async function openFromInbox(
  context: BrowserContext,
  inboxPage: Page,
  incidentId: string,
  round: number,
  role: string,
): Promise<Page> {
  const email = inboxPage
    .locator('.email', { hasText: `${incidentId}: ${role} approval needed` })
    .filter({ hasText: `Round ${round}:` });
  await email.getByRole('button', { name: 'Toggle HTML view' }).click();
  const link = email
    .locator('iframe')
    .contentFrame()
    .getByRole('link', { name: 'Open the case to approve, reject or ask for changes' });
  // The link is this round's and role's, opens a tab of its own and tells the page nothing of the inbox.
  expect(await link.getAttribute('href')).toMatch(
    new RegExp(`/approvals/${incidentId}\\.${round}\\.${role.toLowerCase()}\\.[A-Za-z0-9_-]{43}$`),
  );
  expect(await link.getAttribute('target')).toBe('_blank');
  expect((await link.getAttribute('rel'))?.split(' ').sort()).toEqual(['noopener', 'noreferrer']);
  const casePage = await followToNewTab(context, link);
  await expect.poll(() => casePage.title()).toContain(`${incidentId}: ${role} approval`);
  expect(await casePage.getByText('Opening this page changed nothing').count()).toBe(1);
  return casePage;
}

/** Chooses a decision on the page's form, gives the reason, and records it. */
async function decideOnPage(casePage: Page, choice: string, reason: string): Promise<void> {
  await casePage.getByLabel(choice).check();
  await casePage.getByLabel('Reason (required to reject or ask for changes)').fill(reason);
  await casePage.getByRole('button', { name: 'Record my decision' }).click();
  await casePage.waitForURL(/\/approvals\//);
}

describe('deciding from the SES inbox in a browser', () => {
  it('asks for changes, sees what changed in the next round, approves, and sees the incident close', async () => {
    const { stack, browser } = local;
    const { incidentId, link: responder } = await openedToDecide(stack, sample);
    // A small incident (two customers, money only): SRE and Business decide.
    await approvalMails(incidentId, 1, 2);

    const context = await browser.newContext();
    // A step that cannot happen fails naming its locator, well inside the test's own timeout.
    context.setDefaultTimeout(10_000);
    context.setDefaultNavigationTimeout(SERVER_MS);
    const inboxPage = await context.newPage();
    await inboxPage.goto(stack.endpoints.sesInbox);

    // Round 1: SRE approves; Business asks for changes, with its reason.
    const sre = await openFromInbox(context, inboxPage, incidentId, 1, 'SRE');
    await decideOnPage(sre, 'Approve the plan', 'SRE: contained, the apology is right');
    await expect.poll(() => sre.locator('.box.ok').textContent()).toContain('Approved by SRE approver');
    await sre.close();
    const business = await openFromInbox(context, inboxPage, incidentId, 1, 'Business');
    await decideOnPage(
      business,
      'Ask for changes (back to the responders for a revised plan)',
      'Also correct the receipt we sent them',
    );
    await expect
      .poll(() => business.locator('.box.no').textContent())
      .toContain('Changes requested by Business approver');
    await business.screenshot({ path: join(ARTIFACTS, 'approval-changes-requested.png'), fullPage: true });
    await business.close();

    // Back to Understand with the reason; the responder revises the plan and submits it again.
    await inPhase(responder, 'Understand');
    expect((await getCase(stack, incidentId)).incident.planRejected?.reason).toMatch(
      /^Changes requested: .*Business requested changes: Also correct the receipt we sent them$/,
    );
    await resubmitPlan(responder);

    // Round 2: each approver opens the new e-mail, sees what changed since plan v1, and approves.
    await approvalMails(incidentId, 2, 2);
    for (const role of ['Business', 'SRE']) {
      const casePage = await openFromInbox(context, inboxPage, incidentId, 2, role);
      await expect
        .poll(() => casePage.getByRole('heading', { name: /^What changed since plan v1/ }).textContent())
        .toBe('What changed since plan v1, which you saw in round 1');
      expect(await casePage.getByText('Added Notice (ToS line): 2').count()).toBe(1);
      if (role === 'Business') {
        await casePage.screenshot({ path: join(ARTIFACTS, 'approval-round-2-changes.png'), fullPage: true });
      }
      await decideOnPage(casePage, 'Approve the plan', `${role}: notify both customers today`);
      await expect
        .poll(() => casePage.locator('.box.ok').textContent())
        .toContain(`Approved by ${role} approver`);
      await casePage.close();
    }

    const closed = await closeCase(stack, incidentId);
    expect(
      closed.decisions
        .filter((d) => d.kind === 'approval')
        .map((d) => [d.detail.round, d.role, d.decision, d.actor]),
    ).toEqual([
      [1, 'sre', 'approve', 'SRE approver <sre-lead@casebook.local>'],
      [1, 'business', 'request-changes', 'Business approver <business@casebook.local>'],
      [2, 'business', 'approve', 'Business approver <business@casebook.local>'],
      [2, 'sre', 'approve', 'SRE approver <sre-lead@casebook.local>'],
    ]);

    // The inbox page polls the store: the customer notices show up without a reload.
    for (const subject of ['About your account', 'A correction to our earlier message']) {
      await expect
        .poll(() => inboxPage.locator('.email', { hasText: subject }).count(), { timeout: 15_000 })
        .toBe(2);
    }
    await inboxPage.screenshot({ path: join(ARTIFACTS, 'inbox-after-approvals.png'), fullPage: true });
    await context.close();
  }, 240_000);
});
