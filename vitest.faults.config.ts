import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

/**
 * `npm run test:faults`: whole incidents under a fault schedule (test/faults/). Not part of `npm test`:
 * CASEBOOK_FAULT_RUNS schedules (default 20) take minutes.
 */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/faults/**/*.test.ts'],
    exclude: configDefaults.exclude,
    // No browser here.
    globalSetup: [],
    testTimeout: 60 * 60_000,
    hookTimeout: 180_000,
  },
});
