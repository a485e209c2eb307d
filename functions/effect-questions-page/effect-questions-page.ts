/**
 * GET/HEAD/POST /effects/{questionId}: a question about an effect Act could not settle. GET and
 * HEAD only show it (mail scanners open links); POST records the answer and answers 303.
 */
import { documentClient, sfnClient, systemClock } from '../adapters/aws.ts';
import { ledgerTableConfig, loadConfig, operationsTableConfig } from '../adapters/config.ts';
import { DynamoDbEffectStore } from '../adapters/dynamodb-effect-store.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { DynamoDbWaits } from '../adapters/dynamodb-waits.ts';
import type { HttpEvent, HttpResult } from '../adapters/http.ts';
import { formBody, html } from '../adapters/http.ts';
import { logger } from '../adapters/logger.ts';
import { StepFunctionsWorkflow } from '../adapters/sfn-workflow.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../domain/errors.ts';
import type { AnswerDeps } from '../use-cases/effect-questions.ts';
import { answerQuestion, viewQuestion } from '../use-cases/effect-questions.ts';
import { questionNotFoundPage, questionPage } from './page.ts';

export function makeEffectQuestionsPageHandler(deps: AnswerDeps): (event: HttpEvent) => Promise<HttpResult> {
  return async (event) => {
    const method = event.requestContext.http.method.toUpperCase();
    const questionId = event.pathParameters?.questionId ?? '';
    const respond = (status: number, body: string): HttpResult => html(status, method === 'HEAD' ? '' : body);
    try {
      if (method === 'GET' || method === 'HEAD')
        return respond(200, questionPage(await viewQuestion(deps, questionId)));
      let fields: Record<string, string> = {};
      try {
        fields = formBody(event);
        const { view, resumedWorkflow } = await answerQuestion(deps, questionId, fields);
        logger.info('Effect question answered', {
          incidentId: view.incident.id,
          effectId: view.effect.effectId,
          answer: view.question.answered?.answer,
          resumedWorkflow,
        });
        return {
          statusCode: 303,
          headers: { location: event.rawPath, 'cache-control': 'no-store' },
          body: '',
        };
      } catch (error) {
        if (error instanceof InvalidInputError)
          return respond(
            400,
            questionPage(await viewQuestion(deps, questionId), { issues: error.issues, form: fields }),
          );
        if (error instanceof ConflictError)
          return respond(
            409,
            questionPage(await viewQuestion(deps, questionId), { conflict: error.message }),
          );
        throw error;
      }
    } catch (error) {
      if (error instanceof NotFoundError) return respond(404, questionNotFoundPage());
      logger.error('Effect question page failed', { error: error as Error });
      return {
        ...respond(
          503,
          '<!doctype html><p>Casebook could not complete the request; nothing was recorded. Try again shortly.</p>',
        ),
        headers: { ...html(503, '').headers, 'retry-after': '5' },
      };
    }
  };
}

export function effectQuestionsPageDepsFromEnvironment(): AnswerDeps {
  const config = loadConfig([operationsTableConfig, ledgerTableConfig]);
  const db = documentClient();
  const waits = new DynamoDbWaits(db, config.operationsTable);
  return {
    questions: waits,
    waits,
    incidents: new DynamoDbOperationsStore(db, config.operationsTable),
    effects: new DynamoDbEffectStore(db, config.operationsTable),
    ledger: ledgerFromConfig(db, config),
    workflow: new StepFunctionsWorkflow(sfnClient()),
    clock: systemClock,
  };
}
