import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionKey } from '../../functions/catalog.ts';
import { REPO_ROOT } from '../../lib/paths.ts';
import { type Bundles, bundleFunctions, bytesByPackage } from '../support/bundles.ts';

const KIB = 1024;
/** The function that carries the most: both providers' clients, the ledger and the sealing key. */
const BIGGEST: FunctionKey = 'carryOutEffects';

let dir: string;
let bundles: Bundles;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'casebook-bundle-size-'));
  bundles = await bundleFunctions(dir, [BIGGEST]);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the biggest function bundle', () => {
  it('is not pulled back up by a named zod import in any function', () => {
    const grep = spawnSync(
      'git',
      ['grep', '--untracked', '-l', '-F', 'import { z } from', '--', 'functions'],
      {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      },
    );
    expect(grep.stdout.trim().split('\n').filter(Boolean)).toEqual([]);
  });

  it('stays within 1024 KiB', () => {
    expect(bundles.sizes[BIGGEST] / KIB).toBeLessThanOrEqual(1024);
  });

  it("carries zod's English messages only, not its forty other locales", () => {
    // `import { z } from 'zod'` keeps the whole namespace, locales included (258 KiB);
    // `import * as z from 'zod'` lets esbuild keep only what is called.
    const locales = Object.keys(bundles.metafile.inputs).filter((f) =>
      /zod\/v4\/locales\/(?!en\.js)/.test(f),
    );
    const included = locales.filter((f) =>
      Object.values(bundles.metafile.outputs).some((o) => (o.inputs[f]?.bytesInOutput ?? 0) > 0),
    );
    expect(included.filter((f) => !f.endsWith('/index.js'))).toEqual([]);
    expect(bytesByPackage(bundles, BIGGEST).zod ?? 0).toBeLessThan(256 * KIB);
  });
});

describe('a bundle started without --enable-source-maps', () => {
  it('names the TypeScript sources in the stack of an error it throws', () => {
    // No configuration at all: the handler's cold start throws from loadConfig.
    const bundle = pathToFileURL(path.join(dir, `${BIGGEST}.mjs`)).href;
    const run = spawnSync(
      process.execPath,
      ['-e', `import(${JSON.stringify(bundle)}).then(() => process.exit(3), (e) => console.log(e.stack))`],
      { env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1' }, encoding: 'utf8' },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Error: Casebook configuration is invalid: /);
    expect(run.stdout).toMatch(/\(\/\S+\/functions\/adapters\/config\.ts:\d+:\d+\)/);
    expect(run.stdout).toMatch(/\/functions\/carry-out-effects\/carry-out-effects\.ts:\d+:\d+/);
    expect(run.stdout).not.toMatch(new RegExp(`${BIGGEST}\\.mjs`));
  });
});

describe('loading the bundle', () => {
  it('does not load undici, which importing node:http as an ES module does', () => {
    const bundle = pathToFileURL(path.join(dir, `${BIGGEST}.mjs`)).href;
    // Without configuration the handler's cold start throws, after every import is linked and run;
    // as in Lambda, the tracer loads, and node:http with it.
    const run = spawnSync(
      process.execPath,
      [
        '-e',
        `import(${JSON.stringify(bundle)}).catch(() => {}).then(() => console.log(JSON.stringify(process.moduleLoadList)))`,
      ],
      {
        env: { PATH: process.env.PATH, AWS_REGION: 'us-east-1', AWS_LAMBDA_FUNCTION_NAME: 'casebook-test' },
        encoding: 'utf8',
      },
    );
    expect(run.status, run.stderr).toBe(0);
    const loaded = JSON.parse(run.stdout) as string[];
    expect(loaded).toContain('NativeModule http');
    expect(loaded.filter((m) => m.includes('undici'))).toEqual([]);
  });
});
