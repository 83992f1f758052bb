/**
 * Global PASID allocation (src/model/smmu/pasid.ts) on both sides of the wrap:
 *
 * - `lowest`: `ida_alloc_range(&iommu_global_pasid_ida, 1, max)` (drivers/iommu/iommu-sva.c, v6.4
 *   4e14176ab13f; ioasid_alloc before it): the lowest free PASID in [1, max].
 * - `cyclic`: lib/idr.c `idr_alloc_cyclic(idr, ptr, start, end)`, as the 2017 SVA RFC allocated
 *   PASIDs: the lowest free id in [idr_next, max], else `if (err == -ENOSPC && id > start)` the
 *   lowest in [start, max]; then `idr->idr_next = id + 1`.
 *
 * v5.12 (ioasid, freed at the last unbind, 51d113c3be09's era), a device with 2-bit PASIDs: [1, 3].
 */
import { describe, expect, it } from 'vitest';
import { createSystem, step } from '../src/model/system.js';
import { ReportCollector } from '../src/report/report.js';
import { resolveSystem } from '../src/trace/system.js';
import { mini } from './helpers/mini.js';

function pasids(pasidAllocator: 'lowest' | 'cyclic', text: string, devices = [{ name: 'dev', smmu: 'smmu0', pasidBits: 2 }]) {
  const m = createSystem(resolveSystem({ kernel: '5.12', pasidAllocator, smmus: [{ name: 'smmu0', asidBits: 16 }], devices }, {}));
  const col = new ReportCollector(1);
  for (const e of mini(text)) step(m, e, col);
  return Object.fromEntries([...m.smmu.svaMms.values()].map((s) => [s.label, s.pasid]));
}

const story = 'fork 1 A\nfork 2 B\nfork 3 C\nfork 4 D\nbind dev A\nbind dev B\nunbind dev A\nbind dev C\nbind dev D';

describe('PASID allocators', () => {
  it('lowest: A 1, B 2; A unbound frees 1; C takes 1 again, D 3', () => {
    expect(pasids('lowest', story)).toMatchObject({ B: 2, C: 1, D: 3 });
  });

  it('cyclic: A 1, B 2; A unbound; C takes 3 (from idr_next), D wraps to 1', () => {
    expect(pasids('cyclic', story)).toMatchObject({ B: 2, C: 3, D: 1 });
  });

  it('cyclic, full: no PASID left in [1, 3] after the wrap either: the bind gets none', () => {
    const full = pasids('cyclic', `${story}\nfork 5 E\nbind dev E`);
    expect(full).toMatchObject({ B: 2, C: 3, D: 1 });
    expect(full.E ?? 0).toBe(0);
  });

  it('cyclic: an id freed below idr_next is not taken while one above is free', () => {
    // A 1, B 2, C 3; unbind B (2) and A (1); D: [idr_next = 4, 3] is empty -> wrap -> 1.
    const r = pasids(
      'cyclic',
      'fork 1 A\nfork 2 B\nfork 3 C\nfork 4 D\nbind dev A\nbind dev B\nbind dev C\nunbind dev B\nunbind dev A\nbind dev D',
    );
    expect(r).toMatchObject({ C: 3, D: 1 });
  });
});

describe('cyclic: both searches, on both sides of idr_next', () => {
  const forks = 'fork 1 A\nfork 2 B\nfork 3 C\nfork 4 D\nfork 5 E\nfork 6 F';

  it('from idr_next upwards: B holds idr_next (2), 3 is free above it: E takes 3', () => {
    // A 1, B 2, C 3 (idr_next 4); A unbound; D wraps to 1 (idr_next 2); C unbound; E: [2, 3] -> 3.
    const r = pasids('cyclic', `${forks}\nbind dev A\nbind dev B\nbind dev C\nunbind dev A\nbind dev D\nunbind dev C\nbind dev E`);
    expect(r).toMatchObject({ B: 2, D: 1, E: 3 });
  });

  it('idr_next past the top and [1, 3] full: no PASID (the retry covers [start, max] only)', () => {
    const r = pasids('cyclic', `${forks}\nbind dev A\nbind dev B\nbind dev C\nbind dev D`);
    expect(r).toMatchObject({ A: 1, B: 2, C: 3, D: 0 });
  });

  it('idr_next past the top: the retry from start reaches the top PASID, 3', () => {
    const r = pasids('cyclic', `${forks}\nbind dev A\nbind dev B\nbind dev C\nunbind dev C\nbind dev D`);
    expect(r).toMatchObject({ A: 1, B: 2, D: 3 });
  });

  it('idr_next past the top: the retry goes upwards from start, 1 used, 2 free: D takes 2', () => {
    const r = pasids('cyclic', `${forks}\nbind dev A\nbind dev B\nbind dev C\nunbind dev B\nbind dev D`);
    expect(r).toMatchObject({ A: 1, C: 3, D: 2 });
  });

  it('a narrower device: the retry stays within its own [1, max] even when idr_next (6) is beyond it', () => {
    const devices = [
      { name: 'wide', smmu: 'smmu0', pasidBits: 3 },
      { name: 'dev', smmu: 'smmu0', pasidBits: 2 },
    ];
    // A..E take 1..5 on the 3-bit device (idr_next 6); D's 4 is freed; F on the 2-bit device finds [1, 3] full.
    const text = `${forks}\nbind wide A\nbind wide B\nbind wide C\nbind wide D\nbind wide E\nunbind wide D\nbind dev F`;
    expect(pasids('cyclic', text, devices)).toMatchObject({ A: 1, E: 5, F: 0 });
  });
});
