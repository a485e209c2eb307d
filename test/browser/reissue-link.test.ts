/**
 * The SRE lead replaces a responder's lost workroom link from a phone, with JavaScript switched
 * off: the form names the people and wants a reason (an empty one is named on the page, nothing
 * recorded), the page then says the new link is e-mailed, and the responder's old link shows a page
 * saying it was replaced, while the new one from the SES inbox opens the workroom.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SERVER_MS, stackWithBrowser } from '../support/browser.ts';
import { inPhase, RESPONDER, SRE_LEAD, workLinks } from '../support/casework.ts';
import { getCase, inbox, postAlert, waitFor } from '../support/local-stack.ts';

const alert = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

const local = stackWithBrowser();

describe('reissuing a link from the SRE lead’s workroom, without JavaScript', () => {
  it('replaces the responder’s link with forms alone', async () => {
    const { stack, browser } = local;
    const opened = await postAlert(stack, alert);
    expect(opened.status).toBe(201);
    const { incidentId } = (await opened.json()) as { incidentId: string };
    const links = await workLinks(stack, incidentId);
    const lead = links.get(SRE_LEAD) as string;
    const old = links.get(RESPONDER) as string;
    await inPhase(lead, 'Contain');

    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      javaScriptEnabled: false,
    });
    phone.setDefaultTimeout(10_000);
    phone.setDefaultNavigationTimeout(SERVER_MS);
    const page = await phone.newPage();
    expect((await page.goto(lead))?.status()).toBe(200);
    // The forms fit the phone: the people's list included.
    const width = await page
      .locator('html')
      .evaluate((root) => root.ownerDocument.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    const form = page.locator('#reissue-link');
    // Actions other than the next step are folded: the SRE lead opens this one first.
    const unfold = async () => {
      const fold = page.locator('details#more-reissue-link');
      if ((await fold.count()) > 0 && (await fold.getAttribute('open')) === null)
        await fold.locator('summary').click();
    };
    await unfold();
    await form.getByLabel('Whose link').selectOption(RESPONDER);

    // The reason is required: a browser that submits it empty anyway hears which field is wrong.
    await form
      .getByLabel('Reason (goes to the Decision Log)')
      .evaluate((el) => el.removeAttribute('required'));
    await form.getByRole('button', { name: 'Reissue a link' }).click();
    expect(await page.locator('[role=alert]').innerText()).toMatch(
      /Nothing was recorded[\s\S]*Reason[\s\S]*is required/,
    );
    expect((await getCase(stack, incidentId)).decisions.filter((d) => d.kind === 'link_reissued')).toEqual(
      [],
    );

    await unfold();
    await form.getByLabel('Whose link').selectOption(RESPONDER);
    await form.getByLabel('Reason (goes to the Decision Log)').fill('Lost their phone');
    await form.getByRole('button', { name: 'Reissue a link' }).click();
    expect(await page.locator('[role=status]').innerText()).toContain(
      'The new link is e-mailed to its person',
    );

    const fresh = await waitFor('the new link in the inbox', async () => {
      const mail = (await inbox(stack)).find(
        (m) => m.destination.to[0] === RESPONDER && m.subject.includes('new workroom link'),
      );
      return /(http:\/\/\S+\/work\/\S+)/.exec(mail?.body.text ?? '')?.[1];
    });
    expect(await page.content()).not.toContain(fresh.split('.').at(-1) as string);

    const gone = await page.goto(old);
    expect(gone?.status()).toBe(410);
    expect(await page.locator('h1').innerText()).toBe('This link no longer works');
    expect(await page.locator('body').innerText()).toContain('replaced');
    expect((await page.goto(fresh))?.status()).toBe(200);
    expect(await page.title()).toBe(`${incidentId}: workroom`);
    await phone.close();
  }, 120_000);
});
