import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FUNCTIONS } from '../../functions/catalog.ts';
import { REPO_ROOT } from '../../lib/paths.ts';

/**
 * `npm run synth` as a new machine runs it: no AWS credentials or profile, an empty HOME (no
 * ~/.aws, no CDK caches), and any HTTP(S) request sent to a closed local port so that a network
 * dependency shows up as a failure rather than as a slow pass. Bundles the functions for real.
 */
function synthLikeAFreshMachine(outdir: string) {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(AWS_|CDK_)/.test(name) || /^npm_/i.test(name)) continue;
    env[name] = value;
  }
  Object.assign(env, {
    HOME: mkdtempSync(path.join(tmpdir(), 'casebook-home-')),
    PATH: `${path.join(REPO_ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
    HTTP_PROXY: 'http://127.0.0.1:9',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    NO_PROXY: '',
    // npm's own update check is npm's business, not the CDK app's.
    npm_config_update_notifier: 'false',
  });
  return spawnSync('npm', ['run', 'synth', '--', '--output', outdir], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
    timeout: 240_000,
  });
}

describe('npm run synth', () => {
  it('exits 0 with no credentials, no network and no Docker, bundling every function', {
    timeout: 300_000,
  }, () => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'casebook-cdk-out-'));
    const result = synthLikeAFreshMachine(outdir);
    expect(result.error).toBeUndefined();
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/docker/i);

    const manifest = JSON.parse(readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
    expect(Object.keys(manifest.artifacts)).toEqual(
      expect.arrayContaining(['CasebookStateful', 'CasebookStateless']),
    );

    // Each function's code asset is a real esbuild ESM bundle.
    const template = JSON.parse(readFileSync(path.join(outdir, 'CasebookStateless.template.json'), 'utf8'));
    const functions = Object.values(
      template.Resources as Record<string, { Type: string; Properties: { Code: { S3Key: string } } }>,
    ).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions).toHaveLength(Object.keys(FUNCTIONS).length);
    for (const fn of functions) {
      const hash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
      const bundle = path.join(outdir, `asset.${hash}`, 'index.mjs');
      expect(existsSync(bundle), bundle).toBe(true);
      const code = readFileSync(bundle, 'utf8');
      expect(code).toMatch(/export\s*\{[^}]*as handler\s*\}|export\s*\{\s*handler\s*\}/);
      // CDK's esbuild took the aliases: node:http is required, never imported (see BUNDLE_ALIASES).
      expect(code, bundle).not.toMatch(/(from|import\()\s*["'](node:)?http["']/);
      // The bundle runs on this Node major as Lambda would load it: it evaluates all the way to
      // its cold-start configuration check, which fails here by design (no table names).
      const loaded = spawnSync(
        process.execPath,
        ['--input-type=module', '-e', `await import(${JSON.stringify(bundle)})`],
        {
          encoding: 'utf8',
          env: { PATH: process.env.PATH ?? '' },
        },
      );
      expect(loaded.stderr, bundle).toContain(
        'Casebook configuration is invalid: CASEBOOK_OPERATIONS_TABLE is required',
      );
    }
  });
});
