/**
 * `replay --perfetto`: the Chrome Trace Event Format (JSON object form) as ui.perfetto.dev reads it:
 * known phases, integer pid/tid, timestamps in microseconds, monotonic per track, the trace row in
 * the args of every slice and instant.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from './helpers/cli.js';
import { emptySeries } from './helpers/series.js';
import { PerfettoWriter } from '../src/report/perfetto.js';
import { type Series, ttbrAsid } from '../src/report/series.js';
import { ReportCollector } from '../src/report/report.js';
import { replayFile } from '../src/replay/engine.js';
import { type SystemModel, cpuView } from '../src/model/system.js';

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

/**
 * A `ts` or `dur` (µs) as the nanoseconds the Perfetto UI reads: its JSON importer rounds µs * 1000
 * to the nearest integer (perfetto src/trace_processor/importers/json/json_utils.h, `CoerceToTs`:
 * `std::llround(value * 1000.0)`); the order of slices on a track is judged there, not in sums of
 * decimals rounded to doubles (372.58 + 0.00000000000004).
 */
const ns = (us: number): number => Math.round(us * 1000);

/** The first event that breaks a structural rule of the format the viewers rely on, with the rule. */
function firstProblem(events: Ev[]): string | undefined {
  const tracks = new Map<string, number>();
  const named = new Set<string>();
  const bad = (e: Ev, rule: string) => `${rule}: ${JSON.stringify(e)}`;
  for (const e of events) {
    if (!['M', 'X', 'C', 'i'].includes(e.ph)) return bad(e, 'unknown phase');
    if (!Number.isInteger(e.pid) || !Number.isInteger(e.tid)) return bad(e, 'pid/tid not integers');
    if (typeof e.name !== 'string') return bad(e, 'name not a string');
    if (e.ph === 'M') {
      if (e.name === 'thread_name') named.add(`${e.pid}/${e.tid}`);
      continue;
    }
    if (!(typeof e.ts === 'number' && Number.isFinite(e.ts) && e.ts >= 0)) return bad(e, 'ts not a finite number >= 0');
    if (e.ph === 'X' && !(e.dur! >= 0)) return bad(e, 'dur < 0');
    if (e.ph === 'i' && !['t', 'p', 'g'].includes(e.s!)) return bad(e, 'instant scope not t, p or g');
    if (e.ph === 'X' || e.ph === 'i') {
      if (!Number.isInteger(e.args?.row)) return bad(e, 'no integer args.row');
      if (!named.has(`${e.pid}/${e.tid}`)) return bad(e, 'track without a thread_name');
    }
    // Monotonic per track: a thread for slices and instants, a (process, name) for counters.
    const key = e.ph === 'C' ? `C ${e.pid} ${e.name}` : `${e.ph === 'X' ? 'X' : 'i'} ${e.pid}/${e.tid}`;
    const last = tracks.get(key);
    if (last !== undefined && ns(e.ts) < last) return bad(e, `${key} goes back in time (last ${last} ns)`);
    // Slices of one CPU do not overlap.
    tracks.set(key, e.ph === 'X' ? ns(e.ts) + ns(e.dur!) : ns(e.ts));
  }
  return undefined;
}

/** Every structural rule of the format the viewers rely on (one expect: an expect per event was most of the time). */
function validate(events: Ev[]): void {
  expect(firstProblem(events)).toBeUndefined();
}

describe('the format checker can fail', () => {
  const ok: Ev[] = [
    { ph: 'M', pid: 1, tid: 0, name: 'thread_name', args: { name: 'CPU0' } },
    { ph: 'X', pid: 1, tid: 0, ts: 5, dur: 2, name: 'a', args: { row: 1 } },
    { ph: 'X', pid: 1, tid: 0, ts: 7, dur: 1, name: 'b', args: { row: 2 } },
  ];
  it('accepts well-formed slices and refuses overlap, a nameless track, a missing row, a bad phase', () => {
    expect(firstProblem(ok)).toBeUndefined();
    expect(firstProblem([...ok, { ph: 'X', pid: 1, tid: 0, ts: 7.5, dur: 1, name: 'c', args: { row: 3 } }])).toMatch(/back in time/);
    expect(firstProblem([...ok, { ph: 'X', pid: 1, tid: 9, ts: 9, dur: 1, name: 'c', args: { row: 3 } }])).toMatch(/thread_name/);
    expect(firstProblem([...ok, { ph: 'i', pid: 1, tid: 0, ts: 9, s: 't', name: 'c' }])).toMatch(/args\.row/);
    expect(firstProblem([...ok, { ph: 'Q', pid: 1, tid: 0, ts: 9, name: 'c' }])).toMatch(/phase/);
  });

  it('judges overlap in the nanoseconds the viewer reads: 1 ns over is refused, a sum off by a double rounding is not', () => {
    const at = (ts: number, dur: number, row: number): Ev => ({ ph: 'X', pid: 1, tid: 0, ts, dur, name: 'x', args: { row } });
    const head = ok.slice(0, 1);
    // 372.004 + 36.533 is 408.53700000000003 in doubles: the same nanosecond as 408.537
    expect(372.004 + 36.533).toBeGreaterThan(408.537);
    expect(firstProblem([...head, at(372.004, 36.533, 1), at(408.537, 1, 2)])).toBeUndefined();
    expect(firstProblem([...head, at(372.004, 36.534, 1), at(408.537, 1, 2)])).toMatch(/back in time/);
  });
});

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

/** The shipped corpus's traces (the recordings' folder holds no trace v1). */
const corpus = (): string[] =>
  readdirSync('traces', { recursive: true, encoding: 'utf8' })
    .filter((f) => f.toLowerCase().endsWith('.csv') && !f.startsWith('real/recordings'))
    .map((f) => join('traces', f))
    .sort();

/** A series with nothing in it, to close a writer (no counter track written). */
const EMPTY: Series = emptySeries('time');

type SliceArgs = [
  cpu: number,
  start: number,
  end: number,
  mm: string,
  task: number,
  row: number,
  endRow: number,
  generation: number,
  asid: number,
];

/** The slice lines a PerfettoWriter writes for `slices` on `axis`, as text. */
function sliceLines(axis: 'time' | 'row', slices: SliceArgs[]): string[] {
  const chunks: Buffer[] = [];
  const w = new PerfettoWriter({ write: (c: Uint8Array) => chunks.push(Buffer.from(c)) }, 8, [], () => axis);
  for (const a of slices) w.slice(...a);
  w.finish({ ...EMPTY, axis });
  return Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .map((l) => l.replace(/,$/, '')) // one event a line, a comma after all but the last
    .filter((l) => l.startsWith('{"ph":"X"'));
}

/** The definition of a slice's line: JSON.stringify of its object (the writer's former template, byte for byte). */
function sliceJson(axis: 'time' | 'row', [cpu, start, end, mm, task, row, endRow, generation, asid]: SliceArgs): string {
  const us = (x: number) => (axis === 'time' ? x / 1000 : x);
  return JSON.stringify({
    ph: 'X',
    pid: 1,
    tid: cpu + 1,
    ts: us(start),
    dur: us(Math.max(0, end - start)),
    name: `${mm} ${asid >= 0 ? `ASID ${asid}` : 'no ASID'} gen ${generation}`,
    args: { mm, asid, task, row, endRow, generation },
  });
}

describe('the Perfetto writer against its definition', () => {
  const safe = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
  const time = fc.oneof(
    fc.integer({ min: 0, max: 2 ** 40 }), // trace times in ns
    safe, // beyond 2^52: String's own text
    fc.integer({ min: -(2 ** 40), max: -1 }),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e18, max: 1e18 }),
    fc.constantFrom(0, 1, 999, 1000, 1001, 2 ** 52 - 1, 2 ** 52, 2 ** 53 - 1, 123456789000, 100, 10, 0.5, -0),
  );
  const label = fc.oneof(
    fc.stringMatching(/^[a-z][a-z0-9@#:._-]{0,12}$/),
    fc.string({ unit: 'binary', maxLength: 8 }), // lone surrogates, control characters, quotes, backslashes
    fc.constantFrom('"', '\\', '\ud800', '\udfff', 'a\ud83d', '\u2028', 'é', '\u0000'),
  );
  const int = fc.oneof(fc.integer({ min: 0, max: 4096 }), safe, fc.constantFrom(0, 9, 10, 99, 100, 2 ** 31, 2 ** 32 + 1));
  const slice = fc.tuple(fc.integer({ min: 0, max: 7 }), time, time, label, int, int, int, int, fc.integer({ min: -1, max: 65535 }));

  it('a slice is written as JSON.stringify writes its object, on both axes, for odd labels and numbers', () => {
    for (const axis of ['time', 'row'] as const)
      fc.assert(
        fc.property(fc.array(slice, { minLength: 1, maxLength: 30 }), (slices) => {
          expect(sliceLines(axis, slices)).toEqual(slices.map((a) => sliceJson(axis, a)));
        }),
        { numRuns: 300, seed: 20261204 },
      );
  });

  it('ts of a whole number of ns is String(x / 1000) for every x below 2^52, and beyond it', () => {
    // The digit-by-digit text (perfetto.ts, tsText) against String at the edges of each branch.
    const xs = [
      0,
      1,
      9,
      10,
      99,
      100,
      999,
      1000,
      1001,
      1010,
      1100,
      12345678,
      2 ** 42,
      2 ** 43 - 1,
      2 ** 43,
      2 ** 52 - 1,
      2 ** 52,
      2 ** 53 - 1,
    ];
    for (let k = 0; k < 2000; k++) xs.push(Math.floor(Math.random() * 2 ** 52), Math.floor(Math.random() * 1e13));
    const lines = sliceLines(
      'time',
      xs.map((x) => [0, x, x, 'm', 1, 1, 1, 1, 1]),
    );
    expect(lines.map((l) => /"ts":([^,]*),/.exec(l)![1])).toEqual(xs.map((x) => String(x / 1000)));
  });

  it('a CPU past the ones named at the start still gets its thread id (tid = CPU + 1)', () => {
    // sliceLines' writer is made for 8 CPUs
    const [l] = sliceLines('time', [[11, 1000, 2000, 'm', 1, 1, 2, 1, 1]]);
    expect(l).toBe(sliceJson('time', [11, 1000, 2000, 'm', 1, 1, 2, 1, 1]));
    expect(JSON.parse(l!).tid).toBe(12);
  });

  it('dur is the length in ns as µs, exact: not a difference of two µs values rounded to doubles', () => {
    // 275.565 - 214.419 is 61.14599999999999 in doubles; the stretch is 61146 ns
    expect(275.565 - 214.419).not.toBe(61.146);
    const [a, b, c] = sliceLines('time', [
      [0, 214419, 275565, 'm', 1, 1, 2, 1, 1],
      [1, 5, 5, 'm', 1, 1, 2, 1, 1],
      [2, 9, 5, 'm', 1, 1, 2, 1, 1], // an end before the start: no length
    ]);
    expect(/"dur":([^,]*),/.exec(a!)![1]).toBe('61.146');
    expect(/"dur":([^,]*),/.exec(b!)![1]).toBe('0');
    expect(/"dur":([^,]*),/.exec(c!)![1]).toBe('0');
    const [r] = sliceLines('row', [[0, 7, 19, 'm', 1, 7, 19, 1, 1]]);
    expect(/"dur":([^,]*),/.exec(r!)![1]).toBe('12');
  });

  it('the slices of generated traces are canonical JSON (what JSON.stringify gives back)', async () => {
    for (const trace of ['traces/generated/kernel-build.csv', 'traces/generated/sva-btm.csv', 'traces/scenarios/asid-move-race.csv']) {
      const out = join(tmp(), 'trace.json');
      const r = await cli('replay', trace, '--perfetto', out);
      expect(r.code, r.err).toBe(0);
      const lines = readFileSync(out, 'utf8')
        .split('\n')
        .map((l) => l.replace(/,$/, '')) // one event a line, a comma after all but the last
        .filter((l) => l.startsWith('{"ph":"X"'));
      expect(lines.length, trace).toBeGreaterThan(0);
      expect(lines.filter((l) => JSON.stringify(JSON.parse(l)) !== l).slice(0, 3), trace).toEqual([]);
    }
  });
});

describe("the timeline's ASID: one CPU's TTBR against cpuView", () => {
  /** After every event: for each CPU, ttbrAsid with the CPU's own mm, another mm's label and an unknown one. */
  class Check extends ReportCollector {
    compared = 0;
    constructor(
      private readonly model: SystemModel,
      private readonly cpus: number,
    ) {
      super(model.config.smmus.length);
    }
    beforeEvent(): void {}
    /** The first disagreement, if any (plain comparisons: an expect() per event cost most of this test's time). */
    mismatch: string | undefined;
    afterEvent(): void {
      const view = cpuView(this.model);
      if (view.length !== this.cpus) this.mismatch ??= `cpuView has ${view.length} CPUs, not ${this.cpus}`;
      for (let c = 0; c < this.cpus + 1; c++) {
        for (const label of [view[c]?.mm, view[(c + 1) % this.cpus]?.mm, 'no such mm']) {
          if (label === null || label === undefined) continue;
          const v = view[c];
          const got = ttbrAsid(this.model, c, label);
          const want = v && v.mm === label ? v.asid : -1;
          if (got !== want) this.mismatch ??= `CPU${c}, mm ${label}: ttbrAsid ${got}, cpuView ${want}`;
          this.compared++;
        }
      }
    }
  }

  it('agree after every event of the shipped corpus', async () => {
    let compared = 0;
    for (const trace of corpus()) {
      let check: Check | undefined;
      await replayFile(trace, { tap: (system, model) => (check = new Check(model, system.cpus)) });
      expect(check?.mismatch, trace).toBeUndefined();
      compared += check?.compared ?? 0;
    }
    expect(compared).toBeGreaterThan(10_000);
  });
});
