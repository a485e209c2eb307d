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
}, 180_000);
afterAll(() => stack?.kill());

describe('a proof made on the local stack, checked with only the proof file and the public key', () => {
  it('proves an entry in the log and that the log only grew, and the auditor checks both offline', async () => {
    const key = await casebook(['ledger', 'public-key'], operator);
    expect(key).toMatchObject({ code: 0, stderr: '' });
    expect(key.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    expect(key.stdout).toBe(readFileSync(join(dataDir, 'keys', 'ledger-signing.pub.pem'), 'utf8'));
    writeFileSync(join(outbox, 'ledger.pub.pem'), key.stdout);

    const inclusion = await casebook(
      ['ledger', 'prove', '--incident', incidentId, '--seq', '2', '--out', join(outbox, 'entry-2.json')],
      operator,
    );
    expect(inclusion).toMatchObject({ code: 0, stdout: '' });
    const consistency = await casebook(
      ['ledger', 'prove', '--incident', incidentId, '--from', '1'],
      operator,
    );
    expect(consistency).toMatchObject({ code: 0, stderr: '' });
    writeFileSync(join(outbox, 'since-1.json'), consistency.stdout);

    const proof = JSON.parse(readFileSync(join(outbox, 'entry-2.json'), 'utf8'));
    expect(proof).toMatchObject({ format: PROOF_FORMAT, kind: 'inclusion', incidentId, seq: 2, index: 1 });
    expect(proof.entry).toMatchObject({ incidentId });
    expect(JSON.parse(consistency.stdout)).toMatchObject({ kind: 'consistency', from: { size: 1 } });

    for (const name of ['ledger.pub.pem', 'entry-2.json', 'since-1.json'])
      copyFileSync(join(outbox, name), join(auditor, name));
    const pem = join(auditor, 'ledger.pub.pem');
    const included = await casebook([
      'ledger',
      'check-proof',
      join(auditor, 'entry-2.json'),
      '--public-key',
      pem,
    ]);
    expect(included).toMatchObject({ code: 0, stderr: '' });
    expect(included.stdout).toContain(`Entry 2 of ${incidentId} is in its log at the head of size`);
    const extended = await casebook([
      'ledger',
      'check-proof',
      join(auditor, 'since-1.json'),
      '--public-key',
      pem,
    ]);
    expect(extended).toMatchObject({ code: 0, stderr: '' });
    expect(extended.stdout).toContain(`extends the log at size 1`);

    // The same proof with its entry edited no longer checks.
    const changed = { ...proof, entry: { ...proof.entry, summary: `${proof.entry.summary} (edited)` } };
    writeFileSync(join(auditor, 'edited.json'), JSON.stringify(changed));
    const edited = await casebook([
      'ledger',
      'check-proof',
      join(auditor, 'edited.json'),
      '--public-key',
      pem,
    ]);
    expect(edited).toMatchObject({ code: 1, stderr: '' });
    expect(edited.stdout).toMatch(
      /^Proof NOT verified: entry 2 of .* the entry or the proof was changed\.\n$/,
    );
  });

  it('gives the case file the signed head it was made at, from which the log provably grew', async () => {
    const caseFile = await casebook(['case-file', incidentId], operator);
    expect(caseFile).toMatchObject({ code: 0, stderr: '' });
    const head = parse(caseFile.stdout).ledger_head as { size: number; root: string; origin: string };
    expect(head).toMatchObject({
      origin: `casebook/ledger/${incidentId}`,
      root: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(head.size).toBeGreaterThanOrEqual(4);
    const since = await casebook(
      ['ledger', 'prove', '--incident', incidentId, '--from', String(head.size)],
      operator,
    );
    expect(since).toMatchObject({ code: 0, stderr: '' });
    // The proof starts from the very head the case file holds.
    expect(JSON.parse(since.stdout).from).toMatchObject({ size: head.size, root: head.root });
  });

  it('refuses what it cannot prove with one line and exit status 2', async () => {
    const [beyond, noHead, neither, unknown] = await Promise.all([
      casebook(['ledger', 'prove', '--incident', incidentId, '--seq', '100000'], operator),
      casebook(['ledger', 'prove', '--incident', incidentId, '--from', '99999'], operator),
      casebook(['ledger', 'prove', '--incident', incidentId], operator),
      casebook(['ledger', 'prove', '--incident', 'INC-2026-9999', '--seq', '1'], operator),
    ]);
    for (const result of [beyond, noHead, neither, unknown]) {
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^casebook: [^\n]+\n$/);
    }
    expect(beyond.stderr).toMatch(
      new RegExp(`^casebook: ${incidentId} has no entry 100000 at its signed head of \\d+ entries\\n$`),
    );
    expect(noHead.stderr).toMatch(
      new RegExp(`^casebook: ${incidentId} has no signed head of size 99999; its heads are of sizes `),
    );
    expect(neither.stderr).toBe(
      'casebook: prove needs either --seq N (inclusion) or --from SIZE (consistency)\n',
    );
    expect(unknown.stderr).toBe('casebook: No ledger entries for INC-2026-9999\n');
  });
});
