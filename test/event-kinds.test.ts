/**
 * One table of event kinds (src/model/events.ts) that the type checker enforces: every kind has its
 * columns, its documentation line, what its step may change, its case in `step` and its place in
 * explore's alphabet (test/slow/event-kinds-tsc.test.ts adds a kind and shows `tsc` refusing the
 * build). Here: the documentation names every kind, and the effects the table declares hold (explore
 * shares the SMMU side between states on the strength of them).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EVENT_DOCS, EVENT_EFFECTS, EVENT_KINDS, unhandledKind } from '../src/model/events.js';
import { ALPHABET_KINDS } from '../src/explore/kinds.js';
import { PROFILES } from '../src/generate/profiles.js';
import { generatedSystem } from '../src/generate/generate.js';
import { cloneSystem, createSystem, step } from '../src/model/system.js';
import { FindingRecorder } from '../src/shrink/recorder.js';
import type { TraceEvent } from '../src/trace/events.js';

describe('the event table', () => {
  it('the event tables (README.md, docs/trace-format.md) have a row for every kind, and EVENT_DOCS a line', () => {
    const rows = ['README.md', 'docs/trace-format.md']
      .flatMap((f) => readFileSync(f, 'utf8').split('\n'))
      .filter((l) => l.startsWith('| `'));
    for (const k of EVENT_KINDS) {
      expect(
        rows.some((l) => new RegExp(`^\\| (\`[^|]*\` / )*\`${k}( |\`)`).test(l)),
        k,
      ).toBe(true);
      expect(EVENT_DOCS[k].length, k).toBeGreaterThan(10);
    }
    expect(Object.keys(EVENT_DOCS).sort()).toEqual([...EVENT_KINDS].sort());
    expect([...ALPHABET_KINDS].sort()).toEqual([...EVENT_KINDS].sort());
  });

  it('a kind the step does not handle is a type error (and a run-time error naming it)', () => {
    // @ts-expect-error only `never` reaches the end of a switch over every kind
    expect(() => unhandledKind({ kind: 'flush' })).toThrow('event kind flush has no step');
  });
});

/** JSON of the SMMU side (Maps, Sets and typed arrays spelled out): equal iff the state is equal. */
const smmuJson = (m: ReturnType<typeof createSystem>): string =>
  JSON.stringify(m.smmu, (_k, v: unknown) =>
    v instanceof Map ? [...v] : v instanceof Set ? [...v] : ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v,
  );

describe('EVENT_EFFECTS: a kind that declares no SMMU write leaves the SMMU side as it was', () => {
  // Device workloads (binds, DMA, attaches, with the CPU events between them), every event checked.
  it.each(['sva-btm', 'dma-collide', 'hetero-smmu'])('%s, 1500 events', (profile) => {
    const o = { events: 1500, seed: 7, cpus: 4, asidBits: 8, kpti: false };
    const m = createSystem(generatedSystem(profile, o));
    const obs = new FindingRecorder(m.smmu.smmus.length, null);
    let row = 1;
    const seen = new Set<string>();
    for (const g of PROFILES[profile]!.events(o)) {
      const e = { ...g, row: row++ } as TraceEvent;
      const cpuOnly = !(EVENT_EFFECTS[e.kind].writes as readonly string[]).includes('smmu');
      const before = cpuOnly ? smmuJson(m) : '';
      step(m, e, obs);
      if (cpuOnly) {
        expect(smmuJson(m), `${e.kind} at event ${e.row}`).toBe(before);
        seen.add(e.kind);
      }
    }
    expect(seen.has('schedule')).toBe(true);
  });

  it('the check can fail: an event that writes the SMMU side changes the JSON', () => {
    const o = { events: 400, seed: 7, cpus: 4, asidBits: 8, kpti: false };
    const m = createSystem(generatedSystem('sva-btm', o));
    const obs = new FindingRecorder(m.smmu.smmus.length, null);
    let row = 1;
    let changed = 0;
    for (const g of PROFILES['sva-btm']!.events(o)) {
      const before = smmuJson(m);
      const c = cloneSystem(m);
      step(m, { ...g, row: row++ } as TraceEvent, obs);
      if (smmuJson(m) !== before) changed++;
      expect(smmuJson(c)).toBe(before);
    }
    expect(changed).toBeGreaterThan(0);
  });
});
