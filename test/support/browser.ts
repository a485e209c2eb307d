/** Launching the Chromium that `chromium-setup.ts` found, for a closed network. */
import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import { inject } from 'vitest';

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
