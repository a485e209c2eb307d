import { observed } from '../adapters/observability.ts';
import { incidentsApiDepsFromEnvironment, makeIncidentsApiHandler } from './incidents-api.ts';

/** Lambda entry point for GET /incidents and GET /incidents/{incidentId}. */
export const handler = observed(makeIncidentsApiHandler(incidentsApiDepsFromEnvironment()));
