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
      // The public index only re-exports; ports are interfaces (no code to run); the service's
      // process entry runs only in child processes (test/server/main.test.ts, test/faults/), which
      // v8 coverage of this process cannot see.
      exclude: ['src/index.ts', 'src/ports/**', 'src/server/main.ts', 'src/server/index.ts'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      // `npm test` runs with coverage, so these thresholds fail the build (issue 7 asks for 95%
      // branches). Measured on the whole suite: branches 95.1%, lines 99.0%, statements 98.3%,
      // functions 93.7%. The branches left are mostly defensive narrowing inside machine actions
      // that no event can reach, and diagram-rendering corners.
      thresholds: { branches: 95, lines: 98, statements: 97, functions: 92 },
    },
  },
});
