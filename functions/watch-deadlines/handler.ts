import { observed } from '../adapters/observability.ts';
import { makeWatchDeadlinesHandler, watchDeadlinesDepsFromEnvironment } from './watch-deadlines.ts';

/** Lambda entry point that reads an incident's clock before and between its waits for people. */
export const handler = observed(makeWatchDeadlinesHandler(watchDeadlinesDepsFromEnvironment()));
