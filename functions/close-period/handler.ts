import { closePeriodDepsFromEnvironment, makeClosePeriodHandler } from './close-period.ts';

/** Lambda entry point that closes a month for good: on demand from the CLI, and daily once the lag has passed. */
export const handler = makeClosePeriodHandler(closePeriodDepsFromEnvironment());
