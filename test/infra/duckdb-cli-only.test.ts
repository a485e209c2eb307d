/**
 * DuckDB is the CLI's alone: its native bindings must never reach a Lambda bundle. Follows every
 * import from each function's entry (the catalog's), through relative modules, and checks none
 * reaches `@duckdb/*` or the CLI's own modules under `scripts/`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../functions/catalog.ts';
import { REPO_ROOT } from '../../lib/paths.ts';

/** `import … from '…'`, `import '…'`, `export … from '…'`, `import('…')`; not `import type` (erased). */
const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s+(?!type\s)(?:[^'"]*?\sfrom\s*)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Every module `entry` imports, transitively: repository files by path, packages by name. */
function importClosure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [resolve(REPO_ROOT, entry)];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    const source = readFileSync(file, 'utf8');
    for (const m of source.matchAll(IMPORT)) {
      const specifier = (m[1] ?? m[2]) as string;
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier);
        if (existsSync(target)) queue.push(target);
      } else packages.add(specifier);
    }
  }
  return { files, packages };
}

describe('DuckDB stays in the CLI', () => {
  it('is reached from no function entry, nor is any module under scripts/', () => {
    const entries = Object.values(FUNCTIONS).map((f) => f.entry);
    expect(entries.length).toBeGreaterThan(10);
    for (const entry of entries) {
      const { files, packages } = importClosure(entry);
      expect(
        [...packages].filter((p) => p.startsWith('@duckdb/')),
        entry,
      ).toEqual([]);
      expect(
        [...files].map((f) => relative(REPO_ROOT, f)).filter((f) => f.startsWith(`scripts${'/'}`)),
        entry,
      ).toEqual([]);
    }
  });

  it('is reached from the CLI, so the check above looks where it would be', () => {
    const { packages } = importClosure(join('scripts', 'casebook.ts'));
    expect(packages).toContain('@duckdb/node-api');
  });
});
