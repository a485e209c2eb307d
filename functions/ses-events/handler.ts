import { observed } from '../adapters/observability.ts';
import { makeSesEventsHandler, sesEventsDepsFromEnvironment } from './ses-events.ts';

/** Lambda entry point for SES's events about notices, from the queue. */
export const handler = observed(makeSesEventsHandler(sesEventsDepsFromEnvironment()));
