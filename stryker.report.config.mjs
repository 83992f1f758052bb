// Mutation testing of the pictures' hot path (docs/testing.md, "Mutation testing"): a few files or
// line ranges of src/report, with their in-process tests (vitest.mutate-report.config.ts). Build
// first (npm run build): the sandbox takes dist/ as it is, unmutated, for the tests' CLI runs and the
// Perfetto worker.
//   MUTATE_FILES=src/report/perfetto.ts:169-245,src/report/series.ts npx stryker run stryker.report.config.mjs
import base, { strykerPlugins } from './stryker.files.config.mjs';

export { strykerPlugins };

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  vitest: { configFile: 'vitest.mutate-report.config.ts', related: false },
  tempDirName: process.env.MUTATE_TMP ?? '.stryker.tmp-report',
  ignorePatterns: base.ignorePatterns.filter((p) => p !== 'dist'),
};
