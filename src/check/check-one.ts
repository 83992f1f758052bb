/**
 * Checking one trace against its stored expectation (runs in the main thread or in a worker).
 * Expectations are compared as JSON values, so reformatting one changes nothing, and without what
 * the model's tables say of the kernel (compat.ts), so an expectation written by an earlier version
 * (report version 2) still passes when its answers are the same.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { type ParseError, parse as parseJsonc, printParseErrorCode } from 'jsonc-parser';
import { replayFile } from '../replay/engine.js';
import { loadDesignOnce } from '../design/load.js';
import { FINDING_CLASSES, type FailOnKind, failingKinds, findingCount } from '../report/findings.js';
import { renderJson } from '../report/render.js';
import { InputError } from '../trace/errors.js';
import { comparable, isOldShape } from './compat.js';
import { expectationPath } from './corpus.js';

export type CheckStatus = 'same' | 'differs' | 'missing' | 'error';

/** One trace to check (a worker task: plain data). */
export interface CheckTask {
  /** The trace file to replay. */
  trace: string;
  /** The name results and messages give it (default `trace`): `-` for a copy of standard input. */
  name?: string;
  /** Its expectation file (default: beside the trace, {@link expectationPath}). */
  expectation?: string;
  /** Finding kinds that fail the trace even when its report matches (`--fail-on`). */
  failOn?: readonly FailOnKind[];
  /** Parser threads for the replay (0 inside a check worker: the pool already uses the cores). */
  parseThreads?: number;
  /**
   * A design file (`check --design`, docs/designs.md): the trace is replayed on its own system with
   * the design's parts, so the expectations that differ are the answers the patch changes.
   */
  design?: string;
}

export interface CheckResult {
  /** The trace as the user named it. */
  trace: string;
  /** Its expectation file. */
  expectation: string;
  status: CheckStatus;
  /** The new report (JSON text), unless the trace could not be replayed. */
  actual?: string;
  /** The stored expectation (text), when there is one. */
  expected?: string;
  /** Why the trace could not be replayed, or the expectation not read (file:line:col: message). */
  message?: string;
  /**
   * The stored expectation is in an earlier version's shape (report version 2: with the era's
   * feature table, compat.ts); its answers are compared all the same, and `--update` rewrites it.
   */
  oldShape?: boolean;
  /** `--fail-on` kinds the new report has findings of. */
  findings: FailOnKind[];
  /**
   * The finding classes the new report has, with their counts, whatever `--fail-on` selects (what
   * `--fail-on` would fail on): violations, pin-failures, stale, device-failures.
   */
  classes?: { kind: FailOnKind; count: number }[];
  /** Where the error is, when `status` is `error` and the message names a line of the trace. */
  line?: number;
  column?: number;
  ms: number;
}

/** The trace name an expectation file stands for: `build.expected.json` -> `build.csv` (else its base name). */
export function traceNameOf(expectation: string): string {
  const b = basename(expectation);
  return /\.expected\.json$/i.test(b) ? b.replace(/\.expected\.json$/i, '.csv') : b;
}

/** `file:line:col` of the first JSON syntax error in `text` (JSON.parse's message has no position on Node 20). */
function jsonError(file: string, text: string, e: Error): InputError {
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return new InputError(`the expectation is not valid JSON: ${e.message}`, file);
  const before = text.slice(0, first.offset).split('\n');
  return new InputError(
    `the expectation is not valid JSON: ${printParseErrorCode(first.error)}`,
    file,
    before.length,
    before.at(-1)!.length + 1,
  );
}

/** Replay `task.trace` and compare its report with the stored expectation. Never throws for bad input. */
export async function checkOne(task: CheckTask): Promise<CheckResult> {
  const trace = task.name ?? task.trace;
  const t0 = performance.now();
  const file = task.expectation ?? expectationPath(trace);
  const expected = await readFile(file, 'utf8').catch(() => undefined);
  const done = (r: Omit<CheckResult, 'trace' | 'expectation' | 'ms' | 'findings'> & { findings?: FailOnKind[] }): CheckResult => ({
    trace,
    expectation: file,
    findings: [],
    ...r,
    ms: performance.now() - t0,
  });
  let actual: string;
  let findings: FailOnKind[];
  let classes: CheckResult['classes'];
  try {
    const design = task.design === undefined ? undefined : await loadDesignOnce(task.design);
    // The report stays the expectation's shape (no `design`): what differs is what the patch changes.
    const report = await replayFile(task.trace, { parseThreads: task.parseThreads, name: task.name, parts: design?.parts });
    // A trace checked against a given expectation (check --expect: standard input, a pipe) is named after
    // it (build.expected.json: build.csv), so that piping a trace matches the expectation of its file.
    if (task.expectation !== undefined) report.trace.name = traceNameOf(task.expectation);
    actual = renderJson(report);
    findings = task.failOn ? failingKinds(report, task.failOn) : [];
    classes = FINDING_CLASSES.map((kind) => ({ kind, count: findingCount(report, kind) })).filter((c) => c.count > 0);
  } catch (e) {
    const message = e instanceof InputError ? e.format() : `internal error: ${(e as Error).message}`;
    const at = e instanceof InputError && e.line !== undefined ? { line: e.line, column: e.column } : {};
    return done({ status: 'error', expected, message, ...at });
  }
  if (expected === undefined) return done({ status: 'missing', actual, findings, classes });
  let want: unknown;
  try {
    want = JSON.parse(expected);
  } catch (e) {
    return done({ status: 'error', actual, expected, findings, classes, message: jsonError(file, expected, e as Error).format() });
  }
  let same = false;
  try {
    same = isDeepStrictEqual(comparable(want), comparable(JSON.parse(actual)));
  } catch {
    // A value nested deeply enough to overflow the comparison is not the report: it differs.
  }
  const old = isOldShape(want) ? { oldShape: true } : {};
  return done({ status: same ? 'same' : 'differs', actual, expected, ...old, findings, classes });
}
