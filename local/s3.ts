/** s3rver, started the way the local stack and the tests need it. */
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
  const { port } = await s3.run();
  return { url: `http://127.0.0.1:${port}`, close: () => s3.close() };
}
