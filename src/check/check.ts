/**
 * `check`: replay a corpus and compare every report with its stored expectation, on this thread
 * and `jobs - 1` worker threads; write expectations atomically with `update`.
 */
import { rm, stat } from 'node:fs/promises';
import { createTwoFilesPatch } from 'diff';
import diffJson from 'microdiff';
import { type CheckResult, type CheckTask, checkOne } from './check-one.js';
import { comparable, isOldShape } from './compat.js';
import { REPORT_VERSION } from '../report/report.js';
import { writeAtomic } from '../util/output.js';
import { newPool } from '../util/pool.js';

/** Trace bytes that pay for one more worker thread (about a second of replay). */
export const WORKER_MIN_BYTES = 4 * 1024 * 1024;

/**
 * Check `tasks` with `jobs` threads: this one and `jobs - 1` workers, each taking the next trace
 * when it is free, biggest traces first (so one long trace does not start last). This thread
 * starts at once while the workers load, and a corpus too small to repay a worker's start-up
 * (< {@link WORKER_MIN_BYTES} per worker) gets none, so more jobs never make a small corpus slower.
 * Results come back in input order; `onResult` sees each one as it completes.
 */
export async function checkTraces(tasks: readonly CheckTask[], jobs: number, onResult?: (r: CheckResult) => void): Promise<CheckResult[]> {
  const sizes = await Promise.all(
    tasks.map((t) =>
      stat(t.trace).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  const queue = tasks.map((_, i) => i).sort((a, b) => sizes[b]! - sizes[a]! || a - b);
  const results = new Array<CheckResult>(tasks.length);
  // A worker costs ~0.3 s of start-up (its own module graph): only as many as the corpus can repay.
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  const workers = Math.max(0, Math.min(jobs - 1, tasks.length - 1, Math.floor(totalBytes / WORKER_MIN_BYTES)));
  // A big corpus: every job a worker, this thread only hands out traces (no GC pauses of its own
  // replays delaying the hand-out); a small one: this thread works too, while the workers load.
  const allWorkers = workers > 0 && totalBytes >= 4 * WORKER_MIN_BYTES * jobs;
  const pool = workers > 0 ? await newPool('checkOne', allWorkers ? workers + 1 : workers) : undefined;
  const runner = async (run: (t: CheckTask) => Promise<CheckResult>) => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      const r = await run(tasks[i]!);
      onResult?.(r);
      results[i] = r;
    }
  };
  try {
    const inThread = (t: CheckTask) => checkOne({ ...t, parseThreads: workers > 0 ? 0 : t.parseThreads });
    const inWorker = (t: CheckTask) => pool!.run({ ...t, parseThreads: 0 }) as Promise<CheckResult>;
    // allSettled, then the first failure: no task may still be running when the pool is destroyed.
    const runs = await Promise.allSettled([
      allWorkers ? runner(inWorker) : runner(inThread),
      ...Array.from({ length: workers }, () => runner(inWorker)),
    ]);
    const failed = runs.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    await pool?.destroy();
  }
  return results;
}

/**
 * Whether `--update` rewrites this result's expectation: a replayable trace with no, another or an
 * unreadable one, or one in an earlier version's shape (compat.ts).
 */
const needsUpdate = (r: CheckResult): boolean => r.actual !== undefined && (r.status !== 'same' || r.oldShape === true);

/**
 * Store the new report of every replayable trace whose expectation is missing, differs, is not
 * valid JSON or is in an earlier version's shape, and remove `obsolete` expectations.
 * @returns how many files were written and removed.
 */
export async function updateExpectations(
  results: readonly CheckResult[],
  obsolete: readonly string[] = [],
): Promise<{ written: number; removed: number }> {
  let written = 0;
  for (const r of results) {
    if (needsUpdate(r)) {
      await writeAtomic(r.expectation, r.actual!);
      written++;
    }
  }
  for (const f of obsolete) await rm(f, { force: true });
  return { written, removed: obsolete.length };
}

const show = (v: unknown): string => {
  if (v === undefined) return '(none)';
  try {
    return JSON.stringify(v);
  } catch {
    return '(too deeply nested to print)'; // JSON.stringify recurses: a valid but deep value overflows the stack
  }
};

/**
 * The figures that changed, one per line, as `path old -> new` (`churn.rollovers 3 -> 0`), most
 * `max` lines; empty when the expectation is not JSON. What `check` does not compare (compat.ts:
 * an earlier version's table fields) is not listed.
 */
export function figureChanges(r: CheckResult, max = 40): string[] {
  let want: unknown;
  try {
    want = comparable(JSON.parse(r.expected ?? ''));
  } catch {
    return [];
  }
  const got: unknown = comparable(JSON.parse(r.actual ?? 'null'));
  if (typeof want !== 'object' || want === null || typeof got !== 'object' || got === null)
    return [`(report) ${show(want)} -> ${show(got)}`];
  let changes: ReturnType<typeof diffJson>;
  try {
    changes = diffJson(want as Record<string, unknown>, got as Record<string, unknown>);
  } catch {
    return ['(the expectation is nested too deeply to list its figures)'];
  }
  const lines = changes.map((d) => {
    const path = d.path.join('.');
    if (d.type === 'CHANGE') return `${path} ${show(d.oldValue)} -> ${show(d.value)}`;
    if (d.type === 'CREATE') return `${path} (none) -> ${show(d.value)}`;
    return `${path} ${show(d.oldValue)} -> (none)`;
  });
  return lines.length > max ? [...lines.slice(0, max), `... and ${lines.length - max} more`] : lines;
}

/**
 * The expectation as `check` compares it, as text: the stored text, or for an expectation in an
 * earlier version's shape (compat.ts) the same report in the new shape, so that the diff shows
 * answers only.
 */
function comparedText(expected: string | undefined): string {
  if (expected === undefined) return '';
  try {
    const want: unknown = JSON.parse(expected);
    return isOldShape(want) ? JSON.stringify(comparable(want), null, 2) + '\n' : expected;
  } catch {
    return expected;
  }
}

/**
 * The figures that changed, then a unified diff of the expected and the new report (2 lines of
 * context); an expectation in an earlier version's shape is diffed in the new shape (its header says so).
 */
export function reportDiff(r: CheckResult): string {
  const figures = figureChanges(r);
  const head = figures.length ? `${r.trace}: ${figures.length} figure(s) changed\n${figures.map((l) => `  ${l}`).join('\n')}\n` : '';
  const expected = comparedText(r.expected);
  const from = expected === r.expected || r.expected === undefined ? r.expectation : `${r.expectation} (read as version ${REPORT_VERSION})`;
  return head + createTwoFilesPatch(from, `${r.trace} (replayed now)`, expected, r.actual ?? '', undefined, undefined, { context: 2 });
}

const xml = (s: string) => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/** JUnit XML, one testcase per trace (differs/missing/findings = failure, error = error). */
export function junitXml(results: readonly CheckResult[]): string {
  const failed = (r: CheckResult) => r.status === 'differs' || r.status === 'missing' || (r.status === 'same' && r.findings.length > 0);
  const failures = results.filter(failed).length;
  const errors = results.filter((r) => r.status === 'error').length;
  const total = results.reduce((a, r) => a + r.ms, 0) / 1000;
  const cases = results.map((r) => {
    const head = `  <testcase classname="asid-replay.check" name="${xml(r.trace)}" time="${(r.ms / 1000).toFixed(3)}"`;
    if (r.status === 'error') return `${head}>\n    <error message="${xml(r.message ?? '')}"/>\n  </testcase>`;
    if (!failed(r)) return `${head}/>`;
    const msg =
      r.status === 'missing'
        ? 'no stored expectation'
        : r.status === 'differs'
          ? 'report differs from its expectation'
          : `findings: ${r.findings.join(', ')} (--fail-on)`;
    return `${head}>\n    <failure message="${xml(msg)}">${xml(r.status === 'differs' ? reportDiff(r) : '')}</failure>\n  </testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="asid-replay check" tests="${results.length}" failures="${failures}" errors="${errors}" time="${total.toFixed(3)}">\n${cases.join('\n')}\n</testsuite>\n`;
}
