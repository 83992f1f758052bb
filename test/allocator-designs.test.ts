/**
 * The allocator versions as design files (examples/designs/allocators/*.mjs, written with the public
 * design API only). Until commit a2c139d they were checked here in lockstep against the model's
 * own switches for each version (VARIANT_TRAITS), which they then replaced: the model's parts are
 * v5.10's and a system naming another version runs its design file as a built-in
 * (model/kernel/builtins.ts). What this file checks now: for each version X, the built-in
 * composition (`createSystem(config with allocator X)`) and the file loaded as a user's `--design`
 * (`createSystem(config with allocator v5.10, composeParts(design X))`, guarded) step in lockstep:
 * the same allocator state after every event, the same whole-state digest every few events and at
 * the end, the same impossible event (if any) and the same report, apart from the allocator's name;
 * the answers themselves are pinned by test/allocator.test.ts, test/model-allocator.test.ts and the
 * corpus expectations (pin-v1, pin-v2, v4.19 and v5.6 traces).
 * Inputs: the corpus traces (traces/**\/*.csv), generated workloads of every profile, and random
 * explore-alphabet walks (fast-check), under every CONFIG_UNMAP_KERNEL_AT_EL0 / KPTI combination,
 * small and real ASID widths, and kernels that pin from the SVA bind path (shared-asid eras) or not.
 */
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { DesignError, type LoadedDesign, loadDesign } from '../src/design/load.js';
import { ALLOCATOR_VARIANTS, type AllocatorVariant } from '../src/model/cpu/variants.js';
import type { KernelParts } from '../src/model/kernel/parts.js';
import { EventError } from '../src/model/errors.js';
import { type SystemModel, createSystem, digestSystem, step, summarize } from '../src/model/system.js';
import { ReportCollector } from '../src/report/report.js';
import { generatedPreamble } from '../src/generate/generate.js';
import { PROFILE_NAMES, PROFILES } from '../src/generate/profiles.js';
import { DEFAULT_CPU_KINDS, DEFAULT_DEVICE_KINDS, actions } from '../src/explore/alphabet.js';
import type { EventKind, TraceEvent } from '../src/trace/events.js';
import { readEvents, readPreamble } from '../src/trace/reader.js';
import { type SystemConfig, type SystemInput, resolveSystem } from '../src/trace/system.js';

const DIR = 'examples/designs/allocators';
const designs = new Map<AllocatorVariant, LoadedDesign>();
beforeAll(async () => {
  for (const v of ALLOCATOR_VARIANTS) designs.set(v, await loadDesign(join(DIR, `${v}.mjs`)));
});

/** CONFIG_UNMAP_KERNEL_AT_EL0 and KPTI: off; built in but KPTI not needed; KPTI in use. */
const KPTI_MODES = [
  { unmapKernelAtEl0: false, kpti: false },
  { unmapKernelAtEl0: true, kpti: false },
  { unmapKernelAtEl0: true, kpti: true },
] as const;

/** The built-in version X and design X over v5.10, from one system input. */
function pair(input: SystemInput, v: AllocatorVariant): { x: SystemConfig; b: SystemConfig; parts: KernelParts } {
  return {
    x: resolveSystem(input, { allocator: v }),
    b: resolveSystem(input, { allocator: 'v5.10' }),
    parts: designs.get(v)!.parts,
  };
}

/** One system and its report collector, fed as the replay engine feeds them. */
class Run {
  readonly m: SystemModel;
  readonly col: ReportCollector;
  error: string | undefined;
  constructor(sys: SystemConfig, parts?: KernelParts) {
    this.m = createSystem(sys, parts);
    this.col = new ReportCollector(sys.smmus.length);
  }
  feed(e: TraceEvent): void {
    const col = this.col;
    col.events++;
    col.noteTime(e.time ?? -1);
    try {
      step(this.m, e, col);
    } catch (err) {
      if (!(err instanceof EventError)) throw err;
      this.error = err.message;
    }
  }
  report() {
    return this.col.finish('t', summarize(this.m));
  }
}

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
/** Where the two allocator states differ (byte-wise for the maps), or undefined. */
function allocDiff(x: SystemModel, b: SystemModel): string | undefined {
  const s = x.cpu.alloc;
  const t = b.cpu.alloc;
  if (s.generation !== t.generation || s.used !== t.used || s.curIdx !== t.curIdx || s.nrPinned !== t.nrPinned)
    return `scalars ${JSON.stringify([s.generation, s.used, s.curIdx, s.nrPinned])} vs ${JSON.stringify([t.generation, t.used, t.curIdx, t.nrPinned])}`;
  for (const k of ['asidMap', 'active', 'reserved', 'flushPending'] as const) if (!bytes(s[k]).equals(bytes(t[k]))) return k;
  if (!bytes(x.cpu.ttbrAsid).equals(bytes(b.cpu.ttbrAsid))) return 'ttbrAsid';
  if ((s.pinnedMap === null) !== (t.pinnedMap === null) || (s.pinnedMap && !bytes(s.pinnedMap).equals(bytes(t.pinnedMap!))))
    return 'pinnedMap';
  return undefined;
}

/**
 * Whole-state digest every this many events (and after the last one); the allocator state and the
 * TTBRs after every one. (A digest of a device-heavy state costs milliseconds: one per event would
 * make this test minutes long. What a part changes is the allocator state, the mm's context and what
 * it returns, which reaches the TTBRs, TLBs and SMMU state: the next digest sees it.)
 */
const DIGEST_EVERY = 64;
/** Corpus traces are replayed up to this many events (the 5000-event generated ones and the real ones are long). */
const CORPUS_PREFIX = 250;

/** A report without the name (and provenance) of the allocator: a design runs as allocator v5.10. */
function unnamed(r: ReturnType<Run['report']>): unknown {
  const { variant: _variant, source: _source, ...allocator } = r.allocator as typeof r.allocator & { source?: string };
  return { ...r, system: { ...r.system, allocator: undefined }, allocator };
}

/**
 * Step the built-in version and the design in lockstep over `events`; throws (with the event) at
 * the first difference.
 */
function lockstep(what: string, c: ReturnType<typeof pair>, events: Iterable<TraceEvent>): number {
  const x = new Run(c.x);
  const b = new Run(c.b, c.parts);
  let n = 0;
  for (const e of events) {
    x.feed(e);
    b.feed(e);
    n++;
    const at = () => `${what}: event ${n} (row ${e.row}, ${JSON.stringify(e)})`;
    if (x.error !== b.error) expect.fail(`${at()}: error ${x.error} vs ${b.error}`);
    if (x.error !== undefined) break;
    const d = allocDiff(x.m, b.m);
    if (d !== undefined) expect.fail(`${at()}: allocator ${d}`);
    if (n % DIGEST_EVERY === 0 && digestSystem(x.m) !== digestSystem(b.m)) expect.fail(`${at()}: state digests differ`);
  }
  expect(digestSystem(b.m), what).toBe(digestSystem(x.m));
  const rx = x.report();
  const rb = b.report();
  // The allocator's name is the run's (the lead names a design's run when the model switches to the files).
  expect(rb.system.allocator).toBe('v5.10');
  expect(unnamed(rb), what).toEqual(unnamed(rx));
  return n;
}

const withRows = (events: Iterable<Omit<TraceEvent, 'row'>>): TraceEvent[] => Array.from(events, (e, i) => ({ ...e, row: i + 1 }));

/** The corpus: every trace of traces/ with its `# system:` preamble. */
async function corpus(): Promise<{ file: string; system: SystemInput; events: TraceEvent[] }[]> {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.csv')) files.push(p);
    }
  };
  walk('traces');
  const out = [];
  for (const file of files) {
    const events: TraceEvent[] = [];
    for await (const e of readEvents(file)) if (events.push(e) === CORPUS_PREFIX) break;
    out.push({ file, system: ((await readPreamble(file)).system ?? {}) as SystemInput, events });
  }
  return out;
}

describe('allocator design files load with the public API only', () => {
  it('each names its version, has no base (the kernel of the run) and replaces the parts its version changes', () => {
    const replaced = Object.fromEntries([...designs].map(([v, d]) => [v, [d.name, d.base, [...d.replaced].sort()]]));
    expect(replaced).toEqual({
      'v4.19': ['v4.19', undefined, ['asids_init']],
      'pin-v1': ['pin-v1', undefined, ['arm64_mm_context_get', 'asids_init', 'new_context']],
      'pin-v2': ['pin-v2', undefined, ['arm64_mm_context_get', 'asids_init']],
      'v5.6': ['v5.6', undefined, ['asids_init']],
      'v5.10': ['v5.10', undefined, ['asids_init']],
    });
  });
});

describe('allocator versions: built-in switches and design files step in lockstep', () => {
  it('over every corpus trace, each version, each CONFIG_UNMAP_KERNEL_AT_EL0 / KPTI mode', async () => {
    let events = 0;
    for (const t of await corpus()) {
      for (const mode of KPTI_MODES) {
        const input = { ...t.system, ...mode };
        if (mode.kpti && (input.asidBits ?? 16) < 3) continue; // KPTI needs ASID pairs
        for (const v of ALLOCATOR_VARIANTS) events += lockstep(`${t.file} ${v} ${JSON.stringify(mode)}`, pair(input, v), t.events);
      }
    }
    expect(events).toBeGreaterThan(40_000);
  });

  it('over generated workloads of every profile: small and 8-bit ASID spaces, kernels with and without SVA pins', () => {
    for (const profile of PROFILE_NAMES) {
      const device = Object.keys(PROFILES[profile]!.system).length > 0;
      // 5.12: SVA binds pin the mm (arm64_mm_context_get, shared-asid); 7.0: private SVA ASIDs, no pins.
      for (const kernel of device ? ['5.12', '7.0'] : ['7.0']) {
        for (const [asidBits, cpus] of [
          [3, 2],
          [8, 4],
        ] as const) {
          for (const mode of KPTI_MODES) {
            const o = { events: 120, seed: asidBits * 7 + cpus, cpus, asidBits, kpti: mode.kpti };
            const input = { ...generatedPreamble(profile, o), kernel, unmapKernelAtEl0: mode.unmapKernelAtEl0 };
            const events = withRows(PROFILES[profile]!.events(o));
            for (const v of ALLOCATOR_VARIANTS)
              lockstep(`${profile} ${kernel} ${v} ${asidBits} bits ${JSON.stringify(mode)}`, pair(input, v), events);
          }
        }
      }
    }
  });

  it('over random explore-alphabet walks (fast-check): pins, exits, rollovers in 2- to 4-bit ASID spaces, with SVA devices', () => {
    const DEVICES = {
      smmus: [{ name: 'smmu0', asidBits: 16 as const }],
      devices: [
        { name: 'devA', smmu: 'smmu0' },
        { name: 'devB', smmu: 'smmu0' },
      ],
    };
    const cpuKinds = new Set<EventKind>(DEFAULT_CPU_KINDS);
    const allKinds = new Set<EventKind>([...DEFAULT_CPU_KINDS, ...DEFAULT_DEVICE_KINDS]);
    fc.assert(
      fc.property(
        fc.constantFrom(...ALLOCATOR_VARIANTS),
        fc.constantFrom(...KPTI_MODES),
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom('5.12', '7.0', null),
        fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 60 }),
        (v, mode, asidBits, cpus, kernel, maxPinnedAsids, choices) => {
          const bits = mode.kpti ? Math.max(3, asidBits) : asidBits;
          const input: SystemInput = {
            cpus,
            asidBits: bits,
            whatIf: true,
            ...mode,
            maxPinnedAsids,
            ...(kernel ? { kernel, ...DEVICES } : {}),
          };
          const c = pair(input, v);
          const kinds = kernel ? allKinds : cpuKinds;
          const bounds = { tasks: 4, mms: 3, pins: 2, devices: kernel ? 2 : 0, domains: kernel ? 1 : 0 };
          // The walk picks from the built-in run's enabled actions; the lockstep replays them on both.
          const probe = createSystem(c.x);
          const events: TraceEvent[] = [];
          for (const k of choices) {
            const acts = actions(probe, kinds, bounds);
            if (acts.length === 0) break;
            const act = acts[k % acts.length]!;
            try {
              for (const e of act) {
                const ev = { ...e, row: events.length + 1 };
                events.push(ev);
                step(probe, ev, new ReportCollector(c.x.smmus.length));
              }
            } catch (err) {
              if (!(err instanceof EventError)) throw err;
              break; // the lockstep sees the same impossible event on both sides
            }
          }
          lockstep(`${v} ${JSON.stringify(input)}`, c, events);
        },
      ),
      { numRuns: 120, seed: 21 },
    );
  });
});

describe('the lockstep can fail', () => {
  it('a design that differs in one part is caught: pin-v2 run against the built-in pin-v1 on the pin-ordering trace', async () => {
    const file = 'traces/kernel-bugs/pin-ordering.pin-v1.csv';
    const events: TraceEvent[] = [];
    for await (const e of readEvents(file)) events.push(e);
    const system = ((await readPreamble(file)).system ?? {}) as SystemInput;
    const c = { ...pair(system, 'pin-v1'), parts: designs.get('pin-v2')!.parts };
    expect(() => lockstep('pin-v1 vs pin-v2', c, events)).toThrow(/event \d+/);
  });

  it('the pin returning the ASID itself (pin-v2) on the v5.10 ASID space differs under KPTI only: an SVA bind uses it as the CD ASID', () => {
    const bind = withRows([
      { kind: 'fork', task: 1, mm: 'a' },
      { kind: 'schedule', cpu: 0, task: 1 },
      { kind: 'bind', device: 'devA', mm: 'a' },
    ]);
    const mixed: KernelParts = { ...designs.get('v5.10')!.parts, arm64_mm_context_get: designs.get('pin-v2')!.parts.arm64_mm_context_get };
    for (const mode of KPTI_MODES) {
      const input: SystemInput = {
        cpus: 2,
        asidBits: 8,
        kernel: '5.12',
        smmus: [{ name: 'smmu0', asidBits: 16 }],
        devices: [{ name: 'devA', smmu: 'smmu0' }],
        ...mode,
      };
      const run = () => lockstep(`v5.10 pin ${JSON.stringify(mode)}`, { ...pair(input, 'v5.10'), parts: mixed }, bind);
      if (mode.kpti) expect(run).toThrow();
      else expect(run()).toBe(3);
    }
  });
});

describe('asids_init as a part', () => {
  const dir = mkdtempSync(join(tmpdir(), 'asid-replay-asids-init-'));
  let n = 0;
  const designFile = (body: string) => {
    const f = join(dir, `d${n++}.mjs`);
    writeFileSync(f, `export default { name: 'x', parts: {\n  asids_init: (base) => (cfg) => ${body},\n} };\n`);
    return loadDesign(f);
  };
  const SYS = resolveSystem({ cpus: 2, asidBits: 4, whatIf: true, unmapKernelAtEl0: true, kpti: true }, {});

  it('the base gives what asids_update_limit computes: 16 ASIDs halved under KPTI, 8 - 2 CPUs - 2 pins', () => {
    const m = createSystem(SYS);
    expect([m.params.numIdx, m.params.idxShift, m.params.available, m.params.pinning, m.params.pinLimit.value]).toEqual([
      16,
      0,
      8,
      true,
      4,
    ]);
    expect(m.params.pinLimit.formula).toBe('8 available (ASID pairs under KPTI) - 2 CPUs - 2 = 4');
  });

  it('a limit of its own is reported as the design computes it; no pinned_asid_map refuses every pin', async () => {
    const own = createSystem(SYS, (await designFile('({ ...base(cfg), maxPinnedAsids: 1 })')).parts);
    expect([own.params.pinLimit.value, own.params.pinLimit.formula]).toEqual([1, '1 (asids_init)']);
    const none = createSystem(SYS, (await designFile('({ ...base(cfg), maxPinnedAsids: null })')).parts);
    expect([none.params.pinning, none.params.pinLimit.value, none.cpu.alloc.pinnedMap]).toEqual([false, 0, null]);
    const under = createSystem(SYS, (await designFile('({ ...base(cfg), maxPinnedAsids: -1 })')).parts);
    expect(under.params.pinLimit.value).toBe(Infinity);
  });

  it('pairs: the bitmaps hold 2^(bits - 1) indexes and hand out even ASIDs', async () => {
    const m = createSystem({ ...SYS, kpti: false }, designs.get('v4.19')!.parts);
    expect([m.params.numIdx, m.params.idxShift, m.params.available, m.cpu.alloc.asidMap.length]).toEqual([8, 1, 8, 8]);
  });

  it("a wrong result ends the run as the design's error, at its line", async () => {
    for (const [body, why] of [
      ["'pairs'", /asids_init returned string "pairs"; expected an AsidSpace/],
      ['({ ...base(cfg), idxShift: 4 })', /idxShift an integer in 0\.\.3/],
      ['({ ...base(cfg), available: 17 })', /available an integer in 1\.\.16/],
      ['({ ...base(cfg), oddReservedAtBoot: 1 })', /booleans/],
      ['({ ...base(cfg), maxPinnedAsids: 0.5 })', /maxPinnedAsids an integer or null/],
    ] as const) {
      const d = await designFile(body);
      let err: unknown;
      try {
        createSystem(SYS, d.parts);
      } catch (e) {
        err = e;
      }
      expect(err, body).toBeInstanceOf(DesignError);
      expect((err as DesignError).message, body).toMatch(why);
      expect([(err as DesignError).file?.replace(/.*\//, ''), (err as DesignError).line], body).toEqual([`d${n - 1}.mjs`, 2]);
    }
    // A good one passes the same check.
    expect(() => createSystem(SYS, designs.get('v5.6')!.parts)).not.toThrow();
  });
});
