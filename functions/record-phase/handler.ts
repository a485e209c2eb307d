import { observed } from '../adapters/observability.ts';
import { makeRecordPhaseHandler, recordPhaseDepsFromEnvironment } from './record-phase.ts';

/** Lambda entry point for the lifecycle's phase, close and halt steps. */
export const handler = observed(makeRecordPhaseHandler(recordPhaseDepsFromEnvironment()));
