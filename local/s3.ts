/** s3rver, started the way the local stack and the tests need it. */
import type { S3rverMiddleware } from 's3rver';
import S3rver from 's3rver';

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
