/**
 * The whole flow as people live it, in a real Chromium with JavaScript off, each page read at
 * 1000 px and on a 390×844 phone: a person signs in to the console (the local OpenID Connect
 * issuer, as `login_hint` names them) and finds the incident; the responder opens the workroom
 * from the invitation in the SES inbox; Business asks for changes from the approval page; the
 * request comes back by e-mail and at the top of the workroom, whose plan form opens with plan v1
 * filled in; the responder edits the customers' notice and resubmits with a reply; round 2
 * approves; the progress e-mails arrive (plan approved, Act finished, postmortem due, closed); the
 * postmortem closes the case; the console shows it closed. Every page is checked by
 * test/support/page-checks.ts; screenshots go to test-results/ (git-ignored). And the facts: the
 * customers' notices are the edited template with each one's own amounts, date and credit, and
 * the case page's money is the P&L.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ROLE_LABEL } from '../../functions/domain/labels.ts';
import { SERVER_MS, stackWithBrowser } from '../support/browser.ts';
import {
  chargedCustomers,
  done,
  inPhase,
  POSTMORTEM,
  RESPONDER,
  THREE_CUSTOMERS,
} from '../support/casework.ts';
import { getCase, inbox, postAlert, waitFor } from '../support/local-stack.ts';
import { checkPage, SHOTS, watchRequests } from '../support/page-checks.ts';

const alert = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');
const SCREENS = [
  { name: '1000px', viewport: { width: 1000, height: 800 }, isMobile: false },
  { name: '390x844', viewport: { width: 390, height: 844 }, isMobile: true },
] as const;

const local = stackWithBrowser();

/** The first draft's words: the date is the alert's, not the customers' own. */
const NOTICE_V1 = {
  subject: 'About your payment (ref {{incident}})',
  body: 'Hello {{name}},\n\nA payment you made on 22 November was charged twice. We refunded {{amount_refunded}}.',
};
/** What the responder types into the pre-filled form after the change request. */
const NOTICE_V2_BODY =
  'Hello {{name}},\n\nYour payment of {{paid_at}} was charged twice. We refunded {{amount_refunded}} and added a credit of {{credit}}.\n\nWe are sorry.';
const REASON = 'Fix the date in the notice: they paid on 6 December; and tell them of the credit';
const REPLY = 'The notice now gives each customer their own payment date and names the credit.';

const PLAN_V1 = {
  summary: 'Refund the double charge, add a goodwill credit, and tell each customer.',
  notice: NOTICE_V1,
  apply: [
    { kind: 'refund', amount: 'affected', obligation: 'tos' },
    { kind: 'credit', amount: '5.00', currency: 'EUR', obligation: 'brand' },
    { kind: 'notice', obligation: 'tos', template: 'refund_confirmation' },
  ],
  effects: [],
};

interface Reader {
  readonly screen: (typeof SCREENS)[number];
  readonly page: Page;
  readonly requested: string[];
}

describe('the whole flow, from the inbox to the closed case, in a browser', () => {
  it('signs in, works the case through a change request and a second round to CLOSED, every page fitting and every fact true', async () => {
    const { stack, browser } = local;
    const api = stack.endpoints.api;
    const contexts: BrowserContext[] = [];
    try {
      // Three customers, charged at the Stripe stand-in, each with the date they paid.
      const [header, ...rows] = (await chargedCustomers(stack, THREE_CUSTOMERS)).split('\n');
      const customers = [`${header},paid_at`, ...rows.map((r) => `${r},2026-12-06`)].join('\n');
      const opened = await postAlert(
        stack,
        JSON.stringify({
          ...JSON.parse(alert),
          groupKey: '{}:{alertname="PaymentDoubleCharge",flow="whole"}',
        }),
      );
      expect(opened.status).toBe(201);
      const { incidentId } = (await opened.json()) as { incidentId: string };

      // The readers: JavaScript off, one at 1000 px, one on a phone; each signs in.
      const readers: Reader[] = [];
      for (const screen of SCREENS) {
        const context = await browser.newContext({
          viewport: screen.viewport,
          isMobile: screen.isMobile,
          hasTouch: screen.isMobile,
          javaScriptEnabled: false,
        });
        contexts.push(context);
        context.setDefaultTimeout(10_000);
        context.setDefaultNavigationTimeout(SERVER_MS);
        const page = await context.newPage();
        const requested = watchRequests(page);
        await page.goto(
          `${api}/auth/login?login_hint=${encodeURIComponent(`ada.${screen.name}@example.com`)}`,
        );
        expect(page.url()).toBe(`${api}/`);
        requested.length = 0;
        readers.push({ screen, page, requested });
      }
      const [desk] = readers as [Reader, Reader];

      /** Opens `url` (or reloads the current page) on every screen, checks it, answers the desk's text. */
      const look = async (step: string, url?: string): Promise<string> => {
        let text = '';
        for (const reader of readers) {
          if (url ?? reader !== desk) await reader.page.goto(url ?? desk.page.url());
          const seen = await checkPage(
            reader.page,
            `whole-flow-${step}-${reader.screen.name}`,
            reader.requested,
          );
          if (reader === desk) text = seen;
        }
        return text;
      };

      // The SES inbox is the emulator's own page, with its script: it is read in a context of its own.
      const mailContext = await browser.newContext();
      contexts.push(mailContext);
      mailContext.setDefaultTimeout(15_000);
      const inboxPage = await mailContext.newPage();
      /** The link `name` in the e-mail whose text has every one of `has`, as the inbox shows it. */
      const mailLink = async (has: readonly string[], name: string): Promise<string> => {
        await waitFor(`an e-mail with ${has.join(', ')}`, async () =>
          (await inbox(stack)).some((m) => has.every((h) => `${m.subject}\n${m.body.text}`.includes(h)))
            ? true
            : undefined,
        );
        await inboxPage.goto(stack.endpoints.sesInbox);
        let email = inboxPage.locator('.email');
        for (const h of has) email = email.filter({ hasText: h });
        await email.first().getByRole('button', { name: 'Toggle HTML view' }).click();
        const href = await email
          .first()
          .locator('iframe')
          .contentFrame()
          .getByRole('link', { name })
          .getAttribute('href');
        if (!href) throw new Error(`no link "${name}" in the e-mail with ${has.join(', ')}`);
        return href;
      };

      // The console lists the new incident.
      expect(await look('console-list')).toContain(incidentId);

      // The responder's invitation, from the inbox, opens the workroom; they acknowledge there.
      const workroom = await mailLink([`${incidentId}: you are a responder`], 'Open the workroom');
      const detect = await look('workroom-detect', workroom);
      expect(detect).toContain('Acknowledge');
      await desk.page.click('form#acknowledge button[type=submit]');
      expect(await look('workroom-acknowledged')).toContain(RESPONDER);
      expect(await desk.page.locator('form#acknowledge').count()).toBe(0);

      // Containment, impact, the list and plan v1 as the workroom's forms post them (the phone
      // test walks those forms one by one); the loop below is done on the pages.
      await done(workroom, 'contain', {
        actions: [
          { description: 'Retries of settlement calls turned off', safety: 'SAFE_REVERSIBLE', world: 'RML2' },
        ],
        contained: true,
      });
      await inPhase(workroom, 'Understand');
      await done(workroom, 'impact', {
        users: 3,
        transactions: 3,
        assets: ['money'],
        from: '2026-12-06T10:23:00Z',
        to: '2026-12-06T11:05:00Z',
        summary: 'Three payments were charged twice.',
      });
      await done(workroom, 'customers', customers);
      await done(workroom, 'plan', PLAN_V1);
      await done(workroom, 'submit-plan');
      await inPhase(workroom, 'Decide', 60_000);
      await look('workroom-decide', workroom);

      // Round 1: each approver opens their e-mail; SRE approves, Business asks for changes.
      const roles = (await getCase(stack, incidentId)).incident.approvalRound?.rule.roles ?? [];
      expect(roles).toContain('business');
      for (const role of roles) {
        const label = ROLE_LABEL[role as keyof typeof ROLE_LABEL];
        const link = await mailLink(
          [`${incidentId}: ${label} approval needed`, 'Round 1:'],
          'Open the case to approve, reject or ask for changes',
        );
        const page = await look(`approval-round-1-${role}`, link);
        expect(page).toContain('Opening this page changed nothing');
        const asks = role === 'business';
        await desk.page
          .getByLabel(
            asks ? 'Ask for changes (back to the responders for a revised plan)' : 'Approve the plan',
          )
          .check();
        await desk.page
          .getByLabel('Reason (required to reject or ask for changes)')
          .fill(asks ? REASON : 'Contained; the refunds are right');
        await desk.page.getByRole('button', { name: 'Record my decision' }).click();
        await desk.page.waitForURL(/\/approvals\//);
        expect(await look(`approval-round-1-${role}-decided`)).toContain(
          asks ? 'Changes requested by' : 'Approved by',
        );
      }

      // The request comes back by e-mail, with its reason and the responder's own workroom link,
      // which opens the workroom with the request at the top (the invitation's link works as well).
      const cameBack = await waitFor('the change request e-mail', async () =>
        (await inbox(stack)).find(
          (m) =>
            m.destination.to.includes(RESPONDER) &&
            m.subject.includes(`${incidentId}: plan v1 came back`) &&
            m.body.text?.includes(REASON),
        ),
      );
      const fromMail = /(http:\/\/\S+\/work\/\S+)/.exec(cameBack.body.text ?? '')?.[1] ?? '';
      expect(fromMail.split('.').slice(0, -1)).toEqual(workroom.split('.').slice(0, -1));
      expect(fromMail).not.toBe(workroom);
      await inPhase(fromMail, 'Understand', 60_000);
      const understand = await look('workroom-changes-requested', fromMail);
      expect(understand.indexOf(REASON)).toBeGreaterThan(-1);
      expect(understand.indexOf(REASON)).toBeLessThan(understand.indexOf('Timeline'));

      // The plan form opens with plan v1 in it; the responder edits only the notice's body.
      expect(await desk.page.inputValue('#plan-kind_1')).toBe('refund');
      expect(await desk.page.inputValue('#plan-amount_1')).toBe('affected');
      expect(await desk.page.inputValue('#plan-kind_2')).toBe('credit');
      expect(await desk.page.inputValue('#plan-amount_2')).toBe('5.00');
      expect(await desk.page.inputValue('#plan-template_3')).toBe('refund_confirmation');
      expect(await desk.page.inputValue('#plan-notice_subject')).toBe(NOTICE_V1.subject);
      expect(await desk.page.inputValue('#plan-notice_body')).toBe(NOTICE_V1.body);
      await desk.page.fill('#plan-notice_body', NOTICE_V2_BODY);
      await desk.page.click('form#plan button[type=submit]');
      const preview = await look('workroom-plan-v2');
      expect(preview).toContain('Your payment of 6 December 2026 was charged twice.');
      await desk.page.fill('#submit-plan-reply', REPLY);
      await desk.page.click('form#submit-plan button[type=submit]');
      await look('workroom-plan-v2-submitted');

      // Round 2: the approvers read the reply and the notice as it will be sent, and approve.
      for (const role of roles) {
        const label = ROLE_LABEL[role as keyof typeof ROLE_LABEL];
        const link = await mailLink(
          [`${incidentId}: ${label} approval needed`, 'Round 2:'],
          'Open the case to approve, reject or ask for changes',
        );
        const page = await look(`approval-round-2-${role}`, link);
        expect(page).toContain(REPLY);
        expect(page).toContain('Your payment of 6 December 2026 was charged twice.');
        await desk.page.getByLabel('Approve the plan').check();
        await desk.page.getByRole('button', { name: 'Record my decision' }).click();
        await desk.page.waitForURL(/\/approvals\//);
        expect(await look(`approval-round-2-${role}-decided`)).toContain('Approved by');
      }

      // Act carries it out; the progress e-mails tell the responder (who leads) what happened.
      await inPhase(workroom, 'Learn', 120_000);
      const mailTo = async (to: string, subject: string) =>
        waitFor(`"${subject}" to ${to}`, async () =>
          (await inbox(stack)).filter(
            (m) => m.destination.to.includes(to) && m.subject.includes(`${incidentId}: ${subject}`),
          ).length === 1
            ? (await inbox(stack)).find((m) => m.subject.includes(`${incidentId}: ${subject}`))
            : undefined,
        );
      await mailTo(RESPONDER, 'plan v2 approved');
      const actDone = await mailTo(RESPONDER, 'remediation done');
      expect(actDone.body.text).toContain(
        'plan v2: 3 of 3 refunds confirmed, 3 of 3 credits confirmed, 3 notices sent, 0 questions open.',
      );
      expect((await mailTo(RESPONDER, 'postmortem due')).subject).toMatch(
        /postmortem due by \d{4}-\d{2}-\d{2}/,
      );
      await look('workroom-learn', workroom);

      // The customers' notices as sent: the edited template, each with their own amounts.
      const notices = (await inbox(stack)).filter(
        (m) => m.subject === `About your payment (ref ${incidentId})`,
      );
      const bodyOf = (to: string) => notices.find((m) => m.destination.to.includes(to))?.body.text;
      expect(notices).toHaveLength(3);
      const expected = (name: string, refunded: string) =>
        `Hello ${name},\n\nYour payment of 6 December 2026 was charged twice. We refunded ${refunded} and added a credit of EUR 5.00.\n\nWe are sorry.`;
      expect(bodyOf('ada@example.com')).toBe(expected('Ada Lovelace', 'EUR 12.50'));
      expect(bodyOf('alan@example.com')).toBe(expected('Alan Turing', 'EUR 7.25'));
      expect(bodyOf('grace@example.com')).toMatch(
        /^Hello Grace Hopper,\n\n.* We refunded JPY 1,?200 and added/,
      );

      // The postmortem closes the case; the workroom opens with it; everyone who took part is told.
      await done(workroom, 'postmortem', POSTMORTEM);
      await waitFor('the incident to close', async () =>
        (await getCase(stack, incidentId)).incident.status === 'CLOSED' ? true : undefined,
      );
      expect(await look('workroom-closed', workroom)).toContain(POSTMORTEM.title);
      await mailTo(RESPONDER, 'closed');
      // Each progress e-mail once.
      const told = (await inbox(stack))
        .filter((m) => m.destination.to.includes(RESPONDER))
        .map((m) => m.subject.split(`${incidentId}: `)[1]?.split(' — ')[0])
        .filter((s) => s && /^(plan v\d|remediation done|postmortem due|closed)/.test(s));
      expect(told).toEqual([...new Set(told)]);
      expect(told).toHaveLength(5);

      // The console: the closed case, whose money is the P&L of the same effects.
      const casePage = await look('console-closed-case', `${api}/console/incidents/${incidentId}`);
      expect(casePage).toContain('Closed');
      const moneyRows = async (heading: string) =>
        desk.page
          .locator(`h3:text-is("${heading}") + table tbody tr, h2:text-is("${heading}") + table tbody tr`)
          .evaluateAll((trs) =>
            trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')),
          );
      const planned = (await moneyRows('Money the plan pays out')).map(([kind, line, , amount]) =>
        [kind, line, amount].join(' · '),
      );
      // What it cost is a page of its own: the P&L reads every entry of the ledger.
      await look('console-closed-cost', `${api}/console/incidents/${incidentId}/cost`);
      const paid = (await moneyRows('By kind'))
        .filter(([kind]) => kind === 'Refund' || kind === 'Goodwill credit')
        .map(([kind, line, , amount]) => [kind, line, amount].join(' · '));
      expect(paid.sort()).toEqual(planned.sort());
      expect(paid).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^Refund · ToS line · EUR 19\.75$/),
          expect.stringMatching(/^Refund · ToS line · JPY 1,?200$/),
          expect.stringMatching(/^Goodwill credit · Brand line · EUR 15\.00$/),
        ]),
      );
      await inboxPage.screenshot({ path: join(SHOTS, 'whole-flow-inbox.png'), fullPage: true });
    } finally {
      for (const context of contexts) await context.close();
    }
  }, 420_000);
});
