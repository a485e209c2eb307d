/**
 * Proofs as an auditor gets them: `npm start` in a process of its own, the operator's `casebook
 * ledger prove` and `public-key` against it in local mode, and then `check-proof` in a directory
 * holding only the proof file and the public key, with nothing but PATH and HOME — no stack
 * variables, no AWS — as a third party runs it.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROOF_FORMAT } from '../../functions/domain/proof-file.ts';
import type { LocalPorts } from '../../local/stack.ts';
import type { CliResult } from '../support/cli.ts';
import { casebook } from '../support/cli.ts';
import type { StackProcess } from '../support/local-stack.ts';
import { freePorts, postAlert, spawnStack, tempDataDir } from '../support/local-stack.ts';
import { legalFee } from '../support/manual-entries.ts';

const sample = readFileSync(join(import.meta.dirname, '../fixtures/alertmanager/double-charge.json'), 'utf8');

let stack: StackProcess;
let ports: LocalPorts;
let dataDir: string;
let operator: Record<string, string>;
let incidentId: string;
/** Where the operator writes what the auditor is given. */
const outbox = mkdtempSync(join(tmpdir(), 'casebook-operator-'));
/** The auditor's directory: the proof files and the public key, copied, and nothing else. */
const auditor = mkdtempSync(join(tmpdir(), 'casebook-auditor-'));

/** Records a manual entry: an append of its own, so the log gets a signed head after it. */
async function record(key: string, amount: string): Promise<void> {
  const res = await fetch(`${stack.endpoints.api}/incidents/${incidentId}/ledger`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify({ ...legalFee, amount, effectiveAt: new Date().toISOString() }),
  });
  expect(res.status).toBe(201);
}

/** What the operator ran, by name: each is a process of its own, so they run together. */
const operated = new Map<string, CliResult>();
const ran = (name: string) => operated.get(name) as CliResult;

beforeAll(async () => {
  ports = await freePorts();
  dataDir = tempDataDir();
  stack = await spawnStack(dataDir, ports);
  operator = {
    CASEBOOK_DATA_DIR: dataDir,
    CASEBOOK_DYNAMODB_PORT: String(ports.dynamodb),
    CASEBOOK_S3_PORT: String(ports.s3),
  };
  const opened = await postAlert(stack, sample);
  incidentId = ((await opened.json()) as { incidentId: string }).incidentId;
  for (const [i, amount] of ['10.00', '20.00', '30.00'].entries()) await record(`fee-${i}`, amount);
  const runs: Record<string, string[]> = {
    publicKey: ['ledger', 'public-key'],
    inclusion: [
      'ledger',
      'prove',
      '--incident',
      incidentId,
      '--seq',
      '2',
      '--out',
      join(outbox, 'entry-2.json'),
    ],
    consistency: ['ledger', 'prove', '--incident', incidentId, '--from', '1'],
    caseFile: ['case-file', incidentId],
  };
  await Promise.all(
    Object.entries(runs).map(async ([name, args]) => operated.set(name, await casebook(args, operator))),
  );
}, 240_000);
afterAll(() => stack?.kill());

describe('a proof made on the local stack, checked with only the proof file and the public key', () => {
  const check = (name: string) =>
    casebook(['ledger', 'check-proof', join(auditor, name), '--public-key', join(auditor, 'ledger.pub.pem')]);

  it('is made by the operator: the public key, an inclusion proof and a consistency proof', () => {
    expect(ran('publicKey')).toMatchObject({ code: 0, stderr: '' });
    expect(ran('publicKey').stdout).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/,
    );
    expect(ran('publicKey').stdout).toBe(
      readFileSync(join(dataDir, 'keys', 'ledger-signing.pub.pem'), 'utf8'),
    );
    expect(ran('inclusion')).toMatchObject({ code: 0, stdout: '' });
    expect(ran('consistency')).toMatchObject({ code: 0, stderr: '' });
    const proof = JSON.parse(readFileSync(join(outbox, 'entry-2.json'), 'utf8'));
    expect(proof).toMatchObject({ format: PROOF_FORMAT, kind: 'inclusion', incidentId, seq: 2, index: 1 });
    expect(proof.entry).toMatchObject({ incidentId });
    expect(JSON.parse(ran('consistency').stdout)).toMatchObject({ kind: 'consistency', from: { size: 1 } });

    // What the auditor is given, and nothing else: the key and the proof files, in a directory of their own.
    writeFileSync(join(auditor, 'ledger.pub.pem'), ran('publicKey').stdout);
    writeFileSync(join(auditor, 'since-1.json'), ran('consistency').stdout);
    copyFileSync(join(outbox, 'entry-2.json'), join(auditor, 'entry-2.json'));
    // The same proof with its entry edited.
    const edited = { ...proof, entry: { ...proof.entry, summary: `${proof.entry.summary} (edited)` } };
    writeFileSync(join(auditor, 'edited.json'), JSON.stringify(edited));
  });

  it('checks the inclusion proof offline, with only PATH and HOME set', async () => {
    const included = await check('entry-2.json');
    expect(included).toMatchObject({ code: 0, stderr: '' });
    expect(included.stdout).toContain(`Entry 2 of ${incidentId} is in its log at the head of size`);
  });

  it('checks the consistency proof offline', async () => {
    const extended = await check('since-1.json');
    expect(extended).toMatchObject({ code: 0, stderr: '' });
    expect(extended.stdout).toContain('extends the log at size 1');
  });

  it('exits 1 for the proof once its entry is edited', async () => {
    const edited = await check('edited.json');
    expect(edited).toMatchObject({ code: 1, stderr: '' });
    expect(edited.stdout).toMatch(
      /^Proof NOT verified: entry 2 of .* the entry or the proof was changed\.\n$/,
    );
  });

  it('gives the case file the signed head it was made at, from which the log provably grew', async () => {
    expect(ran('caseFile')).toMatchObject({ code: 0, stderr: '' });
    const head = parse(ran('caseFile').stdout).ledger_head as { size: number; root: string; origin: string };
    expect(head).toMatchObject({
      origin: `casebook/ledger/${incidentId}`,
      root: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(head.size).toBeGreaterThanOrEqual(4);
    // The auditor hands back the case file itself: the proof starts from the head it holds.
    writeFileSync(join(outbox, 'case-file.yaml'), ran('caseFile').stdout);
    const since = await casebook(
      ['ledger', 'prove', '--incident', incidentId, '--from', join(outbox, 'case-file.yaml')],
      operator,
    );
    expect(since).toMatchObject({ code: 0, stderr: '' });
    // The proof starts from the very head the case file holds.
    expect(JSON.parse(since.stdout).from).toMatchObject({ size: head.size, root: head.root });
  });

  it('refuses an entry past the head, or a head size it never signed, with one line and exit status 2', async () => {
    const [beyond, noHead] = await Promise.all([
      casebook(['ledger', 'prove', '--incident', incidentId, '--seq', '100000'], operator),
      casebook(['ledger', 'prove', '--incident', incidentId, '--from', '99999'], operator),
    ]);
    expect(beyond).toMatchObject({ code: 2, stdout: '' });
    expect(beyond.stderr).toMatch(
      new RegExp(`^casebook: ${incidentId} has no entry 100000 at its signed head of \\d+ entries\\n$`),
    );
    expect(noHead).toMatchObject({ code: 2, stdout: '' });
    expect(noHead.stderr).toMatch(
      new RegExp(
        `^casebook: ${incidentId} has no signed head of size 99999; its heads are of sizes [\\d, ]+\\n$`,
      ),
    );
  });

  it('refuses a prove that says neither what nor which incident, with one line and exit status 2', async () => {
    const [neither, unknown] = await Promise.all([
      casebook(['ledger', 'prove', '--incident', incidentId], operator),
      casebook(['ledger', 'prove', '--incident', 'INC-2026-9999', '--seq', '1'], operator),
    ]);
    expect(neither).toEqual({
      code: 2,
      stdout: '',
      stderr: 'casebook: prove needs either --seq N (inclusion) or --from SIZE|FILE (consistency)\n',
    });
    expect(unknown).toEqual({
      code: 2,
      stdout: '',
      stderr: 'casebook: No ledger entries for INC-2026-9999\n',
    });
  });
});
