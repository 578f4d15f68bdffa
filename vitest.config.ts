import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Temporal workers misbehave in worker threads (sdk-typescript#876): one process per file.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/quiet-temporal.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    fileParallelism: true,
    // Two files at a time on this 2-core machine (each runs a Temporal worker, some a browser).
    maxWorkers: 2,
    // A focused test (`.only`) fails the run in CI instead of running a subset (lint refuses it too).
    allowOnly: !process.env.CI,
  },
});
