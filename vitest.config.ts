import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/fastCheck.ts'],
    // Property tests are CPU-bound; two workers match the CI machine's two cores.
    pool: 'threads',
    maxWorkers: 2,
    testTimeout: 60_000,
  },
});
