/**
 * vitest config for mutation testing (`npm run mutate`, stryker.config.mjs): only the fast
 * in-process tests that import src/model or src/replay and answer from the model itself. Tests that
 * spawn the CLI, need a build (dist/, worker threads) or replay the whole corpus through every
 * output are left out: Stryker runs every surviving mutant against every test that covers it.
 * test/kernel-bugs.test.ts is left out too: its bounded searches take 14 s, and with perTest
 * coverage every mutant they cover that survives would pay them (docs/testing.md).
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

// Cheapest files first: Stryker bails at a mutant's first failing test, so a killed mutant costs the
// tests that run before the one that kills it (vitest's default runs the slowest files first).
const ORDER = ['allocator', 'scenarios', 'kernel-answers', 'model-', 'smmu-scenarios', 'page-table', 'eras', 'invariants'];
const rank = (f: TestSpecification) => {
  const i = ORDER.findIndex((o) => f.moduleId.includes(`/test/${o}`));
  return i < 0 ? ORDER.length : i;
};
class CheapFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    include: [
      'test/allocator.test.ts',
      'test/invariants.test.ts',
      'test/scenarios.test.ts',
      'test/smmu-scenarios.test.ts',
      'test/eras.test.ts',
      'test/kernel-answers.test.ts',
      'test/page-table.test.ts',
      'test/model-*.test.ts',
    ],
    testTimeout: 60_000,
    sequence: { sequencer: CheapFirst },
  },
});
