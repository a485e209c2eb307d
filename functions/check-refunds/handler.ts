import { observed } from '../adapters/observability.ts';
import { checkRefundsDepsFromEnvironment, makeCheckRefundsHandler } from './check-refunds.ts';

/** Lambda entry point for the check of a submitted plan's refunds before approval. */
export const handler = observed(makeCheckRefundsHandler(checkRefundsDepsFromEnvironment()));
