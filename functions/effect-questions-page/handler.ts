import { observed } from '../adapters/observability.ts';
import {
  effectQuestionsPageDepsFromEnvironment,
  makeEffectQuestionsPageHandler,
} from './effect-questions-page.ts';

/** Lambda entry point for the pages behind questions about effects. */
export const handler = observed(makeEffectQuestionsPageHandler(effectQuestionsPageDepsFromEnvironment()));
