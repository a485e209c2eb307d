/** GET/HEAD/POST /effects/{questionId}: a question about an effect Act could not settle, and its answer. */
import { askDepsFromConfig } from '../adapters/ask-people.ts';
import { documentClient, sesClient, sfnClient, systemClock } from '../adapters/aws.ts';
import {
  ledgerTableConfig,
  loadConfig,
  mailFromConfig,
  operationsTableConfig,
  optionalPublicBaseUrlConfig,
  respondersConfig,
  sesConfigurationSetConfig,
  sesStoreConfig,
} from '../adapters/config.ts';
import { DynamoDbEffectStore } from '../adapters/dynamodb-effect-store.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { DynamoDbSentNotices } from '../adapters/dynamodb-sent-notices.ts';
import { DynamoDbWaits } from '../adapters/dynamodb-waits.ts';
import type { HttpEvent, HttpResult } from '../adapters/http.ts';
import { tokenBucket } from '../adapters/rate-limiter.ts';
import { SesEmulatorLog } from '../adapters/ses-emulator-log.ts';
import { SesMailer } from '../adapters/ses-mailer.ts';
import { StepFunctionsWorkflow } from '../adapters/sfn-workflow.ts';
import { makePageHandler } from '../pages/page-handler.ts';
import type { AnswerDeps, ResendDeps } from '../use-cases/effect-questions.ts';
import { answerQuestion, askAboutEffect, viewQuestion } from '../use-cases/effect-questions.ts';
import { questionNotFoundPage, questionPage } from './page.ts';

/**
 * The page's dependencies: sending a bounced notice elsewhere asks about the new attempt when it
 * fails, and that question's links are built on the API's URL, which only a request knows on AWS.
 */
export interface EffectQuestionsPageDeps extends Omit<AnswerDeps, 'resend'> {
  readonly resend?: (publicBaseUrl: string) => ResendDeps;
  /** Given locally; on AWS the domain the request came in on. */
  readonly publicBaseUrl?: string;
}

export function makeEffectQuestionsPageHandler(
  deps: EffectQuestionsPageDeps,
): (event: HttpEvent) => Promise<HttpResult> {
  const { resend, publicBaseUrl, ...answerDeps } = deps;
  // Viewing only asks whether a resend can be sent; the base is needed only where it is.
  const at = (domainName?: string): AnswerDeps => {
    const base = publicBaseUrl ?? `https://${domainName ?? ''}`;
    return resend ? { ...answerDeps, resend: resend(base) } : answerDeps;
  };
  return makePageHandler({
    param: 'questionId',
    posted: 'Effect question answered',
    what: 'Effect question page',
    view: (id) => viewQuestion(at(), id),
    render: questionPage,
    post: async (id, form, client) => {
      const { view, resumedWorkflow } = await answerQuestion(at(client.domainName), id, form());
      return {
        incidentId: view.incident.id,
        effectId: view.question.effectId,
        answer: view.question.answered?.answer,
        resumedWorkflow,
      };
    },
    notFound: questionNotFoundPage,
  });
}

/** A person resends one notice at a time: one message a second keeps the page well inside SES's rate. */
const RESEND_RATE_PER_SECOND = 1;

export function effectQuestionsPageDepsFromEnvironment(): EffectQuestionsPageDeps {
  const config = loadConfig([
    operationsTableConfig,
    ledgerTableConfig,
    sesStoreConfig,
    mailFromConfig,
    respondersConfig,
    optionalPublicBaseUrlConfig,
    sesConfigurationSetConfig,
  ]);
  const db = documentClient();
  const waits = new DynamoDbWaits(db, config.operationsTable);
  const incidents = new DynamoDbOperationsStore(db, config.operationsTable);
  const effects = new DynamoDbEffectStore(db, config.operationsTable);
  const ledger = ledgerFromConfig(db, config);
  // One attempt per notice: the SDK's own retry could send one SES already took.
  const ses = sesClient({ maxAttempts: 1 });
  const rate = tokenBucket(RESEND_RATE_PER_SECOND);
  const sentNotices = new DynamoDbSentNotices(db, config.operationsTable);
  // Only notices go out under the configuration set, whose events say whether customers were told.
  const noticeMailer = new SesMailer(ses, config.mailFrom, config.sesConfigurationSet);
  const askDeps = (publicBaseUrl: string) =>
    askDepsFromConfig(
      { ...config, publicBaseUrl },
      { questions: waits, incidents, effects, ledger, resend: { mailer: noticeMailer, sentNotices } },
      { rate, ses },
    );
  return {
    questions: waits,
    waits,
    incidents,
    effects,
    ledger,
    workflow: new StepFunctionsWorkflow(sfnClient()),
    clock: systemClock,
    ...(config.sesStoreUrl ? { sentMail: new SesEmulatorLog(config.sesStoreUrl) } : {}),
    ...(config.publicBaseUrl ? { publicBaseUrl: config.publicBaseUrl } : {}),
    resend: (publicBaseUrl) => ({
      mailer: noticeMailer,
      rate,
      sentNotices,
      ask: (incident, effect, reason, detail) =>
        askAboutEffect(askDeps(publicBaseUrl), incident, effect, reason, detail),
    }),
  };
}
