/**
 * Keeps whole alert payloads in S3 (s3rver locally) when a value in them had to be cut to fit the
 * tables: one object per distinct payload, named by its SHA-256, so a redelivery writes the same
 * object again and nothing else.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { sha256Hex } from '../domain/json.ts';
import type { ArchivedPayload, PayloadArchive } from '../domain/ports.ts';
import { utf8Bytes } from '../domain/text.ts';

export class S3PayloadArchive implements PayloadArchive {
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(client: S3Client, bucket: string) {
    this.client = client;
    this.bucket = bucket;
  }

  async keep(source: string, body: string): Promise<ArchivedPayload> {
    const sha256 = sha256Hex(body);
    const key = `${source}/${sha256}.json`;
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json; charset=utf-8',
      }),
    );
    return { key, sha256, bytes: utf8Bytes(body) };
  }
}
