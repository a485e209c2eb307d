/**
 * Anchors in S3. On AWS the bucket has Object Lock on (versioned, every object retained for the
 * configured period, COMPLIANCE in production), so not even a writer of the bucket can remove or
 * replace one. s3rver, locally, does not enforce Object Lock; the local stack's S3 does refuse a
 * second `If-None-Match: *` put of a key, as S3 does (local/s3.ts).
 * Signed anchors are under `signed-anchors/`, named by number; format 1 digests, which older
 * tables have, stay under `anchors/` and are still read.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand, PutObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import type { AnchorDigest, SignedAnchor, StoredAnchor } from '../domain/anchor.ts';
import { ANCHOR_PREFIX, anchorKey, signedAnchorSchema } from '../domain/anchor.ts';
import { ConcurrentChangeError } from '../domain/errors.ts';
import type { AnchorStore } from '../domain/ports.ts';
import { dependencyError } from './aws-errors.ts';

const DIGEST_PREFIX = 'anchors/';
/** How many anchors are read at once. */
const READS_IN_FLIGHT = 16;

export class S3AnchorStore implements AnchorStore {
  private readonly s3: S3Client;
  private readonly bucket: string;

  constructor(s3: S3Client, bucket: string) {
    this.s3 = s3;
    this.bucket = bucket;
  }

  async put(anchor: SignedAnchor): Promise<{ key: string }> {
    const key = anchorKey(anchor.number);
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: `${JSON.stringify(anchor)}\n`,
          ContentType: 'application/json',
          // Two anchors racing for one number: the second is refused and reads the first.
          IfNoneMatch: '*',
          // Object Lock buckets refuse a put without a content checksum.
          ChecksumAlgorithm: 'SHA256',
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name === 'PreconditionFailed')
        throw new ConcurrentChangeError(`Anchor ${anchor.number} was written by another anchor run`);
      throw dependencyError('Writing the ledger anchor failed', error);
    }
    return { key };
  }

  keys(): Promise<string[]> {
    return this.list(ANCHOR_PREFIX);
  }

  async get(key: string): Promise<StoredAnchor> {
    const text = await this.read(key);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return { key, unreadable: 'not JSON' };
    }
    const parsed = signedAnchorSchema.safeParse(value);
    return parsed.success
      ? { key, anchor: parsed.data as SignedAnchor }
      : { key, unreadable: `not a signed anchor (${parsed.error.issues[0]?.path.join('.') || 'shape'})` };
  }

  async all(onProgress?: (done: number, total: number) => void): Promise<StoredAnchor[]> {
    const keys = await this.keys();
    const out: StoredAnchor[] = new Array(keys.length);
    let next = 0;
    let done = 0;
    const worker = async () => {
      while (next < keys.length) {
        const i = next++;
        out[i] = await this.get(keys[i] as string);
        onProgress?.(++done, keys.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(READS_IN_FLIGHT, keys.length) }, worker));
    return out;
  }

  async digests(): Promise<ReadonlyMap<string, AnchorDigest>> {
    const found = new Map<string, AnchorDigest>();
    for (const key of await this.list(DIGEST_PREFIX)) {
      try {
        found.set(key, JSON.parse(await this.read(key)) as AnchorDigest);
      } catch {
        // Not a digest: the format 1 check names what is wrong with the newest one.
      }
    }
    return found;
  }

  private async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    try {
      for await (const page of paginateListObjectsV2(
        { client: this.s3 },
        { Bucket: this.bucket, Prefix: prefix },
      )) {
        for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      }
    } catch (error) {
      throw dependencyError('Listing the ledger anchors failed', error);
    }
    return keys.sort();
  }

  private async read(key: string): Promise<string> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await out.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      throw dependencyError(`Reading the ledger anchor ${key} failed`, error);
    }
  }
}
