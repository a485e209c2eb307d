/**
 * vitest globalSetup: finds the Chromium the browser tests drive, once per run and offline.
 *
 * `CASEBOOK_CHROMIUM` names one (Debian's /usr/bin/chromium, a developer's Chrome; needed on arm64
 * and macOS, where the packaged build does not run). Otherwise the Linux x64 build that
 * `@sparticuz/chromium` ships inside its npm package is unpacked here rather than through the
 * package's `executablePath()`, which writes to the shared `/tmp/chromium`, reuses whatever binary
 * another program left there, and unpacks the NSS/expat libraries it ships only on Lambda.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress } from 'node:zlib';
import { extract } from 'tar-fs';
import type { TestProject } from 'vitest/node';

/** What a test needs to launch the browser: its path and the environment it loads its libraries with. */
export interface ChromiumInstall {
  executablePath: string;
  env: Record<string, string>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    chromium: ChromiumInstall;
  }
}

const ROOT = join(import.meta.dirname, '../..');

export default async function setup(project: TestProject): Promise<void> {
  project.provide('chromium', await findChromium(process.env.CASEBOOK_CHROMIUM));
}

async function findChromium(override: string | undefined): Promise<ChromiumInstall> {
  if (override) {
    if (!existsSync(override)) throw new Error(`CASEBOOK_CHROMIUM=${override}: no such file`);
    return { executablePath: override, env: {} };
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `@sparticuz/chromium ships Chromium for Linux x64 only; on ${process.platform}/${process.arch} set CASEBOOK_CHROMIUM to a Chromium or Chrome`,
    );
  }
  const packageDir = join(dirname(createRequire(import.meta.url).resolve('@sparticuz/chromium')), '..');
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    version: string;
  };
  // Versioned, and inside node_modules: `npm ci` or an upgrade of the package starts it afresh.
  const dir = join(ROOT, 'node_modules/.cache/casebook', `sparticuz-chromium-${version}`);
  await unpack(join(packageDir, 'bin'), dir);
  const executablePath = join(dir, 'chromium');
  return { executablePath, env: libraryEnv(executablePath, join(dir, 'lib')) };
}

/** Unpacks the browser and its libraries once; a half-written directory is never seen as done. */
async function unpack(bin: string, dir: string): Promise<void> {
  if (existsSync(join(dir, 'chromium'))) return;
  await mkdir(dirname(dir), { recursive: true });
  const staging = await mkdtemp(`${dir}.partial-`);
  try {
    await Promise.all([
      pipeline(
        createReadStream(join(bin, 'chromium.br')),
        createBrotliDecompress(),
        createWriteStream(join(staging, 'chromium'), { mode: 0o755 }),
      ),
      // lib/: libnss3, libnspr4, libexpat and their companions, built for this binary.
      pipeline(createReadStream(join(bin, 'al2023.tar.br')), createBrotliDecompress(), extract(staging)),
    ]);
    await rename(staging, dir);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    // Another test run unpacked the same version first: use theirs.
    if (!existsSync(join(dir, 'chromium'))) throw error;
  }
}

/**
 * The shipped libraries go on LD_LIBRARY_PATH only when the machine lacks one the binary needs:
 * LD_LIBRARY_PATH wins over the system's copies, which the machine keeps patched.
 */
export function libraryEnv(executablePath: string, libDir: string): Record<string, string> {
  if (startsUp(executablePath, {}).status === 0) return {};
  const shipped = { LD_LIBRARY_PATH: [libDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
  const withShipped = startsUp(executablePath, shipped);
  if (withShipped.status === 0) return shipped;
  throw new Error(
    `Chromium at ${executablePath} does not start, even with the libraries in ${libDir}: ${withShipped.stderr}`,
  );
}

/** `--version` opens no browser: it fails only when the dynamic loader cannot find a library. */
function startsUp(executablePath: string, env: Record<string, string>) {
  return spawnSync(executablePath, ['--version'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 10_000,
  });
}
