/**
 * `explore`: breadth-first search finds shortest counterexamples, symmetry reduction is sound, the
 * written trace reproduces the finding under `replay`, and correct allocators give none.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { search } from '../src/explore/search.js';
import { Canonicalizer } from '../src/explore/canon.js';
import { cloneSystem, cpuView, createSystem, digestSystem, step } from '../src/model/system.js';
import { FindingRecorder } from '../src/shrink/recorder.js';
import { resolveSystem } from '../src/trace/system.js';
import type { EventKind } from '../src/trace/events.js';
import { cli, tmp } from './helpers/cli.js';
import { DEFAULT_CPU_KINDS, DEFAULT_DEVICE_KINDS, actions } from '../src/explore/alphabet.js';
import { EventError } from '../src/model/errors.js';
import { Rng } from '../src/util/rng.js';
import { mini } from './helpers/mini.js';

const small = (allocator: string, extra: object = {}) =>
  resolveSystem({ cpus: 2, asidBits: 2, whatIf: true, unmapKernelAtEl0: false, allocator, maxPinnedAsids: 1, ...extra }, {});
/** The system of traces/scenarios/asid-move-race.csv with 3-bit CPU ASIDs (no kernel: each test names one). */
const RACE_SYSTEM = {
  cpus: 2,
  asidBits: 3,
  whatIf: true,
  unmapKernelAtEl0: false,
  smmus: [{ name: 'smmu0', asidBits: 16, btm: true }],
  devices: [
    { name: 'devA', smmu: 'smmu0' },
    { name: 'devB', smmu: 'smmu0' },
  ],
};
const CPU_KINDS: EventKind[] = ['fork', 'schedule', 'pin', 'unpin'];
const bounds = { tasks: 5, mms: 4, pins: 1, devices: 0, domains: 0 };

describe('explore: breadth-first', () => {
  it("finds the shortest no-free-asid trace with a pin limit one above the kernel's (4 actions) and proves none is shorter", () => {
    const base = {
      system: small('v5.10'),
      kinds: CPU_KINDS,
      bounds,
      find: ['no-free-asid'],
      maxStates: 1e6,
      strategy: 'bfs' as const,
      seed: 1,
      walks: 1,
    };
    const r = search({ ...base, depth: 10 });
    expect(r.stop).toBe('found');
    expect(r.steps).toBe(4); // three mms hold the three ASIDs (two running, one pinned), a fourth rolls over
    expect(r.finding!.kind).toBe('no-free-asid');
    const shorter = search({ ...base, depth: 3 });
    expect(shorter.stop).not.toBe('found');
    expect(['depth', 'exhausted']).toContain(shorter.stop);
  });

  it('exhausts a small space and reports its size', () => {
    const r = search({
      system: small('v5.10'),
      kinds: ['fork', 'schedule'],
      bounds: { ...bounds, tasks: 2, mms: 2 },
      find: ['active-asid-mismatch'],
      depth: 50,
      maxStates: 1e6,
      strategy: 'bfs',
      seed: 1,
      walks: 1,
    });
    expect(r.stop).toBe('exhausted');
    expect(r.states).toBeGreaterThan(10);
    expect(r.edges).toBeGreaterThanOrEqual(r.states - 1);
    expect(r.bytesPerState).toBeGreaterThan(0);
  });

  it('symmetry reduction: fewer states, same verdict', () => {
    const o = {
      system: small('v5.10'),
      kinds: ['fork', 'schedule', 'exit'] as EventKind[],
      bounds: { ...bounds, tasks: 3, mms: 3 },
      find: ['active-asid-mismatch'],
      depth: 6,
      maxStates: 1e6,
      strategy: 'bfs' as const,
      seed: 1,
      walks: 1,
    };
    const sym = search(o);
    const plain = search({ ...o, symmetry: false });
    expect(sym.stop).toBe(plain.stop);
    expect(sym.states).toBeLessThan(plain.states);
  });

  it('exec is in the default alphabet: a running task execs into a fresh mm and its CPU switches to it', () => {
    const m = createSystem(small('v5.10'));
    const obs = new FindingRecorder(0, null);
    for (const e of mini('fork 1 P\nsched 0 1')) step(m, e, obs);
    const acts = actions(m, new Set(DEFAULT_CPU_KINDS), { ...bounds, mms: 2 });
    const ex = acts.find((a) => a[0]!.kind === 'exec' && a[0]!.task === 1);
    expect(ex).toBeDefined();
    step(m, { ...ex![0]!, row: 3 }, obs);
    expect(cpuView(m)[0]!.mm).toBe(ex![0]!.mm);
    expect(cpuView(m)[0]!.mm).not.toBe('P');
    // With every mm slot taken, only the last user of an mm may exec (its old mm ends).
    const full = actions(m, new Set(DEFAULT_CPU_KINDS), { ...bounds, mms: 1 });
    expect(full.some((a) => a[0]!.kind === 'exec')).toBe(true);
    for (const e of mini('fork 2 P2\nfork 3 P2')) step(m, e, obs);
    const none = actions(m, new Set(DEFAULT_CPU_KINDS), { ...bounds, mms: 2 }).filter((a) => a[0]!.kind === 'exec');
    expect(none.map((a) => a[0]!.task).sort()).toEqual([1]);
  });

  it('the canonical encoding names tasks, mms and CPUs by role, not by name', () => {
    const sys = small('v5.10');
    const canon = new Canonicalizer(2, { symmetry: true, pages: [1], absoluteGeneration: false });
    const run = (text: string) => {
      const m = createSystem(sys);
      const obs = new FindingRecorder(0, null);
      for (const e of mini(text)) step(m, e, obs);
      return Array.from(canon.encode(m)).join(',');
    };
    const a = run('fork 1 P\nfork 2 Q\nsched 0 1\nsched 1 2');
    const b = run('fork 7 X\nfork 3 Y\nsched 1 7\nsched 0 3'); // other names, CPUs swapped
    const c = run('fork 1 P\nfork 2 Q\nsched 0 1\nsched 0 2'); // really different
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });
});

describe('explore: canonical states are invariant under renaming', () => {
  // A state reached by a random walk and the state reached by the same walk with CPUs permuted and
  // tasks and mms renamed are the same state up to symmetry: their encodings must be equal at every
  // step. (Whether two different states are kept apart is what the BFS tests check: a merge of
  // non-equivalent states would lose their shortest counterexamples.)
  for (const cpus of [2, 3]) {
    it(`${cpus} CPUs: 200 random walks, every prefix`, () => {
      const sys = resolveSystem({ cpus, asidBits: 3, whatIf: true, unmapKernelAtEl0: false, allocator: 'v5.10' }, {});
      const canon = new Canonicalizer(cpus, { symmetry: true, pages: [1], absoluteGeneration: false });
      const kinds = new Set<EventKind>(['fork', 'exit', 'schedule', 'pin', 'unpin', 'access', 'unmap']);
      const perms =
        cpus === 2
          ? [[1, 0]]
          : [
              [1, 2, 0],
              [2, 0, 1],
              [0, 2, 1],
            ];
      const rng = new Rng(cpus);
      for (let walk = 0; walk < 200; walk++) {
        const perm = rng.pick(perms);
        const a = createSystem(sys);
        const b = createSystem(sys);
        const obs = new FindingRecorder(0, null);
        let row = 1;
        for (let d = 0; d < 40; d++) {
          const opts = actions(a, kinds, { tasks: 5, mms: 4, pins: 2, devices: 0, domains: 0 });
          const act = rng.pick(opts);
          for (const e of act) {
            const renamed = {
              ...e,
              row,
              ...(e.cpu !== undefined ? { cpu: perm[e.cpu]! } : {}),
              ...(e.task !== undefined && e.task !== 0 ? { task: e.task + 100 } : {}),
              ...(e.mm !== undefined ? { mm: `z${e.mm}` } : {}),
            };
            step(a, { ...e, row }, obs);
            step(b, renamed, obs);
            row++;
          }
          const ea = Array.from(canon.encode(a)).join(',');
          expect(Array.from(canon.encode(b)).join(','), `walk ${walk} step ${d}`).toBe(ea);
        }
      }
    });
  }
});

describe('explore: the ASID-move race of arm_smmu_share_asid (v5.11-v6.10)', () => {
  // A bind whose mm needs the CPU ASID a DMA domain holds moves the domain in steps; an unmap in
  // between leaves an IOTLB entry under the old ASID. Found from nothing under 6.1; under 6.11
  // (private SVA ASIDs, d38c28dbefee) no sequence of the same alphabet within the bounds has it.
  const base = {
    kinds: ['fork', 'schedule', 'attach', 'map', 'unmap', 'dma', 'bind', 'resume'] as EventKind[],
    bounds: { tasks: 1, mms: 1, pins: 0, devices: 2, domains: 1 },
    find: ['S-UNMAP', 'S-ALIAS', 'S-PERM', 'stale-tlb', 'active-asid-mismatch', 'duplicate-asid', 'tlb-alias'],
    maxStates: 1e6,
    strategy: 'bfs' as const,
    seed: 1,
    walks: 1,
  };
  it('6.1: the shortest counterexample is a stepped bind, then map, DMA and unmap of the moving domain (6 actions)', () => {
    const r = search({ ...base, system: resolveSystem({ ...RACE_SYSTEM, kernel: '6.1' }, {}), depth: 10 });
    expect(r.stop).toBe('found');
    expect(r.finding!.kind).toBe('S-UNMAP');
    expect(r.steps).toBe(6);
    const kinds = r.events.map((e) => e.kind);
    expect(kinds).toContain('bind');
    expect(r.events.find((e) => e.kind === 'bind')!.op).toBeDefined(); // the stepped (racing) form
    expect(kinds.indexOf('bind')).toBeLessThan(kinds.lastIndexOf('unmap'));
    // Replayed under 6.11 the same events are clean.
    const m = createSystem(resolveSystem({ ...RACE_SYSTEM, kernel: '6.11' }, {}));
    const obs = new FindingRecorder(1, null);
    r.events.forEach((e, i) => step(m, { ...e, row: i + 1 }, obs));
    expect(obs.found).toEqual([]);
  });
  it('6.11: no counterexample of any searched kind in any sequence of up to 6 actions (6.1 has one in 6; exhaustion: test/slow/)', () => {
    const r = search({ ...base, system: resolveSystem({ ...RACE_SYSTEM, kernel: '6.11' }, {}), depth: 6 });
    expect(r.finding).toBeUndefined();
    expect(['depth', 'exhausted']).toContain(r.stop);
    expect(r.states).toBeGreaterThan(100);
  });
  it('encoding epochs by rank merges states, never verdicts: the same answers without it, to depth 6', () => {
    for (const kernel of ['6.1', '6.11']) {
      const system = resolveSystem({ ...RACE_SYSTEM, kernel }, {});
      const ranked = search({ ...base, system, depth: 6 });
      const raw = search({ ...base, system, depth: 6, epochRanks: false });
      expect([ranked.stop, ranked.steps, ranked.finding?.kind], kernel).toEqual([raw.stop, raw.steps, raw.finding?.kind]);
      expect(ranked.states, kernel).toBeLessThan(raw.states);
    }
  });
});

describe('explore: a branch never touches the state it branched from', () => {
  // cloneSystem copies every mutable part of the CPU and SMMU sides: a step on the clone leaves the
  // original's digest unchanged, and the same step on the original gives the clone's digest.
  it('random walks with two devices under 6.1 (stepped binds, DMA, maps) and 6.11', () => {
    for (const kernel of ['6.1', '6.11']) {
      const sys = resolveSystem({ ...RACE_SYSTEM, kernel }, {});
      const kinds = new Set<EventKind>([...DEFAULT_CPU_KINDS, ...DEFAULT_DEVICE_KINDS]);
      const rng = new Rng(kernel === '6.1' ? 1 : 2);
      for (let walk = 0; walk < 40; walk++) {
        const m = createSystem(sys);
        let row = 1;
        for (let d = 0; d < 30; d++) {
          const act = rng.pick(actions(m, kinds, { tasks: 3, mms: 2, pins: 2, devices: 2, domains: 1 }));
          const before = digestSystem(m);
          const c = cloneSystem(m);
          let ok = true;
          try {
            for (const e of act) step(c, { ...e, row: row + act.indexOf(e) }, new FindingRecorder(1, null));
          } catch (e) {
            if (!(e instanceof EventError)) throw e;
            ok = false;
          }
          expect(digestSystem(m), `walk ${walk} step ${d}`).toBe(before);
          if (!ok) continue;
          for (const e of act) step(m, { ...e, row: row++ }, new FindingRecorder(1, null));
          expect(digestSystem(m)).toBe(digestSystem(c));
        }
      }
    }
  });
});

describe('explore: the 2018 pinning-order bug (pin-v1), bounded (the breadth-first and default-bounds searches: test/slow/)', () => {
  it('seeded random walks find it with 2-bit ASIDs and --max-pinned 1; the shrunk trace replays under pin-v1 only', async () => {
    const cex = join(tmp(), 'cex.csv');
    const args = ['--asid-bits', '2', '--cpus', '2', '--max-pinned', '1', '--find', 'active-asid-mismatch'];
    const space = ['--events', 'fork,schedule,pin,unpin', '--tasks', '5', '--mms', '4', '--pins', '1'];
    const r = await cli('explore', '--allocator', 'pin-v1', ...args, ...space, '--strategy', 'random', '--seed', '1', '-o', cex, '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.out);
    expect(out.found).toBe(true);
    expect(out.finding.kind).toBe('active-asid-mismatch');
    expect(out.events).toBeLessThan(out.eventsBeforeShrinking);
    expect(readFileSync(cex, 'utf8')).toMatch(/^# system: .*"allocator":"pin-v1"/m);
    const v1 = await cli('replay', cex, '--json', '--fail-on', 'active-asid-mismatch');
    expect(v1.code).toBe(1);
    expect(JSON.parse(v1.out).churn.rollovers).toBeGreaterThanOrEqual(3); // the bug needs four generations
    for (const allocator of ['pin-v2', 'v5.10']) {
      const ok = await cli('replay', cex, '--allocator', allocator, '--fail-on', 'violations');
      expect(ok.code, allocator).toBe(0);
    }
  });

  it('explore --system <file> --kernel 6.1 finds the ASID-move race breadth-first (docs/kernel-bugs.md, E2); the trace replays under 6.1, clean under 6.11', async () => {
    const cex = join(tmp(), 'race.csv');
    const race = ['--system', 'traces/kernel-bugs/systems/race.json', '--events', 'fork,schedule,attach,map,unmap,dma,bind,resume'];
    race.push('--tasks', '1', '--mms', '1');
    const r = await cli('explore', ...race, '--kernel', '6.1', '--find', 'S-UNMAP', '--strategy', 'bfs', '-o', cex, '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.out);
    expect([out.found, out.finding.kind, out.phases[0].strategy]).toEqual([true, 'S-UNMAP', 'bfs']);
    expect((await cli('replay', cex, '--kernel', '6.1', '--fail-on', 'S-UNMAP')).code).toBe(1);
    expect((await cli('replay', cex, '--kernel', '6.11', '--fail-on', 'stale')).code).toBe(0);
  });
});

describe('explore: command line', () => {
  it('bad options exit 2 with a message', async () => {
    for (const bad of [
      ['--find', 'nonsense'],
      ['--events', 'execve'],
      ['--json', '-o', '-'], // both would write standard output
      ['--shard', '3/2'],
      ['--time-limit', 'soon'],
      ['--asid-bits', '1'],
      ['--system', '/nonexistent/system.json'],
    ]) {
      const r = await cli('explore', ...bad);
      expect(r.code, bad.join(' ')).toBe(2);
      expect(r.err, bad.join(' ')).not.toMatch(/\n\s+at /);
      expect(r.err.length, bad.join(' ')).toBeGreaterThan(0);
    }
  });

  it('no violation within the bounds: exit 0 and the figures', async () => {
    const r = await cli(
      'explore',
      '--allocator',
      'v5.10',
      '--asid-bits',
      '2',
      '--events',
      'fork,schedule',
      '--tasks',
      '2',
      '--mms',
      '2',
      '--strategy',
      'bfs',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^no violation up to depth \d+: [\d,]+ distinct states, [\d,]+ edges \(bounds exhausted/);
  });

  it('a search that found nothing says what each phase covered: complete breadth-first levels, then sampled walks', async () => {
    const r = await cli('explore', '--allocator', 'v5.10', '--bfs-states', '500', '--walks', '20', '--depth', '40');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /^no violation found: every sequence of up to \d+ actions \(breadth-first, [\d,]+ states\), then 20 random walks of up to 40 actions/,
    );
    expect(r.out).toMatch(/search incomplete: stopped at --walks/);
  });

  it('a breadth-first search stopped by --depth is complete to that depth, and says so', async () => {
    const args = ['explore', '--allocator', 'v5.10', '--asid-bits', '3', '--strategy', 'bfs', '--depth', '3'];
    const r = await cli(...args);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^no violation up to depth 3: .*every sequence of up to 3 actions tried/);
    const j = JSON.parse((await cli(...args, '--json')).out);
    expect(j).toMatchObject({ found: false, exhausted: false, stop: 'depth', completeToDepth: 3 });
  });

  it('shards split the breadth-first frontier deterministically', async () => {
    const run = (shard: string) =>
      cli(
        'explore',
        '--allocator',
        'v5.10',
        '--asid-bits',
        '2',
        '--events',
        'fork,schedule,exit',
        '--tasks',
        '3',
        '--mms',
        '3',
        '--depth',
        '6',
        '--strategy',
        'bfs',
        '--shard',
        shard,
        '--json',
      );
    const [a, b, a2] = [await run('1/2'), await run('2/2'), await run('1/2')];
    const [ja, jb, ja2] = [a, b, a2].map((x) => JSON.parse(x.out));
    expect(ja.states).toBe(ja2.states);
    expect(ja.phases[0].shardLevel).toBeDefined();
    const whole = JSON.parse(
      (
        await cli(
          'explore',
          '--allocator',
          'v5.10',
          '--asid-bits',
          '2',
          '--events',
          'fork,schedule,exit',
          '--tasks',
          '3',
          '--mms',
          '3',
          '--depth',
          '6',
          '--strategy',
          'bfs',
          '--json',
        )
      ).out,
    );
    expect(ja.states).toBeLessThan(whole.states);
    expect(jb.states).toBeLessThan(whole.states);
  });
});

describe('explore: the canonical encoding keeps what a device entry is compared with', () => {
  // 6.14 with RANGE_INV (the TG bug): the device caches page 0x1000 read-only, then either a fault
  // raises the PTE to rw (the same mapping: the entry is fresh, a write is S-PERM) or an munmap
  // (the entry survives) and a map rw (a new mapping: the entry is stale, S-UNMAP). The mapping
  // counter, the PTE rights and the entry agree in rank in both; only the PTE's epoch tells them
  // apart, and a search for S-PERM that merged them could lose its counterexample.
  it('a fault that raised rights and an unmap+map are different states', () => {
    const sys = resolveSystem(
      {
        kernel: '6.14',
        cpus: 2,
        asidBits: 3,
        whatIf: true,
        unmapKernelAtEl0: false,
        smmus: [{ name: 'smmu0', asidBits: 16, rangeInvalidation: true }],
        devices: [{ name: 'dev', smmu: 'smmu0' }],
      },
      {},
    );
    const canon = new Canonicalizer(2, { symmetry: false, pages: [1], absoluteGeneration: false });
    const head = 'fork 1 P\nsched 0 1\nbind dev P\nmprotect P 0x1000 0x1000 r\ndma dev 1 0x1000 r';
    const run = (text: string) => {
      const m = createSystem(sys);
      const obs = new FindingRecorder(1, null);
      for (const e of mini(text)) step(m, e, obs);
      const enc = Array.from(canon.encode(m)).join(',');
      obs.reset();
      step(m, { kind: 'dma', device: 'dev', pasid: 1, va: 0x1000, prot: 2, row: 99 }, obs);
      return { enc, found: obs.found.map((f) => f.kind) };
    };
    const fault = run(`${head}\nmap P 0x1000 0x1000 rw`);
    const remap = run(`${head}\nunmap P 0x1000 0x1000\nmap P 0x1000 0x1000 rw`);
    expect(fault.found).toEqual(['S-PERM']);
    expect(remap.found).toEqual(['S-UNMAP']);
    expect(fault.enc).not.toBe(remap.enc);
  });
});
