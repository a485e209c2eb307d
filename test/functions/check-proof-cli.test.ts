/**
 * `casebook ledger check-proof` as a third party runs it: a process with nothing but PATH and HOME,
 * in a directory holding only the proof file and the public key — no stack, no AWS, no variables.
 * A proof that checks exits 0, one that does not exits 1, bad input exits 2 with one line.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HeadSigner, SignedHead } from '../../functions/domain/checkpoint.ts';
import { ledgerOrigin, signHead } from '../../functions/domain/checkpoint.ts';
import { rootOf } from '../../functions/domain/merkle.ts';
import type { InclusionProofFile, ProofFile } from '../../functions/domain/proof-file.ts';
import {
  entryLeaf,
  makeConsistencyProof,
  makeInclusionProof,
  renderProofFile,
} from '../../functions/domain/proof-file.ts';
import { type CliResult, casebook } from '../support/cli.ts';

const INCIDENT = 'INC-2026-0031';
const dir = mkdtempSync(join(tmpdir(), 'casebook-proofs-'));

function keyPair(curve = 'P-256'): { signer: HeadSigner; pem: string } {
  const pair = generateKeyPairSync('ec', { namedCurve: curve });
  const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
  return {
    signer: {
      sign: async (m) => sign('sha256', m, { key: pair.privateKey, dsaEncoding: 'der' }),
      publicKey: async () => spki,
    },
    pem: pair.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

const ledgerKey = keyPair();
const entries = Array.from({ length: 6 }, (_, i) => ({
  format: 3,
  incidentId: INCIDENT,
  seq: i + 1,
  kind: 'refund',
  amount: { minor: 500 * (i + 1), currency: 'EUR' },
}));
const headAt = (size: number, signer = ledgerKey.signer): Promise<SignedHead> =>
  signHead(signer, {
    origin: ledgerOrigin(INCIDENT),
    size,
    root: rootOf(entries.slice(0, size).map(entryLeaf)).toString('hex'),
  });

/** Writes `content` to a file of the temp directory and gives its path. */
function file(name: string, content: string | ProofFile): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : renderProofFile(content));
  return path;
}

const check = (proof: string, key: string): Promise<CliResult> =>
  casebook(['ledger', 'check-proof', proof, '--public-key', key]);

/** One line on stderr, no stack trace, nothing on stdout. */
function expectBadInput(result: CliResult | undefined, message: string | RegExp): void {
  expect(result).toMatchObject({ code: 2, stdout: '' });
  if (typeof message === 'string') expect(result?.stderr).toBe(`casebook: ${message}\n`);
  else expect(result?.stderr).toMatch(message);
}

let inclusion: InclusionProofFile;
/** Every run's result by name: the runs start together, since each is a process of its own. */
const runs = new Map<string, CliResult>();
const run = (name: string) => runs.get(name);
let paths: Record<'rsa' | 'p384' | 'private' | 'proof', string>;

beforeAll(async () => {
  const [head2, head5, head6] = [await headAt(2), await headAt(5), await headAt(6)];
  inclusion = makeInclusionProof(INCIDENT, entries, 4, head6);
  const consistency = makeConsistencyProof(INCIDENT, entries, head2, head6);
  const key = file('ledger.pub.pem', ledgerKey.pem);
  const proof = file('inclusion.json', inclusion);
  paths = {
    proof,
    rsa: file(
      'rsa.pub.pem',
      generateKeyPairSync('rsa', { modulusLength: 2048 })
        .publicKey.export({ format: 'pem', type: 'spki' })
        .toString(),
    ),
    p384: file('p384.pub.pem', keyPair('P-384').pem),
    private: file(
      'ledger-signing.pem',
      generateKeyPairSync('ec', { namedCurve: 'P-256' })
        .privateKey.export({ format: 'pem', type: 'pkcs8' })
        .toString(),
    ),
  };
  const stranger = keyPair();
  const cases: Record<string, () => Promise<CliResult>> = {
    inclusion: () => check(proof, key),
    consistency: () => check(file('consistency.json', consistency), key),
    changed: () =>
      check(
        file('changed.json', {
          ...inclusion,
          entry: { ...inclusion.entry, amount: { minor: 1, currency: 'EUR' } },
        }),
        key,
      ),
    cut: () => check(file('cut.json', renderProofFile(inclusion).slice(0, 80)), key),
    v9: () =>
      check(file('v9.json', { ...inclusion, format: 'casebook-proof/9' } as unknown as ProofFile), key),
    missing: () => check(join(dir, 'missing.json'), key),
    otherIncident: () => check(file('other.json', { ...inclusion, incidentId: 'INC-2026-0032' }), key),
    forged: () =>
      check(file('forged.json', { ...inclusion, head: { ...inclusion.head, root: head5.root } }), key),
    theirs: async () =>
      check(file('theirs.json', { ...inclusion, head: await headAt(6, stranger.signer) }), key),
    rsa: () => check(proof, paths.rsa),
    p384: () => check(proof, paths.p384),
    private: () => check(proof, paths.private),
    notAKey: () => check(proof, proof),
    noKey: () => casebook(['ledger', 'check-proof', proof]),
  };
  await Promise.all(Object.entries(cases).map(async ([name, go]) => runs.set(name, await go())));
}, 120_000);

describe('casebook ledger check-proof, offline', () => {
  it('checks an inclusion proof and a consistency proof with the public key alone', () => {
    expect(run('inclusion')).toMatchObject({ code: 0, stderr: '' });
    expect(run('inclusion')?.stdout).toMatch(
      /^Entry 4 of INC-2026-0031 is in its log at the head of size 6, signed by key [0-9a-f]{8}\.\n$/,
    );
    expect(run('consistency')).toMatchObject({ code: 0, stderr: '' });
    expect(run('consistency')?.stdout).toContain(
      'The log of INC-2026-0031 at size 6 extends the log at size 2',
    );
  });

  it('exits 1 for a proof that does not check: the entry changed after it was proved', () => {
    expect(run('changed')).toEqual({
      code: 1,
      stderr: '',
      stdout:
        'Proof NOT verified: entry 4 of INC-2026-0031 is not in the log at the signed head of size 6: the entry or the proof was changed.\n',
    });
  });

  it('exits 2 with one line for a malformed proof file', () => {
    expectBadInput(run('cut'), 'the proof file is not JSON');
    expectBadInput(run('v9'), 'the proof file\'s format is "casebook-proof/9", not "casebook-proof/1"');
    expectBadInput(run('missing'), `cannot read the proof file ${join(dir, 'missing.json')}: no such file`);
  });

  it('exits 2 for a proof of another incident than it says', () => {
    expectBadInput(
      run('otherIncident'),
      'the proof is said to be of INC-2026-0032, but its signed head is of the log casebook/ledger/INC-2026-0031',
    );
  });

  it('exits 2 for a head the key never signed, or another key signed', () => {
    expectBadInput(
      run('forged'),
      /^casebook: the signed head's signature is not this key's: the log never signed a head of size 6 with root [0-9a-f]{64}\n$/,
    );
    expectBadInput(
      run('theirs'),
      /^casebook: the signed head was signed by key [0-9a-f]{8}, not by this public key \([0-9a-f]{8}\)\n$/,
    );
  });

  it('exits 2 for a public key of the wrong type, a private key, or no key', () => {
    expectBadInput(run('rsa'), `the public key ${paths.rsa} is a RSA key, not an ECDSA P-256 key`);
    expectBadInput(run('p384'), `the public key ${paths.p384} is a EC secp384r1 key, not an ECDSA P-256 key`);
    expectBadInput(
      run('private'),
      `the public key ${paths.private} is a private key: give the public key (the .pub.pem beside it)`,
    );
    expectBadInput(run('notAKey'), `the public key ${paths.proof} is not a PEM public key`);
    expect(run('noKey')).toEqual({
      code: 2,
      stdout: '',
      stderr: "error: required option '--public-key <pem>' not specified\n",
    });
  });
});
