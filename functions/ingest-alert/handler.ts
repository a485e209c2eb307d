import { observed } from '../adapters/observability.ts';
import { ingestDepsFromEnvironment, makeIngestHandler } from './ingest-alert.ts';

/** Lambda entry point for POST /webhooks/{source}. */
export const handler = observed(makeIngestHandler(ingestDepsFromEnvironment()));
