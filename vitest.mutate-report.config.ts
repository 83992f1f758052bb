/**
 * vitest config for mutation testing of the pictures' hot path (stryker.report.config.mjs): the
 * in-process tests of the Perfetto writer, its thread and its gzip segments, the series
 * collector's timeline, buckets (against the dense reference bucketer) and mm cache. Their CLI runs
 * and the Perfetto worker use the compiled `dist/` (copied into the sandbox, not mutated): what
 * they compare with is the definition the mutated source must match.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/bucketer.test.ts',
      'test/perfetto.test.ts',
      'test/perfetto-gzip.test.ts',
      'test/perfetto-thread.test.ts',
      'test/series-mm-cache.test.ts',
      'test/series-timeline.test.ts',
      'test/timeseries.test.ts',
    ],
    testTimeout: 60_000,
    setupFiles: ['test/setup/builtins.ts'],
  },
});
