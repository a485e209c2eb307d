import type { KeyObject } from 'node:crypto';
import { generateKeyPairSync, sign } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HeadSigner, SignedHead } from '../../functions/domain/checkpoint.ts';
import { ledgerOrigin, ledgerPublicKey, signHead } from '../../functions/domain/checkpoint.ts';
import { rootOf } from '../../functions/domain/merkle.ts';
import type { ProofFile } from '../../functions/domain/proof-file.ts';
import {
  checkProofFile,
  entryLeaf,
  makeConsistencyProof,
  makeInclusionProof,
  PROOF_FORMAT,
  parseProofFile,
  proveConsistency,
  renderProofFile,
  signedHeadIn,
} from '../../functions/domain/proof-file.ts';

const INCIDENT = 'INC-2026-0007';

function keySigner(): { signer: HeadSigner; publicKey: KeyObject } {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
  return {
    signer: {
      sign: async (message) => sign('sha256', message, { key: pair.privateKey, dsaEncoding: 'der' }),
      publicKey: async () => spki,
    },
    publicKey: ledgerPublicKey(spki),
  };
}

const ledger = keySigner();
const stranger = keySigner();
const entries = Array.from({ length: 13 }, (_, i) => ({
  incidentId: INCIDENT,
  kind: i % 3 === 0 ? 'refund' : 'notice',
  state: 'confirmed',
  amount: { minor: 1000 + i, currency: 'EUR' },
  summary: `effect ${i + 1} — “quoted” ünïcödé`,
}));

async function headAt(size: number, signer = ledger.signer, id = INCIDENT): Promise<SignedHead> {
  return signHead(signer, {
    origin: ledgerOrigin(id),
    size,
    root: rootOf(entries.slice(0, size).map(entryLeaf)).toString('hex'),
  });
}

let head13: SignedHead;
let head5: SignedHead;
beforeAll(async () => {
  head13 = await headAt(13);
  head5 = await headAt(5);
});

/** A file as `prove` writes it, read back as `check-proof` reads it. */
const roundTrip = (file: ProofFile) => parseProofFile(renderProofFile(file));
const edited = (file: ProofFile, change: (raw: Record<string, unknown>) => void): string => {
  const raw = JSON.parse(renderProofFile(file)) as Record<string, unknown>;
  change(raw);
  return JSON.stringify(raw);
};

describe('inclusion proofs', () => {
  it('prove every entry in the log at its signed head, with the public key alone', () => {
    for (let seq = 1; seq <= 13; seq++) {
      const file = roundTrip(makeInclusionProof(INCIDENT, entries, seq, head13));
      expect(file).toMatchObject({ format: PROOF_FORMAT, kind: 'inclusion', seq, index: seq - 1 });
      expect(checkProofFile(file, ledger.publicKey)).toEqual({
        ok: true,
        summary: `Entry ${seq} of ${INCIDENT} is in its log at the head of size 13, signed by key ${head13.keyId}.`,
      });
    }
  });

  it('fail for an entry changed after it was proved, or a proof path changed', () => {
    const file = makeInclusionProof(INCIDENT, entries, 4, head13);
    const changed = parseProofFile(
      edited(file, (raw) => {
        (raw.entry as { amount: { minor: number } }).amount.minor = 1;
      }),
    );
    expect(checkProofFile(changed, ledger.publicKey)).toEqual({
      ok: false,
      reason: `entry 4 of ${INCIDENT} is not in the log at the signed head of size 13: the entry or the proof was changed`,
    });
    const swapped = { ...file, proof: [...file.proof].reverse() };
    expect(checkProofFile(swapped, ledger.publicKey).ok).toBe(false);
    const moved = { ...file, seq: 5, index: 4 };
    expect(checkProofFile(moved, ledger.publicKey).ok).toBe(false);
  });

  it('refuse to prove an entry past the head, or against entries that do not give its root', () => {
    expect(() => makeInclusionProof(INCIDENT, entries, 14, head13)).toThrow(
      `${INCIDENT} has no entry 14 at its signed head of 13 entries`,
    );
    const rewritten = entries.map((e, i) => (i === 2 ? { ...e, summary: 'rewritten' } : e));
    expect(() => makeInclusionProof(INCIDENT, rewritten, 1, head13)).toThrow(
      `the entries of ${INCIDENT} do not give the root of its signed head of size 13`,
    );
  });
});

describe('consistency proofs', () => {
  it('prove a later head extends an earlier one, for every pair of sizes', async () => {
    const heads = await Promise.all(entries.map((_, i) => headAt(i + 1)));
    for (const from of heads) {
      for (const to of heads.filter((h) => h.size >= from.size)) {
        const file = roundTrip(makeConsistencyProof(INCIDENT, entries, from, to));
        const verdict = checkProofFile(file, ledger.publicKey);
        expect(verdict.ok, `${from.size} → ${to.size}`).toBe(true);
      }
    }
  });

  it('fail when the later head is of a log that rewrote the earlier one, re-signed with the key', async () => {
    const rewritten = entries.map((e, i) => (i === 1 ? { ...e, summary: 'rewritten' } : e));
    const forged = await signHead(ledger.signer, {
      origin: ledgerOrigin(INCIDENT),
      size: 13,
      root: rootOf(rewritten.map(entryLeaf)).toString('hex'),
    });
    const honest = makeConsistencyProof(INCIDENT, entries, head5, head13);
    const verdict = checkProofFile({ ...honest, to: forged }, ledger.publicKey);
    expect(verdict).toEqual({
      ok: false,
      reason: `the log of ${INCIDENT} at size 13 is not shown to extend the log at size 5: the heads or the proof do not agree`,
    });
    // Nor can the rewritten log make a proof of its own from the honest earlier head.
    expect(() => makeConsistencyProof(INCIDENT, rewritten, head5, forged)).toThrow(/do not give the root/);
  });

  it('fail when the heads are given the wrong way round', () => {
    const file = makeConsistencyProof(INCIDENT, entries, head5, head13);
    expect(checkProofFile({ ...file, from: head13, to: head5 }, ledger.publicKey)).toEqual({
      ok: false,
      reason: 'the from head (size 13) is larger than the to head (size 5)',
    });
  });
});

describe('bad input: one line saying what is wrong', () => {
  const file = () => makeInclusionProof(INCIDENT, entries, 3, head13);

  it.each([
    ['text that is not JSON', () => '{"format": "casebook-proof/1",', 'the proof file is not JSON'],
    ['JSON that is not an object', () => '[1, 2]', 'the proof file is not a JSON object'],
    [
      'another format version',
      () => edited(file(), (raw) => Object.assign(raw, { format: 'casebook-proof/2' })),
      'the proof file\'s format is "casebook-proof/2", not "casebook-proof/1"',
    ],
    [
      'a kind it does not know',
      () => edited(file(), (raw) => Object.assign(raw, { kind: 'audit' })),
      'the proof file\'s kind is "audit", not "inclusion" or "consistency"',
    ],
    [
      'a proof hash that is not one',
      () => edited(file(), (raw) => Object.assign(raw, { proof: ['abc'] })),
      "the proof file's proof.0 must be 64 lowercase hex digits",
    ],
    [
      'a head without its signature',
      () =>
        edited(file(), (raw) => {
          delete (raw.head as Record<string, unknown>).signature;
        }),
      "the proof file's head.signature is missing",
    ],
    [
      'a field no proof has',
      () => edited(file(), (raw) => Object.assign(raw, { note: 'trust me' })),
      "the proof file's (top level) has a field it should not: note",
    ],
    [
      'a head of another incident',
      () =>
        edited(file(), (raw) => {
          (raw.head as Record<string, unknown>).origin = ledgerOrigin('INC-2026-0008');
        }),
      `the proof is said to be of ${INCIDENT}, but its signed head is of the log casebook/ledger/INC-2026-0008`,
    ],
    [
      'an entry of another incident',
      () =>
        edited(file(), (raw) => {
          (raw.entry as Record<string, unknown>).incidentId = 'INC-2026-0008';
        }),
      `the proof is said to be of ${INCIDENT}, but its entry is of INC-2026-0008`,
    ],
    [
      'a seq that is not its index',
      () => edited(file(), (raw) => Object.assign(raw, { seq: 9 })),
      "the proof's seq 9 is not its index 2 + 1",
    ],
  ])('%s', (_, text, message) => {
    expect(() => parseProofFile(text())).toThrow(message);
    try {
      parseProofFile(text());
    } catch (error) {
      expect((error as Error).name).toBe('ProofInputError');
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('a head signed by another key', async () => {
    const theirs = await headAt(13, stranger.signer);
    const proof = { ...file(), head: theirs };
    expect(() => checkProofFile(proof, ledger.publicKey)).toThrow(
      `the signed head was signed by key ${theirs.keyId}, not by this public key (${head13.keyId})`,
    );
  });

  it('a head the key never signed: its signature copied onto another root', async () => {
    const other = await headAt(12);
    const forged = { ...other, signature: head13.signature, size: 13 };
    const proof = parseProofFile(renderProofFile({ ...file(), head: forged }));
    expect(() => checkProofFile(proof, ledger.publicKey)).toThrow(
      `the signed head's signature is not this key's: the log never signed a head of size 13 with root ${other.root}`,
    );
  });

  it('a consistency proof whose earlier head the key never signed', () => {
    const proof = makeConsistencyProof(INCIDENT, entries, head5, head13);
    const unsigned = { ...proof, from: { ...head5, signature: head13.signature } };
    expect(() => checkProofFile(unsigned, ledger.publicKey)).toThrow(
      /^the from head's signature is not this key's/,
    );
  });

  it('a public key that is not P-256', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      format: 'pem',
      type: 'spki',
    });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({
      format: 'pem',
      type: 'spki',
    });
    expect(() => ledgerPublicKey(rsa)).toThrow('a RSA key, not an ECDSA P-256 key');
    expect(() => ledgerPublicKey(p384)).toThrow('a EC secp384r1 key, not an ECDSA P-256 key');
  });
});

describe('a consistency proof from a head someone kept', () => {
  const log = () => ({ incidentId: INCIDENT, entries, heads: [head5, head13] });
  const caseFileHead = () => ({
    origin: head5.origin,
    size: head5.size,
    root: head5.root,
    key_id: head5.keyId,
    signature: head5.signature,
  });

  it('finds the head in a case file, a proof file, or by itself', () => {
    expect(signedHeadIn({ incident_id: INCIDENT, ledger_head: caseFileHead() })).toEqual(head5);
    expect(signedHeadIn(makeInclusionProof(INCIDENT, entries, 2, head13))).toEqual(head13);
    expect(signedHeadIn(makeConsistencyProof(INCIDENT, entries, head5, head13))).toEqual(head13);
    expect(signedHeadIn(head5)).toEqual(head5);
    expect(() => signedHeadIn({ incident_id: INCIDENT })).toThrow(
      /^no signed head there: its origin is missing$/,
    );
  });

  it('proves from it when the log still has it, and says the log was rewritten when not', async () => {
    const proof = proveConsistency(log(), signedHeadIn({ ledger_head: caseFileHead() }));
    expect(checkProofFile(proof, ledger.publicKey)).toMatchObject({ ok: true });
    const rewritten = entries.map((e, i) => (i === 0 ? { ...e, summary: 'rewritten' } : e));
    const reSigned = await signHead(ledger.signer, {
      origin: ledgerOrigin(INCIDENT),
      size: 5,
      root: rootOf(rewritten.slice(0, 5).map(entryLeaf)).toString('hex'),
    });
    expect(() => proveConsistency({ ...log(), heads: [reSigned, head13] }, head5)).toThrow(
      `${INCIDENT}'s signed head of size 5 has root ${reSigned.root}, but the head given has root ${head5.root}: the log was rewritten since (casebook ledger verify names where)`,
    );
    const elsewhere = await headAt(5, ledger.signer, 'INC-2026-0008');
    expect(() => proveConsistency(log(), elsewhere)).toThrow(
      `the head given is of the log casebook/ledger/INC-2026-0008, not of ${INCIDENT}`,
    );
  });
});
