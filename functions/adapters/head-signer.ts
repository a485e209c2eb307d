/**
 * The keys that sign tree heads. Locally: a P-256 key pair under the data directory's `keys/`, the
 * private key in PKCS #8 PEM (mode 600) and the public key beside it in SPKI PEM (`.pub.pem`), made
 * on first use. On AWS: an asymmetric KMS key nobody can read; the functions that append may only
 * `kms:Sign` with it, and anyone may have its public key.
 */
import type { KeyObject } from 'node:crypto';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { GetPublicKeyCommandOutput, KMSClient } from '@aws-sdk/client-kms';
import { GetPublicKeyCommand, SignCommand } from '@aws-sdk/client-kms';
import type { HeadSigner } from '../domain/checkpoint.ts';
import { ledgerPublicKey } from '../domain/checkpoint.ts';
import { dependencyError } from './aws-errors.ts';
import type { HeadSignerSource } from './config.ts';

/** Where a private key file's public key is kept. */
export function publicKeyFileOf(privateKeyFile: string): string {
  return privateKeyFile.replace(/(\.pem)?$/, '.pub.pem');
}

/** Signs with a P-256 private key from a PEM file. */
export class FileHeadSigner implements HeadSigner {
  private readonly key: KeyObject;
  private readonly spki: Buffer;

  constructor(privateKeyPem: string) {
    this.key = createPrivateKey(privateKeyPem);
    const publicKey = ledgerPublicKey(createPublicKey(this.key));
    this.spki = publicKey.export({ format: 'der', type: 'spki' });
  }

  /** Reads a key file; with `create`, makes a new key pair where there is none. */
  static fromFile(path: string, options: { create?: boolean } = {}): FileHeadSigner {
    if (!existsSync(path)) {
      if (!options.create) throw new Error(`No ledger signing key at ${path}`);
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, pair.privateKey.export({ format: 'pem', type: 'pkcs8' }), {
        mode: 0o600,
        flag: 'wx',
      });
      writeFileSync(publicKeyFileOf(path), pair.publicKey.export({ format: 'pem', type: 'spki' }), {
        mode: 0o644,
      });
    }
    return new FileHeadSigner(readFileSync(path, 'utf8'));
  }

  async sign(message: Uint8Array): Promise<Buffer> {
    return sign('sha256', message, { key: this.key, dsaEncoding: 'der' });
  }

  async publicKey(): Promise<Buffer> {
    return this.spki;
  }
}

/**
 * Signs with an asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY): `kms:Sign` with ECDSA_SHA_256 over
 * the raw checkpoint bytes, so KMS hashes them as `crypto.verify('sha256', …)` does, and returns the
 * signature DER-encoded. The public key is asked for once per signer (one per cold start) and
 * checked to be P-256 before anything is signed with it.
 */
export class KmsHeadSigner implements HeadSigner {
  private readonly kms: KMSClient;
  private readonly keyId: string;
  private spki: Promise<Buffer> | undefined;

  constructor(kms: KMSClient, keyId: string) {
    this.kms = kms;
    this.keyId = keyId;
  }

  async sign(message: Uint8Array): Promise<Buffer> {
    let signature: Uint8Array | undefined;
    try {
      const out = await this.kms.send(
        new SignCommand({
          KeyId: this.keyId,
          Message: message,
          MessageType: 'RAW',
          SigningAlgorithm: 'ECDSA_SHA_256',
        }),
      );
      signature = out.Signature;
    } catch (error) {
      throw dependencyError('Signing a tree head failed', error);
    }
    if (!signature || signature.length === 0) {
      throw dependencyError('Signing a tree head failed', new Error('KMS returned no signature'));
    }
    return Buffer.from(signature);
  }

  publicKey(): Promise<Buffer> {
    // A failed fetch is forgotten, so the next head asks again instead of failing for the whole cold start.
    this.spki ??= this.fetchPublicKey().catch((error: unknown) => {
      this.spki = undefined;
      throw error;
    });
    return this.spki;
  }

  private async fetchPublicKey(): Promise<Buffer> {
    let out: GetPublicKeyCommandOutput;
    try {
      out = await this.kms.send(new GetPublicKeyCommand({ KeyId: this.keyId }));
    } catch (error) {
      throw dependencyError('Reading the ledger signing key’s public key failed', error);
    }
    // A key of the wrong kind is a deployment mistake, not an outage: it is not retried.
    if (out.KeyUsage !== 'SIGN_VERIFY' || !out.PublicKey) {
      throw new Error(
        `The ledger signing key ${this.keyId} is not a SIGN_VERIFY key (it is ${out.KeyUsage})`,
      );
    }
    try {
      return ledgerPublicKey(Buffer.from(out.PublicKey)).export({ format: 'der', type: 'spki' });
    } catch (error) {
      throw new Error(
        `The ledger signing key ${this.keyId} is ${(error as Error).message} (KMS key spec ${out.KeySpec})`,
      );
    }
  }
}

/** The head signer a configuration names. */
export function headSignerFor(source: HeadSignerSource, kms: () => KMSClient): HeadSigner {
  return source.kind === 'file'
    ? FileHeadSigner.fromFile(source.path)
    : new KmsHeadSigner(kms(), source.keyId);
}
