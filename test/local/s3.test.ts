import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../local/names.ts';
import type { LocalS3 } from '../../local/s3.ts';
import { startLocalS3 } from '../../local/s3.ts';
import { runScript } from '../support/child-process.ts';

const ROOT = join(import.meta.dirname, '../..');
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

describe('the local S3 keeps a put whole or not at all, as S3 does', () => {
  it('after kill -9 in the middle of puts, restarted on the same files, holds every acknowledged put and lists and reads each object whole', async () => {
    const killed = mkdtempSync(join(tmpdir(), 'casebook-local-s3-killed-'));
    const bodyOf = (key: string) => `${key}\n`.repeat(4096);
    const acknowledged: string[] = [];
    try {
      for (let round = 0; round < 4; round += 1) {
        const server = runScript(join(ROOT, 'test/support/s3-process.ts'), [killed, BUCKET]);
        const writer = new S3Client({
          endpoint: (await server.line('READY ')).slice('READY '.length),
          region: 'us-east-1',
          forcePathStyle: true,
          credentials: LOCAL_CREDENTIALS,
          maxAttempts: 1,
        });
        // The kill comes as the second put of the round is acknowledged, with the others in flight.
        let acknowledgedTwice: () => void = () => undefined;
        const twice = new Promise<void>((resolve) => {
          acknowledgedTwice = resolve;
        });
        const before = acknowledged.length;
        const putting = Array.from({ length: 32 }, (_, i) => `r${round}/${i}.json`).map((key) =>
          writer
            .send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bodyOf(key) }))
            .then(() => {
              if (acknowledged.push(key) === before + 2) acknowledgedTwice();
            })
            .catch(() => undefined),
        );
        await twice;
        await server.kill();
        await Promise.all(putting);
        writer.destroy();
      }
      const again = runScript(join(ROOT, 'test/support/s3-process.ts'), [killed, BUCKET]);
      try {
        const reader = new S3Client({
          endpoint: (await again.line('READY ')).slice('READY '.length),
          region: 'us-east-1',
          forcePathStyle: true,
          credentials: LOCAL_CREDENTIALS,
        });
        const listed = await reader.send(new ListObjectsV2Command({ Bucket: BUCKET }));
        const keys = (listed.Contents ?? []).map((o) => o.Key as string);
        expect(keys).toEqual(expect.arrayContaining(acknowledged));
        for (const key of keys) {
          const body = await (
            await reader.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))
          ).Body?.transformToString();
          expect(body, key).toBe(bodyOf(key));
        }
        reader.destroy();
      } finally {
        await again.kill();
      }
    } finally {
      rmSync(killed, { recursive: true, force: true });
    }
  }, 90_000);
});
