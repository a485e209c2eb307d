/**
 * The keys that seal ledger entries. On AWS, a KMS HMAC key: the appending functions may only
 * `GenerateMac`, verification may only `VerifyMac`, and nobody can read the key. Locally, a key
 * file under the data directory (mode 600) holding every key ever used, so rotation keeps old
 * entries verifiable: each entry names the key that sealed it.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { KMSClient } from '@aws-sdk/client-kms';
import { GenerateMacCommand, KMSInvalidMacException, VerifyMacCommand } from '@aws-sdk/client-kms';
import * as z from 'zod';
import type { Seal, Sealer } from '../domain/ledger.ts';
import { dependencyError } from './aws-errors.ts';
import type { LedgerKeySource } from './config.ts';

const keyFileSchema = z.object({
  current: z.string().min(1),
  keys: z.record(z.string(), z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'must be a base64 256-bit key')),
});
type KeyFile = z.infer<typeof keyFileSchema>;

/** Seals with HMAC-SHA-256 keys from a local key file. */
export class FileKeySealer implements Sealer {
  private readonly keys: ReadonlyMap<string, Buffer>;
  private readonly current: string;

  constructor(file: KeyFile) {
    const parsed = keyFileSchema.parse(file);
    if (!parsed.keys[parsed.current])
      throw new Error(`The ledger key file names ${parsed.current} as current but does not hold it`);
    this.keys = new Map(
      Object.entries(parsed.keys).map(([id, key]) => [`local:${id}`, Buffer.from(key, 'base64')]),
    );
    this.current = `local:${parsed.current}`;
  }

  /** Reads a key file; with `create`, writes a new one (mode 600) where there is none. */
  static fromFile(path: string, options: { create?: boolean } = {}): FileKeySealer {
    if (!existsSync(path)) {
      if (!options.create) throw new Error(`No ledger key file at ${path}`);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, `${JSON.stringify(newKeyFile(), null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    }
    return new FileKeySealer(JSON.parse(readFileSync(path, 'utf8')) as KeyFile);
  }

  async seal(hash: string): Promise<Seal> {
    return { keyId: this.current, mac: mac(this.keys.get(this.current) as Buffer, hash) };
  }

  async verify(hash: string, seal: Seal): Promise<boolean> {
    const key = this.keys.get(seal.keyId);
    if (!key || typeof seal.mac !== 'string') return false;
    const expected = Buffer.from(mac(key, hash), 'base64');
    const presented = Buffer.from(seal.mac, 'base64');
    return expected.length === presented.length && timingSafeEqual(expected, presented);
  }
}

/** A key file with one fresh key. */
export function newKeyFile(id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`): KeyFile {
  return { current: id, keys: { [id]: randomBytes(32).toString('base64') } };
}

/** Adds a fresh key to a key file and makes it the current one; the old keys stay for verifying. */
export function rotateKeyFile(path: string): string {
  const file = keyFileSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  let id = newKeyFile().current;
  for (let n = 2; file.keys[id]; n++) id = `${newKeyFile().current}-${n}`;
  const next = { current: id, keys: { ...file.keys, [id]: randomBytes(32).toString('base64') } };
  writeFileSync(path, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 });
  return `local:${id}`;
}

function mac(key: Buffer, hash: string): string {
  return createHmac('sha256', key).update(Buffer.from(hash, 'hex')).digest('base64');
}

/** Seals with a KMS HMAC_256 key (`GenerateMac` / `VerifyMac`, HMAC_SHA_256). */
export class KmsSealer implements Sealer {
  private readonly kms: KMSClient;
  private readonly keyId: string;

  constructor(kms: KMSClient, keyId: string) {
    this.kms = kms;
    this.keyId = keyId;
  }

  async seal(hash: string): Promise<Seal> {
    try {
      const out = await this.kms.send(
        new GenerateMacCommand({
          KeyId: this.keyId,
          MacAlgorithm: 'HMAC_SHA_256',
          Message: Buffer.from(hash, 'hex'),
        }),
      );
      if (!out.Mac || !out.KeyId) throw new Error('KMS returned no MAC');
      return { keyId: out.KeyId, mac: Buffer.from(out.Mac).toString('base64') };
    } catch (error) {
      throw dependencyError('Sealing a ledger entry failed', error);
    }
  }

  async verify(hash: string, seal: Seal): Promise<boolean> {
    try {
      const out = await this.kms.send(
        new VerifyMacCommand({
          KeyId: seal.keyId,
          MacAlgorithm: 'HMAC_SHA_256',
          Message: Buffer.from(hash, 'hex'),
          Mac: Buffer.from(seal.mac, 'base64'),
        }),
      );
      return out.MacValid === true;
    } catch (error) {
      if (error instanceof KMSInvalidMacException) return false;
      throw dependencyError('Verifying a ledger seal failed', error);
    }
  }
}

/** The sealer a configuration names. */
export function sealerFor(source: LedgerKeySource, kms: () => KMSClient): Sealer {
  return source.kind === 'file' ? FileKeySealer.fromFile(source.path) : new KmsSealer(kms(), source.keyId);
}
