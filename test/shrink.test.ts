/**
 * `shrink`: the pin-v1 scenario buried in 10^3 unrelated events (10^4 in test/slow/) comes back to
 * at most 20 events, still failing under pin-v1, and 1-minimal; finding kinds, provenance, `-`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rename } from '../src/shrink/ddmin.js';
import type { TraceEvent } from '../src/trace/events.js';
import { cli, tmp, tmpFile } from './helpers/cli.js';
import { SCENARIO, shrinksPadded } from './helpers/padded.js';

describe('shrink', () => {
  it('cuts the pin-v1 scenario padded to 10^3 events back to <= 20 events, 1-minimal, still failing under pin-v1 only (10^4: test/slow/)', async () => {
    await shrinksPadded(1_000);
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
