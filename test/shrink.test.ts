/**
 * `shrink`: the pin-v1 scenario buried in 10^4 unrelated events comes back to at most 20 events,
 * still failing under pin-v1, and 1-minimal.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasFinding, rename } from '../src/shrink/ddmin.js';
import { readEventBatches } from '../src/trace/reader.js';
import { resolveSystem } from '../src/trace/system.js';
import type { TraceEvent } from '../src/trace/events.js';
import { Rng } from '../src/util/rng.js';
import { cli, tmp, tmpFile } from './helpers/cli.js';

const SCENARIO = 'traces/scenarios/pin-v1-ordering-bug.csv';

/** The scenario with `n` unrelated valid events mixed in (tasks 100.. with mms Z*, never scheduled). */
function padded(n: number, seed: number): string {
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

async function events(file: string): Promise<TraceEvent[]> {
  const out: TraceEvent[] = [];
  for await (const b of readEventBatches(file)) out.push(...b);
  return out;
}

describe('shrink', () => {
  it('cuts the pin-v1 scenario padded to 10^4 events back to <= 20 events, 1-minimal, still failing under pin-v1 only', async () => {
    const dir = tmp();
    const big = join(dir, 'big.csv');
    writeFileSync(big, padded(10_000, 7));
    const bigEvents = await events(big);
    expect(bigEvents.length).toBeGreaterThan(10_000);
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
  });

  it('keeps the finding kind asked for (stale-tlb needs the access and the unmap)', async () => {
    const small = join(tmp(), 'small.csv');
    const r = await cli('shrink', SCENARIO, '-o', small, '--finding', 'stale-tlb');
    expect(r.code).toBe(0);
    const text = readFileSync(small, 'utf8');
    expect(text).toMatch(/^access,/m);
    expect(text).toMatch(/^unmap,/m);
    expect((await cli('replay', small, '--fail-on', 'stale-tlb')).code).toBe(1);
  });

  it('keeps provenance: every kept event carries the src of the recording line it came from', async () => {
    // The scenario with a src column whose cell on trace line n is `<n>.5@L<10n>` (not derivable by shrink).
    const lines = readFileSync(SCENARIO, 'utf8').split('\n');
    let header = -1;
    const withSrc = lines.map((l, i) => {
      if (l === '' || l.startsWith('#')) return l;
      if (header < 0) {
        header = i;
        return `${l},src`;
      }
      return `${l},${i + 1}.5@L${10 * (i + 1)}`;
    });
    const big = tmpFile(withSrc.join('\n'), 'with-src.csv');
    const small = join(tmp(), 'small.csv');
    expect((await cli('shrink', big, '-o', small)).code).toBe(0);
    const out = readFileSync(small, 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    const cols = out[0]!.split(',');
    expect(cols).toContain('src');
    const at = cols.indexOf('src');
    const sources = new Set(withSrc.slice(header + 1).map((l) => l.split(',').at(-1)));
    for (const row of out.slice(1)) expect(sources.has(row.split(',')[at])).toBe(true);
    expect((await cli('replay', small, '--fail-on', 'active-asid-mismatch')).code).toBe(1);
  });

  it('reads standard input with -', () => {
    const out = join(tmp(), 'small.csv');
    const r = spawnSync(process.execPath, ['bin/asid-replay.js', 'shrink', '-', '-o', out], {
      input: readFileSync(SCENARIO),
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^# Shrunk by asid-replay shrink from \d+ events of -: keeps active-asid-mismatch\./m);
  });

  it('rename keeps the trace and names densely', () => {
    const evs: TraceEvent[] = [
      { row: 1, kind: 'fork', task: 42, mm: 'foo' },
      { row: 2, kind: 'schedule', cpu: 1, task: 42 },
      { row: 3, kind: 'schedule', cpu: 0, task: 0 },
    ];
    expect(rename(evs)).toEqual([
      { row: 1, kind: 'fork', task: 1, mm: 'A' },
      { row: 2, kind: 'schedule', cpu: 0, task: 1 },
      { row: 3, kind: 'schedule', cpu: 1, task: 0 },
    ]);
  });

  it('bad input exits 2 with a message', async () => {
    const out = join(tmp(), 'x.csv');
    const noFinding = await cli('shrink', SCENARIO, '--allocator', 'v5.10', '-o', out);
    expect(noFinding.code).toBe(2);
    expect(noFinding.err).toMatch(/no finding/);
    const wrongKind = await cli('shrink', SCENARIO, '--finding', 'S-UNMAP', '-o', out);
    expect(wrongKind.code).toBe(2);
    expect(wrongKind.err).toMatch(/no S-UNMAP finding/);
    expect((await cli('shrink', SCENARIO, '--finding', 'bogus', '-o', out)).code).toBe(2);
    expect((await cli('shrink', '/nonexistent.csv', '-o', out)).code).toBe(2);
  });
});
