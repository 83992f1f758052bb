/**
 * The series collector in process (src/report/series.ts), on what it owes the pictures:
 *
 * - the per-CPU timeline: one slice per stretch an mm runs on a CPU. `switch_mm` changes the TTBR
 *   only when the next task's mm differs (a thread of the same mm: no switch, the stretch goes on;
 *   arch/arm64/include/asm/mmu_context.h, `switch_mm`: `if (prev != next) __switch_mm(next)`), the
 *   idle task ends it (lazy TLB: no mm of its own), and an exec starts a new one on every CPU
 *   running the task (`exec_mmap` -> `activate_mm`). The ASID is the one `new_context` handed out
 *   (arch/arm64/mm/context.c: the first free bit from `cur_idx`, 1, 2, 3 in generation 1 without
 *   CONFIG_UNMAP_KERNEL_AT_EL0's reservation);
 * - the buckets: the ones a {@link ReferenceBucketer} makes from the same event times, kept and
 *   streamed (`beforeEvent` has `Bucketer.at` written out).
 */
import { describe, expect, it } from 'vitest';
import { generateToFile } from '../src/generate/generate.js';
import { replayFile } from '../src/replay/engine.js';
import { type Bucket, SeriesCollector, type TimelineSink } from '../src/report/series.js';
import type { SystemModel } from '../src/model/system.js';
import { readPackedBatches } from '../src/trace/reader.js';
import { ReferenceBucketer } from './helpers/bucketer-reference.js';
import { tmp, tmpFile } from './helpers/cli.js';
import { join } from 'node:path';

type Slice = Parameters<TimelineSink['slice']>;

const TRACE = [
  '# system: {"cpus": 2, "asidBits": 8, "kpti": false, "unmapKernelAtEl0": false}', // line 1
  'time,event,cpu,task,mm', // 2
  '1000,fork,,1,a', // 3
  '1100,fork,,2,a', // 4: a thread of a (CLONE_VM)
  '1200,fork,,3,b', // 5
  '2000,schedule,0,1,', // 6: CPU 0 runs a
  '3000,schedule,0,2,', // 7: the other thread of a: the stretch goes on
  '4000,schedule,0,3,', // 8: b
  '5000,schedule,1,1,', // 9: CPU 1 runs a
  '6000,schedule,0,0,', // 10: CPU 0 idle
  '7000,exec,,1,c', // 11: task 1, on CPU 1, execs into c
  '8000,schedule,0,2,', // 12: CPU 0 runs a again
].join('\n');

describe('the per-CPU timeline of the series collector', () => {
  it('a slice per stretch of an mm on a CPU: not split by a thread of the same mm; ended by idle, by another mm, by exec', async () => {
    const slices: Slice[] = [];
    const sink: TimelineSink = { slice: (...a) => slices.push(a), instant: () => {} };
    let col: SeriesCollector | undefined;
    let model: SystemModel | undefined;
    await replayFile(tmpFile(TRACE), {
      tap: (system, m) => {
        model = m;
        return (col = new SeriesCollector(system, m, { timeline: sink }));
      },
    });
    const series = col!.end();
    const key = (label: string) => model!.cpu.labels.get(label)!;
    // the mm columns: indexes in the order the mms first ran, -1 while a CPU is idle
    expect(series.mms).toEqual(['a', 'b', 'c']);
    const cpuCol = (c: number) => series.values[series.columns.findIndex((k) => k.name === `cpu${c}.mm`)]!;
    expect([cpuCol(0).at(-1), cpuCol(1).at(-1)]).toEqual([0, 2]);
    expect(new Set(cpuCol(0))).toEqual(new Set([-1, 0, 1]));
    // CPU 0 is idle from 6000 to 8000 ns: the buckets that end in that stretch say -1
    const idle = series.x.flatMap((x, j) => (x >= 6000 && x + series.width <= 8000 ? [cpuCol(0)[j]] : []));
    expect(idle.length).toBeGreaterThan(0);
    expect(new Set(idle)).toEqual(new Set([-1]));
    expect(new Set([key('a'), key('b'), key('c')]).size).toBe(3);
    // cpu, start, end, mm, task (that switched it in), row, endRow, generation, ASID, mm key
    expect(slices).toEqual([
      [0, 2000, 4000, 'a', 1, 6, 8, 1, 1, key('a')],
      [0, 4000, 6000, 'b', 3, 8, 10, 1, 2, key('b')],
      [1, 5000, 7000, 'a', 1, 9, 11, 1, 1, key('a')],
      // the last stretches, closed at the last event
      [0, 8000, 8000, 'a', 2, 12, 12, 1, 1, key('a')],
      [1, 7000, 8000, 'c', 1, 11, 12, 1, 3, key('c')],
    ]);
  });
});

describe('the buckets of the series collector', () => {
  /** The collector's series and streamed buckets, and the reference's from the trace's times, counting events. */
  async function both(trace: string, maxPoints: number, interval: number) {
    const streamed: Bucket[] = [];
    let col: SeriesCollector | undefined;
    await replayFile(trace, {
      tap: (system, m) => (col = new SeriesCollector(system, m, { maxPoints, interval, onBucket: (b) => streamed.push(b) })),
    });
    const s = col!.end();
    let events = 0;
    const spec = { name: 'events', kind: 'sum' as const, help: '' };
    const kept = new ReferenceBucketer([{ spec, get: () => events }], undefined, maxPoints, undefined);
    const refStreamed: Bucket[] = [];
    const fixed = new ReferenceBucketer([{ spec, get: () => events }], interval, Infinity, (b) => refStreamed.push(b));
    let first = true;
    for await (const batch of readPackedBatches(trace))
      for (let i = 0; i < batch.n; i++) {
        const x = batch.time(i);
        if (first) {
          kept.start(x);
          fixed.start(x);
          first = false;
        }
        kept.at(x);
        fixed.at(x);
        events++;
      }
    kept.close();
    fixed.close();
    const col0 = s.columns.findIndex((c) => c.name === 'events');
    return { s, streamed: streamed.map((b) => ({ x: b.x, events: b.values[col0]! })), kept, refStreamed, events };
  }

  it("are the reference bucketer's for the event times, kept (merged in pairs) and streamed at a fixed interval", async () => {
    const trace = join(tmp(), 'build.csv');
    await generateToFile('kernel-build', { events: 20_000, seed: 5, cpus: 4, asidBits: 8, kpti: false }, trace);
    // an interval past the first event's time (about 6 us): the fixed buckets' origin is not 0
    const r = await both(trace, 64, 5000);
    expect(r.s.axis).toBe('time');
    expect(r.kept.width).toBeGreaterThan(1); // merged: the width doubled
    expect(r.s.width).toBe(r.kept.width);
    expect(r.s.x).toEqual(r.kept.xs);
    expect(r.s.values[r.s.columns.findIndex((c) => c.name === 'events')]).toEqual(r.kept.values[0]);
    expect(r.refStreamed[0]!.x).toBeGreaterThan(0);
    expect(r.streamed.length).toBeGreaterThan(10);
    expect(r.streamed).toEqual(r.refStreamed.map((b) => ({ x: b.x, events: b.values[0]! })));
    expect(r.streamed.reduce((a, b) => a + b.events, 0)).toBe(r.events);
  });
});
