/**
 * GET/HEAD/POST /approvals/{approvalId}. GET and HEAD only ever show the case (mail scanners open
 * links); POST records a decision and answers 303 to the page, so a refresh never re-posts; a
 * second POST 409, a POST after the round 410, an unknown or forged link 404.
 */

import { documentClient, sfnClient, systemClock } from '../adapters/aws.ts';
import { recordApprovalDecision } from '../adapters/casebook-metrics.ts';
import { deadlineConfig, ledgerTableConfig, loadConfig, operationsTableConfig } from '../adapters/config.ts';
import { DynamoDbEffectStore } from '../adapters/dynamodb-effect-store.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { DynamoDbWaits } from '../adapters/dynamodb-waits.ts';
import type { HttpEvent, HttpResult } from '../adapters/http.ts';
import { StepFunctionsWorkflow } from '../adapters/sfn-workflow.ts';
import { makePageHandler } from '../pages/page-handler.ts';
import type { ApprovalDecisionDeps } from '../use-cases/approval-decisions.ts';
import { decideApproval, decisionClient, viewApproval } from '../use-cases/approval-decisions.ts';
import { approvalPage, notFoundPage } from './page.ts';

export function makeApprovalsPageHandler(
  deps: ApprovalDecisionDeps,
): (event: HttpEvent) => Promise<HttpResult> {
  return makePageHandler({
    param: 'approvalId',
    posted: 'Approval decided',
    what: 'Approval page',
    view: (id) => viewApproval(deps, id),
    render: approvalPage,
    post: async (id, form, client) => {
      const result = await decideApproval(deps, id, form, decisionClient(client.sourceIp, client.userAgent));
      recordApprovalDecision(result.approval);
      // Neither the link nor the client's address is logged: the secret stays out of logs.
      return {
        incidentId: result.approval.incidentId,
        round: result.approval.round,
        role: result.approval.role,
        status: result.approval.status,
        roundState: result.round,
        resumedWorkflow: result.resumedWorkflow,
      };
    },
    notFound: notFoundPage,
  });
}

export function approvalsPageDepsFromEnvironment(): ApprovalDecisionDeps {
  const config = loadConfig([operationsTableConfig, ledgerTableConfig, deadlineConfig]);
  const db = documentClient();
  const store = new DynamoDbOperationsStore(db, config.operationsTable);
  return {
    incidents: store,
    approvals: store,
    waits: new DynamoDbWaits(db, config.operationsTable),
    effects: new DynamoDbEffectStore(db, config.operationsTable),
    ledger: ledgerFromConfig(db, config),
    workflow: new StepFunctionsWorkflow(sfnClient()),
    clock: systemClock,
    policy: config.deadlines,
  };
}
