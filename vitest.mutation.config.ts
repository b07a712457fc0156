/**
 * The test run StrykerJS repeats for every mutant: the default suite without the tests that are
 * slow and aimed elsewhere (whole simulations, browser and diagram rendering, benchmarks), and
 * without the path search, which explores at import time. Model, property, hostile and unit tests
 * stay (the README's policy-table check too): they kill the mutants in the domain, the runtime and
 * the machines.
 */
import { configDefaults, defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.ts';

export default mergeConfig(
  base,
  defineConfig({
    test: {
      exclude: [
        ...configDefaults.exclude,
        'test/simulation*.test.ts',
        'test/live.test.ts',
        'test/diagrams.test.ts',
        'test/bench.test.ts',
        'test/paths.test.ts',
        // Aimed at adapters and hosts (PostgreSQL, SMTP, HTTP, other runtimes): under mutation they
        // would tie every run to those services and multiply its time.
        'test/sql/**',
        'test/server/**',
        'test/messaging/**',
        'test/anyRuntime/**',
        'test/faults/restart.test.ts',
        'test/faults/smtpFailure.test.ts',
        'test/faults/twoInstances.test.ts',
        'test/coverage/serve.test.ts',
        'test/coverage/sqlEdges.test.ts',
      ],
    },
  }),
);
