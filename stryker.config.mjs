// Mutation testing of the model (`npm run mutate`; docs/testing.md, "Mutation testing").
// Incremental: the previous result is reports/mutation/stryker-incremental.json (committed), so a
// rerun only tests the mutants of changed code and the mutants covered by changed tests.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  mutate: ['src/model/**/*.ts'],
  coverageAnalysis: 'perTest',
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['html', 'json', 'clear-text', 'progress'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  concurrency: 2,
  // A mutant's time limit: timeoutFactor × the covering tests' time in the dry run + timeoutMS.
  timeoutMS: 5000,
  timeoutFactor: 1.5,
  thresholds: { high: 90, low: 85, break: null },
  // The sandbox copy needs the sources, the tests and the traces the tests read; not the build,
  // the benchmark output, the recordings or the previous reports.
  ignorePatterns: ['dist', 'bench-out', 'reports', 'traces/real/recordings', 'scratch', '*.tmp'],
  tempDirName: '.stryker.tmp',
  cleanTempDir: true,
};
