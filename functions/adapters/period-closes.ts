/**
 * Where closes are kept: the claim in the operational table (`CLOSES` / `close#YYYY-MM`, one
 * conditional put; it holds the whole record, so closing again answers it even if the write to
 * the bucket was lost) and the record under `closes/` in the anchors bucket (Object Lock on AWS).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand, PutObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Period } from '../domain/ledger-export.ts';
import type { CloseClaims, CloseStore, PeriodClose, StoredClose } from '../domain/period-close.ts';
import { CLOSE_PREFIX, closeObjectKey } from '../domain/period-close.ts';
import { dependencyError } from './aws-errors.ts';
import { keys } from './operations-keys.ts';

const KEY = /^closes\/(\d{4}-\d{2})\.json$/;

export class DynamoDbCloseClaims implements CloseClaims {
  private readonly db: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(db: DynamoDBDocumentClient, tableName: string) {
    this.db = db;
    this.tableName = tableName;
  }

  async claim(close: PeriodClose): Promise<{ won: true } | { won: false; close: PeriodClose }> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...keys.close(close.period),
            period: close.period,
            hash: close.hash,
            close: JSON.stringify(close),
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { won: true };
    } catch (error) {
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException')
        throw dependencyError(`Claiming the close of ${close.period} failed`, error);
    }
    const first = await this.read(close.period);
    if (!first) throw dependencyError(`The close of ${close.period} is claimed but unreadable`, undefined);
    return { won: false, close: first };
  }

  async latest(): Promise<PeriodClose | undefined> {
    const out = await this.query(1);
    const item = out[0];
    return item ? (JSON.parse(String(item.close)) as PeriodClose) : undefined;
  }

  async periods(): Promise<Period[]> {
    return (await this.query()).map((i) => String(i.period)).reverse();
  }

  get(period: Period): Promise<PeriodClose | undefined> {
    return this.read(period);
  }

  private async read(period: Period): Promise<PeriodClose | undefined> {
    try {
      const out = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: keys.close(period), ConsistentRead: true }),
      );
      return out.Item ? (JSON.parse(String(out.Item.close)) as PeriodClose) : undefined;
    } catch (error) {
      throw dependencyError(`Reading the close of ${period} failed`, error);
    }
  }

  /** Claims newest first. */
  private async query(limit?: number): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    try {
      do {
        const out = await this.db.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
            ExpressionAttributeValues: { ':p': keys.closesPartition, ':s': 'close#' },
            ScanIndexForward: false,
            ConsistentRead: true,
            ...(limit ? { Limit: limit } : {}),
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        items.push(...(out.Items ?? []));
        start = limit && items.length >= limit ? undefined : out.LastEvaluatedKey;
      } while (start);
    } catch (error) {
      throw dependencyError('Reading the closes failed', error);
    }
    return items;
  }
}

export class S3CloseStore implements CloseStore {
  private readonly s3: S3Client;
  private readonly bucket: string;

  constructor(s3: S3Client, bucket: string) {
    this.s3 = s3;
    this.bucket = bucket;
  }

  async get(period: Period): Promise<PeriodClose | undefined> {
    try {
      const out = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: closeObjectKey(period) }),
      );
      return JSON.parse((await out.Body?.transformToString('utf8')) ?? '') as PeriodClose;
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
      throw dependencyError(`Reading the close of ${period} failed`, error);
    }
  }

  async list(): Promise<StoredClose[]> {
    const periods: Period[] = [];
    try {
      for await (const page of paginateListObjectsV2(
        { client: this.s3 },
        { Bucket: this.bucket, Prefix: CLOSE_PREFIX },
      )) {
        for (const o of page.Contents ?? []) {
          const period = KEY.exec(o.Key ?? '')?.[1];
          if (period) periods.push(period);
        }
      }
    } catch (error) {
      throw dependencyError('Listing the closes failed', error);
    }
    const out: StoredClose[] = [];
    for (const period of periods.sort()) {
      const res = await this.s3.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: closeObjectKey(period) }),
      );
      const text = (await res.Body?.transformToString('utf8')) ?? '';
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      out.push({ period, body });
    }
    return out;
  }

  async put(close: PeriodClose): Promise<void> {
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: closeObjectKey(close.period),
          Body: `${JSON.stringify(close)}\n`,
          ContentType: 'application/json',
          // Object Lock buckets refuse a put without a content checksum.
          ChecksumAlgorithm: 'SHA256',
        }),
      );
    } catch (error) {
      throw dependencyError(`Keeping the close of ${close.period} failed`, error);
    }
  }
}
