/**
 * A trace corpus: the trace files under some paths, their stored expectations, and shards.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../trace/errors.js';

/** Where a trace's expected report is stored: beside it, `<trace>.expected.json`. */
export const expectationPath = (trace: string): string => trace.replace(/\.csv$/, '') + '.expected.json';

/**
 * Every `*.csv` trace under `paths` (files are taken as given, folders are walked), sorted so that
 * every machine sees the same order.
 * @throws InputError for a path that does not exist.
 */
export async function findTraces(paths: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  const walk = async (p: string): Promise<void> => {
    const st = await stat(p).catch(() => undefined);
    if (!st) throw new InputError('no such file or folder', p);
    if (st.isFile()) {
      out.add(p);
      return;
    }
    for (const e of await readdir(p, { withFileTypes: true })) {
      const q = join(p, e.name);
      if (e.isDirectory()) await walk(q);
      else if (e.isFile() && e.name.endsWith('.csv')) out.add(q);
    }
  };
  for (const p of paths) await walk(p);
  return [...out].sort();
}

/** `i/n` (1-based) → [i, n]. @throws InputError for anything else. */
export function parseShard(s: string): [number, number] {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m || Number(m[2]) < 1 || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) {
    throw new InputError(`--shard must be i/n with 1 <= i <= n (e.g. 2/4), got "${s}"`);
  }
  return [Number(m[1]), Number(m[2])];
}

/** Shard i of n (1-based): every n-th trace of the sorted list, so the n shards partition it exactly. */
export function shard<T>(items: readonly T[], i: number, n: number): T[] {
  return items.filter((_, k) => k % n === i - 1);
}
