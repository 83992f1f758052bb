/**
 * The per-CPU mm columns of the series (`cpu<N>.mm`, the index of the mm's label in the order mms
 * first ran, MAX_MM_LABELS for "other") do not depend on the cache of indexes by mm key
 * (src/report/series.ts): with no cache (the label Map alone, the definition), with one or two
 * slots (nearly every switch a miss, keys colliding) and with the default size on a trace of more
 * mms than slots, the series are the same.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateToFile } from '../src/generate/generate.js';
import { replayFile } from '../src/replay/engine.js';
import { MAX_MM_LABELS, MM_SLOTS, type Series, SeriesCollector } from '../src/report/series.js';
import type { SystemModel } from '../src/model/system.js';
import { tmp } from './helpers/cli.js';

async function seriesWith(trace: string, mmSlots: number | undefined): Promise<{ series: Series; mms: number }> {
  let col: SeriesCollector | undefined;
  let model: SystemModel | undefined;
  await replayFile(trace, {
    tap: (system, m) => {
      model = m;
      return (col = new SeriesCollector(system, m, { maxPoints: 400, ...(mmSlots !== undefined ? { mmSlots } : {}) }));
    },
  });
  return { series: col!.end(), mms: model!.cpu.nextKey };
}

describe('the mm index cache of the series', () => {
  it("gives the label Map's indexes, with any number of slots, past MAX_MM_LABELS labels", async () => {
    const trace = join(tmp(), 'build.csv');
    await generateToFile('kernel-build', { events: 120_000, seed: 11, cpus: 8, asidBits: 8, kpti: false }, trace);
    const want = await seriesWith(trace, 0);
    // more mms than slots (keys collide in the default cache) and than labels numbered ("other")
    expect(want.mms).toBeGreaterThan(MM_SLOTS);
    expect(want.series.mms.at(-1)).toBe('other');
    const cpuCols = want.series.columns.flatMap((c, i) => (c.cpu !== undefined ? [i] : []));
    expect(cpuCols.length).toBe(8);
    const idx = cpuCols.flatMap((i) => want.series.values[i]!);
    expect(idx).toContain(MAX_MM_LABELS); // some buckets end on an mm shown as "other"
    expect(idx.some((v) => v >= 0 && v < MAX_MM_LABELS)).toBe(true);
    for (const slots of [undefined, 1, 2]) expect((await seriesWith(trace, slots)).series, String(slots)).toEqual(want.series);
  });
});
