/**
 * Each handler as CDK deploys it: its cold start (the configuration module, `loadConfig`) runs on
 * exactly the environment variables the synthesized template gives its function — references to
 * other resources resolved to plausible values of their kind — plus what Lambda itself sets.
 */
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { FUNCTIONS, type FunctionKey } from '../../functions/catalog.ts';
import { REPO_ROOT } from '../../lib/paths.ts';
import { deployedEnvironments } from '../support/deployed-environment.ts';

const deployed = deployedEnvironments();
const keys = Object.keys(FUNCTIONS) as FunctionKey[];
const deployedEnvironment = deployed.template;
const lambdaEnvironment = deployed.lambda;

const saved = { ...process.env };
afterEach(() => {
  for (const name of Object.keys(process.env)) delete process.env[name];
  Object.assign(process.env, saved);
});

let cold = 0;
describe('each handler, with the environment its function is deployed with', () => {
  it.each(keys)('%s starts cold on exactly the template’s variables', async (key) => {
    const environment = { ...deployedEnvironment(key), ...lambdaEnvironment(key) };
    for (const name of Object.keys(process.env)) delete process.env[name];
    // Only what a test runner needs to keep logging quiet besides.
    Object.assign(process.env, environment, { POWERTOOLS_LOG_LEVEL: 'SILENT' });
    // A module of its own per test: the handler's cold start (loadConfig, SDK clients) runs again.
    const url = `${pathToFileURL(`${REPO_ROOT}/${FUNCTIONS[key].entry}`).href}?deployed=${++cold}`;
    const module = (await import(url)) as { handler?: unknown };
    expect(typeof module.handler).toBe('function');
  });
});

describe('the check itself', () => {
  it('fails a handler whose deployed environment lacks a variable its configuration needs', async () => {
    const environment = { ...deployedEnvironment('ingestAlert'), ...lambdaEnvironment('ingestAlert') };
    delete environment.CASEBOOK_OPERATIONS_TABLE;
    for (const name of Object.keys(process.env)) delete process.env[name];
    Object.assign(process.env, environment, { POWERTOOLS_LOG_LEVEL: 'SILENT' });
    const url = `${pathToFileURL(`${REPO_ROOT}/${FUNCTIONS.ingestAlert.entry}`).href}?deployed=${++cold}`;
    await expect(import(url)).rejects.toThrow(/CASEBOOK_OPERATIONS_TABLE is required/);
  });

  it('resolves references to values of their kind', () => {
    const env = deployedEnvironment('carryOutEffects');
    expect(env.CASEBOOK_OPERATIONS_TABLE).toMatch(/^casebook-operationstable/);
    expect(env.CASEBOOK_LEDGER_KMS_KEY_ID).toMatch(/^arn:aws:kms:us-east-1:000000000000:key\//);
    expect(env.CASEBOOK_PUBLIC_BASE_URL).toMatch(/^https:\/\/\w+\.execute-api\.us-east-1\.amazonaws\.com$/);
  });
});
