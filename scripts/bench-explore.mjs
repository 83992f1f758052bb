#!/usr/bin/env node
// Benchmark of `explore` (run `npm run build` first): states per second, distinct states, bytes per
// stored state, and the time to find the pin-v1 ordering bug and the SMMU ASID-move race.
// Usage: node scripts/bench-explore.mjs (ASIDALLOC=1 adds the asidalloc bounds, several minutes)
// KERNEL_BUGS=1 node scripts/bench-explore.mjs: only the explore commands of docs/kernel-bugs.md, each
// under its last affected release and its first fixed one, RUNS times (default 3): wall min-max.
import { search } from '../dist/explore/search.js';
import { explore } from '../dist/explore/explore.js';
import { resolveSystem } from '../dist/trace/system.js';
import { cloneSystem, createSystem, digestSystem, step } from '../dist/model/system.js';
import { loadBuiltins } from '../dist/design/builtins.js';
import { Canonicalizer } from '../dist/explore/canon.js';
import { FindingRecorder } from '../dist/shrink/recorder.js';
import { spawnSync } from 'node:child_process';
import { CPU_VIOLATION_KINDS, STALE_KINDS } from '../dist/model/findings.js';

// The built-in designs (the --driver and --fault ones) a system may name, as the CLI loads them.
await loadBuiltins();

if (process.env.KERNEL_BUGS) {
  await kernelBugs();
  process.exit(0);
}

/** The atlas's explore commands (docs/kernel-bugs.md), timed through the command line. */
async function kernelBugs() {
  const S = 'traces/kernel-bugs/systems/';
  const SVA = '--events fork,schedule,map,unmap,mprotect,bind,dma --tasks 1 --mms 1 --strategy bfs';
  const PIN = '--asid-bits 2 --cpus 2 --max-pinned 1 --events fork,schedule,pin,unpin --tasks 4 --mms 4 --pins 1 --strategy bfs';
  const RACE = '--events fork,schedule,attach,map,unmap,dma,bind,resume --tasks 1 --mms 1 --strategy bfs';
  const cases = [
    ['pin ordering', `${PIN} --find active-asid-mismatch --allocator`, 'pin-v1', 'pin-v2'],
    ['pin ordering, default bounds', '--cpus 2 --asid-bits 3 --allocator', 'pin-v1', null],
    ['ASID-move race', `--system ${S}race.json ${RACE} --find S-UNMAP --kernel`, '6.10', '6.11'],
    ['permission upgrade', `--system ${S}sva.json ${SVA} --find S-PERM --kernel`, '6.5', '6.6'],
    ['notifier size, RANGE_INV', `--system ${S}sva-range.json ${SVA} --find inv-range-hang --kernel`, '5.17', '5.18'],
    ['SVA range TG', `--system ${S}sva-range.json ${SVA} --find S-UNMAP --kernel`, '6.14', '6.15'],
    ['permission upgrade, default alphabet', `--system ${S}sva.json --find S-PERM --kernel`, '6.5', null],
    ['notifier size, default alphabet', `--system ${S}sva-range.json --find inv-range-hang --kernel`, '5.17', null],
    ['SVA range TG, default alphabet', `--system ${S}sva-range.json --find S-UNMAP --kernel`, '6.14', null],
    ['ASID-move race, default alphabet', `--system ${S}race.json --find S-UNMAP --kernel`, '6.10', null],
  ];
  const runs = Number(process.env.RUNS ?? 3);
  const out = [];
  for (const [name, args, bad, good] of cases) {
    for (const v of [bad, good]) {
      if (v === null) continue;
      const argv = ['bin/asid-replay.js', 'explore', ...`${args} ${v}`.split(' '), '--json'];
      const ms = [];
      let j;
      for (let i = 0; i < runs; i++) {
        const t0 = Date.now();
        const r = spawnSync(process.execPath, argv, { encoding: 'utf8' });
        ms.push(Date.now() - t0);
        j = JSON.parse(r.stdout);
      }
      const s = (x) => (x / 1000).toFixed(1);
      out.push({
        case: name,
        version: v,
        result: j.found ? `${j.finding.kind} (${j.events} events)` : j.exhausted ? 'none: bounds exhausted' : `none: ${j.stop}`,
        states: j.states,
        wall: `${s(Math.min(...ms))}-${s(Math.max(...ms))} s`,
      });
      console.error(JSON.stringify(out[out.length - 1]));
    }
  }
  console.table(out);
}

const sys = (allocator, extra = {}) =>
  resolveSystem({ cpus: 2, asidBits: 3, whatIf: true, unmapKernelAtEl0: false, allocator, ...extra }, {});
// Every finding kind (inv-range-hang included): from the model's table, not a copy of it.
const ALL = [...CPU_VIOLATION_KINDS, ...STALE_KINDS];
const KINDS = ['fork', 'exec', 'exit', 'schedule', 'pin', 'unpin', 'access', 'unmap'];
const bounds = { tasks: 10, mms: 10, pins: 2, devices: 0, domains: 0 };
const rows = [];
const row = (name, r, ms = r.elapsedMs) =>
  rows.push({
    case: name,
    stop: r.stop ?? '',
    states: r.states,
    edges: r.edges,
    'states/s': Math.round(r.states / Math.max(1e-3, ms / 1000)),
    'B/state': r.bytesPerState?.toFixed(1) ?? '',
    ms,
  });

// 1. Breadth-first throughput on the default alphabet (v5.10: nothing to find), 10 s.
row(
  'bfs v5.10 3-bit, 10 s',
  search({
    system: sys('v5.10'),
    kinds: KINDS,
    bounds,
    depth: 300,
    find: ALL,
    maxStates: 5e6,
    timeLimitMs: 10_000,
    strategy: 'bfs',
    seed: 1,
    walks: 1,
  }),
);
// 2. Random walks throughput, 10 s.
row(
  'random v5.10 3-bit, 10 s',
  search({
    system: sys('v5.10'),
    kinds: KINDS,
    bounds,
    depth: 300,
    find: ALL,
    maxStates: 5e6,
    timeLimitMs: 10_000,
    strategy: 'random',
    seed: 1,
    walks: 1e6,
  }),
);
// 3. Time to find the pin-v1 bug with the command's defaults (auto), seeds 1-3.
for (const seed of [1, 2, 3]) {
  const t0 = Date.now();
  const o = explore({
    system: sys('pin-v1'),
    kinds: KINDS,
    bounds,
    depth: 300,
    find: ALL,
    maxStates: 5e6,
    bfsStates: 10_000,
    timeLimitMs: 120_000,
    strategy: 'auto',
    seed,
    walks: 1e6,
  });
  const ms = Date.now() - t0;
  const states = o.phases.reduce((a, p) => a + p.result.states, 0);
  const edges = o.phases.reduce((a, p) => a + p.result.edges, 0);
  rows.push({
    case: `find pin-v1 3-bit (auto, seed ${seed})`,
    stop: o.finding ? `${o.finding.kind}, ${o.events.length} events` : 'none',
    states,
    edges,
    'states/s': Math.round(states / (ms / 1000)),
    'B/state': '',
    ms,
  });
}
// 4. The 2-bit version by breadth-first: the shortest counterexample (10 steps).
row(
  'bfs pin-v1 2-bit --max-pinned 1',
  search({
    system: sys('pin-v1', { asidBits: 2, maxPinnedAsids: 1 }),
    kinds: ['fork', 'schedule', 'pin', 'unpin'],
    bounds: { tasks: 5, mms: 4, pins: 1, devices: 0, domains: 0 },
    depth: 12,
    find: ['active-asid-mismatch'],
    maxStates: 5e6,
    timeLimitMs: 300_000,
    strategy: 'bfs',
    seed: 1,
    walks: 1,
  }),
);
// 5. The ASID-move race (SMMU, two devices): shortest under 6.1, absent to depth 7 under 6.11.
const race = (kernel) =>
  resolveSystem(
    {
      cpus: 2,
      asidBits: 3,
      whatIf: true,
      unmapKernelAtEl0: false,
      kernel,
      smmus: [{ name: 'smmu0', asidBits: 16, btm: true }],
      devices: [
        { name: 'devA', smmu: 'smmu0' },
        { name: 'devB', smmu: 'smmu0' },
      ],
    },
    {},
  );
const RACE = {
  kinds: ['fork', 'exec', 'exit', 'schedule', 'access', 'unmap', 'attach', 'detach', 'map', 'mprotect', 'bind', 'unbind', 'dma', 'resume'],
  bounds: { tasks: 3, mms: 2, pins: 0, devices: 2, domains: 1 },
  // The race's kind: with every kind, 6.1 first shows the permission-upgrade livelock (S-PERM, v5.12-v6.5).
  find: ['S-UNMAP'],
  maxStates: 5e6,
  timeLimitMs: 600_000,
  strategy: 'bfs',
  seed: 1,
  walks: 1,
};
row('bfs race 6.1 (default device alphabet)', search({ ...RACE, system: race('6.1'), depth: 12 }));
row('bfs race 6.11, depth 5', search({ ...RACE, system: race('6.11'), depth: 5 }));
// The race's own alphabet (one task, no exit/exec/detach/unbind): finite, exhausted under 6.11.
const RACE_ONLY = {
  ...RACE,
  kinds: ['fork', 'schedule', 'attach', 'map', 'unmap', 'dma', 'bind', 'resume'],
  bounds: { tasks: 1, mms: 1, pins: 0, devices: 2, domains: 1 },
};
row('bfs race alphabet 6.1', search({ ...RACE_ONLY, system: race('6.1'), depth: 1000 }));
row('bfs race alphabet 6.11 (exhaust)', search({ ...RACE_ONLY, system: race('6.11'), depth: 1000 }));
// 6. kernel-tla's asidalloc.cfg bounds (2 CPUs, 6 tasks, ASIDS = 4, 3 generations), exhausted:
//    minutes, so only with ASIDALLOC=1.
if (process.env.ASIDALLOC === '1')
  row(
    'bfs asidalloc bounds (v5.10, exhaust)',
    search({
      system: resolveSystem({ cpus: 2, asidBits: 2, whatIf: true, unmapKernelAtEl0: false }, {}),
      kinds: ['fork', 'schedule', 'access', 'unmap'],
      bounds: { tasks: 6, mms: 6, pins: 0, devices: 0, domains: 0 },
      depth: 1000,
      generations: 3,
      find: ALL,
      maxStates: 1e8,
      strategy: 'bfs',
      seed: 1,
      walks: 1,
    }),
  );
console.table(rows);

// 7. Per-state costs on a 2-CPU, 6-task state (3-bit ASIDs, one pin, pages touched): a clone, the
//    search's fingerprint (canonical encoding + hash) and the full digest (JSON, for tests/reports).
{
  const m = createSystem(sys('v5.10'));
  const obs = new FindingRecorder(0, null);
  let r = 1;
  const ev = (e) => step(m, { ...e, row: r++ }, obs);
  for (let t = 1; t <= 6; t++) ev({ kind: 'fork', task: t, mm: t <= 4 ? `M${t}` : 'M1' });
  ev({ kind: 'pin', mm: 'M2' });
  for (const [cpu, task] of [
    [0, 1],
    [1, 2],
    [0, 3],
    [1, 5],
    [0, 4],
    [1, 6],
  ]) {
    ev({ kind: 'schedule', cpu, task });
    ev({ kind: 'access', cpu, va: 0x1000 });
  }
  const canon = new Canonicalizer(2, { symmetry: true, pages: [1], absoluteGeneration: false });
  const fp = new Uint32Array(2);
  const time = (f) => {
    for (let i = 0; i < 20_000; i++) f();
    const n = 200_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    return (((performance.now() - t0) * 1000) / n).toFixed(2);
  };
  console.table([
    {
      state: '2 CPUs, 6 tasks, 4 mms',
      'clone us': time(() => cloneSystem(m)),
      'fingerprint us': time(() => canon.fingerprint(m, fp)),
      'digest us': time(() => digestSystem(m)),
      'encoded ints': canon.encode(m).length,
    },
  ]);
}
