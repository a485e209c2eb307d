import { observed } from '../adapters/observability.ts';
import { approvalsPageDepsFromEnvironment, makeApprovalsPageHandler } from './approvals-page.ts';

/** Lambda entry point for GET/HEAD/POST /approvals/{approvalId}. */
export const handler = observed(makeApprovalsPageHandler(approvalsPageDepsFromEnvironment()));
