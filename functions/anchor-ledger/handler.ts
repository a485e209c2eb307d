import { observed } from '../adapters/observability.ts';
import { anchorLedgerDepsFromEnvironment, makeAnchorLedgerHandler } from './anchor-ledger.ts';

/** Lambda entry point that anchors the ledger's chain heads in S3. */
export const handler = observed(makeAnchorLedgerHandler(anchorLedgerDepsFromEnvironment()));
