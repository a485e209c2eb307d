/** Launching the Chromium that `chromium-setup.ts` found, for a closed network. */
import type { Browser } from 'playwright-core';
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
