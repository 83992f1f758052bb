/**
 * The pin-v1 scenario buried in unrelated events, and the shrink check the fast suite
 * (test/shrink.test.ts, 10^3 events) and the slow one (test/slow/shrink.test.ts, 10^4) share.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { hasFinding } from '../../src/shrink/ddmin.js';
import { readEventBatches } from '../../src/trace/reader.js';
import { resolveSystem } from '../../src/trace/system.js';
import type { TraceEvent } from '../../src/trace/events.js';
import { Rng } from '../../src/util/rng.js';
import { cli, tmp } from './cli.js';

export const SCENARIO = 'traces/scenarios/pin-v1-ordering-bug.csv';

/** The scenario with `n` unrelated valid events mixed in (tasks 100.. with mms Z*, never scheduled). */
export function padded(n: number, seed: number): string {
  const lines = readFileSync(SCENARIO, 'utf8').split('\n');
  const header = lines.findIndex((l) => l.startsWith('event,'));
  const pre = lines.slice(0, header).filter((l) => l.startsWith('# system:'));
  const body = lines.slice(header + 1).filter((l) => l.trim() !== '');
  const rng = new Rng(seed);
  const live: number[] = [];
  let next = 100;
  const extra: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rng.int(0, 9);
    if (live.length === 0 || r < 3) {
      const t = next++;
      live.push(t);
      extra.push(`fork,,${t},Z${t},,`);
    } else if (r < 5) {
      const t = live.splice(rng.int(0, live.length - 1), 1)[0]!;
      extra.push(`exit,,${t},,,`);
    } else {
      const t = rng.pick(live);
      const va = `0x${(rng.int(1, 64) * 0x1000).toString(16)}`;
      extra.push(`${r < 8 ? 'map' : 'unmap'},,,Z${t},${va},0x1000`);
    }
  }
  // Interleave: the scenario's events stay in order, spread through the padding.
  const out: string[] = [];
  let j = 0;
  for (let i = 0; i < extra.length; i++) {
    out.push(extra[i]!);
    if (j < body.length && rng.chance(body.length / extra.length)) out.push(body[j++]!);
  }
  while (j < body.length) out.push(body[j++]!);
  return [...pre, 'event,cpu,task,mm,va,size', ...out].join('\n') + '\n';
}

export async function events(file: string): Promise<TraceEvent[]> {
  const out: TraceEvent[] = [];
  for await (const b of readEventBatches(file)) out.push(...b);
  return out;
}

/**
 * Shrink the scenario padded with `n` unrelated events: at most 20 events come back, 1-minimal, still
 * failing under pin-v1 only, with dense names and only the columns used.
 */
export async function shrinksPadded(n: number): Promise<void> {
  const dir = tmp();
  const big = join(dir, 'big.csv');
  writeFileSync(big, padded(n, 7));
  const bigEvents = await events(big);
  expect(bigEvents.length).toBeGreaterThan(n);
  const small = join(dir, 'small.csv');
  const r = await cli('shrink', big, '-o', small, '--finding', 'active-asid-mismatch');
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const evs = await events(small);
  // The scenario is 26 events (14 kernel-tla steps and the 12 forks they need); removal alone stops at
  // 25. Giving burner processes' work to one task by exec, and the last switch into P to a pin of P,
  // reaches 20: 2 CPUs, 7 ASIDs, 3 pinned mms and P's thread need every one of them.
  expect(evs.length).toBeLessThanOrEqual(20);
  expect(evs.length).toBeGreaterThan(5);
  expect((await cli('replay', small, '--fail-on', 'active-asid-mismatch')).code).toBe(1);
  expect((await cli('replay', small, '--allocator', 'v5.10', '--fail-on', 'violations')).code).toBe(0);
  // 1-minimal: removing any one event loses the finding.
  const system = resolveSystem({ cpus: 2, asidBits: 3, whatIf: true, allocator: 'pin-v1', unmapKernelAtEl0: false }, {});
  expect(hasFinding(system, evs, 'active-asid-mismatch')).toBe(true);
  for (let i = 0; i < evs.length; i++) {
    expect(hasFinding(system, evs.slice(0, i).concat(evs.slice(i + 1)), 'active-asid-mismatch'), `without event ${i + 1}`).toBe(false);
  }
  // Dense names, only the columns used.
  const text = readFileSync(small, 'utf8');
  expect(text).toMatch(/^event,cpu,task,mm\n/m);
  expect(text).not.toMatch(/Z\d/);
}
