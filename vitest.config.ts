/**
 * `npm test` runs the fast suite: test/**\/*.test.ts except test/slow/ (at most 90 s with the build and
 * lint on a 2-core machine). `npm run test:slow` (ASID_REPLAY_SLOW=1) runs test/slow/ alone: the long
 * searches and big inputs whose bounded versions are in the fast suite (docs/testing.md).
 */
import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

const slow = process.env.ASID_REPLAY_SLOW === '1';

export default defineConfig({
  test: {
    include: slow ? ['test/slow/**/*.test.ts'] : ['test/**/*.test.ts'],
    exclude: slow ? configDefaults.exclude : [...configDefaults.exclude, 'test/slow/**'],
    globalSetup: ['test/setup/build.ts'],
    // The built-in designs (the `--fault`s) registered before each file, as every CLI entry point does.
    setupFiles: ['test/setup/builtins.ts'],
    // One module graph per worker process, not one per test file: importing src/ (zod, commander, the
    // model) again for each of 40 files cost about 25 s of CPU. No test changes module state for the
    // next: the suite passes in any order (npm test five times in a row, docs/testing.md).
    isolate: false,
    // Every core (vitest's default leaves one free, for watch mode): on 2 cores, one worker ran the
    // files one after the other while the spawned CLI processes and worker threads waited.
    maxWorkers: availableParallelism(),
    testTimeout: slow ? 600_000 : 60_000,
  },
});
