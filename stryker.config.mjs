// @ts-check
/**
 * Mutation testing of src/ with StrykerJS: `npm run test:mutation`. See CONTRIBUTING.md, "Mutation testing".
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  packageManager: 'npm',
  testRunner: 'mocha',
  mutate: ['src/**/*.ts'],
  // Mocha runs in Stryker's worker process, so its Node options (.mocharc.json) are given here.
  testRunnerNodeArgs: ['--import', 'tsx', '--expose-gc', '--no-concurrent-recompilation'],
  mochaOptions: {
    config: '.mocharc.json',
    spec: ['test/**/*.test.ts'],
    // The package and example tests run the built package in child processes, where no mutant is
    // active. The soak tests take seconds each and cover the same code as faster tests that kill
    // what they would (CONTRIBUTING.md).
    ignore: ['test/package.test.ts', 'test/example.test.ts', 'test/soak.test.ts'],
  },
  coverageAnalysis: 'perTest',
  // Reuses the results of mutants whose code and covering tests did not change since the committed run.
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  concurrency: 2,
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  thresholds: { high: 95, low: 90, break: 90 },
  tempDirName: '.stryker-tmp',
};
