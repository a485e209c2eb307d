import { observed } from '../adapters/observability.ts';
import { holdForPeopleDepsFromEnvironment, makeHoldForPeopleHandler } from './hold-for-people.ts';

/** Lambda entry point for every wait for people in the lifecycle. */
export const handler = observed(makeHoldForPeopleHandler(holdForPeopleDepsFromEnvironment()));
