/**
 * trace-cmd trace.dat reader: the shipped LISA recording (file version 6) and its version-7 zstd
 * copy (made once with Debian's trace-cmd 3.1.6: `trace-cmd convert --file-version 7 --compression
 * zstd`) import to the same trace v1 events as the `trace-cmd report` text of the same file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importFile } from '../src/import/import.js';
import { datLines, parseTraceDat, stateFlags } from '../src/import/tracedat/index.js';
import { cli, tmp } from './helpers/cli.js';

const DIR = 'traces/real/recordings/lisa-juno-rtapp';
const V6 = join(DIR, 'trace.dat');
const V7 = join(DIR, 'trace-v7-zstd.dat');
const REPORT = join(DIR, 'trace.dat.report.txt');

/** Event rows of a trace v1 CSV (comments and the header dropped). */
const rows = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^\d/.test(l))
    .map((l) => l.split(','));

/** trace-cmd report prints microseconds rounded to the nearest (libtraceevent print_event_time). */
const toMicros = (ns: string) => String(Math.round(Number(ns) / 1000) * 1000);

describe('trace.dat file versions 6 and 7', () => {
  it('reads both containers: 6 CPUs, the same pages, saved command lines and event formats', () => {
    const v6 = parseTraceDat(readFileSync(V6), V6);
    const v7 = parseTraceDat(readFileSync(V7), V7);
    expect([v6.version, v7.version, v7.compression]).toEqual([6, 7, 'zstd']);
    expect(v6.cpus).toBe(6);
    expect(v7.cpus).toBe(6);
    expect(v6.buffers.map((b) => b.data.length)).toEqual(v7.buffers.map((b) => b.data.length));
    for (let i = 0; i < v6.buffers.length; i++) expect(v6.buffers[i].data.equals(v7.buffers[i].data)).toBe(true);
    expect(v6.comms.get(6973)).toBe('trace-cmd');
    const names = new Set([...v6.events.values()].map((e) => e.name));
    expect(names.has('sched_switch')).toBe(true);
    expect(v6.pageHeader).toEqual({ timestampOffset: 0, timestampSize: 8, commitOffset: 8, commitSize: 8, dataOffset: 16 });
  });

  it('decodes the first events as trace-cmd report prints them (nanoseconds kept)', () => {
    const dat = parseTraceDat(readFileSync(V6), V6);
    const lines = [...datLines(dat, V6)].map(([, l]) => l);
    expect(lines[0]).toBe('cpus=6');
    expect(lines.length - 1).toBe(7820); // SOURCE.md: 7,820 event lines
    expect(lines.find((l) => l.includes('sched_switch'))).toBe('trace-cmd-6973 [002] 259445.106979220: sched_switch: prev_comm=trace-cmd prev_pid=6973 prev_prio=120 prev_state=x ==> next_comm=swapper/2 next_pid=0 next_prio=120');
    const report = readFileSync(REPORT, 'utf8').split('\n');
    expect(report.find((l) => l.includes('sched_switch'))).toContain('259445.106979: sched_switch:         trace-cmd:6973 [120] x ==> swapper/2:0 [120]');
  });

  it.each([
    ['version 6', V6],
    ['version 7, zstd', V7],
  ])('%s: import trace-dat gives the events of the report text (times in ns, the text rounded to µs)', async (_, dat) => {
    const out = tmp();
    const a = await importFile('trace-dat', dat, join(out, 'dat.csv'));
    const b = await importFile('ftrace', REPORT, join(out, 'txt.csv'));
    expect(a.sched_switch).toBe(1552);
    expect(a.otherEvents).toEqual(b.otherEvents);
    expect(a.eventsByKind).toEqual(b.eventsByKind);
    const ra = rows(join(out, 'dat.csv'));
    const rb = rows(join(out, 'txt.csv'));
    expect(ra.length).toBe(rb.length);
    expect(ra.map(([t, ...rest]) => [toMicros(t), ...rest])).toEqual(rb);
    expect(ra.some(([t]) => !t.endsWith('000'))).toBe(true); // the .dat keeps nanoseconds
  });

  it('v6 and its v7 zstd copy give byte-identical traces; import auto recognises both', async () => {
    const out = tmp();
    for (const [f, name] of [
      [V6, 'a.csv'],
      [V7, 'b.csv'],
    ]) {
      const r = await cli('import', 'auto', f, '-o', join(out, name), '--json');
      expect(r.code).toBe(0);
      expect(JSON.parse(r.out).kind).toBe('trace-dat');
    }
    const body = (n: string) => readFileSync(join(out, n), 'utf8').split('\n').slice(1).join('\n');
    expect(body('a.csv')).toBe(body('b.csv'));
  });
});

describe('sched_switch prev_state from the format file', () => {
  it('old numbering (TASK_STATE_MAX 2048): 64 is x, 2048 is +, 0 is R', () => {
    const f = stateFlags('"...", REC->prev_state & (2048-1) ? __print_flags(REC->prev_state & (2048-1), "|", { 1, "S"} , { 2, "D" }, { 16, "Z" }, { 32, "X" }, { 64, "x" }, { 1024, "N" }) : "R", REC->prev_state & 2048 ? "+" : ""')!;
    expect([f(64), f(0), f(2048), f(1), f(3)]).toEqual(['x', 'R', 'R+', 'S', 'S|D']);
  });
  it('v4.14+ numbering (TASK_REPORT_MAX 0x100): 0x40 is P (parked), not a dead task', () => {
    const f = stateFlags('__print_flags(REC->prev_state & ((((0x0000 | 0x0001) + 1) << 1) - 1), "|", { 0x01, "S" }, { 0x02, "D" }, { 0x10, "X" }, { 0x20, "Z" }, { 0x40, "P" }, { 0x80, "I" }) : "R", REC->prev_state & (((0x0000 | 0x0001) + 1) << 1) ? "+" : ""')!;
    expect([f(0x40), f(0x10), f(0x100)]).toEqual(['P', 'X', 'R+']);
  });
});
