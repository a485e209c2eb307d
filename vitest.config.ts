import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // `npm test` needs no AWS CLI: the checks that drive it run with `npm run test:aws-cli`. The
    // fault schedules take minutes: `npm run test:faults`.
    exclude: [...configDefaults.exclude, 'test/aws-cli/**', 'test/faults/**'],
    // Unpacks the browser the browser tests drive, once per run (or takes CASEBOOK_CHROMIUM).
    globalSetup: ['test/support/chromium-setup.ts'],
    // The end-to-end and browser layers start emulators; give them room on a shared 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Handlers log JSON through Powertools; keep test output readable unless asked for.
    env: { POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT' },
  },
});
