import { observed } from '../adapters/observability.ts';
import { consoleDepsFromEnvironment, makeConsoleHandler } from './console.ts';

/** Lambda entry point for the incident console and its sign-in. */
export const handler = observed(makeConsoleHandler(consoleDepsFromEnvironment()));
