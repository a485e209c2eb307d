/**
 * The shipped NSS/expat libraries go on LD_LIBRARY_PATH only when the machine lacks them. A stand-in
 * for the browser plays the dynamic loader: it starts only when it finds what it needs.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { libraryEnv } from '../support/chromium-setup.ts';

const dir = mkdtempSync(join(tmpdir(), 'casebook-chromium-setup-'));
const shippedLibs = join(dir, 'lib');

function fakeBrowser(name: string, startsWhen: string): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `#!/bin/sh\nif ${startsWhen}; then exit 0; fi\necho "error while loading shared libraries: libnss3.so" >&2\nexit 127\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

describe('the libraries Chromium starts with', () => {
  it("leaves LD_LIBRARY_PATH alone when the machine's libraries do", () => {
    expect(libraryEnv(fakeBrowser('machine-has-them', 'true'), shippedLibs)).toEqual({});
  });

  it('puts the shipped libraries first on LD_LIBRARY_PATH when the machine lacks them', () => {
    const browser = fakeBrowser(
      'machine-lacks-them',
      `case ":$LD_LIBRARY_PATH:" in *":${shippedLibs}:"*) true;; *) false;; esac`,
    );
    expect(libraryEnv(browser, shippedLibs).LD_LIBRARY_PATH?.split(':')[0]).toBe(shippedLibs);
  });

  it('says what the loader said when even the shipped libraries do not help', () => {
    expect(() => libraryEnv(fakeBrowser('never-starts', 'false'), shippedLibs)).toThrow(
      /does not start, even with the libraries in .*error while loading shared libraries: libnss3\.so/s,
    );
  });
});
