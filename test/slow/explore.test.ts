/**
 * The long explore searches (`npm run test:slow`; the fast suite, test/explore.test.ts, runs bounded
 * versions of each): a breadth-first search that exhausts the 6.11 space of the ASID-move race, and
 * the two CLI searches that find the 2018 pin-v1 bug, shortest first then with the default bounds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { search } from '../../src/explore/search.js';
import { resolveSystem } from '../../src/trace/system.js';
import type { EventKind } from '../../src/trace/events.js';
import { CPU_VIOLATION_KINDS as CPU_VIOLATIONS } from '../../src/model/findings.js';
import { cli, tmp } from '../helpers/cli.js';

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

describe('explore: the ASID-move race of arm_smmu_share_asid (v5.11-v6.10)', () => {
  const base = {
    kinds: ['fork', 'schedule', 'attach', 'map', 'unmap', 'dma', 'bind', 'resume'] as EventKind[],
    bounds: { tasks: 1, mms: 1, pins: 0, devices: 2, domains: 1 },
    find: ['S-UNMAP', 'S-ALIAS', 'S-PERM', 'stale-tlb', 'active-asid-mismatch', 'duplicate-asid', 'tlb-alias'],
    maxStates: 1e6,
    strategy: 'bfs' as const,
    seed: 1,
    walks: 1,
  };
  it('6.11: the bounds are exhausted, no counterexample', () => {
    // Epochs are encoded by rank, so map/unmap cycles do not make the space infinite.
    const r = search({ ...base, system: resolveSystem({ ...RACE_SYSTEM, kernel: '6.11' }, {}), depth: 1000 });
    expect(r.stop).toBe('exhausted');
    expect(r.states).toBeGreaterThan(1000);
  });
});

describe('explore: the 2018 pinning-order bug (pin-v1)', () => {
  it('2-bit ASIDs, --max-pinned 1: breadth-first finds the shortest counterexample, 10 actions over four generations, that replay reproduces under pin-v1 only', async () => {
    const dir = tmp();
    const cex = join(dir, 'cex.csv');
    const args = [
      '--asid-bits',
      '2',
      '--cpus',
      '2',
      '--max-pinned',
      '1',
      '--find',
      'active-asid-mismatch',
      '--events',
      'fork,schedule,pin,unpin',
      '--tasks',
      '5',
      '--mms',
      '4',
      '--pins',
      '1',
      '--time-limit',
      '300',
    ];
    // Breadth-first: every shorter sequence is tried first, so the length found is the shortest.
    const r = await cli('explore', '--allocator', 'pin-v1', ...args, '--strategy', 'bfs', '-o', cex, '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.out);
    expect(out.found).toBe(true);
    expect(out.finding.kind).toBe('active-asid-mismatch');
    const text = readFileSync(cex, 'utf8');
    expect(text).toMatch(/^# system: .*"allocator":"pin-v1"/m);
    const steps = text.split('\n').filter((l) => /^(schedule|pin|unpin),/.test(l)).length;
    expect(out.exhausted).toBe(false);
    expect(out.phases).toHaveLength(1);
    expect(out.phases[0].strategy).toBe('bfs');
    expect(out.phases[0].depth).toBe(10); // every sequence of up to 9 actions was clean
    expect(steps).toBe(10); // the shortest known at these parameters (the 2018 TLA+ model's bug trace)
    const v1 = await cli('replay', cex, '--json', '--fail-on', 'active-asid-mismatch');
    expect(v1.code).toBe(1);
    expect(JSON.parse(v1.out).churn.rollovers).toBe(3); // four generations
    for (const allocator of ['pin-v2', 'v5.10']) {
      const ok = await cli('replay', cex, '--allocator', allocator, '--fail-on', 'violations');
      expect(ok.code, allocator).toBe(0);
    }
    // The same search under v5.10: nothing, exit 0.
    const clean = await cli('explore', '--allocator', 'v5.10', ...args.slice(0, -2), '--time-limit', '3', '--json');
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.out).found).toBe(false);
  }, 300_000); // about 10 s of search alone; more when CI shares the machine
});

describe('explore: the 2018 pinning-order bug with the default bounds and alphabet', () => {
  it('explore --allocator pin-v1 --cpus 2 --asid-bits 3 finds it; replay shows it under pin-v1 only', async () => {
    const dir = tmp();
    const cex = join(dir, 'cex.csv');
    const r = await cli('explore', '--allocator', 'pin-v1', '--cpus', '2', '--asid-bits', '3', '-o', cex, '--json');
    expect(r.err).toBe('');
    expect(r.code).toBe(1);
    const out = JSON.parse(r.out);
    expect(CPU_VIOLATIONS).toContain(out.finding.kind);
    const v1 = await cli('replay', cex, '--fail-on', 'violations');
    expect(v1.code).toBe(1);
    for (const allocator of ['pin-v2', 'v5.10'])
      expect((await cli('replay', cex, '--allocator', allocator, '--fail-on', 'violations')).code).toBe(0);
  }, 300_000);
});
