/**
 * SES's events about the messages it took (SNS → SQS → this function, ten at a time): each one
 * about a notice goes on the Effect Ledger against it. A message that is not an SES event is
 * dropped with a log line (retrying it would never help); one whose recording failed is handed
 * back to the queue alone, so the others of its batch are not recorded twice.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import * as z from 'zod';
import { askDepsFromConfig } from '../adapters/ask-people.ts';
import { documentClient, systemClock } from '../adapters/aws.ts';
import { countNoticeEvent } from '../adapters/casebook-metrics.ts';
import {
  ledgerTableConfig,
  loadConfig,
  mailFromConfig,
  operationsTableConfig,
  publicBaseUrlConfig,
  respondersConfig,
} from '../adapters/config.ts';
import { DynamoDbEffectStore } from '../adapters/dynamodb-effect-store.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { DynamoDbSentNotices } from '../adapters/dynamodb-sent-notices.ts';
import { DynamoDbWaits } from '../adapters/dynamodb-waits.ts';
import { logger } from '../adapters/logger.ts';
import { correlate } from '../adapters/observability.ts';
import { tokenBucket } from '../adapters/rate-limiter.ts';
import { NotANoticeEventError, parseNoticeEvent, unwrapSnsMessage } from '../domain/notice-events.ts';
import { askAboutEffect } from '../use-cases/effect-questions.ts';
import type { RecordNoticeEventsDeps } from '../use-cases/record-notice-events.ts';
import { recordNoticeEvent } from '../use-cases/record-notice-events.ts';

const sqsEventSchema = z.object({
  Records: z.array(z.object({ messageId: z.string().min(1), body: z.string() })),
});

export function makeSesEventsHandler(
  deps: RecordNoticeEventsDeps,
): (event: unknown) => Promise<SQSBatchResponse> {
  return async (event) => {
    const { Records } = sqsEventSchema.parse(event as SQSEvent);
    const failures: SQSBatchResponse['batchItemFailures'] = [];
    // One at a time: the batch's events are mostly of one incident, whose log takes one append at a time.
    for (const record of Records) {
      try {
        const noticeEvent = parseNoticeEvent(unwrapSnsMessage(record.body));
        const result = await recordNoticeEvent(deps, noticeEvent);
        if (result.recorded) {
          correlate(result.incidentId);
          countNoticeEvent(noticeEvent.type);
        }
        logger.info('SES event', { sqsMessageId: record.messageId, ...result });
        if (!result.recorded && result.why === 'not-yet') failures.push({ itemIdentifier: record.messageId });
      } catch (error) {
        if (error instanceof NotANoticeEventError) {
          logger.warn('Not a notice event; dropped', {
            sqsMessageId: record.messageId,
            reason: error.message,
          });
          continue;
        }
        logger.error('Recording an SES event failed; the queue hands it back', {
          sqsMessageId: record.messageId,
          error: error as Error,
        });
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures: failures };
  };
}

/** Questions about bounced notices are few: one message a second keeps them well inside SES's rate. */
const QUESTION_RATE_PER_SECOND = 1;

export function sesEventsDepsFromEnvironment(): RecordNoticeEventsDeps {
  const config = loadConfig([
    operationsTableConfig,
    ledgerTableConfig,
    mailFromConfig,
    respondersConfig,
    publicBaseUrlConfig,
  ]);
  const db = documentClient();
  const store = new DynamoDbOperationsStore(db, config.operationsTable);
  const effects = new DynamoDbEffectStore(db, config.operationsTable);
  const ledger = ledgerFromConfig(db, config);
  const askDeps = askDepsFromConfig(
    config,
    { questions: new DynamoDbWaits(db, config.operationsTable), incidents: store, effects, ledger },
    { rate: tokenBucket(QUESTION_RATE_PER_SECOND) },
  );
  return {
    sentNotices: new DynamoDbSentNotices(db, config.operationsTable),
    incidents: store,
    effects,
    ledger,
    ask: (incident, effect, reason, detail) => askAboutEffect(askDeps, incident, effect, reason, detail),
    clock: systemClock,
  };
}
