/**
 * The known-bugs atlas's long search (`npm run test:slow`; test/kernel-bugs.test.ts has the rest
 * of the atlas and the trace pair pin-ordering.pin-v1.csv / pin-v2.csv): the 2018 pin ordering bug
 * found from nothing breadth-first, and nothing under pin-v2 to the same depth.
 */
import { describe, expect, it } from 'vitest';
import { search } from '../../src/explore/search.js';
import { FindingRecorder } from '../../src/shrink/recorder.js';
import { createSystem, step } from '../../src/model/system.js';
import { resolveSystem } from '../../src/trace/system.js';
import type { EventKind } from '../../src/trace/events.js';

type System = ReturnType<typeof resolveSystem>;

/** Findings of `kind` when the search's events are replayed on `sys`. */
function replayKinds(sys: System, events: ReturnType<typeof search>['events'], kind: string): string[] {
  const obs = new FindingRecorder(sys.smmus.length, new Set([kind]));
  const m = createSystem(sys);
  events.forEach((e, i) => step(m, { ...e, row: i + 1 }, obs));
  return obs.found.map((f) => f.kind);
}

describe('the 2018 pin ordering bug (pin-v1; fixed in pin-v2, never in a release)', () => {
  const pinSystem = (allocator: string) =>
    resolveSystem({ cpus: 2, asidBits: 2, whatIf: true, unmapKernelAtEl0: false, allocator, maxPinnedAsids: 1 }, {});
  const o = {
    kinds: ['fork', 'schedule', 'pin', 'unpin'] as EventKind[],
    bounds: { tasks: 4, mms: 4, pins: 1, devices: 0, domains: 0 },
    find: ['active-asid-mismatch'],
    maxStates: 1e6,
    strategy: 'bfs' as const,
    seed: 1,
    walks: 1,
  };
  it('pin-v1: the shortest counterexample (4 tasks) is 11 actions; pin-v2: none up to 11', () => {
    const r = search({ ...o, system: pinSystem('pin-v1'), depth: 11 });
    expect(r.stop).toBe('found');
    expect(r.steps).toBe(11);
    expect(replayKinds(pinSystem('pin-v2'), r.events, 'active-asid-mismatch')).toEqual([]);
    const v2 = search({ ...o, system: pinSystem('pin-v2'), depth: 11 });
    expect(v2.stop).toBe('depth');
    expect(v2.depth).toBe(11);
  });
});
