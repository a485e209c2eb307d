/**
 * Anchored digests in S3. On AWS the bucket has Object Lock on (versioned, every object retained
 * for the configured period), so not even a writer of the bucket can remove or replace one.
 * s3rver, locally, does not enforce Object Lock.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand, PutObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import type { AnchorDigest } from '../domain/anchor.ts';
import type { AnchorStore } from '../domain/ports.ts';
import { dependencyError } from './aws-errors.ts';

const PREFIX = 'anchors/';

export class S3AnchorStore implements AnchorStore {
  private readonly s3: S3Client;
  private readonly bucket: string;

  constructor(s3: S3Client, bucket: string) {
    this.s3 = s3;
    this.bucket = bucket;
  }

  async put(key: string, digest: AnchorDigest): Promise<void> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: `${JSON.stringify(digest)}\n`,
          ContentType: 'application/json',
          // Object Lock buckets refuse a put without a content checksum.
          ChecksumAlgorithm: 'SHA256',
        }),
      );
    } catch (error) {
      throw dependencyError('Writing the ledger anchor failed', error);
    }
  }

  async latest(): Promise<{ key: string; digest: AnchorDigest } | undefined> {
    let newest: string | undefined;
    for await (const page of paginateListObjectsV2(
      { client: this.s3 },
      { Bucket: this.bucket, Prefix: PREFIX },
    )) {
      for (const object of page.Contents ?? []) {
        if (object.Key && (!newest || object.Key > newest)) newest = object.Key;
      }
    }
    if (!newest) return undefined;
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: newest }));
    const text = (await out.Body?.transformToString('utf8')) ?? '';
    return { key: newest, digest: JSON.parse(text) as AnchorDigest };
  }
}
