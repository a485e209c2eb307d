/** An s3rver per test file (as the local stack runs it), with one bucket, for adapters and handlers that keep objects in S3. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startLocalS3 } from '../../local/s3.ts';

export interface TestBucket {
  readonly client: S3Client;
  readonly bucket: string;
  /** Every object key in the bucket. */
  keys(): Promise<string[]>;
  read(key: string): Promise<string>;
  close(): Promise<void>;
}

export async function startTestBucket(bucket = 'test-payloads'): Promise<TestBucket> {
  const directory = mkdtempSync(join(tmpdir(), 'casebook-s3-'));
  const server = await startLocalS3({ port: 0, directory, buckets: [bucket] });
  const client = new S3Client({
    endpoint: server.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  return {
    client,
    bucket,
    async keys() {
      const out = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (out.Contents ?? []).map((o) => o.Key ?? '');
    },
    async read(key) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await out.Body?.transformToString('utf8')) ?? '';
    },
    async close() {
      client.destroy();
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
