/**
 * Checking one trace against its stored expectation (runs in the main thread or in a worker).
 */
import { readFile } from 'node:fs/promises';
import { isMainThread } from 'node:worker_threads';
import { replayFile } from '../replay/engine.js';
import { renderJson } from '../report/render.js';
import { InputError } from '../trace/errors.js';
import { expectationPath } from './corpus.js';

export type CheckStatus = 'same' | 'differs' | 'missing' | 'error';

export interface CheckResult {
  trace: string;
  status: CheckStatus;
  /** The new report (JSON text), unless the trace could not be replayed. */
  actual?: string;
  /** The stored expectation, when there is one. */
  expected?: string;
  /** Why the trace could not be replayed (file:line:col: message). */
  message?: string;
  ms: number;
}

export async function checkOne(trace: string): Promise<CheckResult> {
  const t0 = performance.now();
  const expected = await readFile(expectationPath(trace), 'utf8').catch(() => undefined);
  let actual: string;
  try {
    // Inside a check worker the pool already uses the cores: no parser threads of its own.
    actual = renderJson(await replayFile(trace, isMainThread ? {} : { parseThreads: 0 }));
  } catch (e) {
    const message = e instanceof InputError ? e.format() : `internal error: ${(e as Error).message}`;
    return { trace, status: 'error', expected, message, ms: performance.now() - t0 };
  }
  const status: CheckStatus = expected === undefined ? 'missing' : expected === actual ? 'same' : 'differs';
  return { trace, status, actual, expected, ms: performance.now() - t0 };
}
