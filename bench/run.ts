/**
 * `npm run bench`: runs every `bench/*.bench.ts` in a child process of its own (so one
 * benchmark's servers and timers cannot disturb the next; see {@link BESIDE} for the one that runs
 * beside the others), then writes the figures they report
 * to `bench/results.json` (numbers only) and BENCHMARKS.md (the table, the command, the date and
 * each benchmark's own section).
 *
 * A benchmark module's default export is `() => Promise<BenchReport>`. Figures are ratios against a
 * baseline measured in the same run, or counts: the machines are shared and noisy. Seconds only
 * where an issue names seconds.
 */
import { execFile } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

/** What one benchmark module reports. */
export interface BenchReport {
  /** Key → number, as the issues name the keys (`ledger.append_flatness`). */
  readonly results: Readonly<Record<string, number>>;
  /** The target of a key, as the issue states it (`≥ 0.85`), where there is one. */
  readonly targets?: Readonly<Record<string, string>>;
  /** A section for BENCHMARKS.md: what was measured against what, and how to read it. */
  readonly markdown: string;
}

const MARKER = 'BENCH-REPORT ';

/**
 * Benchmarks run beside the others rather than after them. The casework bench is one local stack
 * in one process, so it keeps one core busy for most of its eight minutes; the others, one after
 * another, take the second core, and the whole run fits in ten minutes on a two-core machine.
 */
const BESIDE = ['casework.bench.ts'];
const dir = import.meta.dirname;

async function runOne(file: string): Promise<void> {
  const module = (await import(pathToFileURL(join(dir, file)).href)) as {
    default: () => Promise<BenchReport>;
  };
  const report = await module.default();
  process.stdout.write(`\n${MARKER}${JSON.stringify(report)}\n`);
  process.exit(0);
}

const execFileAsync = promisify(execFile);

/** Runs one benchmark file in a child process of its own and returns what it reported. */
async function runChild(file: string): Promise<{ file: string; report: BenchReport }> {
  const started = Date.now();
  console.error(`bench: ${file}…`);
  const child = execFileAsync(process.execPath, [import.meta.filename, '--one', file], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  child.child.stderr?.pipe(process.stderr);
  const { stdout } = await child;
  const line = stdout.split('\n').find((l) => l.startsWith(MARKER));
  if (!line) throw new Error(`${file} reported nothing`);
  console.error(`bench: ${file} done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { file, report: JSON.parse(line.slice(MARKER.length)) as BenchReport };
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
    .sort();
  const beside = Promise.all(files.filter((f) => BESIDE.includes(f)).map(runChild));
  const inTurn: { file: string; report: BenchReport }[] = [];
  for (const file of files.filter((f) => !BESIDE.includes(f))) inTurn.push(await runChild(file));
  const reports = [...inTurn, ...(await beside)].sort((a, b) => a.file.localeCompare(b.file));
  const results: Record<string, number> = {};
  const targets: Record<string, string> = {};
  for (const { report } of reports) {
    for (const [key, value] of Object.entries(report.results)) {
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw new Error(`${key} is not a number: ${value}`);
      results[key] = value;
    }
    Object.assign(targets, report.targets ?? {});
  }
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  const date = new Date().toISOString().slice(0, 10);
  const table = [
    '| key | value | target |',
    '|---|---:|---|',
    ...Object.entries(results).map(([k, v]) => `| \`${k}\` | ${v} | ${targets[k] ?? ''} |`),
  ].join('\n');
  const md = [
    '# Benchmarks',
    '',
    'Figures are ratios against a baseline measured in the same run, or counts: the machines are',
    'shared and noisy, and an absolute time from one run means little. The exceptions are the times an',
    'issue names in seconds (`casework.*_s`), measured on the local stack of that run.',
    '',
    `Latest run: ${date}, \`npm run bench\` (${process.version}, ${process.platform}/${process.arch}). Results also in \`bench/results.json\`.`,
    '',
    table,
    '',
    reports.map(({ report }) => report.markdown.trim()).join('\n\n'),
    '',
  ].join('\n');
  writeFileSync(join(dir, '..', 'BENCHMARKS.md'), md);
  console.log(table);
}

if (process.argv[2] === '--one') await runOne(process.argv[3] ?? '');
else await main();
