import { configDefaults, defineConfig } from 'vitest/config';
import base from './vitest.config.ts';

/** `npm run test:aws-cli`: the checks that drive the real AWS CLI (`aws` on PATH) against the local stack. */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/aws-cli/**/*.test.ts'],
    exclude: configDefaults.exclude,
    // No browser here.
    globalSetup: [],
  },
});
