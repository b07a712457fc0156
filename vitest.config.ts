import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup/fastCheck.ts'],
    // Property tests are CPU-bound; two workers match the CI machine's two cores.
    pool: 'threads',
    maxWorkers: 2,
    testTimeout: 60_000,
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts', 'machines/**/*.ts'],
      // The public index only re-exports; ports are interfaces (no code to run).
      exclude: ['src/index.ts', 'src/ports/**'],
      reporter: ['text-summary', 'text', 'json-summary'],
      reportsDirectory: 'coverage',
    },
  },
});
