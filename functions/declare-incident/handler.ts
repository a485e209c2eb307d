import { observed } from '../adapters/observability.ts';
import { declareIncidentDepsFromEnvironment, makeDeclareIncidentHandler } from './declare-incident.ts';

/** Lambda entry point for POST /incidents. */
export const handler = observed(makeDeclareIncidentHandler(declareIncidentDepsFromEnvironment()));
