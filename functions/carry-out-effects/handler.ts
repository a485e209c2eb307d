import { observed } from '../adapters/observability.ts';
import { carryOutEffectsDepsFromEnvironment, makeCarryOutEffectsHandler } from './carry-out-effects.ts';

/** Lambda entry point for the Act phase's effects. */
export const handler = observed(makeCarryOutEffectsHandler(carryOutEffectsDepsFromEnvironment()));
