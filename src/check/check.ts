/**
 * `check`: replay a corpus and compare every report with its stored expectation, in parallel
 * worker threads (piscina) when asked; write expectations atomically with `update`.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createTwoFilesPatch } from 'diff';
import { Piscina } from 'piscina';
import { type CheckResult, checkOne } from './check-one.js';
import { expectationPath } from './corpus.js';

/** The compiled worker (the pool runs JavaScript from dist/, whatever runs the caller). */
const WORKER = fileURLToPath(new URL('../../dist/check/worker.js', import.meta.url));

/**
 * Check `traces` with `jobs` worker threads (1 = in this thread). Results come back in input order.
 * `onResult` sees each result as it completes.
 */
export async function checkTraces(traces: readonly string[], jobs: number, onResult?: (r: CheckResult) => void): Promise<CheckResult[]> {
  if (jobs <= 1) {
    const out: CheckResult[] = [];
    for (const t of traces) {
      const r = await checkOne(t);
      onResult?.(r);
      out.push(r);
    }
    return out;
  }
  const pool = new Piscina({ filename: WORKER, minThreads: jobs, maxThreads: jobs });
  try {
    return await Promise.all(
      traces.map(async (t) => {
        const r = (await pool.run(t)) as CheckResult;
        onResult?.(r);
        return r;
      }),
    );
  } finally {
    await pool.destroy();
  }
}

/**
 * Write `data` to `path` atomically: a temporary file in the same folder, then rename(2), so an
 * interrupted run leaves either the old file or the new one, never half of one.
 */
export async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** Store the new report of every replayable trace whose expectation is missing or differs. */
export async function updateExpectations(results: readonly CheckResult[]): Promise<number> {
  let n = 0;
  for (const r of results) {
    if ((r.status === 'differs' || r.status === 'missing') && r.actual !== undefined) {
      await writeAtomic(expectationPath(r.trace), r.actual);
      n++;
    }
  }
  return n;
}

/** A unified diff of the expected and the new report, with a few lines of context. */
export function reportDiff(r: CheckResult): string {
  return createTwoFilesPatch(expectationPath(r.trace), `${r.trace} (replayed now)`, r.expected ?? '', r.actual ?? '', undefined, undefined, { context: 2 });
}

const xml = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** JUnit XML, one testcase per trace (differs/missing = failure, error = error). */
export function junitXml(results: readonly CheckResult[]): string {
  const failures = results.filter((r) => r.status === 'differs' || r.status === 'missing').length;
  const errors = results.filter((r) => r.status === 'error').length;
  const total = results.reduce((a, r) => a + r.ms, 0) / 1000;
  const cases = results.map((r) => {
    const head = `  <testcase classname="asid-replay.check" name="${xml(r.trace)}" time="${(r.ms / 1000).toFixed(3)}"`;
    if (r.status === 'same') return `${head}/>`;
    if (r.status === 'error') return `${head}>\n    <error message="${xml(r.message ?? '')}"/>\n  </testcase>`;
    const msg = r.status === 'missing' ? 'no stored expectation' : 'report differs from its expectation';
    return `${head}>\n    <failure message="${msg}">${xml(r.status === 'differs' ? reportDiff(r) : '')}</failure>\n  </testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="asid-replay check" tests="${results.length}" failures="${failures}" errors="${errors}" time="${total.toFixed(3)}">\n${cases.join('\n')}\n</testsuite>\n`;
}
