/** GET/HEAD/POST /effects/{questionId}: a question about an effect Act could not settle, and its answer. */
import { documentClient, sfnClient, systemClock } from '../adapters/aws.ts';
import { ledgerTableConfig, loadConfig, operationsTableConfig, sesStoreConfig } from '../adapters/config.ts';
import { DynamoDbEffectStore } from '../adapters/dynamodb-effect-store.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { DynamoDbWaits } from '../adapters/dynamodb-waits.ts';
import type { HttpEvent, HttpResult } from '../adapters/http.ts';
import { SesEmulatorLog } from '../adapters/ses-emulator-log.ts';
import { StepFunctionsWorkflow } from '../adapters/sfn-workflow.ts';
import { makePageHandler } from '../pages/page-handler.ts';
import type { AnswerDeps } from '../use-cases/effect-questions.ts';
import { answerQuestion, viewQuestion } from '../use-cases/effect-questions.ts';
import { questionNotFoundPage, questionPage } from './page.ts';

export function makeEffectQuestionsPageHandler(deps: AnswerDeps): (event: HttpEvent) => Promise<HttpResult> {
  return makePageHandler({
    param: 'questionId',
    posted: 'Effect question answered',
    what: 'Effect question page',
    view: (id) => viewQuestion(deps, id),
    render: questionPage,
    post: async (id, form) => {
      const { view, resumedWorkflow } = await answerQuestion(deps, id, form());
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

export function effectQuestionsPageDepsFromEnvironment(): AnswerDeps {
  const config = loadConfig([operationsTableConfig, ledgerTableConfig, sesStoreConfig]);
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
    ...(config.sesStoreUrl ? { sentMail: new SesEmulatorLog(config.sesStoreUrl) } : {}),
  };
}
