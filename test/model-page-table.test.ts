/**
 * The extent page table (src/model/cpu/page-table.ts) beyond what test/page-table.test.ts checks:
 *
 * - `ptExtent` (the mmu_gather's extent: `tlb_flush_pte_range` widens [tlb->start, tlb->end) over
 *   each PTE it gathers, mm/mmu_gather.c, include/asm-generic/tlb.h `__tlb_adjust_range`): the
 *   first and last page whose PTE matches, page 0 included, null when none does; against a
 *   per-page reference;
 * - the representation is what `digestSystem` hashes for explore's visited set: three arrays of one
 *   length, runs of one PTE value kept as one extent, so that an update that changes no PTE leaves
 *   the table as it was, and an update that writes equal PTEs over adjacent runs leaves one extent;
 * - a clone is equal to its original and independent of it, both ways.
 */
import { describe, expect, it } from 'vitest';
import {
  INITIAL_PTE,
  type PageTable,
  type Pte,
  clonePageTable,
  createPageTable,
  ptExtent,
  ptUpdate,
  ptWalk,
} from '../src/model/cpu/page-table.js';
import { Rng } from '../src/util/rng.js';

const pte = (prot: number, epoch: number, row: number): Pte => ({ prot, epoch, row });
/** A copy of the representation (plain arrays), to compare with later. */
const snapshot = (t: PageTable) => JSON.parse(JSON.stringify(t)) as PageTable;
const wellFormed = (t: PageTable) => {
  expect([t.ends.length, t.ptes.length]).toEqual([t.starts.length, t.starts.length]);
  for (let i = 0; i < t.starts.length; i++) {
    expect(t.starts[i]).toBeLessThanOrEqual(t.ends[i]!);
    if (i > 0) expect(t.ends[i - 1]).toBeLessThan(t.starts[i]!);
  }
};

/** Pages 0-3 unmapped (row 2), 4-5 read-only (row 3), 6-9 untouched, 10-12 read-only (row 4), 20 unmapped (row 5). */
function sample(): PageTable {
  const t = createPageTable();
  ptUpdate(t, 0, 3, () => pte(0, 1, 2));
  ptUpdate(t, 4, 5, () => pte(1, 2, 3));
  ptUpdate(t, 10, 12, () => pte(1, 3, 4));
  ptUpdate(t, 20, 20, () => pte(0, 4, 5));
  return t;
}

describe('ptExtent: the first and last page whose PTE matches', () => {
  const present = (p: Pte) => p.prot !== 0;
  const readOnly = (p: Pte) => p.prot === 1;

  it('matches at page 0 and in separate extents: from the first match to the last', () => {
    const t = sample();
    expect(ptExtent(t, 0, 30, (p) => p.prot === 0)).toEqual([0, 20]);
    expect(ptExtent(t, 0, 3, (p) => p.prot === 0)).toEqual([0, 3]);
    expect(ptExtent(t, 0, 0, (p) => p.prot === 0)).toEqual([0, 0]);
    expect(ptExtent(t, 0, 30, readOnly)).toEqual([4, 12]);
    expect(ptExtent(t, 5, 11, readOnly)).toEqual([5, 11]);
    expect(ptExtent(t, 0, 30, present)).toEqual([4, 30]);
    expect(ptExtent(t, 0, 3, present)).toBeNull();
    expect(ptExtent(t, 13, 19, readOnly)).toBeNull();
    const u = createPageTable();
    expect(ptExtent(u, 0, 5, present)).toEqual([0, 5]);
    expect(ptExtent(u, 0, 5, (p) => p.prot === 0)).toBeNull();
  });

  it('agrees with a per-page reference (random tables, ranges from page 0)', () => {
    const rng = new Rng(3);
    for (let n = 0; n < 60; n++) {
      const t = createPageTable();
      const ref = new Map<number, Pte>();
      for (let k = 0; k < 6; k++) {
        const first = rng.int(0, 30);
        const last = first + rng.int(0, 5);
        const p = pte(rng.int(0, 3), k + 1, k + 1);
        ptUpdate(t, first, last, () => p);
        for (let pg = first; pg <= last; pg++) ref.set(pg, p);
      }
      for (const prot of [0, 1, 2, 3]) {
        const first = rng.int(0, 10);
        const last = first + rng.int(0, 30);
        const pages = [];
        for (let pg = first; pg <= last; pg++) if ((ref.get(pg) ?? INITIAL_PTE).prot === prot) pages.push(pg);
        const want = pages.length === 0 ? null : [pages[0], pages[pages.length - 1]];
        expect(
          ptExtent(t, first, last, (p) => p.prot === prot),
          `table ${n}, prot ${prot} in [${first}, ${last}]`,
        ).toEqual(want);
      }
    }
  });
});

describe('the representation digestSystem hashes', () => {
  it('a new table and an emptied one are three empty arrays', () => {
    expect(createPageTable()).toStrictEqual({ starts: [], ends: [], ptes: [] });
    const t = createPageTable();
    ptUpdate(t, 5, 9, () => pte(1, 1, 2));
    ptUpdate(t, 0, 20, () => INITIAL_PTE);
    expect(t).toStrictEqual({ starts: [], ends: [], ptes: [] });
  });

  it('an update that changes no PTE leaves the table as it was, wherever it starts and ends', () => {
    const before = snapshot(sample());
    for (const [first, last] of [
      [0, 30],
      [2, 11],
      [4, 4],
      [5, 5],
      [3, 10],
      [7, 8],
      [11, 25],
      [20, 20],
    ]) {
      const t = sample();
      ptUpdate(t, first!, last!, (old) => old);
      expect(snapshot(t), `[${first}, ${last}]`).toEqual(before);
      wellFormed(t);
    }
  });

  it('equal PTEs written over adjacent runs (a rights change over two mappings of one epoch) are one extent', () => {
    const t = createPageTable();
    ptUpdate(t, 0, 4, () => pte(1, 1, 2));
    ptUpdate(t, 5, 9, () => pte(1, 1, 3));
    ptUpdate(t, 10, 12, () => pte(2, 1, 3));
    expect(t.starts).toEqual([0, 5, 10]);
    // mprotect-like: a new object per run, same rights, epoch and row.
    ptUpdate(t, 0, 12, (old) => pte(3, old.epoch, 4));
    expect(t).toStrictEqual({ starts: [0], ends: [12], ptes: [pte(3, 1, 4)] });
    // Starting inside an extent: the part before the range joins the first run.
    const u = createPageTable();
    ptUpdate(u, 0, 9, () => pte(1, 1, 2));
    ptUpdate(u, 5, 9, () => pte(1, 1, 2));
    expect(u).toStrictEqual({ starts: [0], ends: [9], ptes: [pte(1, 1, 2)] });
  });

  it('runs that differ in rights, epoch or row alone stay apart', () => {
    const p = [pte(1, 1, 2), pte(2, 1, 2), pte(2, 2, 2), pte(2, 2, 3)];
    // One update, four runs (one per old extent), each given its own PTE.
    const u = createPageTable();
    for (let i = 0; i < 4; i++) ptUpdate(u, i * 2, i * 2 + 1, () => pte(0, i + 10, i + 10));
    ptUpdate(u, 0, 7, (old) => p[old.epoch - 10]!);
    expect(u.starts).toEqual([0, 2, 4, 6]);
    for (let i = 0; i < 4; i++) expect(ptWalk(u, i * 2 + 1)).toStrictEqual(p[i]);
    wellFormed(u);
  });
});

describe('clonePageTable', () => {
  it('is equal to its original and independent of it, both ways', () => {
    const t = sample();
    const before = snapshot(t);
    const c = clonePageTable(t);
    expect(snapshot(c)).toEqual(before);
    ptUpdate(c, 3, 11, () => pte(2, 7, 9));
    expect(snapshot(t)).toEqual(before);
    expect(ptWalk(c, 4)).toStrictEqual(pte(2, 7, 9));
    const c2 = clonePageTable(t);
    ptUpdate(t, 0, 30, () => pte(3, 8, 10));
    expect(snapshot(c2)).toEqual(before);
    expect(ptWalk(c2, 11)).toStrictEqual(pte(1, 3, 4));
    wellFormed(c);
    wellFormed(c2);
  });
});
