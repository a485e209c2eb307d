import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../local/names.ts';
import type { LocalS3 } from '../../local/s3.ts';
import { startLocalS3 } from '../../local/s3.ts';

const BUCKET = 'conditional-writes';
let dir: string;
let s3: LocalS3;
let client: S3Client;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'casebook-local-s3-'));
  s3 = await startLocalS3({ port: 0, directory: dir, buckets: [BUCKET] });
  client = new S3Client({
    endpoint: s3.url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: LOCAL_CREDENTIALS,
  });
});
afterAll(async () => {
  client.destroy();
  await s3.close();
  rmSync(dir, { recursive: true, force: true });
});

const put = (key: string, body: string, ifNoneMatch?: string) =>
  client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, IfNoneMatch: ifNoneMatch }));
const read = async (key: string) =>
  (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body?.transformToString();

describe('the local S3 honours conditional writes as S3 does', () => {
  it('refuses a put with If-None-Match: * on a key that holds an object (412 PreconditionFailed)', async () => {
    await put('signed-anchors/1.json', 'first', '*');
    await expect(put('signed-anchors/1.json', 'second', '*')).rejects.toMatchObject({
      name: 'PreconditionFailed',
      $metadata: { httpStatusCode: 412 },
    });
    expect(await read('signed-anchors/1.json')).toBe('first');
  });

  it('lets exactly one of many racing conditional puts of one key win', async () => {
    const bodies = Array.from({ length: 12 }, (_, i) => `writer ${i}`);
    const outcomes = await Promise.allSettled(bodies.map((b) => put('race/key with space.json', b, '*')));
    const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [bodies[i]] : []));
    expect(won).toHaveLength(1);
    expect(
      outcomes.filter((o) => o.status === 'rejected').map((o) => (o.reason as { name?: string }).name),
    ).toEqual(Array(11).fill('PreconditionFailed'));
    expect(await read('race/key with space.json')).toBe(won[0]);
  });

  it('leaves unconditional puts as they are: the last one stands', async () => {
    await put('plain.json', 'one');
    await put('plain.json', 'two');
    expect(await read('plain.json')).toBe('two');
  });
});
