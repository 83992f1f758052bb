/**
 * The series collector and `replay --timeseries`: bucket sums equal the report's totals whatever
 * the bucketing (adaptive, merged, fixed interval), the bound on the number of buckets holds, bad
 * options are exit 2.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayFile } from '../src/replay/engine.js';
import { type Series, SeriesCollector } from '../src/report/series.js';
import { cli, tmp, tmpFile } from './helpers/cli.js';

async function series(
  trace: string,
  maxPoints?: number,
  overrides = {},
): Promise<{ s: Series; report: Awaited<ReturnType<typeof replayFile>> }> {
  let col: SeriesCollector | undefined;
  const report = await replayFile(trace, { overrides, tap: (sys, model) => (col = new SeriesCollector(sys, model, { maxPoints })) });
  return { s: col!.end(), report };
}

const total = (s: Series, name: string) => s.values[s.columns.findIndex((c) => c.name === name)]!.reduce((a, b) => a + b, 0);
const last = (s: Series, name: string) => s.values[s.columns.findIndex((c) => c.name === name)]!.at(-1);

function csv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.trim().split('\n');
  return { header: lines[0]!.split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

describe('series collector', () => {
  it('sums per bucket add up to the report, with the default bound and merged down to 16 buckets', async () => {
    const a = await series('traces/real/juno-trace-txt.csv');
    const b = await series('traces/real/juno-trace-txt.csv', 16);
    expect(a.s.x.length).toBeLessThanOrEqual(2000);
    expect(b.s.x.length).toBeLessThanOrEqual(16);
    expect(b.s.x.length).toBeGreaterThan(8);
    for (const { s, report } of [a, b]) {
      expect(s.axis).toBe('time');
      expect(total(s, 'events')).toBe(report.trace.events);
      expect(total(s, 'switches')).toBe(report.churn.switches);
      expect(total(s, 'allocations')).toBe(report.churn.allocations);
      expect(total(s, 'slow_path')).toBe(report.churn.slowPath);
      expect(last(s, 'generation')).toBe(report.allocator.finalGeneration);
      // Buckets are contiguous: x = origin + i * width.
      s.x.forEach((x, i) => expect(x).toBe(s.x[0]! + i * s.width));
      expect(s.x[0]).toBe(report.trace.firstTime);
      expect(s.x.at(-1)! + s.width).toBeGreaterThan(report.trace.lastTime!);
    }
    // Every column of the 16-bucket series is the 2000-bucket one merged.
    for (const c of a.s.columns) if (c.kind === 'sum') expect(total(b.s, c.name), c.name).toBe(total(a.s, c.name));
  });

  it('rollovers, re-uses and pins under a 4-bit allocator; pinned never above the limit', async () => {
    const { s, report } = await series('traces/scenarios/pin-limit-4bit.csv', 7);
    expect(total(s, 'rollovers')).toBe(report.churn.rollovers);
    expect(total(s, 'pin_failures')).toBe(report.pins.failures);
    expect(total(s, 'pin_requests')).toBe(report.pins.requests);
    const pinnedMax = s.values[s.columns.findIndex((c) => c.name === 'pinned_max')]!;
    expect(Math.max(...pinnedMax)).toBe(report.pins.maxHeld);
    expect(s.findings.filter((f) => f.class === 'pin-failure').length).toBe(report.pins.failures);
  });

  it('pin-exhaustion: the rollovers of pins are counted, ASIDs in use stay within the 8-bit space', async () => {
    const { s, report } = await series('traces/generated/pin-exhaustion.csv');
    expect(report.churn.rollovers).toBe(129);
    expect(total(s, 'rollovers')).toBe(129); // 19 of them in arm64_mm_context_get
    expect(s.findings.filter((f) => f.class === 'rollover').length).toBe(129);
    expect(s.findingCounts.rollover).toBe(129);
    expect(report.churn.rolloverSeries.length).toBe(129);
    expect(report.churn.rolloverSeriesTruncated).toBe(false);
    expect(last(s, 'generation')).toBe(130);
    const col = (n: string) => s.values[s.columns.findIndex((c) => c.name === n)]!;
    const inUse = col('asids_in_use');
    const free = col('free_asids');
    expect(Math.max(...inUse)).toBeLessThanOrEqual(255);
    // after the first rollover every allocatable ASID is in use or free
    col('generation').forEach((g, j) => {
      if (g > 1) expect(inUse[j]! + free[j]!).toBe(255);
    });
    expect(s.columns.some((c) => c.name === 'asids_assigned')).toBe(false);
  });

  it('stale findings keep their rows; SMMU commands add up', async () => {
    const { s, report } = await series('traces/scenarios/asid-move-race.csv', undefined, { kernel: '6.1' });
    expect(s.axis).toBe('row');
    expect(s.findings.filter((f) => f.class === 'stale').map((f) => [f.x, f.row, f.fillRow, f.shouldHaveRow])).toEqual([
      [13, 13, 11, 13],
      [14, 14, 11, 13],
    ]);
    const m = report.devices.smmus[0]!;
    expect(total(s, 'smmu0.CMD_SYNC')).toBe(m.commands.CMD_SYNC);
    expect(total(s, 'smmu0.iotlb_hits')).toBe(m.hits);
  });
});

describe('replay --timeseries', () => {
  it('without --interval: the adaptive series as CSV, per-CPU mm labels', async () => {
    const out = join(tmp(), 'ts.csv');
    const r = await cli('replay', 'traces/real/juno-trace-txt.csv', '--timeseries', out, '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    const { header, rows } = csv(readFileSync(out, 'utf8'));
    expect(header.slice(0, 3)).toEqual(['time_ns', 'events', 'switches']);
    expect(header).toContain('cpu5.mm');
    expect(rows.length).toBeLessThanOrEqual(2000);
    const ev = header.indexOf('events');
    expect(rows.reduce((a, r) => a + Number(r[ev]), 0)).toBe(report.trace.events);
    const mm = header.indexOf('cpu4.mm');
    expect(rows.some((r) => /^p\d+:[\w.-]+$/.test(r[mm]!))).toBe(true); // imported labels: p<tgid>:<comm>
  });

  it('--interval 1 s: one row per second of trace time, every second present', async () => {
    const out = join(tmp(), 'ts.csv');
    const r = await cli('replay', 'traces/real/juno-trace-txt.csv', '--timeseries', out, '--interval', '1000000000', '--json');
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out);
    const { rows } = csv(readFileSync(out, 'utf8'));
    const xs = rows.map((r) => Number(r[0]));
    expect(xs[0]! % 1e9).toBe(0);
    xs.forEach((x, i) => expect(x).toBe(xs[0]! + i * 1e9));
    expect(xs.at(-1)! + 1e9).toBeGreaterThan(report.trace.lastTime);
    expect(rows.reduce((a, r) => a + Number(r[1]), 0)).toBe(report.trace.events);
  });

  it('a trace without time: buckets of rows', async () => {
    const out = join(tmp(), 'ts.csv');
    const r = await cli('replay', 'traces/scenarios/asid-move-race.csv', '--timeseries', out, '--interval', '4');
    expect(r.code, r.err).toBe(0);
    const { header, rows } = csv(readFileSync(out, 'utf8'));
    expect(header[0]).toBe('row');
    expect(rows.map((r) => Number(r[0]))).toEqual([4, 8, 12, 16]); // rows 7..18, buckets aligned to multiples of 4
  });

  it('bad options are exit 2', async () => {
    const t = tmpFile('time,event,cpu,task\n0,fork,,1\n');
    let r = await cli('replay', t, '--interval', '10');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--interval needs --timeseries/);
    r = await cli('replay', t, '--timeseries', join(tmp(), 'x.csv'), '--interval', '0');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--interval must be at least 1/);
    r = await cli('replay', t, '--timeseries', '/nonexistent-dir/x.csv');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot write the output file/);
  });
});
