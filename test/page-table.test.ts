/**
 * The extent page table against the obvious reference (one PTE per page in a Map): random map,
 * unmap and protection changes give the same PTE for every page, and the extents stay sorted,
 * disjoint and free of untouched (INITIAL) runs.
 */
import { describe, expect, it } from 'vitest';
import { INITIAL_PTE, type Pte, clonePageTable, createPageTable, ptUpdate, ptWalk } from '../src/model/cpu/page-table.js';
import { Rng } from '../src/util/rng.js';

describe('page table extents', () => {
  it('agree with a per-page reference over 3000 random updates', () => {
    const rng = new Rng(7);
    const t = createPageTable();
    const ref = new Map<number, Pte>();
    const walkRef = (pg: number) => ref.get(pg) ?? INITIAL_PTE;
    for (let n = 1; n <= 3000; n++) {
      const first = rng.int(0, 200);
      const last = first + (rng.chance(0.1) ? rng.int(0, 150) : rng.int(0, 6));
      const prot = rng.int(0, 3);
      const fresh: Pte = { prot, epoch: n, row: n };
      const f = (old: Pte): Pte => (old.prot === prot ? old : old.prot === 0 || prot === 0 ? fresh : { prot, epoch: old.epoch, row: n });
      ptUpdate(t, first, last, f);
      for (let pg = first; pg <= last; pg++) ref.set(pg, f(walkRef(pg)));
      if (n % 100 === 0) {
        for (let pg = 0; pg <= 360; pg++) expect(ptWalk(t, pg), `page ${pg} after update ${n}`).toStrictEqual(walkRef(pg));
        for (let i = 0; i < t.starts.length; i++) {
          expect(t.starts[i]).toBeLessThanOrEqual(t.ends[i]!);
          if (i > 0) expect(t.ends[i - 1]).toBeLessThan(t.starts[i]!);
          expect(t.ptes[i]).not.toBe(INITIAL_PTE);
        }
      }
    }
    expect(t.starts.length).toBeGreaterThan(5);
  });

  it('an untouched page table maps everything read-write; a clone is independent', () => {
    const t = createPageTable();
    expect(ptWalk(t, 12345)).toBe(INITIAL_PTE);
    const c = clonePageTable(t);
    ptUpdate(c, 10, 1033, () => ({ prot: 0, epoch: 1, row: 5 }));
    expect(ptWalk(c, 500)).toStrictEqual({ prot: 0, epoch: 1, row: 5 });
    expect(ptWalk(c, 1034)).toBe(INITIAL_PTE);
    expect(ptWalk(t, 500)).toBe(INITIAL_PTE);
    expect(c.starts).toEqual([10]);
  });
});
