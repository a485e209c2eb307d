/**
 * The local S3 in a process of its own, so a test can `kill -9` it in the middle of puts. Run as
 * `node test/support/s3-process.ts <directory> <bucket>`; prints `READY <url>` once it listens.
 */
import { startLocalS3 } from '../../local/s3.ts';

const [directory, bucket] = process.argv.slice(2);
if (!directory || !bucket) throw new Error('usage: s3-process.ts <directory> <bucket>');
const s3 = await startLocalS3({ port: 0, directory, buckets: [bucket] });
console.log(`READY ${s3.url}`);
