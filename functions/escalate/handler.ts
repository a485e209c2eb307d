import { escalateDepsFromEnvironment, makeEscalateHandler } from './escalate.ts';

/** Lambda entry point for escalations of waits that passed their deadline. */
export const handler = makeEscalateHandler(escalateDepsFromEnvironment());
