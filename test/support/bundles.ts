/**
 * The functions bundled as CDK bundles them (the `bundling` options of CasebookFunction in
 * lib/constructs/casebook-function.ts), without CDK: for the bundle-size test and the cold-start
 * benchmark, which need the bundles but not a synth.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { FUNCTIONS, type FunctionKey } from '../../functions/catalog.ts';
import { BUNDLE_ALIASES } from '../../lib/constructs/casebook-function.ts';
import { REPO_ROOT } from '../../lib/paths.ts';

export interface Bundles {
  /** Each function's `<key>.mjs` size in bytes. */
  readonly sizes: Record<FunctionKey, number>;
  readonly metafile: Metafile;
}

/** Bundles `keys` (every function by default) into `outdir` as `<key>.mjs`. */
export async function bundleFunctions(
  outdir: string,
  keys: readonly FunctionKey[] = Object.keys(FUNCTIONS) as FunctionKey[],
): Promise<Bundles> {
  const result = await build({
    entryPoints: Object.fromEntries(keys.map((k) => [k, path.join(REPO_ROOT, FUNCTIONS[k].entry)])),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    alias: { ...BUNDLE_ALIASES },
    absWorkingDir: REPO_ROOT,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    metafile: true,
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'error',
  });
  const sizes = Object.fromEntries(keys.map((k) => [k, statSync(path.join(outdir, `${k}.mjs`)).size]));
  return { sizes: sizes as Record<FunctionKey, number>, metafile: result.metafile };
}

/** Bytes each package (or first-party folder) contributes to the bundle of `key`. */
export function bytesByPackage(bundles: Bundles, key: FunctionKey): Record<string, number> {
  const output = Object.entries(bundles.metafile.outputs).find(([file]) => file.endsWith(`/${key}.mjs`));
  if (!output) throw new Error(`no bundle for ${key}`);
  const by: Record<string, number> = {};
  for (const [file, input] of Object.entries(output[1].inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1] ?? file.split('/').slice(0, 2).join('/');
    by[pkg] = (by[pkg] ?? 0) + input.bytesInOutput;
  }
  return by;
}
