/** Decide step invoked with .waitForTaskToken: emails one approver; the token stays in the table. */
import { z } from 'zod';
import { documentClient, sesClient, systemClock } from '../adapters/aws.ts';
import { asDependencyError } from '../adapters/aws-errors.ts';
import { approversConfig, loadConfig, mailFromConfig, operationsTableConfig } from '../adapters/config.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { logger } from '../adapters/logger.ts';
import { SesMailer } from '../adapters/ses-mailer.ts';
import { APPROVER_ROLES } from '../domain/vocabulary.ts';
import type { RequestApprovalDeps } from '../use-cases/request-approval.ts';
import { requestApproval } from '../use-cases/request-approval.ts';

export const requestApprovalSchema = z.object({
  taskToken: z.string().min(1),
  incidentId: z.string().min(1),
  round: z.number().int().positive(),
  role: z.enum(APPROVER_ROLES),
});

export function makeRequestApprovalHandler(
  deps: RequestApprovalDeps,
): (event: unknown) => Promise<{ emailed: boolean }> {
  return async (event) => {
    const input = requestApprovalSchema.parse(event);
    const result = await requestApproval(deps, input).catch((error: unknown) => {
      throw asDependencyError(error);
    });
    // The token is deliberately not logged.
    logger.info('Approval requested', {
      incidentId: input.incidentId,
      round: input.round,
      role: input.role,
      ...result,
    });
    return result;
  };
}

export function requestApprovalDepsFromEnvironment(): RequestApprovalDeps {
  const config = loadConfig([operationsTableConfig, mailFromConfig, approversConfig]);
  const store = new DynamoDbOperationsStore(documentClient(), config.operationsTable);
  return {
    incidents: store,
    approvals: store,
    mailer: new SesMailer(sesClient(), config.mailFrom),
    clock: systemClock,
    publicBaseUrl: config.publicBaseUrl,
    approvers: config.approvers,
  };
}
