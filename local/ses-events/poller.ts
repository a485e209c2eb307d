/**
 * Locally, SES's event publishing: aws-ses-v2-local keeps no configuration set and publishes no
 * events, so this poller reads what it took (`GET /store?since=<epoch seconds>`), and for every
 * message to a mailbox-simulator address invokes the `ses-events` handler with the events AWS
 * would publish, SNS-wrapped in SQS batches of at most 10 — the same handler and the same JSON as
 * on AWS. A batch item the handler hands back is sent again on the next poll, as the queue would.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type StoredEmail, simulatedEvents, snsWrapped } from './events.ts';

const storeSchema = z.object({
  emails: z.array(
    z.object({
      messageId: z.string(),
      from: z.string(),
      subject: z.string(),
      destination: z.object({ to: z.array(z.string()) }),
      at: z.number(),
    }),
  ),
});

/** What SQS hands a function: the part of its event the handler reads, and the ids it answers with. */
interface SqsRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: Record<string, string>;
  readonly messageAttributes: Record<string, never>;
  readonly md5OfBody: string;
  readonly eventSource: 'aws:sqs';
  readonly eventSourceARN: string;
  readonly awsRegion: string;
}

const BATCH = 10;
const TOPIC_ARN = 'arn:aws:sns:us-east-1:000000000000:casebook-ses-events';
const QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:casebook-ses-events';

export interface SesEventsPollerOptions {
  /** The emulator's base URL (`/store` is read under it). */
  readonly sesUrl: string;
  /** Invokes the `ses-events` handler with an SQS event; answers its batch response. */
  readonly invoke: (event: unknown) => Promise<unknown>;
  /** How often the store is read (default 1 s). */
  readonly intervalMs?: number;
  readonly log?: (line: string) => void;
}

export interface SesEventsPoller {
  /** Reads the store once and hands what is new to the handler; resolves when it is done. */
  pollOnce(): Promise<void>;
  close(): Promise<void>;
}

export function startSesEventsPoller(options: SesEventsPollerOptions): SesEventsPoller {
  const log = options.log ?? (() => undefined);
  // The emulator keeps seconds: the last second read is read again, and what was seen in it skipped.
  let since = Math.floor(Date.now() / 1000);
  let seenInSince = new Set<string>();
  let pending: SqsRecord[] = [];
  let running: Promise<void> | undefined;
  let closed = false;

  const read = async (): Promise<StoredEmail[]> => {
    const response = await fetch(`${options.sesUrl}/store?since=${since}`);
    if (!response.ok) throw new Error(`GET /store answered ${response.status}`);
    const { emails } = storeSchema.parse(await response.json());
    const fresh = emails.filter((e) => !(e.at === since && seenInSince.has(e.messageId)));
    const last = Math.max(since, ...emails.map((e) => e.at));
    const nextSeen = last === since ? seenInSince : new Set<string>();
    for (const e of emails) if (e.at === last) nextSeen.add(e.messageId);
    since = last;
    seenInSince = nextSeen;
    return fresh;
  };

  const toRecord = (body: string): SqsRecord => ({
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()) },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: QUEUE_ARN,
    awsRegion: 'us-east-1',
  });

  const once = async () => {
    const emails = await read();
    const records = [
      ...pending,
      ...emails.flatMap((email) =>
        email.destination.to.flatMap((to) =>
          simulatedEvents(email, to).map((e) => toRecord(snsWrapped(e, TOPIC_ARN))),
        ),
      ),
    ];
    pending = [];
    for (let i = 0; i < records.length; i += BATCH) {
      const batch = records.slice(i, i + BATCH);
      try {
        const answer = (await options.invoke({ Records: batch })) as {
          batchItemFailures?: { itemIdentifier: string }[];
        };
        const failed = new Set((answer?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        pending.push(...batch.filter((r) => failed.has(r.messageId)));
      } catch (error) {
        log(
          `ses-events: the handler failed a batch of ${batch.length}, sent again next time: ${(error as Error).message}`,
        );
        pending.push(...batch);
      }
    }
  };

  const pollOnce = (): Promise<void> => {
    // One poll at a time: a second caller waits for the one under way, then reads again.
    const next = (running ?? Promise.resolve()).then(once).catch((error: Error) => {
      log(`ses-events: ${error.message}`);
    });
    running = next;
    return next;
  };

  const timer = setInterval(() => {
    if (!closed) void pollOnce();
  }, options.intervalMs ?? 1000);
  timer.unref();
  return {
    pollOnce,
    close: async () => {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}
