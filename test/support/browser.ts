/** Launching the Chromium that `chromium-setup.ts` found, for a closed network. */
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, inject } from 'vitest';
import type { LocalStack } from '../../local/stack.ts';
import { freePorts, start, tempDataDir } from './local-stack.ts';

/**
 * Nothing in the browser may reach out: no QUIC, no background fetches, no component or sync
 * updates. Playwright gives every `launch()` a fresh `--user-data-dir` under the temp directory and
 * removes it on close (it refuses one in `args`), so no profile carries over between runs.
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  const { executablePath, env } = inject('chromium');
  return chromium.launch({ executablePath, args: CHROMIUM_FLAGS, env: { ...process.env, ...env } });
}

/**
 * A local stack and a Chromium for one browser test file: started before its tests, closed after
 * them. Read the fields inside the tests (they are set once `beforeAll` has run).
 */
export function stackWithBrowser(): { readonly stack: LocalStack; readonly browser: Browser } {
  const opened = {} as { stack: LocalStack; browser: Browser };
  beforeAll(async () => {
    opened.stack = await start(tempDataDir(), await freePorts());
    opened.browser = await launchChromium();
  });
  afterAll(async () => {
    await opened.browser?.close();
    await opened.stack?.close();
  });
  return opened;
}

/**
 * How long a step that waits on the local stack's answer may take: a page's first GET (the
 * handler's cold start, its reads of the case) or a form's POST. A tab opened from a link is
 * reported only once its first navigation has its answer, so following an e-mailed link waits this
 * long too; steps that wait only on the browser keep the short default.
 */
export const SERVER_MS = 60_000;

/** Clicks a link that opens in a tab of its own (an e-mail's, in the SES inbox) and answers that tab, loaded. */
export async function followToNewTab(context: BrowserContext, link: Locator): Promise<Page> {
  const [opened] = await Promise.all([context.waitForEvent('page', { timeout: SERVER_MS }), link.click()]);
  await opened.waitForLoadState('load', { timeout: SERVER_MS });
  return opened;
}
