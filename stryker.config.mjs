// @ts-check
/**
 * Mutation testing of src/ with StrykerJS: `npm run test:mutation`. See docs/mutation-testing.md.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  packageManager: 'npm',
  testRunner: 'mocha',
  mutate: ['src/**/*.ts'],
  // Mocha runs in Stryker's worker process, so tsx is loaded there rather than through .mocharc.json.
  testRunnerNodeArgs: ['--import', 'tsx', '--expose-gc'],
  mochaOptions: {
    config: '.mocharc.json',
    // The package and example tests run the built package in child processes, out of Stryker's reach.
    spec: ['test/**/*.test.ts'],
    ignore: ['test/package.test.ts', 'test/example.test.ts'],
  },
  coverageAnalysis: 'perTest',
  concurrency: 2,
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  thresholds: { high: 95, low: 90, break: 90 },
  tempDirName: '.stryker-tmp',
};
