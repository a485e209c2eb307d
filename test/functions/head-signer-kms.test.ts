/**
 * The KMS head signer against a mocked KMS: what it asks KMS for, that a signature KMS would give
 * verifies with the public key alone (a real P-256 key answers in KMS's place), and that KMS being
 * away or the key being of the wrong kind is said plainly.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import {
  GetPublicKeyCommand,
  KMSClient,
  KMSInternalException,
  KMSInvalidStateException,
  SignCommand,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { isDependencyOutage } from '../../functions/adapters/aws-errors.ts';
import { headSignerFor, KmsHeadSigner } from '../../functions/adapters/head-signer.ts';
import {
  checkpointText,
  keyIdOf,
  ledgerOrigin,
  ledgerPublicKey,
  signHead,
  verifyHeadSignature,
} from '../../functions/domain/checkpoint.ts';
import { ERROR_NAMES } from '../../functions/domain/errors.ts';
import { leafHash, rootOf } from '../../functions/domain/merkle.ts';

const KEY_ID = 'arn:aws:kms:eu-west-1:111122223333:key/0e6c5f3a-6b0e-4e3e-9a43-2f9f1d4b7c11';
const kms = mockClient(KMSClient);
const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
const checkpoint = {
  origin: ledgerOrigin('INC-2026-0042'),
  size: 3,
  root: rootOf(['a', 'b', 'c'].map((x) => leafHash(Buffer.from(x)))).toString('hex'),
};

/** KMS's answers, given by a real P-256 key: Sign signs the raw message with SHA-256, DER-encoded. */
function kmsHoldsThePair(): void {
  kms.on(SignCommand).callsFake((input: { Message: Uint8Array }) => ({
    KeyId: KEY_ID,
    SigningAlgorithm: 'ECDSA_SHA_256',
    Signature: sign('sha256', input.Message, { key: pair.privateKey, dsaEncoding: 'der' }),
  }));
  kms.on(GetPublicKeyCommand).resolves({
    KeyId: KEY_ID,
    KeySpec: 'ECC_NIST_P256',
    KeyUsage: 'SIGN_VERIFY',
    PublicKey: spki,
    SigningAlgorithms: ['ECDSA_SHA_256'],
  });
}

const outage = (name: string) =>
  Object.assign(new Error(`${name}: try later`), {
    name,
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
  });

beforeEach(() => kms.reset());

describe('the KMS head signer', () => {
  it('signs the checkpoint bytes as RAW with ECDSA_SHA_256, verifiable with the public key alone', async () => {
    kmsHoldsThePair();
    const signer = new KmsHeadSigner(new KMSClient({ region: 'eu-west-1' }), KEY_ID);
    const head = await signHead(signer, checkpoint);
    const again = await signHead(signer, { ...checkpoint, size: 3 });

    expect(verifyHeadSignature(head, ledgerPublicKey(spki))).toBe(true);
    expect(verifyHeadSignature(again, ledgerPublicKey(spki))).toBe(true);
    expect(head.keyId).toBe(keyIdOf(spki));
    expect(verifyHeadSignature({ ...head, size: 4 }, ledgerPublicKey(spki))).toBe(false);
    const [call] = kms.commandCalls(SignCommand);
    expect(call?.args[0].input).toMatchObject({
      KeyId: KEY_ID,
      MessageType: 'RAW',
      SigningAlgorithm: 'ECDSA_SHA_256',
    });
    expect(Buffer.from(call?.args[0].input.Message as Uint8Array).toString('utf8')).toBe(
      checkpointText(checkpoint),
    );
    // The public key is asked for once, however many heads the signer signs.
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(1);
  });

  it('turns KMS being unavailable into the dependency error the lifecycle retries', async () => {
    kms
      .on(SignCommand)
      .rejects(new KMSInternalException({ message: 'KMS is having a moment', $metadata: {} }));
    kms.on(GetPublicKeyCommand).rejects(outage('ServiceUnavailableException'));
    const signer = new KmsHeadSigner(new KMSClient({ region: 'eu-west-1' }), KEY_ID);

    const signing = await signer.sign(Buffer.from(checkpointText(checkpoint))).catch((e: unknown) => e);
    expect(signing).toMatchObject({
      name: ERROR_NAMES.dependencyUnavailable,
      message: expect.stringMatching(/^Signing a tree head failed: KMS is having a moment/),
    });
    const reading = await signer.publicKey().catch((e: unknown) => e);
    expect(reading).toMatchObject({ name: ERROR_NAMES.dependencyUnavailable });
    expect(isDependencyOutage(reading)).toBe(true);
    await expect(signHead(signer, checkpoint)).rejects.toMatchObject({
      name: ERROR_NAMES.dependencyUnavailable,
    });
  });

  it('asks for the public key again after a failed attempt, not once per cold start', async () => {
    kms
      .on(GetPublicKeyCommand)
      .rejectsOnce(outage('ServiceUnavailableException'))
      .resolves({ KeyId: KEY_ID, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', PublicKey: spki });
    const signer = new KmsHeadSigner(new KMSClient({ region: 'eu-west-1' }), KEY_ID);
    await expect(signer.publicKey()).rejects.toMatchObject({ name: ERROR_NAMES.dependencyUnavailable });
    expect(await signer.publicKey()).toEqual(spki);
    expect(kms.commandCalls(GetPublicKeyCommand)).toHaveLength(2);
  });

  it('says a disabled key is a dependency error that is not an outage to retry', async () => {
    kms.on(SignCommand).rejects(
      new KMSInvalidStateException({
        message: `${KEY_ID} is disabled.`,
        $metadata: { httpStatusCode: 400 },
      }),
    );
    const signer = new KmsHeadSigner(new KMSClient({ region: 'eu-west-1' }), KEY_ID);
    const error = await signer.sign(Buffer.from('x')).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: ERROR_NAMES.dependencyUnavailable,
      message: expect.stringContaining('disabled'),
    });
    expect(isDependencyOutage(error)).toBe(false);
  });

  it('refuses a key that cannot sign, or is not P-256, naming what it is', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    kms
      .on(GetPublicKeyCommand)
      .resolvesOnce({ KeyId: KEY_ID, KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', PublicKey: rsa })
      .resolvesOnce({ KeyId: KEY_ID, KeySpec: 'SYMMETRIC_DEFAULT', KeyUsage: 'ENCRYPT_DECRYPT' });
    const signer = new KmsHeadSigner(new KMSClient({ region: 'eu-west-1' }), KEY_ID);
    await expect(signer.publicKey()).rejects.toThrow(
      `The ledger signing key ${KEY_ID} is a RSA key, not an ECDSA P-256 key (KMS key spec RSA_2048)`,
    );
    await expect(signer.publicKey()).rejects.toThrow(/is not a SIGN_VERIFY key \(it is ENCRYPT_DECRYPT\)/);
  });

  it('is the KMS signer for a KMS key id and the file signer for a key file', () => {
    expect(
      headSignerFor({ kind: 'kms', keyId: KEY_ID }, () => new KMSClient({ region: 'eu-west-1' })),
    ).toBeInstanceOf(KmsHeadSigner);
    expect(() =>
      headSignerFor({ kind: 'file', path: '/nonexistent/ledger-signing.pem' }, () => new KMSClient({})),
    ).toThrow('No ledger signing key at /nonexistent/ledger-signing.pem');
  });
});
