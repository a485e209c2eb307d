/**
 * An emulator in a process of its own, for the finance benchmarks: dynalite (in memory) or
 * s3rver, each on its own core, as DynamoDB and S3 are separate services; and the heap the
 * benchmark measures is the export's, not the emulated table's. Prints one line, `READY <url>`,
 * and runs until its parent closes its standard input.
 *
 *   node bench/finance-emulators.ts dynamodb
 *   node bench/finance-emulators.ts s3 <directory> <bucket>…
 */
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { startLocalS3 } from '../local/s3.ts';

const [which, directory, ...buckets] = process.argv.slice(2);
let url: string;
let close: () => Promise<void>;
if (which === 'dynamodb') {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => new Promise<void>((resolve) => server.close(() => resolve()));
} else if (which === 's3' && directory) {
  const s3 = await startLocalS3({ port: 0, directory, buckets });
  url = s3.url;
  close = () => s3.close();
} else {
  throw new Error('usage: finance-emulators.ts dynamodb | s3 <directory> <bucket>…');
}
process.stdout.write(`READY ${url}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  await close();
  process.exit(0);
});
