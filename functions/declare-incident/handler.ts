import { declareIncidentDepsFromEnvironment, makeDeclareIncidentHandler } from './declare-incident.ts';

/** Lambda entry point for POST /incidents. */
export const handler = makeDeclareIncidentHandler(declareIncidentDepsFromEnvironment());
