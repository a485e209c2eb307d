/**
 * Where an export's bytes go: an S3 object written by a multipart upload (nothing is visible
 * until it completes, and a failed export aborts it), or a local file (written beside its name
 * and renamed into place at the end).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { dependencyError } from './aws-errors.ts';
import type { ByteSink } from './parquet-ledger.ts';

/** S3's smallest part but the last (S3 refuses to complete an upload with a smaller one). */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

export interface S3MultipartSinkOptions {
  /** Bytes per part but the last, at least {@link MIN_PART_BYTES}. @default 8 MiB */
  readonly partBytes?: number;
  readonly contentType?: string;
  /** Called after each part is uploaded, with the bytes uploaded so far. */
  readonly onPart?: (uploadedBytes: number) => void;
}

/** The S3 client as the sink uses it: one `send` (a test can watch it). */
export type S3Sender = Pick<S3Client, 'send'>;

/**
 * Streams an object to S3 with a multipart upload: parts of `partBytes` as the bytes come, the
 * rest as the last part, then Complete. On abort the upload is aborted; an emulator that does not
 * implement Abort (s3rver answers 405) keeps the parts in its own upload store, where they never
 * become an object, so there is nothing to delete in the bucket.
 */
export class S3MultipartSink implements ByteSink {
  private readonly client: S3Sender;
  private readonly bucket: string;
  private readonly key: string;
  private readonly partBytes: number;
  private readonly contentType: string;
  private readonly onPart: ((uploadedBytes: number) => void) | undefined;
  private uploadId: string | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private uploaded = 0;
  private readonly parts: { PartNumber: number; ETag: string }[] = [];

  constructor(client: S3Sender, bucket: string, key: string, options: S3MultipartSinkOptions = {}) {
    const partBytes = options.partBytes ?? 8 * 1024 * 1024;
    if (partBytes < MIN_PART_BYTES) {
      throw new RangeError(`A part is at least ${MIN_PART_BYTES} bytes (S3's minimum), not ${partBytes}`);
    }
    this.client = client;
    this.bucket = bucket;
    this.key = key;
    this.partBytes = partBytes;
    this.contentType = options.contentType ?? 'application/vnd.apache.parquet';
    this.onPart = options.onPart;
  }

  async write(bytes: Uint8Array): Promise<void> {
    // Copied: the writer reuses its buffer once this returns.
    this.pending.push(Buffer.from(bytes));
    this.pendingBytes += bytes.byteLength;
    while (this.pendingBytes >= this.partBytes) await this.uploadPart(this.partBytes);
  }

  async finish(): Promise<void> {
    if (this.pendingBytes > 0 || this.parts.length === 0) await this.uploadPart(this.pendingBytes);
    try {
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: await this.upload(),
          MultipartUpload: { Parts: this.parts },
        }),
      );
    } catch (error) {
      throw dependencyError(`Completing the upload of s3://${this.bucket}/${this.key} failed`, error);
    }
  }

  async abort(): Promise<void> {
    const uploadId = this.uploadId;
    this.pending = [];
    this.pendingBytes = 0;
    if (uploadId === undefined) return;
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId }),
      );
    } catch {
      // Nothing was completed, so no object exists under the key from this upload: an upload
      // left unaborted costs only its parts, which the exports bucket's lifecycle rule removes on AWS
      // after seven days.
    }
  }

  private async upload(): Promise<string> {
    if (this.uploadId !== undefined) return this.uploadId;
    try {
      const out = await this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key,
          ContentType: this.contentType,
        }),
      );
      if (!out.UploadId) throw new Error('no UploadId in the answer');
      this.uploadId = out.UploadId;
      return out.UploadId;
    } catch (error) {
      throw dependencyError(`Starting the upload of s3://${this.bucket}/${this.key} failed`, error);
    }
  }

  /** Uploads the first `size` pending bytes as the next part. */
  private async uploadPart(size: number): Promise<void> {
    const all = this.pending.length === 1 ? (this.pending[0] as Buffer) : Buffer.concat(this.pending);
    const body = all.subarray(0, size);
    const rest = all.subarray(size);
    this.pending = rest.byteLength > 0 ? [Buffer.from(rest)] : [];
    this.pendingBytes = rest.byteLength;
    const uploadId = await this.upload();
    const PartNumber = this.parts.length + 1;
    try {
      const out = await this.client.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: uploadId,
          PartNumber,
          Body: body,
          ContentLength: body.byteLength,
        }),
      );
      if (!out.ETag) throw new Error(`no ETag for part ${PartNumber}`);
      this.parts.push({ PartNumber, ETag: out.ETag });
    } catch (error) {
      throw dependencyError(`Uploading part ${PartNumber} of s3://${this.bucket}/${this.key} failed`, error);
    }
    this.uploaded += body.byteLength;
    this.onPart?.(this.uploaded);
  }
}

/**
 * Writes a local file: the bytes go to a hidden file beside it, renamed over `path` at the end, so
 * a failed export leaves neither a partial file nor a changed old one.
 */
export class FileSink implements ByteSink {
  private readonly path: string;
  private readonly temp: string;
  private stream: WriteStream | undefined;

  constructor(path: string) {
    this.path = path;
    this.temp = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
  }

  async write(bytes: Uint8Array): Promise<void> {
    this.stream ??= createWriteStream(this.temp);
    const stream = this.stream;
    const copy = Buffer.from(bytes);
    await new Promise<void>((resolve, reject) => stream.write(copy, (e) => (e ? reject(e) : resolve())));
  }

  async finish(): Promise<void> {
    this.stream ??= createWriteStream(this.temp);
    const stream = this.stream;
    await new Promise<void>((resolve, reject) => {
      stream.once('error', reject);
      stream.end(resolve);
    });
    await rename(this.temp, this.path);
  }

  async abort(): Promise<void> {
    const stream = this.stream;
    if (stream && !stream.closed) {
      await new Promise<void>((resolve) => {
        stream.once('close', () => resolve());
        stream.destroy();
      });
    }
    await rm(this.temp, { force: true });
  }
}
