import { observed } from '../adapters/observability.ts';
import { makeRecordLedgerEntryHandler, recordLedgerEntryDepsFromEnvironment } from './record-ledger-entry.ts';

/** Lambda entry point for POST /incidents/{incidentId}/ledger. */
export const handler = observed(makeRecordLedgerEntryHandler(recordLedgerEntryDepsFromEnvironment()));
