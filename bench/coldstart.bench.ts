/**
 * How big the function bundles are and how long the biggest one takes to load: every function
 * bundled with the options CDK bundles it with (lib/constructs/casebook-function.ts), then the
 * largest bundle imported in a fresh Node process with the environment variables its function has
 * in the synthesized template (references resolved to values of their kind, as
 * test/infra/handler-as-deployed.test.ts does), against a bare start of the same Node, alternating,
 * median of each. The module load is what a Lambda cold start adds to the runtime's own.
 *
 * Also writes `cost.usd_idle_month`, from the same synthesized templates (see bench/aws-costs.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FUNCTIONS, type FunctionKey } from '../functions/catalog.ts';
import { bundleFunctions } from '../test/support/bundles.ts';
import { deployedEnvironments } from '../test/support/deployed-environment.ts';
import { idleMonth, idleMonthMarkdown } from './aws-costs.ts';
import type { BenchReport } from './run.ts';

const RUNS = 20;
const log = (line: string) => console.error(`coldstart: ${line}`);

/** Wall time of one fresh Node process running `script` with `env`, in ms. */
function timed(script: string, env: NodeJS.ProcessEnv): number {
  const started = performance.now();
  const result = spawnSync(process.execPath, [script], { env, encoding: 'utf8' });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`${script} failed: ${result.stderr}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

export default async function run(): Promise<BenchReport> {
  let started = performance.now();
  const deployed = deployedEnvironments();
  const { templates } = deployed;
  log(`synthesized in ${((performance.now() - started) / 1000).toFixed(1)} s`);

  const dir = mkdtempSync(path.join(tmpdir(), 'casebook-coldstart-'));
  try {
    started = performance.now();
    const { sizes } = await bundleFunctions(dir);
    log(
      `bundled ${Object.keys(sizes).length} functions in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    const bySize = (Object.entries(sizes) as [FunctionKey, number][]).sort((a, b) => b[1] - a[1]);
    const [biggest, biggestBytes] = bySize[0] as [FunctionKey, number];

    const templateEnvironment = deployed.template(biggest);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      ...templateEnvironment,
      ...deployed.lambda(biggest),
    };
    // The same script shape for both, so only the import differs.
    const bare = path.join(dir, 'bare.mjs');
    const load = path.join(dir, 'load.mjs');
    writeFileSync(bare, 'const m = {}; if (typeof m.handler === "function") process.exit(3);\n');
    writeFileSync(
      load,
      `const m = await import(${JSON.stringify(pathToFileURL(path.join(dir, `${biggest}.mjs`)).href)});\nif (typeof m.handler !== "function") process.exit(3);\n`,
    );
    timed(load, env);
    timed(bare, env);
    const bareMs: number[] = [];
    const loadMs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      bareMs.push(timed(bare, env));
      loadMs.push(timed(load, env));
    }
    const initMs = median(loadMs) - median(bareMs);
    log(
      `${biggest}: ${(biggestBytes / 1024).toFixed(0)} KiB, load ${median(loadMs).toFixed(0)} ms, bare ${median(bareMs).toFixed(0)} ms`,
    );

    const idle = idleMonth(templates);
    const kib = (b: number) => Math.round((b / 1024) * 10) / 10;
    const results = {
      'coldstart.max_bundle_kib': kib(biggestBytes),
      'coldstart.max_init_ms': Math.round(initMs),
      'cost.usd_idle_month': Math.round(idle.total * 100) / 100,
    };
    const markdown = [
      '## Bundles and cold start (`bench/coldstart.bench.ts`)',
      '',
      `Every function bundled with CDK's options for it (esbuild, ESM, node24, minified, source map beside it), then the biggest, \`${FUNCTIONS[biggest].name}\`, imported in a fresh \`${process.version}\` process with the ${Object.keys(templateEnvironment).length} environment variables its function has in the synthesized template plus Lambda's own (no \`--enable-source-maps\`: the bundle maps its stacks itself, reading the map only when a stack is first formatted), against a bare start of the same Node running a script of the same shape, alternating, ${RUNS} of each: median ${median(loadMs).toFixed(0)} ms against ${median(bareMs).toFixed(0)} ms, so \`coldstart.max_init_ms\` = ${Math.round(initMs)} ms. The module load runs what a cold start runs before the first event: the imports and the configuration parsed once with zod.`,
      '',
      '| function | bundle (KiB) |',
      '|---|---:|',
      ...bySize.map(([k, b]) => `| \`${FUNCTIONS[k].name}\` | ${kib(b)} |`),
      '',
      idleMonthMarkdown(idle),
    ].join('\n');
    return {
      results,
      targets: {
        'coldstart.max_bundle_kib': '≤ 1024',
        'coldstart.max_init_ms': '≤ 150',
        'cost.usd_idle_month': '≤ 5',
      },
      markdown,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
