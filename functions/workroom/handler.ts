import { observed } from '../adapters/observability.ts';
import { makeWorkroomHandler, workroomDepsFromEnvironment } from './workroom.ts';

/** Lambda entry point for people's workrooms. */
export const handler = observed(makeWorkroomHandler(workroomDepsFromEnvironment()));
