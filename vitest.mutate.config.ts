/**
 * vitest config for mutation testing (`npm run mutate`, stryker.config.mjs): only the fast
 * in-process tests that import src/model or src/replay and answer from the model itself. Tests that
 * spawn the CLI, need a build (dist/, worker threads) or replay the whole corpus through every
 * output are left out: Stryker runs every surviving mutant against every test that covers it.
 * Left out too, because every surviving mutant they cover would pay them (perTest coverage):
 * test/kernel-bugs.test.ts (bounded searches, 14 s) and the 3000-event workloads of
 * test/eras.test.ts (seconds); the boundaries they check are
 * pinned by the fast test/model-*.test.ts files (docs/testing.md, "Mutation testing").
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { defineConfig } from 'vitest/config';

// Cheapest files first: Stryker bails at a mutant's first failing test, so a killed mutant costs the
// tests that run before the one that kills it (vitest's default runs the slowest files first). The
// test/model-*.test.ts files go last: a mutant they kill survived every older test that covers it,
// which gives the score without them from the same report (docs/testing.md).
const ORDER = ['allocator', 'scenarios', 'kernel-answers', 'smmu-scenarios', 'page-table', 'model-'];
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
      'test/scenarios.test.ts',
      'test/smmu-scenarios.test.ts',
      'test/kernel-answers.test.ts',
      'test/page-table.test.ts',
      // The named invariants, each broken and kept, and their full evaluation (`witnesses`) against
      // the incremental one: about 1.5 s, and only the tests that cover a mutant run for it.
      'test/invariants.test.ts',
      'test/model-*.test.ts',
    ],
    testTimeout: 60_000,
    // The built-in designs (the `--fault`s), registered as in the fast suite.
    setupFiles: ['test/setup/builtins.ts'],
    // One module graph for all files of a run: the import of the model once, not once per file.
    isolate: false,
    sequence: { sequencer: CheapFirst },
  },
});
