import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileHeadSigner, publicKeyFileOf } from '../../functions/adapters/head-signer.ts';
import {
  checkpointText,
  ledgerOrigin,
  ledgerPublicKey,
  parseCheckpoint,
  parseSignedNote,
  signedNote,
  signHead,
  verifyHeadSignature,
} from '../../functions/domain/checkpoint.ts';
import { leafHash, rootOf } from '../../functions/domain/merkle.ts';

const root = rootOf([leafHash(Buffer.from('a')), leafHash(Buffer.from('b'))]).toString('hex');
const checkpoint = { origin: ledgerOrigin('INC-2026-0007'), size: 2, root };
const keyFile = join(mkdtempSync(join(tmpdir(), 'casebook-keys-')), 'keys', 'ledger-signing.pem');
const signer = FileHeadSigner.fromFile(keyFile, { create: true });
const publicKey = ledgerPublicKey(readFileSync(publicKeyFileOf(keyFile), 'utf8'));

describe('checkpoints (C2SP tlog-checkpoint)', () => {
  it('are the origin, the size in decimal and the base64 root, a line each', () => {
    expect(checkpointText(checkpoint)).toBe(
      `casebook/ledger/INC-2026-0007\n2\n${Buffer.from(root, 'hex').toString('base64')}\n`,
    );
    expect(parseCheckpoint(checkpointText(checkpoint))).toEqual(checkpoint);
  });

  it('refuse text that is not a checkpoint, saying which line', () => {
    expect(() => parseCheckpoint('casebook/ledger/X\n02\nAAAA\n')).toThrow(/second line/);
    expect(() => parseCheckpoint('casebook/ledger/X\n2\nAAAA\n')).toThrow(/third line/);
    expect(() => parseCheckpoint('has a space\n2\nAAAA\n')).toThrow(/first line/);
    expect(() => checkpointText({ ...checkpoint, root: 'ab' })).toThrow(/64 hex/);
  });
});

describe('signed heads', () => {
  it('verify with the public key alone, and not once anything in them changes', async () => {
    const head = await signHead(signer, checkpoint);
    expect(verifyHeadSignature(head, publicKey)).toBe(true);
    expect(verifyHeadSignature({ ...head, size: 3 }, publicKey)).toBe(false);
    expect(verifyHeadSignature({ ...head, origin: ledgerOrigin('INC-2026-0008') }, publicKey)).toBe(false);
    expect(verifyHeadSignature({ ...head, root: '0'.repeat(64) }, publicKey)).toBe(false);
    expect(verifyHeadSignature({ ...head, signature: '' }, publicKey)).toBe(false);
    const other = ledgerPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    expect(verifyHeadSignature(head, other)).toBe(false);
  });

  it('keep the private key to its owner (mode 600) and publish the public key', () => {
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(publicKeyFileOf(keyFile), 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  });

  it('round-trip as C2SP signed notes', async () => {
    const head = await signHead(signer, checkpoint);
    const note = signedNote(head, 'casebook');
    expect(note.startsWith(`${checkpointText(checkpoint)}\n— casebook `)).toBe(true);
    const read = parseSignedNote(note);
    expect(read.keyName).toBe('casebook');
    expect(verifyHeadSignature(read.head, publicKey)).toBe(true);
  });

  it('name the wrong kind of public key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      format: 'pem',
      type: 'spki',
    });
    expect(() => ledgerPublicKey(rsa)).toThrow(/RSA key, not an ECDSA P-256 key/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({
      format: 'pem',
      type: 'spki',
    });
    expect(() => ledgerPublicKey(p384)).toThrow(/secp384r1 key, not an ECDSA P-256 key/);
  });
});
