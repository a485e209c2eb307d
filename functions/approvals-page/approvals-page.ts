/**
 * GET/HEAD/POST /approvals/{approvalId}. GET and HEAD only ever show the case (mail scanners open
 * links); POST records a decision and answers 303 to the page, so a refresh never re-posts.
 */
import { documentClient, sfnClient, systemClock } from '../adapters/aws.ts';
import { ledgerTableConfig, loadConfig, operationsTableConfig } from '../adapters/config.ts';
import { DynamoDbLedger } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import type { HttpEvent, HttpResult } from '../adapters/http.ts';
import { failureStatus, formBody, html } from '../adapters/http.ts';
import { logger } from '../adapters/logger.ts';
import { StepFunctionsWorkflow } from '../adapters/sfn-workflow.ts';
import { parseDecisionForm } from '../domain/approval.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../domain/errors.ts';
import type { ApprovalDecisionDeps } from '../use-cases/approval-decisions.ts';
import { decideApproval, viewApproval } from '../use-cases/approval-decisions.ts';
import { approvalPage, notFoundPage } from './page.ts';

export function makeApprovalsPageHandler(
  deps: ApprovalDecisionDeps,
): (event: HttpEvent) => Promise<HttpResult> {
  return async (event) => {
    const method = event.requestContext.http.method.toUpperCase();
    const approvalId = event.pathParameters?.approvalId ?? '';
    const respond = (status: number, body: string, headers: Record<string, string> = {}): HttpResult =>
      html(status, method === 'HEAD' ? '' : body, headers);
    try {
      if (method === 'GET' || method === 'HEAD') {
        return respond(200, approvalPage(await viewApproval(deps, approvalId)));
      }
      let fields: Record<string, string> = {};
      try {
        fields = formBody(event);
        const result = await decideApproval(deps, approvalId, parseDecisionForm(fields));
        logger.info('Approval decided', {
          incidentId: result.approval.incidentId,
          role: result.approval.role,
          status: result.approval.status,
          recorded: result.recorded,
          resumedWorkflow: result.resumedWorkflow,
        });
        return {
          statusCode: 303,
          headers: { location: event.rawPath, 'cache-control': 'no-store' },
          body: '',
        };
      } catch (error) {
        if (error instanceof InvalidInputError) {
          return respond(
            400,
            approvalPage(await viewApproval(deps, approvalId), { issues: error.issues, form: fields }),
          );
        }
        if (error instanceof ConflictError) {
          return respond(
            409,
            approvalPage(await viewApproval(deps, approvalId), { conflict: error.message }),
          );
        }
        throw error;
      }
    } catch (error) {
      if (error instanceof NotFoundError) return respond(404, notFoundPage());
      const { statusCode, headers } = failureStatus(error, 'Approval page failed');
      const message =
        statusCode === 503
          ? 'A service Casebook depends on is unavailable. Try again shortly: a decision that was recorded stays recorded.'
          : 'Casebook failed on this request; the failure is logged.';
      return respond(statusCode, `<!doctype html><p>${message}</p>`, headers);
    }
  };
}

export function approvalsPageDepsFromEnvironment(): ApprovalDecisionDeps {
  const config = loadConfig([operationsTableConfig, ledgerTableConfig]);
  const db = documentClient();
  const store = new DynamoDbOperationsStore(db, config.operationsTable);
  return {
    incidents: store,
    approvals: store,
    ledger: new DynamoDbLedger(db, config.ledgerTable),
    workflow: new StepFunctionsWorkflow(sfnClient()),
    clock: systemClock,
  };
}
