/**
 * The file piscina loads in `check --jobs`'s worker threads (util/pool.ts). CommonJS on purpose.
 *
 * piscina's worker `require()`s the task file before it tries `import()`. Node 20.19+ lets
 * require() load an ES module ("require(esm)"), and when that races an `import()` of the same
 * module graph in the same thread (piscina's fallback path and its handler preload both run at
 * worker start-up), Node 20 aborts the whole process with "FATAL ERROR: v8::Module::IsGraphAsync
 * must be used on an instantiated module" (the race nodejs/node#57126 turns into an error on
 * newer Nodes). A busy machine makes the race likely. This entry is a plain CommonJS file, so
 * piscina's require() never reaches the ES loader; our ES worker modules are loaded by import()
 * alone, once per thread.
 */
import type { CheckResult, CheckTask } from './check-one.js' with { 'resolution-mode': 'import' };

/** Check one corpus trace against its expectation (`check --jobs`). */
export async function checkOne(task: CheckTask): Promise<CheckResult> {
  return (await import('./check-one.js')).checkOne(task);
}
