/**
 * Worker-thread pools (piscina) for the parallel reader and `check --jobs`. A pool runs its
 * caller's entry from `dist/` (`trace/chunk-entry.cjs`, `check/check-entry.cjs`: CommonJS files,
 * see chunk-entry.cts for why), compiled by `npm ci`/`npm run build`; the test suite builds `dist/`
 * first, so workers always run the current sources.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';

/** The compiled entries, found the same way from `src/util` (tests) and `dist/util` (the CLI). */
const ENTRIES = {
  parseChunk: fileURLToPath(new URL('../../dist/trace/chunk-entry.cjs', import.meta.url)),
  checkOne: fileURLToPath(new URL('../../dist/check/check-entry.cjs', import.meta.url)),
};

/** The tasks, each exported by its entry. */
export type PoolTask = keyof typeof ENTRIES;

/** A pool of exactly `threads` workers running `task`. Call `destroy()` when done. */
export function newPool(task: PoolTask, threads: number): Piscina {
  return new Piscina({ filename: ENTRIES[task], name: task, minThreads: threads, maxThreads: threads });
}
