/**
 * Worker-thread pools (piscina) for the parallel reader and `check --jobs`. Every pool runs
 * `pool-entry.cjs` from `dist/` (a CommonJS file: see pool-entry.cts for why), compiled by
 * `npm ci`/`npm run build`; the test suite builds `dist/` first, so workers always run the
 * current sources.
 */
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';

/** The compiled entry, found the same way from `src/util` (tests) and `dist/util` (the CLI). */
const ENTRY = fileURLToPath(new URL('../../dist/util/pool-entry.cjs', import.meta.url));

/** The tasks the entry exports. */
export type PoolTask = 'parseChunk' | 'checkOne';

/** A pool of exactly `threads` workers running `task`. Call `destroy()` when done. */
export function newPool(task: PoolTask, threads: number): Piscina {
  return new Piscina({ filename: ENTRY, name: task, minThreads: threads, maxThreads: threads });
}
