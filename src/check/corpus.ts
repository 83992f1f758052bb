/**
 * A trace corpus: the trace files under some paths, their stored expectations, expectations whose
 * trace is gone, name filters and shards.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../trace/errors.js';

/** A trace file name: `*.csv`, any case (`BUILD.CSV` is a trace too). */
const TRACE_NAME = /\.csv$/i;
/** An expectation file name. */
const EXPECTATION_NAME = /\.expected\.json$/i;

/** Where a trace's expected report is stored: beside it, `<trace without .csv>.expected.json`. */
export const expectationPath = (trace: string): string => trace.replace(TRACE_NAME, '') + '.expected.json';

/** What a folder walk finds: traces, and expectation files (to find the obsolete ones). */
export interface Corpus {
  /** Trace files, sorted so that every machine sees the same order. */
  traces: string[];
  /** Expectation files with no trace beside them, sorted. */
  obsolete: string[];
}

/**
 * Every trace under `paths` (files are taken as given, folders are walked) and every expectation
 * file under the folders whose trace no longer exists.
 * @throws InputError for a path that does not exist.
 */
export async function findCorpus(paths: readonly string[]): Promise<Corpus> {
  const traces = new Set<string>();
  const expectations = new Set<string>();
  const walk = async (p: string): Promise<void> => {
    if (p === '') throw new InputError('a trace path is empty', '');
    const st = await stat(p).catch(() => undefined);
    if (!st) throw new InputError('no such file or folder', p);
    if (st.isFile()) {
      traces.add(p);
      return;
    }
    for (const e of await readdir(p, { withFileTypes: true })) {
      const q = join(p, e.name);
      if (e.isDirectory()) await walk(q);
      else if (e.isFile() && TRACE_NAME.test(e.name)) traces.add(q);
      else if (e.isFile() && EXPECTATION_NAME.test(e.name)) expectations.add(q);
    }
  };
  for (const p of paths) await walk(p);
  const expected = new Set([...traces].map((t) => expectationPath(t).toLowerCase()));
  const obsolete = [...expectations].filter((x) => !expected.has(x.toLowerCase())).sort();
  return { traces: [...traces].sort(), obsolete };
}

/** Every trace under `paths` (see {@link findCorpus}). */
export async function findTraces(paths: readonly string[]): Promise<string[]> {
  return (await findCorpus(paths)).traces;
}

/**
 * A name filter: a regular expression matched against the trace path (case-insensitive).
 * @throws InputError for an invalid expression.
 */
export function nameFilter(pattern: string): (path: string) => boolean {
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'i');
  } catch (e) {
    throw new InputError(`--filter is not a valid regular expression: ${(e as Error).message}`);
  }
  return (p) => re.test(p);
}

/** `i/n` (1-based) → [i, n]. @throws InputError for anything else. */
export function parseShard(s: string): [number, number] {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m || Number(m[2]) < 1 || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) {
    throw new InputError(`--shard must be i/n with 1 <= i <= n (e.g. 2/4), got "${s}"`);
  }
  return [Number(m[1]), Number(m[2])];
}

/** Shard i of n (1-based): every n-th item of the sorted list, so the n shards partition it exactly. */
export function shard<T>(items: readonly T[], i: number, n: number): T[] {
  return items.filter((_, k) => k % n === i - 1);
}
