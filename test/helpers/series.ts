/** A series with no buckets and no findings, for tests that only need a writer's closing counters. */
import type { Series } from '../../src/report/series.js';

export function emptySeries(axis: 'time' | 'row' = 'time'): Series {
  return {
    axis,
    width: 1,
    x: [],
    columns: [],
    values: [],
    mms: [],
    findings: [],
    findingsTruncated: false,
    findingCounts: { rollover: 0, 'pin-failure': 0, violation: 0, stale: 0, 'device-failure': 0 },
    limits: { numAsids: 0, pinLimit: null, cpus: 1 },
  };
}
