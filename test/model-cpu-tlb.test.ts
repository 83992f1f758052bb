/**
 * CPU TLB maintenance and task switches, as the kernel does them, checked through what the model
 * reports (NoUsableStaleEntry, the stale-tlb check, runs after every unmap):
 *
 * - arch/arm64/include/asm/tlbflush.h: `flush_tlb_mm` is TLBI ASIDE1IS and `__flush_tlb_range`
 *   TLBI VAE1IS per page, both broadcast (inner shareable): every CPU drops the entries, not only
 *   the one that unmapped; from 512 pages `__flush_tlb_range` calls `flush_tlb_mm`.
 * - fs/exec.c `exec_mmap` -> `activate_mm` -> `switch_mm`: a task that execs while it runs switches
 *   to the new mm at once (check_and_switch_context: a new ASID for the fresh mm).
 */
import { describe, expect, it } from 'vitest';
import { run } from './helpers/mini.js';

const L = (...lines: string[]) => lines.join('\n');
const size = (pages: number) => `0x${(pages * 4096).toString(16)}`;

describe('broadcast TLB invalidation after munmap', () => {
  // Two threads of P on CPU0 and CPU1 both touched 0x100000 (a TLB entry under P's ASID on each).
  const head = L('fork 1 P', 'fork 2 P', 'sched 0 1', 'sched 1 2', 'access 0 0x100000', 'access 1 0x100000');
  it.each([1, 2, 511, 512, 1024])('%i pages: no CPU keeps the entry', (pages) => {
    const r = run({ cpus: 2, asidBits: 8 }, L(head, `unmap P 0x100000 ${size(pages)}`));
    expect(r.violations).toEqual([]);
  });

  it('an unmap elsewhere leaves the entries (and no finding)', () => {
    const r = run({ cpus: 2, asidBits: 8 }, L(head, 'unmap P 0x200000 0x1000', 'access 0 0x100000'));
    expect(r.violations).toEqual([]);
    expect(r.churn.tlbi.va).toBe(1);
  });
});

describe('exec and exit of a running task', () => {
  it('exec while running: the CPU switches to the fresh mm at once (a second ASID)', () => {
    const r = run({ cpus: 2, asidBits: 8 }, L('fork 1 A', 'sched 0 1', 'exec 1 B'));
    expect([r.churn.switches, r.churn.allocations]).toEqual([2, 2]);
  });

  it('exec of a task that runs nowhere switches nothing', () => {
    const r = run({ cpus: 2, asidBits: 8 }, L('fork 1 A', 'fork 2 C', 'sched 0 1', 'sched 0 2', 'exec 1 B'));
    expect([r.churn.switches, r.churn.allocations]).toEqual([2, 2]);
  });

  it('exec of one thread of A: only its CPU switches; the other thread keeps running A', () => {
    const r = run({ cpus: 2, asidBits: 8 }, L('fork 1 A', 'fork 2 A', 'sched 0 1', 'sched 1 2', 'exec 1 B', 'access 1 0x1000'));
    expect([r.churn.switches, r.churn.allocations]).toEqual([3, 2]);
    expect(r.violations).toEqual([]);
  });

  it('exit of a running task: its CPU runs no user task any more', () => {
    expect(() => run({ cpus: 1, asidBits: 8 }, L('fork 1 A', 'sched 0 1', 'exit 1', 'access 0 0x1000'))).toThrow(/runs no user task/);
  });

  it('a thread of a live mm shares its ASID: no second allocation, a same-mm switch', () => {
    const r = run({ cpus: 1, asidBits: 8 }, L('fork 1 A', 'fork 2 A', 'sched 0 1', 'sched 0 2'));
    expect([r.churn.allocations, r.churn.switches, r.churn.sameMmSwitches]).toEqual([1, 1, 1]);
  });
});

/*
 * The TLB store itself (src/model/cpu/tlb.ts) against the obvious reference: a set of entries
 * (cpu, asid, mm, page) -> fill row. What the store must do, from arch/arm64/include/asm/tlbflush.h
 * and the kernel-tla `asidalloc` model it follows:
 * - a fill of an entry already there changes nothing (the TLB holds one translation per tag; its
 *   fill row, which findings report, is the first one);
 * - `local_flush_tlb_all()` (TLBI VMALLE1, this CPU only) in check_and_switch_context's slow path is
 *   issued while TTBR0 still holds the outgoing mm: that mm's entries under its ASID survive (they
 *   may be re-fetched at once), everything else on the CPU goes;
 * - `flush_tlb_mm()` (TLBI ASIDE1IS) drops every entry under the ASID on every CPU;
 * - `__flush_tlb_range()` (TLBI VAE1IS per page) drops the pages of the range under the ASID on
 *   every CPU, and nothing else (not the speculative walk, not other ASIDs, not other pages);
 * - `counts[cpu]` is the number of entries the CPU holds: the capacity bound empties a CPU's TLB
 *   when a fill would take it past TLB_CAPACITY entries.
 * The canonical form (digests of explore's visited set) must not depend on fill order, and a clone
 * must be equal to, and independent of, its original.
 */
import {
  SMALL_TLB,
  SPECULATIVE,
  TLB_CAPACITY,
  type TlbState,
  cloneTlb,
  createTlb,
  forEachAsid,
  localFlushTlbAll,
  tlbAnyFillRow,
  tlbCanonical,
  tlbEntriesIn,
  tlbFill,
  tlbiAsidBroadcast,
  tlbOtherMm,
  tlbiVaRangeBroadcast,
} from '../src/model/cpu/tlb.js';
import { Rng } from '../src/util/rng.js';

/** The reference: per CPU, "asid,mm,page" -> fill row. */
class RefTlb {
  readonly cpus: Map<string, number>[];
  constructor(n: number) {
    this.cpus = Array.from({ length: n }, () => new Map());
  }
  private static key = (asid: number, mm: number, page: number) => `${asid},${mm},${page}`;
  private static parse = (k: string) => k.split(',').map(Number) as [number, number, number];
  others(cpu: number, asid: number, mm: number): Set<number> {
    const out = new Set<number>();
    for (const k of this.cpus[cpu]!.keys()) {
      const [a, m] = RefTlb.parse(k);
      if (a === asid && m !== mm) out.add(m);
    }
    return out;
  }
  fill(cpu: number, asid: number, mm: number, page: number, row: number): void {
    const t = this.cpus[cpu]!;
    const k = RefTlb.key(asid, mm, page);
    if (t.has(k)) return;
    if (t.size + 1 > TLB_CAPACITY) t.clear();
    t.set(k, row);
  }
  dropIf(cpus: number[], drop: (asid: number, mm: number, page: number) => boolean): void {
    for (const c of cpus) for (const k of [...this.cpus[c]!.keys()]) if (drop(...RefTlb.parse(k))) this.cpus[c]!.delete(k);
  }
  canonical(cpu: number): unknown {
    const byAsid = new Map<number, Map<number, [number, number][]>>();
    for (const [k, row] of this.cpus[cpu]!) {
      const [a, m, pg] = RefTlb.parse(k);
      const mms = byAsid.get(a) ?? byAsid.set(a, new Map()).get(a)!;
      (mms.get(m) ?? mms.set(m, []).get(m)!).push([pg, row]);
    }
    return [...byAsid]
      .sort((x, y) => x[0] - y[0])
      .map(([a, mms]) => [a, [...mms].sort((x, y) => x[0] - y[0]).map(([m, es]) => [m, es.sort((x, y) => x[0] - y[0])])]);
  }
}

const allCpus = (t: TlbState) => t.cpus.map((_, c) => c);
/** Compared as JSON (fast); expect() only to show a difference. */
const same = (a: unknown, b: unknown, what: string) => {
  if (JSON.stringify(a) !== JSON.stringify(b)) expect(a, what).toEqual(b);
};
const expectSame = (t: TlbState, ref: RefTlb, what: string) => {
  for (const c of allCpus(t)) {
    same(tlbCanonical(t, c), ref.canonical(c), `${what}: CPU${c}`);
    same(t.counts[c], ref.cpus[c]!.size, `${what}: CPU${c} entry count`);
  }
};

describe('the TLB store against a per-entry reference', () => {
  // ASIDs 0..3 keep a CPU's TLB in its arrays; 0..15 take it past SMALL_TLB into a Map and back
  // (a local flush empties it), with flushes rarer so that it fills up.
  for (const [maxAsid, flushes] of [
    [3, 8],
    [15, 2],
  ] as const)
    it(`agrees over 1500 random fills and flushes (two CPUs, ASIDs 0..${maxAsid}, aliases, speculative walks)`, () => {
      const rng = new Rng(11 + maxAsid);
      const t = createTlb(2);
      const ref = new RefTlb(2);
      let large = 0;
      for (let n = 1; n <= 1500; n++) {
        const cpu = rng.int(0, 1);
        const asid = rng.int(0, maxAsid);
        const mm = rng.int(0, 3);
        const op = rng.int(0, 99);
        const what = `op ${n}`;
        if (op < 60) {
          const page = rng.chance(0.2) ? SPECULATIVE : rng.int(0, 20);
          const others = ref.others(cpu, asid, mm);
          const other = tlbFill(t, cpu, asid, mm, page, n);
          if (others.size === 0) same(other, -1, what);
          else same(others.has(other), true, `${what}: ${other} in ${[...others]}`);
          ref.fill(cpu, asid, mm, page, n);
        } else if (op < 85) {
          const first = rng.int(0, 20);
          const last = first + (rng.chance(0.5) ? rng.int(0, 3) : rng.int(0, 20));
          tlbiVaRangeBroadcast(t, asid, first, last);
          ref.dropIf([0, 1], (a, _m, pg) => a === asid && pg !== SPECULATIVE && pg >= first && pg <= last);
        } else if (op < 100 - flushes) {
          tlbiAsidBroadcast(t, asid);
          ref.dropIf([0, 1], (a) => a === asid);
        } else {
          const keepMm = rng.chance(0.2) ? -1 : mm;
          localFlushTlbAll(t, cpu, keepMm, asid);
          ref.dropIf([cpu], (a, m) => !(a === asid && m === keepMm));
        }
        expectSame(t, ref, what);
        // The lookups the checks make, on the entries of one (asid, mm).
        const first = rng.int(0, 20);
        const last = first + rng.int(0, 10);
        const mine = [...ref.cpus[cpu]!]
          .map(([k, r]) => {
            const [a, m, pg] = k.split(',').map(Number) as [number, number, number];
            return [a, m, pg, r] as const;
          })
          .filter(([a, m]) => a === asid && m === mm);
        const inRange = mine.filter(([, , pg]) => pg !== SPECULATIVE && pg >= first && pg <= last).map(([, , pg, r]) => [pg, r]);
        const sortPg = (x: number[][]) => [...x].sort((a, b) => a[0]! - b[0]!);
        same(sortPg(tlbEntriesIn(t, cpu, asid, mm, first, last)), sortPg(inRange), `${what}: entries in [${first}, ${last}]`);
        const spec = mine.find(([, , pg]) => pg === SPECULATIVE);
        const anyRow = tlbAnyFillRow(t, cpu, asid, mm);
        if (mine.length === 0) expect(anyRow, what).toBeUndefined();
        else if (spec) expect(anyRow, `${what}: the speculative entry's row first`).toBe(spec[3]);
        else
          expect(
            mine.map(([, , , r]) => r),
            what,
          ).toContain(anyRow);
        if (t.cpus[cpu]!.map !== null) large++;
      }
      if (maxAsid < SMALL_TLB) expect(large, 'never past the arrays').toBe(0);
      else expect(large, 'steps with a TLB in a Map').toBeGreaterThan(100);
    });

  // A CPU's TLB as the model stores it (model/cpu/tlb.ts: arrays up to SMALL_TLB ASIDs, a Map past
  // that): a flush_tlb_mm (TLBI ASIDE1IS, tlbflush.h) of one ASID must leave the others where they
  // were, whichever way they are stored.
  it('keeps ASIDs in the order they were first filled, in its arrays and in a Map, as a Map would', () => {
    for (const n of [3, SMALL_TLB, SMALL_TLB + 1, 2 * SMALL_TLB]) {
      const t = createTlb(1);
      const ref = new Map<number, number>();
      const asids = Array.from({ length: n }, (_, i) => (i * 7) % 31);
      for (const a of asids) {
        tlbFill(t, 0, a, 1, SPECULATIVE, a);
        ref.set(a, 1);
      }
      tlbiAsidBroadcast(t, asids[1]!); // one from the middle
      ref.delete(asids[1]!);
      tlbFill(t, 0, 40, 2, SPECULATIVE, 40); // a new one at the end
      tlbFill(t, 0, asids[0]!, 3, SPECULATIVE, 41); // an alias: the first ASID keeps its place
      ref.set(40, 1);
      const order: number[] = [];
      forEachAsid(t, 0, (_, a) => order.push(a));
      expect(order, `${n} ASIDs`).toEqual([...ref.keys()]);
    }
  });

  it('a fill of an entry already there keeps its first fill row and counts once', () => {
    const t = createTlb(1);
    for (const [page, row] of [
      [SPECULATIVE, 3],
      [7, 4],
      [SPECULATIVE, 5],
      [7, 6],
    ] as const)
      tlbFill(t, 0, 1, 0, page, row);
    expect(tlbCanonical(t, 0)).toEqual([
      [
        1,
        [
          [
            0,
            [
              [SPECULATIVE, 3],
              [7, 4],
            ],
          ],
        ],
      ],
    ]);
    expect(t.counts).toEqual([2]);
  });

  it('a fill at row 0 is an entry like any other (-1 alone means "no speculative entry")', () => {
    const t = createTlb(1);
    tlbFill(t, 0, 1, 0, SPECULATIVE, 0);
    expect(tlbAnyFillRow(t, 0, 1, 0)).toBe(0);
    expect(tlbCanonical(t, 0)).toEqual([[1, [[0, [[SPECULATIVE, 0]]]]]]);
    tlbFill(t, 0, 1, 0, SPECULATIVE, 9); // already there
    expect(tlbCanonical(t, 0)).toEqual([[1, [[0, [[SPECULATIVE, 0]]]]]]);
    expect(t.counts).toEqual([1]);
    localFlushTlbAll(t, 0, 0, 1); // the outgoing mm (key 0) keeps its walk, row 0 included
    expect(t.counts).toEqual([1]);
    tlbiAsidBroadcast(t, 1);
    expect([tlbCanonical(t, 0), t.counts]).toEqual([[], [0]]);
  });

  it('a set with pages and no speculative walk: the lookups give a page row, never -1', () => {
    const t = createTlb(1);
    tlbFill(t, 0, 2, 5, 30, 8);
    tlbFill(t, 0, 2, 5, 10, 9);
    expect(tlbAnyFillRow(t, 0, 2, 5)).toBe(8);
    expect(tlbAnyFillRow(t, 0, 2, 6)).toBeUndefined();
    expect(tlbAnyFillRow(t, 0, 3, 5)).toBeUndefined();
    expect(tlbEntriesIn(t, 0, 2, 5, 11, 30)).toEqual([[30, 8]]);
    expect(tlbEntriesIn(t, 0, 2, 5, 0, 29)).toEqual([[10, 9]]);
  });
});

describe('TLBI by VA, by ASID and the local flush', () => {
  // CPU0: under ASID 1, mm 0 (walk + pages 1..6) and mm 1 (walk + page 3), an alias; ASID 2: mm 2.
  const setup = () => {
    const t = createTlb(2);
    tlbFill(t, 0, 1, 0, SPECULATIVE, 1);
    for (let pg = 1; pg <= 6; pg++) tlbFill(t, 0, 1, 0, pg, 10 + pg);
    expect(tlbFill(t, 0, 1, 1, SPECULATIVE, 20)).toBe(0);
    expect(tlbFill(t, 0, 1, 1, 3, 21)).toBe(0);
    tlbFill(t, 0, 2, 2, 3, 30);
    tlbFill(t, 1, 1, 0, 3, 40);
    return t;
  };

  it('VAE1IS of a few pages of a bigger set: those pages only, on every CPU', () => {
    const t = setup();
    tlbiVaRangeBroadcast(t, 1, 3, 4);
    expect(tlbEntriesIn(t, 0, 1, 0, 0, 100)).toEqual([
      [1, 11],
      [2, 12],
      [5, 15],
      [6, 16],
    ]);
    expect(tlbCanonical(t, 0)).toEqual([
      [
        1,
        [
          [
            0,
            [
              [SPECULATIVE, 1],
              [1, 11],
              [2, 12],
              [5, 15],
              [6, 16],
            ],
          ],
          [1, [[SPECULATIVE, 20]]],
        ],
      ],
      [2, [[2, [[3, 30]]]]],
    ]);
    expect(tlbCanonical(t, 1)).toEqual([]);
    expect(t.counts).toEqual([7, 0]);
  });

  it('VAE1IS of a range wider than the set: the pages inside it only', () => {
    const t = setup();
    tlbiVaRangeBroadcast(t, 1, 2, 40);
    expect(tlbEntriesIn(t, 0, 1, 0, 0, 100)).toEqual([[1, 11]]);
    expect(t.counts).toEqual([4, 0]);
  });

  it('VAE1IS leaves the other mm under the ASID linked, whichever set empties', () => {
    const t = createTlb(1);
    tlbFill(t, 0, 1, 0, 5, 1); // mm 0: page 5 only
    tlbFill(t, 0, 1, 1, 6, 2); // mm 1 (now first in the chain): page 6 only
    tlbFill(t, 0, 1, 2, 7, 3); // mm 2: page 7
    tlbiVaRangeBroadcast(t, 1, 6, 6); // the middle set empties
    expect(tlbCanonical(t, 0)).toEqual([
      [
        1,
        [
          [0, [[5, 1]]],
          [2, [[7, 3]]],
        ],
      ],
    ]);
    // The emptied mm has no entry left: a fill by mm 0 finds only mm 2 as the other owner.
    expect(tlbFill(t, 0, 1, 0, 8, 4)).toBe(2);
    tlbiVaRangeBroadcast(t, 1, 7, 7); // the first set empties
    expect(tlbCanonical(t, 0)).toEqual([
      [
        1,
        [
          [
            0,
            [
              [5, 1],
              [8, 4],
            ],
          ],
        ],
      ],
    ]);
    expect(tlbFill(t, 0, 1, 0, 9, 5)).toBe(-1);
    tlbiVaRangeBroadcast(t, 1, 0, 9); // all of them
    expect([tlbCanonical(t, 0), t.counts]).toEqual([[], [0]]);
    expect(tlbFill(t, 0, 1, 3, 9, 6)).toBe(-1);
  });

  it('ASIDE1IS drops the ASID on every CPU and nothing else', () => {
    const t = setup();
    tlbiAsidBroadcast(t, 1);
    expect(tlbCanonical(t, 0)).toEqual([[2, [[2, [[3, 30]]]]]]);
    expect(tlbCanonical(t, 1)).toEqual([]);
    expect(t.counts).toEqual([1, 0]);
  });

  it('local_flush_tlb_all keeps the outgoing mm under its ASID (mm key 0 included), on this CPU only', () => {
    const t = setup();
    localFlushTlbAll(t, 0, 0, 1);
    expect(tlbCanonical(t, 0)).toEqual([
      [
        1,
        [
          [
            0,
            [
              [SPECULATIVE, 1],
              [1, 11],
              [2, 12],
              [3, 13],
              [4, 14],
              [5, 15],
              [6, 16],
            ],
          ],
        ],
      ],
    ]);
    expect(t.counts).toEqual([7, 1]);
    // The other mm that shared the ASID is gone: mm 0 fills alone now.
    expect(tlbFill(t, 0, 1, 0, 7, 50)).toBe(-1);
    const u = setup();
    localFlushTlbAll(u, 0, 1, 1);
    expect(tlbCanonical(u, 0)).toEqual([
      [
        1,
        [
          [
            1,
            [
              [SPECULATIVE, 20],
              [3, 21],
            ],
          ],
        ],
      ],
    ]);
    expect(u.counts).toEqual([2, 1]);
  });

  it('local_flush_tlb_all with no outgoing mm (TTBR0 never written) or none of its entries empties the CPU', () => {
    for (const [keepMm, keepAsid] of [
      [-1, 0],
      [2, 1],
      [0, 2],
    ]) {
      const t = setup();
      localFlushTlbAll(t, 0, keepMm!, keepAsid!);
      expect([tlbCanonical(t, 0), t.counts], `keep mm ${keepMm} ASID ${keepAsid}`).toEqual([[], [0, 1]]);
    }
  });
});

describe('the capacity bound (TLB_CAPACITY entries per CPU)', () => {
  /** CPU0 holding `n` entries: the walk and pages 0..n-2 of mm 0 under ASID 1; CPU1 one entry. */
  const filled = (n: number) => {
    const t = createTlb(2);
    tlbFill(t, 0, 1, 0, SPECULATIVE, 1);
    for (let pg = 0; pg < n - 1; pg++) tlbFill(t, 0, 1, 0, pg, 2);
    tlbFill(t, 1, 1, 0, 0, 3);
    return t;
  };
  const entries = (t: TlbState, cpu: number) => {
    const c = tlbCanonical(t, cpu) as [number, [number, unknown[]][]][];
    return c.reduce((n, [, sets]) => n + sets.reduce((k, [, es]) => k + es.length, 0), 0);
  };

  it.each([
    [TLB_CAPACITY - 1, TLB_CAPACITY],
    [TLB_CAPACITY, 1],
  ])('%i entries and one more: %i entries', (n, after) => {
    const t = filled(n);
    expect([entries(t, 0), t.counts[0]]).toEqual([n, n]);
    tlbFill(t, 0, 2, 1, 5, 9);
    expect([entries(t, 0), t.counts[0]]).toEqual([after, after]);
    expect(tlbEntriesIn(t, 0, 2, 1, 5, 5)).toEqual([[5, 9]]);
    expect(entries(t, 1)).toBe(1);
  });

  it('a full CPU: a fill of an entry it holds evicts nothing', () => {
    const t = filled(TLB_CAPACITY);
    tlbFill(t, 0, 1, 0, 0, 7);
    tlbFill(t, 0, 1, 0, SPECULATIVE, 7);
    expect([entries(t, 0), t.counts[0]]).toEqual([TLB_CAPACITY, TLB_CAPACITY]);
  });

  it.each([
    ['TLBI VAE1IS of 300 pages', (t: TlbState) => tlbiVaRangeBroadcast(t, 1, 0, 299), 300],
    ['TLBI VAE1IS of 3 pages', (t: TlbState) => tlbiVaRangeBroadcast(t, 1, 10, 12), 3],
    ['TLBI ASIDE1IS', (t: TlbState) => tlbiAsidBroadcast(t, 1), TLB_CAPACITY],
    ['local_flush_tlb_all keeping another mm', (t: TlbState) => localFlushTlbAll(t, 0, 5, 1), TLB_CAPACITY],
  ] as const)('a full CPU after %s has room for exactly the entries it dropped', (_, flush, freed) => {
    const t = filled(TLB_CAPACITY);
    flush(t);
    expect(t.counts[0]).toBe(TLB_CAPACITY - freed);
    for (let i = 0; i < freed; i++) tlbFill(t, 0, 3, 2, i, 9);
    expect(entries(t, 0)).toBe(TLB_CAPACITY);
    tlbFill(t, 0, 3, 2, freed, 10);
    expect(entries(t, 0)).toBe(1);
  });

  it('a full CPU after local_flush_tlb_all keeping the outgoing mm: still full', () => {
    const t = filled(TLB_CAPACITY);
    localFlushTlbAll(t, 0, 0, 1);
    expect(t.counts[0]).toBe(TLB_CAPACITY);
    tlbFill(t, 0, 3, 2, 0, 10);
    expect(entries(t, 0)).toBe(1);
  });
});

describe('canonical form and clone (explore: digests of the visited set)', () => {
  const fills: [number, number, number, number][] = [
    [1, 0, SPECULATIVE, 1],
    [1, 0, 9, 2],
    [1, 0, 4, 3],
    [1, 0, 6, 4],
    [1, 2, SPECULATIVE, 5],
    [1, 1, 4, 6],
    [3, 3, 2, 7],
    [2, 1, 8, 8],
    [2, 1, 1, 9],
  ];
  const build = (order: number[]) => {
    const t = createTlb(1);
    for (const i of order) tlbFill(t, 0, ...(fills[i]!.slice(0, 3) as [number, number, number]), fills[i]![3]);
    return t;
  };

  it('does not depend on fill order (ASIDs, mms sharing an ASID, pages)', () => {
    const forward = tlbCanonical(build([0, 1, 2, 3, 4, 5, 6, 7, 8]), 0);
    expect(forward).toEqual([
      [
        1,
        [
          [
            0,
            [
              [SPECULATIVE, 1],
              [4, 3],
              [6, 4],
              [9, 2],
            ],
          ],
          [1, [[4, 6]]],
          [2, [[SPECULATIVE, 5]]],
        ],
      ],
      [
        2,
        [
          [
            1,
            [
              [1, 9],
              [8, 8],
            ],
          ],
        ],
      ],
      [3, [[3, [[2, 7]]]]],
    ]);
    expect(tlbCanonical(build([8, 7, 6, 5, 4, 3, 2, 1, 0]), 0)).toEqual(forward);
    expect(tlbCanonical(build([6, 5, 3, 0, 8, 2, 4, 1, 7]), 0)).toEqual(forward);
  });

  it('tells apart states that differ in one entry or one fill row', () => {
    const all = tlbCanonical(build([0, 1, 2, 3, 4, 5, 6, 7, 8]), 0);
    for (let drop = 0; drop < fills.length; drop++) {
      const order = [0, 1, 2, 3, 4, 5, 6, 7, 8].filter((i) => i !== drop);
      expect(tlbCanonical(build(order), 0), `without fill ${drop}`).not.toEqual(all);
    }
    const t = build([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    tlbiVaRangeBroadcast(t, 1, 9, 9);
    tlbFill(t, 0, 1, 0, 9, 99);
    expect(tlbCanonical(t, 0)).not.toEqual(all);
  });

  it('a clone is equal to its original and independent of it, both ways', () => {
    const orig = build([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const before = tlbCanonical(orig, 0);
    const copy = cloneTlb(orig);
    expect(tlbCanonical(copy, 0)).toEqual(before);
    expect(copy.counts).toEqual(orig.counts);
    // Writes into the clone's existing sets (a page, a walk, a VA flush) and the chains.
    tlbFill(copy, 0, 1, 0, 5, 50);
    tlbFill(copy, 0, 1, 1, SPECULATIVE, 51);
    tlbFill(copy, 0, 1, 2, 5, 52);
    tlbiVaRangeBroadcast(copy, 2, 1, 1);
    tlbiVaRangeBroadcast(copy, 1, 4, 4);
    expect(tlbCanonical(orig, 0)).toEqual(before);
    expect(orig.counts).toEqual([fills.length]);
    const copy2 = cloneTlb(orig);
    tlbFill(orig, 0, 1, 0, 5, 60);
    tlbFill(orig, 0, 1, 1, SPECULATIVE, 61);
    tlbiVaRangeBroadcast(orig, 1, 9, 9);
    expect(tlbCanonical(copy2, 0)).toEqual(before);
    expect(copy2.counts).toEqual([fills.length]);
  });

  // explore branches by cloning the state: a clone's TLB takes its own TLBI ASIDE1IS (tlbflush.h
  // `flush_tlb_mm`) and fills without touching the original's, in either representation.
  it('a clone of a TLB past SMALL_TLB ASIDs (in a Map) and of one in its arrays: equal, in the same order, independent', () => {
    const t = createTlb(2);
    for (let a = 1; a <= SMALL_TLB + 3; a++) tlbFill(t, 0, a, a, SPECULATIVE, a);
    tlbFill(t, 0, 2, 99, 7, 20); // an alias under ASID 2
    tlbFill(t, 1, 5, 5, SPECULATIVE, 30);
    tlbFill(t, 1, 6, 6, SPECULATIVE, 31);
    tlbFill(t, 1, 7, 7, SPECULATIVE, 32);
    const order = (x: TlbState, cpu: number) => {
      const out: number[] = [];
      forEachAsid(x, cpu, (_, a) => out.push(a));
      return out;
    };
    const before = [tlbCanonical(t, 0), tlbCanonical(t, 1), order(t, 0), order(t, 1), [...t.counts]];
    const c = cloneTlb(t);
    expect([tlbCanonical(c, 0), tlbCanonical(c, 1), order(c, 0), order(c, 1), [...c.counts]]).toEqual(before);
    tlbFill(c, 0, 2, 99, 8, 40); // into a cloned set of the Map
    tlbFill(c, 0, 40, 1, SPECULATIVE, 41);
    tlbFill(c, 1, 5, 6, SPECULATIVE, 42); // a chain in the arrays
    tlbiAsidBroadcast(c, 3);
    tlbiAsidBroadcast(c, 5); // the arrays of the clone close up over the first ASID
    tlbFill(c, 1, 9, 9, SPECULATIVE, 43);
    expect([tlbCanonical(t, 0), tlbCanonical(t, 1), order(t, 0), order(t, 1), [...t.counts]]).toEqual(before);
    expect(order(c, 1)).toEqual([6, 7, 9]);
    expect(tlbOtherMm(t, 1, 5, 5)).toBe(-1);
  });

  it('a clone counts its own entries: a full original and its clone each evict on their own', () => {
    const t = createTlb(1);
    for (let pg = 0; pg < TLB_CAPACITY; pg++) tlbFill(t, 0, 1, 0, pg, 1);
    const c = cloneTlb(t);
    tlbFill(c, 0, 2, 1, 0, 2); // the clone overflows and empties
    expect(tlbCanonical(c, 0)).toEqual([[2, [[1, [[0, 2]]]]]]);
    tlbFill(t, 0, 2, 1, 0, 3); // so does the original, which held as many entries
    expect(tlbCanonical(t, 0)).toEqual([[2, [[1, [[0, 3]]]]]]);
  });
});
