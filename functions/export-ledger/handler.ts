import { observed } from '../adapters/observability.ts';
import { exportLedgerDepsFromEnvironment, makeExportLedgerHandler } from './export-ledger.ts';

/** Lambda entry point that exports the Effect Ledger for finance (ledger/v1 Parquet) to the exports bucket. */
export const handler = observed(makeExportLedgerHandler(exportLedgerDepsFromEnvironment()));
