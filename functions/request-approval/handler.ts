import { observed } from '../adapters/observability.ts';
import { makeRequestApprovalHandler, requestApprovalDepsFromEnvironment } from './request-approval.ts';

/** Lambda entry point for the Decide phase's approval requests. */
export const handler = observed(makeRequestApprovalHandler(requestApprovalDepsFromEnvironment()));
