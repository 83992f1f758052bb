/**
 * vitest config for mutation testing (`npm run mutate`, stryker.config.mjs): only the fast
 * in-process tests that import src/model or src/replay and answer from the model itself. Tests that
 * spawn the CLI, need a build (dist/, worker threads) or replay the whole corpus through every
 * output are left out: Stryker runs every surviving mutant against every test that covers it.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/allocator.test.ts',
      'test/invariants.test.ts',
      'test/scenarios.test.ts',
      'test/smmu-scenarios.test.ts',
      'test/eras.test.ts',
      'test/kernel-answers.test.ts',
      'test/kernel-bugs.test.ts',
      'test/page-table.test.ts',
      'test/model-*.test.ts',
    ],
    testTimeout: 60_000,
  },
});
