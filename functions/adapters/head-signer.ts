/**
 * The keys that sign tree heads. Locally: a P-256 key pair under the data directory's `keys/`, the
 * private key in PKCS #8 PEM (mode 600) and the public key beside it in SPKI PEM (`.pub.pem`), made
 * on first use. On AWS: an asymmetric KMS key (see the KMS signer).
 */
import type { KeyObject } from 'node:crypto';
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HeadSigner } from '../domain/checkpoint.ts';
import { ledgerPublicKey } from '../domain/checkpoint.ts';

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
