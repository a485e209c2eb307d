/** s3rver, started the way the local stack and the tests need it. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import type { S3rverMiddleware, S3rverObject, S3rverStore } from 's3rver';
import S3rver from 's3rver';
import S3Object from 's3rver/lib/models/object.js';

export interface LocalS3 {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts s3rver on 127.0.0.1 with `buckets` created, keeping objects under `directory`. */
export async function startLocalS3(options: {
  port: number;
  directory: string;
  buckets: readonly string[];
}): Promise<LocalS3> {
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    silent: true,
    directory: options.directory,
    configureBuckets: options.buckets.map((name) => ({ name })),
  });
  s3.middleware.unshift(conditionalWrites(s3));
  s3.store.putObject = (object) => putWhole(s3.store, object);
  const { port } = await s3.run();
  return { url: `http://127.0.0.1:${port}`, close: () => s3.close() };
}

/**
 * S3's conditional write, which s3rver lacks: a PutObject with `If-None-Match: *` is refused with
 * 412 PreconditionFailed when the key holds an object, as S3 answers it. Conditional puts of one key
 * take turns, so of two racing writers exactly one wins, as on S3.
 */
function conditionalWrites(s3: S3rver): S3rverMiddleware {
  const turns = new Map<string, Promise<unknown>>();
  return async (ctx, next) => {
    const path = /^\/([^/?]+)\/([^?]+)$/.exec(ctx.path);
    if (ctx.method !== 'PUT' || ctx.get('if-none-match') !== '*' || !path || 'partNumber' in ctx.query)
      return next();
    const [, bucket = '', encodedKey = ''] = path;
    const key = decodeURIComponent(encodedKey);
    const turn = `${bucket}/${key}`;
    const before = turns.get(turn) ?? Promise.resolve();
    const mine = before.then(async () => {
      if (await s3.store.existsObject(bucket, key)) {
        ctx.status = 412;
        ctx.type = 'application/xml';
        ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>`;
        return;
      }
      await next();
    });
    const settled = mine.catch(() => undefined);
    turns.set(turn, settled);
    try {
      await mine;
    } finally {
      if (turns.get(turn) === settled) turns.delete(turn);
    }
  };
}

/**
 * A put as S3 makes it: the object is there whole, with its metadata, or not at all. s3rver writes
 * an object's file, checksum and metadata in place and answers before a Buffer body is flushed, so
 * a stack killed mid-put left an empty metadata file that failed every later listing of the bucket
 * with a 500. Here each file is written aside and renamed, the object's own file last.
 */
async function putWhole(store: S3rverStore, object: S3rverObject): Promise<{ size: number; md5: string }> {
  const content = Buffer.isBuffer(object.content)
    ? object.content
    : Buffer.concat(await (object.content as Readable).toArray());
  const md5 = createHash('md5').update(content).digest('hex');
  const metadata = Object.fromEntries(
    Object.entries(object.metadata).filter(
      ([name]) => S3Object.ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-'),
    ),
  );
  const path = (resource: string) => store.getResourcePath(object.bucket, object.key, resource);
  await mkdir(dirname(path('object')), { recursive: true });
  await writeAside(path('object.md5'), md5);
  await writeAside(path('metadata.json'), JSON.stringify(metadata, null, 2));
  await writeAside(path('object'), content);
  return { size: content.length, md5 };
}

/** Writes beside `file` under a name no listing reads, then renames it into place. */
async function writeAside(file: string, data: string | Buffer): Promise<void> {
  const aside = `${file}.${randomBytes(6).toString('hex')}.partial`;
  await writeFile(aside, data);
  await rename(aside, file);
}
