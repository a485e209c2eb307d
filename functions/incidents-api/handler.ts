import { incidentsApiDepsFromEnvironment, makeIncidentsApiHandler } from './incidents-api.ts';

/** Lambda entry point for GET /incidents and GET /incidents/{incidentId}. */
export const handler = makeIncidentsApiHandler(incidentsApiDepsFromEnvironment());
