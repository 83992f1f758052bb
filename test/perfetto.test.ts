/**
 * `replay --perfetto`: the Chrome Trace Event Format (JSON object form) as ui.perfetto.dev reads it:
 * known phases, integer pid/tid, timestamps in microseconds, monotonic per track, the trace row in
 * the args of every slice and instant.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from './helpers/cli.js';

interface Ev {
  ph: string;
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  s?: string;
  name: string;
  args?: Record<string, unknown>;
}

async function perfetto(...args: string[]): Promise<{
  events: Ev[];
  report: { trace: { events: number; firstTime: number | null }; churn: { switches: number; sameMmSwitches: number; rollovers: number } };
}> {
  const out = join(tmp(), 'trace.json');
  const r = await cli('replay', ...args, '--perfetto', out, '--json');
  expect(r.code, r.err).toBe(0);
  const doc = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: Ev[]; displayTimeUnit?: string };
  expect(Array.isArray(doc.traceEvents)).toBe(true);
  return { events: doc.traceEvents, report: JSON.parse(r.out) };
}

/** Every structural rule of the format the viewers rely on. */
function validate(events: Ev[]): void {
  const tracks = new Map<string, number>();
  const named = new Set<string>();
  for (const e of events) {
    expect(['M', 'X', 'C', 'i'], JSON.stringify(e)).toContain(e.ph);
    expect(Number.isInteger(e.pid) && Number.isInteger(e.tid), JSON.stringify(e)).toBe(true);
    expect(typeof e.name).toBe('string');
    if (e.ph === 'M') {
      if (e.name === 'thread_name') named.add(`${e.pid}/${e.tid}`);
      continue;
    }
    expect(typeof e.ts === 'number' && Number.isFinite(e.ts) && e.ts >= 0, JSON.stringify(e)).toBe(true);
    if (e.ph === 'X') expect(e.dur! >= 0, JSON.stringify(e)).toBe(true);
    if (e.ph === 'i') expect(['t', 'p', 'g']).toContain(e.s);
    if (e.ph === 'X' || e.ph === 'i') {
      expect(Number.isInteger(e.args?.row), JSON.stringify(e)).toBe(true);
      expect(named.has(`${e.pid}/${e.tid}`), `track ${e.pid}/${e.tid} has a name`).toBe(true);
    }
    // Monotonic per track: a thread for slices and instants, a (process, name) for counters.
    const key = e.ph === 'C' ? `C ${e.pid} ${e.name}` : `${e.ph === 'X' ? 'X' : 'i'} ${e.pid}/${e.tid}`;
    const last = tracks.get(key);
    if (last !== undefined) expect(e.ts!, `${key} goes back in time`).toBeGreaterThanOrEqual(last);
    // Slices of one CPU do not overlap.
    tracks.set(key, e.ph === 'X' ? e.ts! + e.dur! : e.ts!);
  }
}

describe('replay --perfetto', () => {
  it('a real trace: one track per CPU, slices in microseconds of trace time, counters', async () => {
    const { events, report } = await perfetto('traces/real/juno-trace-txt.csv');
    validate(events);
    const threads = events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === 1).map((e) => e.args!.name);
    expect(threads).toEqual(['CPU 0', 'CPU 1', 'CPU 2', 'CPU 3', 'CPU 4', 'CPU 5']);
    const slices = events.filter((e) => e.ph === 'X');
    expect(slices.length).toBeGreaterThan(0);
    // A slice starts at a switch_mm or at a return from idle to the CPU's mm (a same-mm schedule).
    expect(slices.length).toBeLessThanOrEqual(report.churn.switches + report.churn.sameMmSwitches);
    expect(slices.length).toBeGreaterThanOrEqual(report.churn.switches / 2);
    expect(Math.min(...slices.map((e) => e.ts!))).toBeCloseTo(report.trace.firstTime! / 1000, 3);
    for (const s of slices) {
      expect(s.name).toMatch(/ gen \d+$/);
      expect(s.args).toMatchObject({ mm: expect.any(String), task: expect.any(Number), generation: expect.any(Number) });
    }
    const counters = new Set(events.filter((e) => e.ph === 'C').map((e) => e.name));
    expect(counters).toContain('generation');
    expect(counters).toContain('pinned ASIDs');
  });

  it('a trace without time: ts is the trace row; stale findings as instants with their rows', async () => {
    const { events } = await perfetto('traces/scenarios/asid-move-race.csv', '--kernel', '6.1');
    validate(events);
    const stale = events.filter((e) => e.ph === 'i' && e.name.startsWith('S-UNMAP'));
    expect(stale.map((e) => [e.ts, e.args!.row, e.args!.fillRow, e.args!.shouldHaveRow])).toEqual([
      [13, 13, 11, 13],
      [14, 14, 11, 13],
    ]);
    const smmu = events.find((e) => e.ph === 'M' && e.name === 'process_name' && e.args!.name === 'SMMU smmu0');
    expect(smmu).toBeDefined();
    expect(events.some((e) => e.ph === 'C' && e.pid === smmu!.pid && 'CMD_SYNC' in e.args!)).toBe(true);
  });

  it('rollovers and pin failures are instants', async () => {
    const { events, report } = await perfetto('traces/scenarios/pin-v1-ordering-bug.csv');
    validate(events);
    expect(events.filter((e) => e.ph === 'i' && e.name === 'rollover').length).toBe(report.churn.rollovers);
    expect(events.some((e) => e.ph === 'i' && e.args!.kind !== undefined && e.tid === 3)).toBe(true); // violations
  });

  it('rollovers of pins are instants too; otherData counts every finding; pins and ASIDs in use are counters', async () => {
    const out = join(tmp(), 'trace.json');
    const r = await cli('replay', 'traces/generated/pin-exhaustion.csv', '--perfetto', out, '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    const doc = JSON.parse(readFileSync(out, 'utf8')) as { traceEvents: Ev[]; otherData: Record<string, unknown> };
    validate(doc.traceEvents);
    const rollovers = doc.traceEvents.filter((e) => e.ph === 'i' && e.name === 'rollover');
    expect(rollovers.length).toBe(report.churn.rollovers); // 129: 19 in arm64_mm_context_get
    expect(rollovers.map((e) => e.args!.row)).toEqual(report.churn.rolloverSeries.map((x: { row: number }) => x.row));
    expect(doc.otherData.findings).toEqual({ rollover: 129, 'pin-failure': 74, violation: 0, stale: 0, 'device-failure': 0 });
    const counter = (name: string) => doc.traceEvents.filter((e) => e.ph === 'C' && e.pid === 2 && e.name.startsWith(name));
    const pins = counter('pins (');
    expect(pins.reduce((a, e) => a + (e.args!.requests as number), 0)).toBe(report.pins.requests);
    expect(Math.max(...counter('pinned ASIDs').map((e) => e.args!.most as number))).toBe(report.pins.maxHeld);
    expect(Math.max(...counter('ASIDs in use').map((e) => e.args!.inUse as number))).toBeLessThanOrEqual(report.allocator.numAsids - 1);
  });

  it('an unwritable output is exit 2 before any work', async () => {
    const r = await cli('replay', 'traces/real/juno-trace-txt.csv', '--perfetto', '/nonexistent-dir/x.json');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot write the output file/);
  });
});
