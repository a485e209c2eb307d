// Type declarations for the emulators that ship none.

declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    /** LevelDB directory; in memory when omitted. */
    path?: string;
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
  }
  /** An HTTP server that speaks DynamoDB's JSON protocol. */
  export default function dynalite(options?: DynaliteOptions): Server;
}

declare module 's3rver/lib/models/object.js' {
  /** s3rver's object model: only the metadata names it keeps with an object. */
  const S3Object: { readonly ALLOWED_METADATA: readonly string[] };
  export default S3Object;
}
declare module 's3rver' {
  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    configureBuckets?: { name: string; configs?: (string | Buffer)[] }[];
  }
  /** The part of Koa's context a middleware in front of s3rver's routes uses. */
  export interface S3rverContext {
    readonly method: string;
    readonly path: string;
    readonly query: Record<string, string | string[] | undefined>;
    get(header: string): string;
    status: number;
    type: string;
    body: unknown;
  }
  export type S3rverMiddleware = (ctx: S3rverContext, next: () => Promise<void>) => Promise<void>;
  /** An object as s3rver's routes hand it to the store. */
  export interface S3rverObject {
    readonly bucket: string;
    readonly key: string;
    readonly content: Buffer | NodeJS.ReadableStream;
    readonly metadata: Readonly<Record<string, string>>;
  }
  /** The part of s3rver's file store Casebook's local S3 uses or replaces. */
  export interface S3rverStore {
    existsObject(bucket: string, key: string): Promise<boolean>;
    getResourcePath(bucket: string, key: string, resource: string): string;
    putObject(object: S3rverObject): Promise<{ size: number; md5: string }>;
  }
  export default class S3rver {
    constructor(options?: S3rverOptions);
    /** Koa's middleware list, composed when the server starts. */
    readonly middleware: S3rverMiddleware[];
    readonly store: S3rverStore;
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
}
