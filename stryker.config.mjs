// @ts-check
/**
 * Mutation testing of the domain, the runtime and the machines: `npm run mutate` (never part of
 * `npm test`). Per-test coverage runs only the tests that reach a mutant, and incremental mode
 * re-tests only what changed since the last report: a rerun after a change takes minutes, a
 * first run over everything about 2.5 h on two cores (docs/mutation.md). Properties run with
 * few cases here: each one is repeated for every mutant it covers.
 */
process.env.FC_RUNS ??= '10';
// "Has teeth" checks expect a planted bug to fail them: no mutant can turn one red (test/support/teeth.ts).
process.env.AF_MUTATION = '1';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  plugins: ['@stryker-mutator/vitest-runner'],
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate: ['src/domain/**/*.ts', 'src/runtime/**/*.ts', 'machines/**/*.ts'],
  coverageAnalysis: 'perTest',
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  // Module-level constants run every test for each of their mutants: costly, and the policy table and codecs are checked directly.
  ignoreStatic: true,
  concurrency: 2,
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 85, low: 70, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
