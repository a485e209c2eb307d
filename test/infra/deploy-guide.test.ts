/**
 * README's deploy guide, walked against what the stacks really output: every output it tells a
 * reader to look up (`<ApiUrl>`, `LedgerSealKeyArn`, …) must be one the synthesized templates have.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../lib/paths.ts';
import { synthCasebookApp } from './casebook-app.ts';

/** The text from `## Deploy to AWS` to the next top-level section. */
function deployGuide(): string {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Deploy to AWS');
  expect(start, 'README has a "Deploy to AWS" section').toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end < 0 ? undefined : end);
}

/** Names the guide uses as outputs: placeholders like `<ApiUrl>` and code spans like `…Arn`. */
function outputNamesIn(text: string): string[] {
  const placeholders = [...text.matchAll(/<([A-Z][A-Za-z]+)>/g)].map((m) => m[1] as string);
  const spans = [...text.matchAll(/`([A-Z][A-Za-z]+(?:Arn|Name|Id|Url|Command|Endpoint))`/g)].map(
    (m) => m[1] as string,
  );
  return [...new Set([...placeholders, ...spans])].sort();
}

let outputs: Set<string>;
beforeAll(() => {
  const { statefulTemplate, statelessTemplate } = synthCasebookApp();
  outputs = new Set(
    [statefulTemplate, statelessTemplate].flatMap((t) => Object.keys((t.toJSON().Outputs ?? {}) as object)),
  );
}, 120_000);

describe("README's deploy guide against the synthesized outputs", () => {
  it('names only outputs the stacks have', () => {
    const named = outputNamesIn(deployGuide());
    expect(named.length).toBeGreaterThan(5);
    expect(named.filter((n) => !outputs.has(n))).toEqual([]);
  });

  it('would catch an output the stacks do not have', () => {
    const named = outputNamesIn('point it at `<ApiEndpoint>/webhooks` and read `LedgerSealKeyArn`');
    expect(named.filter((n) => !outputs.has(n))).toEqual(['ApiEndpoint']);
  });
});
