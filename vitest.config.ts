import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // e2e suites share one Docker engine: run files one at a time there.
    fileParallelism: false,
    testTimeout: 30_000,
  },
});
