import { carryOutEffectDepsFromEnvironment, makeCarryOutEffectHandler } from './carry-out-effect.ts';

/** Lambda entry point for the Act phase's effects. */
export const handler = makeCarryOutEffectHandler(carryOutEffectDepsFromEnvironment());
