/**
 * Checking one trace against its stored expectation (runs in the main thread or in a worker).
 * Expectations are compared as JSON values, so reformatting one changes nothing.
 */
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { type ParseError, parse as parseJsonc, printParseErrorCode } from 'jsonc-parser';
import { replayFile } from '../replay/engine.js';
import { type FailOnKind, failingKinds } from '../report/findings.js';
import { renderJson } from '../report/render.js';
import { InputError } from '../trace/errors.js';
import { expectationPath } from './corpus.js';

export type CheckStatus = 'same' | 'differs' | 'missing' | 'error';

/** One trace to check (a worker task: plain data). */
export interface CheckTask {
  trace: string;
  /** Finding kinds that fail the trace even when its report matches (`--fail-on`). */
  failOn?: readonly FailOnKind[];
  /** Parser threads for the replay (0 inside a check worker: the pool already uses the cores). */
  parseThreads?: number;
}

export interface CheckResult {
  trace: string;
  status: CheckStatus;
  /** The new report (JSON text), unless the trace could not be replayed. */
  actual?: string;
  /** The stored expectation (text), when there is one. */
  expected?: string;
  /** Why the trace could not be replayed, or the expectation not read (file:line:col: message). */
  message?: string;
  /** `--fail-on` kinds the new report has findings of. */
  findings: FailOnKind[];
  ms: number;
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
  const { trace } = task;
  const t0 = performance.now();
  const file = expectationPath(trace);
  const expected = await readFile(file, 'utf8').catch(() => undefined);
  const done = (r: Omit<CheckResult, 'trace' | 'ms' | 'findings'> & { findings?: FailOnKind[] }): CheckResult => ({
    trace,
    findings: [],
    ...r,
    ms: performance.now() - t0,
  });
  let actual: string;
  let findings: FailOnKind[];
  try {
    const report = await replayFile(trace, { parseThreads: task.parseThreads });
    actual = renderJson(report);
    findings = task.failOn ? failingKinds(report, task.failOn) : [];
  } catch (e) {
    const message = e instanceof InputError ? e.format() : `internal error: ${(e as Error).message}`;
    return done({ status: 'error', expected, message });
  }
  if (expected === undefined) return done({ status: 'missing', actual, findings });
  let want: unknown;
  try {
    want = JSON.parse(expected);
  } catch (e) {
    return done({ status: 'error', actual, expected, findings, message: jsonError(file, expected, e as Error).format() });
  }
  let same = false;
  try {
    same = isDeepStrictEqual(want, JSON.parse(actual));
  } catch {
    // A value nested deeply enough to overflow the comparison is not the report: it differs.
  }
  return done({ status: same ? 'same' : 'differs', actual, expected, findings });
}
