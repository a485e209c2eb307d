/**
 * The auditor's command against `npm start` as a person runs it: the stack in a process of its own
 * on moved ports, and `casebook` in another with only what a user sets (PATH, HOME, the data
 * directory and the moved ports) — so it reaches the stack in local mode, signing as the emulators
 * accept, and not with anything a test process happens to have in its environment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalPorts } from '../../local/stack.ts';
import { casebook } from '../support/cli.ts';
import type { StackProcess } from '../support/local-stack.ts';
import { freePorts, spawnStack, tempDataDir } from '../support/local-stack.ts';

let stack: StackProcess;
let ports: LocalPorts;
let dataDir: string;
let user: Record<string, string>;

beforeAll(async () => {
  ports = await freePorts();
  dataDir = tempDataDir();
  stack = await spawnStack(dataDir, ports);
  user = {
    CASEBOOK_DATA_DIR: dataDir,
    CASEBOOK_DYNAMODB_PORT: String(ports.dynamodb),
    CASEBOOK_S3_PORT: String(ports.s3),
  };
}, 120_000);
afterAll(() => stack?.kill());

describe('casebook against a running npm start', () => {
  it('anchors the ledger and verifies it against that anchor, in local mode', async () => {
    const anchored = await casebook(['ledger', 'anchor', '--reason', 'auditor'], user);
    expect(anchored.stderr).toBe('');
    expect(anchored.code).toBe(0);
    expect(anchored.stdout).toBe('Anchored 0 incident head(s) in signed-anchors/000000000001.json.\n');
    const verified = await casebook(['ledger', 'verify', '--json'], user);
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({
      ok: true,
      anchors: { anchors: 1, last: { number: 1 }, problems: [] },
      incidents: [],
    });
  });

  it('ignores the AWS credentials and endpoints of the shell it runs in', async () => {
    const shell = {
      ...user,
      // A shell's keys of its own (no real key has this shape), which local mode must not sign with.
      AWS_ACCESS_KEY_ID: 'shell-access-key-id',
      AWS_SECRET_ACCESS_KEY: 'shell-secret-access-key',
      AWS_SESSION_TOKEN: 'a-session',
      AWS_PROFILE: 'production',
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:9',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9',
    };
    const verified = await casebook(['ledger', 'verify', '--json'], shell);
    expect(verified.stderr).toBe('');
    expect(JSON.parse(verified.stdout)).toMatchObject({
      ok: true,
      anchors: { last: { number: 1 }, problems: [] },
    });
  });

  it('names the incident it cannot find, from the local tables', async () => {
    const missing = await casebook(['case-file', 'INC-2026-0404'], user);
    expect(missing).toMatchObject({ code: 2, stdout: '', stderr: 'casebook: No incident INC-2026-0404\n' });
  });
});

describe('casebook --help', () => {
  it('names every variable the CLI reads, in each mode, and how it picks the mode', async () => {
    for (const args of [['--help'], ['ledger', 'verify', '--help'], ['case-file', '--help']]) {
      const { code, stdout } = await casebook(args);
      expect(code).toBe(0);
      expect(stdout).toContain('AWS mode when --table or CASEBOOK_LEDGER_TABLE names the ledger table');
      for (const variable of [
        'CASEBOOK_DATA_DIR',
        'CASEBOOK_DYNAMODB_PORT',
        'CASEBOOK_S3_PORT',
        'CASEBOOK_LEDGER_TABLE',
        'CASEBOOK_OPERATIONS_TABLE',
        'CASEBOOK_ANCHOR_BUCKET',
        'CASEBOOK_LEDGER_KMS_KEY_ID',
        'CASEBOOK_LEDGER_KEY_FILE',
        'AWS_REGION',
        'AWS_PROFILE',
        'AWS_ENDPOINT_URL_DYNAMODB',
        'AWS_ENDPOINT_URL_S3',
      ])
        expect(stdout).toContain(variable);
    }
  });
});
