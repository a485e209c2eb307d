/**
 * GET/HEAD/POST /approvals/{approvalId}. GET and HEAD only ever show the case (mail scanners open
 * links); POST records a decision and answers 303 to the page, so a refresh never re-posts.
 */
import { documentClient, sfnClient, systemClock } from '../adapters/aws.ts';
import { deadlineConfig, ledgerTableConfig, loadConfig, operationsTableConfig } from '../adapters/config.ts';
import { DynamoDbEffectStore } from '../adapters/dynamodb-effect-store.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import type { HttpEvent, HttpResult } from '../adapters/http.ts';
import { StepFunctionsWorkflow } from '../adapters/sfn-workflow.ts';
import { parseDecisionForm } from '../domain/approval.ts';
import { makePageHandler } from '../pages/page-handler.ts';
import type { ApprovalDecisionDeps } from '../use-cases/approval-decisions.ts';
import { decideApproval, viewApproval } from '../use-cases/approval-decisions.ts';
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
    post: async (id, fields) => {
      const result = await decideApproval(deps, id, parseDecisionForm(fields));
      return {
        incidentId: result.approval.incidentId,
        role: result.approval.role,
        status: result.approval.status,
        recorded: result.recorded,
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
    effects: new DynamoDbEffectStore(db, config.operationsTable),
    ledger: ledgerFromConfig(db, config),
    workflow: new StepFunctionsWorkflow(sfnClient()),
    clock: systemClock,
    policy: config.deadlines,
  };
}
