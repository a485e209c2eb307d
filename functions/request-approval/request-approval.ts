/**
 * Decide's first step: opens the approval round under the approval policy and e-mails each
 * approver it names a link. Plain invoke: the round's one wait is held by hold-for-people.
 */
import * as z from 'zod';
import { documentClient, sesClient, systemClock } from '../adapters/aws.ts';
import { asDependencyError } from '../adapters/aws-errors.ts';
import {
  deadlineConfig,
  ledgerTableConfig,
  loadConfig,
  mailFromConfig,
  operationsTableConfig,
  publicBaseUrlConfig,
} from '../adapters/config.ts';
import { ledgerFromConfig } from '../adapters/dynamodb-ledger.ts';
import { DynamoDbOperationsStore } from '../adapters/dynamodb-operations-store.ts';
import { logger } from '../adapters/logger.ts';
import { approvalPolicyConfig } from '../adapters/rules-config.ts';
import { SesMailer } from '../adapters/ses-mailer.ts';
import type { RequestApprovalDeps, RequestApprovalResult } from '../use-cases/request-approval.ts';
import { requestApproval } from '../use-cases/request-approval.ts';
import { retryOnConflict } from '../use-cases/retry-on-conflict.ts';

export const requestApprovalSchema = z.object({
  incidentId: z.string().min(1),
  round: z.number().int().positive(),
});

export function makeRequestApprovalHandler(
  deps: RequestApprovalDeps,
): (event: unknown) => Promise<RequestApprovalResult> {
  return async (event) => {
    const input = requestApprovalSchema.parse(event);
    const result = await retryOnConflict(() => requestApproval(deps, input)).catch((error: unknown) => {
      throw asDependencyError(error);
    });
    logger.info('Approvers asked', { incidentId: input.incidentId, ...result });
    return result;
  };
}

export function requestApprovalDepsFromEnvironment(): RequestApprovalDeps {
  const config = loadConfig([
    operationsTableConfig,
    ledgerTableConfig,
    mailFromConfig,
    approvalPolicyConfig,
    publicBaseUrlConfig,
    deadlineConfig,
  ]);
  const db = documentClient();
  const store = new DynamoDbOperationsStore(db, config.operationsTable);
  return {
    incidents: store,
    approvals: store,
    ledger: ledgerFromConfig(db, config),
    mailer: new SesMailer(sesClient(), config.mailFrom),
    clock: systemClock,
    publicBaseUrl: config.publicBaseUrl,
    policy: config.approvalPolicy,
    deadlines: config.deadlines,
  };
}
