/**
 * The ASID allocator's mechanisms against hand-computed expectations from
 * arch/arm64/mm/context.c (v5.10) and the numeric facts of its pinning commit.
 */
import { partsFor } from '../src/model/kernel/builtins.js';
import { describe, expect, it } from 'vitest';
import {
  type AllocatorConfig,
  type MmContext,
  PinOutcome,
  Switch,
  createAllocator,
  ctxAsid,
  ctxGen,
  newCounters,
  pinAsid,
  pinOutcome,
  resolveParams,
} from '../src/model/cpu/allocator.js';

function setup(cfg: Partial<AllocatorConfig>) {
  // The spec's hand-computed figures are for a kernel built without CONFIG_UNMAP_KERNEL_AT_EL0
  // unless KPTI is asked for (the TLA+ model has no KPTI); the option's own effect is tested below.
  const c: AllocatorConfig = { cpus: 2, asidBits: 16, kpti: false, variant: 'v5.10', unmapKernelAtEl0: cfg.kpti === true, ...cfg };
  // The version's parts as a system runs them: the base (v5.10) with its design file (examples/designs/allocators/).
  const p = resolveParams(c, partsFor({ allocator: c.variant, driver: 'private-asid', faults: [] }));
  const s = createAllocator(p);
  const n = newCounters();
  const mms = new Map<string, MmContext>();
  const mm = (name: string) => {
    if (!mms.has(name)) mms.set(name, { ctx: 0, pinned: 0 });
    return mms.get(name)!;
  };
  const sw = (cpu: number, name: string) => p.parts.check_and_switch_context(p, s, mm(name), cpu, n);
  const pin = (name: string) => p.parts.arm64_mm_context_get(p, s, mm(name), n);
  const at = (name: string) => [ctxGen(mm(name).ctx), ctxAsid(mm(name).ctx)];
  return { p, s, n, mm, sw, pin, at };
}

describe('check_and_switch_context / new_context', () => {
  it('hands out ASIDs from 1 upwards in generation 1; ASID 0 never', () => {
    const t = setup({});
    t.sw(0, 'a');
    t.sw(1, 'b');
    t.sw(0, 'c');
    expect([t.at('a'), t.at('b'), t.at('c')]).toEqual([
      [1, 1],
      [1, 2],
      [1, 3],
    ]);
    expect(t.n.allocations).toBe(3);
    // A fresh mm (ctx 0) always takes the slow path; an mm of the current generation on a CPU whose
    // active_asids is non-zero takes the fast path.
    t.sw(1, 'a');
    expect(t.n.slowPath).toBe(3);
    expect(t.n.fastPath).toBe(1);
  });

  it("rolls over when the cursor runs off the end, keeping every CPU's active ASID reserved", () => {
    // 2-bit ASIDs: 1..3 allocatable, 2 CPUs.
    const t = setup({ asidBits: 2 });
    t.sw(0, 't1'); // (1,1)
    t.sw(1, 't2'); // (1,2)
    t.sw(1, 't3'); // (1,3); map full
    t.sw(1, 't4'); // rollover: reserved CPU0 = (1,1), CPU1 = (1,3) → t4 gets 2 in generation 2
    expect(t.n.rollovers).toBe(1);
    expect(t.s.generation).toBe(2);
    expect(t.at('t4')).toEqual([2, 2]);
    expect(Array.from(t.s.reserved).map((c) => [ctxGen(c), ctxAsid(c)])).toEqual([
      [1, 1],
      [1, 3],
    ]);
    expect(Array.from(t.s.active)).toEqual([0, t.mm('t4').ctx]);
  });

  it('re-uses an old ASID after a rollover: reserved (a), then still-free (c)', () => {
    const t = setup({ asidBits: 2 });
    t.sw(0, 't1');
    t.sw(1, 't2');
    t.sw(1, 't3');
    t.sw(1, 't4'); // g2: t4 = 2
    t.sw(1, 't3'); // reserved[CPU1] == (1,3) → keeps 3, reservation moved to (2,3)
    expect(t.at('t3')).toEqual([2, 3]);
    expect(t.n.reuseReserved).toBe(1);
    expect(ctxGen(t.s.reserved[1]!)).toBe(2);
    // t2's number 2 was taken by t4 this generation, so t2 needs a fresh one: none left → rollover.
    t.sw(0, 't2');
    expect(t.n.rollovers).toBe(2);
    // Generation 3: reserved CPU0 = (1,1) (never switched since), CPU1 = (2,3) → t2 gets 2.
    expect(t.at('t2')).toEqual([3, 2]);
    // Path (c): an mm whose old number is free in the new generation gets it back without a search.
    const u = setup({ asidBits: 3 });
    for (const m of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) u.sw(0, m); // 1..7
    u.sw(0, 'h'); // rollover → g2, reserved CPU0 = g, CPU1 = 0; h = 1
    expect(u.at('h')).toEqual([2, 1]);
    u.sw(1, 'c'); // 3 is free in g2 → re-used without moving cur_idx
    expect(u.at('c')).toEqual([2, 3]);
    expect(u.n.reuseFree).toBe(1);
    expect(u.s.curIdx).toBe(1);
  });

  it("flushes each CPU's TLB once, at its first slow-path switch after a rollover", () => {
    const t = setup({ asidBits: 2 });
    t.sw(0, 't1');
    t.sw(1, 't2');
    t.sw(1, 't3');
    const f = t.sw(1, 't4'); // rollover on CPU1: CPU1 flushes now
    expect(f & Switch.LocalFlush).toBe(Switch.LocalFlush);
    expect(t.n.localTlbFlushes).toBe(1);
    t.sw(1, 't3'); // CPU1 already flushed
    expect(t.n.localTlbFlushes).toBe(1);
    // CPU0's active_asids was wiped: its next switch is slow even for a current-generation mm, and flushes.
    const g = t.sw(0, 't4');
    expect(g & 1).toBe(1);
    expect(g & Switch.LocalFlush).toBe(Switch.LocalFlush);
    expect(t.n.localTlbFlushes).toBe(2);
  });

  it('KPTI: ASIDs in pairs, even numbers from 2, half the capacity; the pin returns the user half', () => {
    const t = setup({ asidBits: 4, kpti: true, cpus: 4 });
    t.sw(0, 'a');
    t.sw(0, 'b');
    expect([t.at('a')[1], t.at('b')[1]]).toEqual([2, 4]);
    expect(t.p.available).toBe(8);
    expect(t.p.pinLimit.value).toBe(2); // 8 - 4 - 2
    // Spec §5.2 (KPTI): PIN t1 → 3 (ctx ASID 2... here a fresh mm gets ASID 6, user half 7).
    const r = t.pin('c');
    expect(pinAsid(r)).toBe(t.at('c')[1]! | 1);
    expect(t.at('c')[1]! % 2).toBe(0);
    // v1/v2 returned the kernel half (asid & mask) without "| 1".
    const v2 = setup({ asidBits: 4, kpti: true, cpus: 4, variant: 'pin-v2' });
    expect(pinAsid(v2.pin('x'))).toBe(2);
  });
});

describe('arm64_mm_context_get / put (pinning)', () => {
  it('spec §5.2: 4-bit ASIDs, 4 CPUs: the 11th pin fails, re-pin at the limit succeeds, freed number not re-used', () => {
    const t = setup({ asidBits: 4, cpus: 4 });
    expect(t.p.pinLimit.value).toBe(10);
    for (let i = 1; i <= 10; i++) expect(pinAsid(t.pin(`t${i}`))).toBe(i);
    const fail = t.pin('t11');
    expect(pinOutcome(fail)).toBe(PinOutcome.Refused);
    expect(pinAsid(fail)).toBe(0);
    expect(t.mm('t11').ctx).toBe(0); // nothing allocated
    const again = t.pin('t1');
    expect([pinOutcome(again), pinAsid(again)]).toEqual([PinOutcome.Repinned, 1]);
    expect(t.p.parts.arm64_mm_context_put(t.p, t.s, t.mm('t1'))).toBe(true);
    expect(t.s.nrPinned).toBe(10);
    expect(t.p.parts.arm64_mm_context_put(t.p, t.s, t.mm('t1'))).toBe(true);
    expect(t.s.nrPinned).toBe(9);
    expect(t.s.pinnedMap![1]).toBe(0);
    expect(pinAsid(t.pin('t11'))).toBe(11); // 1 is still set in asid_map this generation
    // Unbalanced put: refused, state unchanged.
    expect(t.p.parts.arm64_mm_context_put(t.p, t.s, t.mm('t1'))).toBe(false);
    expect(t.s.nrPinned).toBe(10);
  });

  it('spec §5.2 with KPTI: pins return 3, 5, then 0', () => {
    const t = setup({ asidBits: 4, cpus: 4, kpti: true });
    expect([t.pin('a'), t.pin('b'), t.pin('c')].map(pinAsid)).toEqual([3, 5, 0]);
  });

  it('issue #2: 4 CPUs, 8-bit ASIDs: 250 pins succeed and the 251st fails; 122 with KPTI', () => {
    for (const [kpti, limit] of [
      [false, 250],
      [true, 122],
    ] as const) {
      const t = setup({ asidBits: 8, cpus: 4, kpti });
      for (let i = 0; i < limit; i++) expect(pinOutcome(t.pin(`m${i}`))).toBe(PinOutcome.Pinned);
      expect(pinOutcome(t.pin('one-more'))).toBe(PinOutcome.Refused);
      expect(t.s.nrPinned).toBe(limit);
    }
  });

  it('spec §6: max_pinned_asids for the documented configurations', () => {
    const cases: [number, number, boolean, number][] = [
      [8, 4, false, 250],
      [8, 4, true, 122],
      [8, 2, false, 252],
      [8, 2, true, 124],
      [16, 4, false, 65530],
      [16, 4, true, 32762],
      [4, 4, false, 10],
      [4, 4, true, 2],
      [3, 2, false, 4],
      [3, 2, true, 0],
      [2, 2, false, 0],
    ];
    for (const [asidBits, cpus, kpti, v] of cases) {
      expect(
        resolveParams({ asidBits, cpus, kpti, unmapKernelAtEl0: true, variant: 'v5.10' }).pinLimit.value,
        `${asidBits} bits, ${cpus} CPUs, kpti ${kpti}`,
      ).toBe(v);
    }
    // Underflow (kernel computes in unsigned long): no limit.
    expect(resolveParams({ asidBits: 8, cpus: 127, kpti: true, unmapKernelAtEl0: true, variant: 'v5.10' }).pinLimit.value).toBe(Infinity);
  });

  it('a pinned mm keeps its ASID number across rollovers (pinned map seeds asid_map)', () => {
    const t = setup({ asidBits: 3 });
    t.pin('dev'); // ASID 1, never scheduled
    for (const m of ['a', 'b', 'c', 'd', 'e', 'f']) t.sw(0, m); // 2..7
    t.sw(0, 'g'); // rollover: 1 stays taken by the pin
    expect(t.at('g')[1]).not.toBe(1);
    t.sw(1, 'dev'); // generation refreshed, number kept (path b)
    expect(t.at('dev')).toEqual([2, 1]);
    expect(t.n.reusePinned).toBe(1);
  });

  it('v4.19 has no pinning: every pin fails and the limit is 0', () => {
    const t = setup({ variant: 'v4.19' });
    expect(t.p.pinLimit.value).toBe(0);
    expect(pinOutcome(t.pin('a'))).toBe(PinOutcome.Refused);
    expect(t.s.pinnedMap).toBeNull();
  });
});

/**
 * CONFIG_UNMAP_KERNEL_AT_EL0 (arm64 defconfig: y), apart from whether KPTI is in use at run time.
 * v4.16-v5.5 (0c8ea531b774, asid2idx/idx2asid): with the option built in, the bitmap holds ASID
 * pairs at compile time. v5.6+ (f88f42f853a8): asids_init() calls set_kpti_asid_bits() "because CPU
 * caps are not finalized yet" — odd ASIDs are reserved until flush_context() rebuilds the map from
 * pinned_asid_map (v5.10) or clears it (v5.6-v5.9), which keeps them reserved only if KPTI is in use.
 */
describe('CONFIG_UNMAP_KERNEL_AT_EL0 by allocator era', () => {
  const handOut = (t: ReturnType<typeof setup>, n: number, from = 0) =>
    Array.from({ length: n }, (_, i) => {
      t.sw(0, `m${from + i}`);
      return t.at(`m${from + i}`)[1];
    });

  it('v5.10, option built in, KPTI off: even ASIDs only until the first rollover, then the odd ones too', () => {
    const t = setup({ asidBits: 4, cpus: 2, unmapKernelAtEl0: true, kpti: false });
    expect(handOut(t, 7)).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(t.n.rollovers).toBe(0);
    // The 8th mm finds no even ASID left: rollover; the map is rebuilt from pinned_asid_map (empty),
    // CPU0's active ASID 14 is reserved, so the search from 1 hands out ASID 1.
    expect(handOut(t, 1, 7)).toEqual([1]);
    expect(t.n.rollovers).toBe(1);
    expect(handOut(t, 2, 8)).toEqual([2, 3]);
    // max_pinned_asids uses the run-time decision: 16 - 2 CPUs - 2, not halved.
    expect(t.p.pinLimit.value).toBe(12);
    expect(t.p.available).toBe(16);
  });

  it('v5.10, option not built in: every ASID from 1 in generation 1', () => {
    const t = setup({ asidBits: 4, cpus: 2, unmapKernelAtEl0: false });
    expect(handOut(t, 4)).toEqual([1, 2, 3, 4]);
  });

  it('v5.10 with KPTI in use: even ASIDs in every generation (the pinned map carries the 0xaa pattern)', () => {
    const t = setup({ asidBits: 4, cpus: 2, unmapKernelAtEl0: true, kpti: true });
    expect(handOut(t, 7)).toEqual([2, 4, 6, 8, 10, 12, 14]);
    const after = handOut(t, 3, 7);
    expect(t.n.rollovers).toBe(1);
    for (const a of after) expect(a! % 2).toBe(0);
    expect(t.p.pinLimit.value).toBe(4); // 8 pairs - 2 - 2
  });

  it('v5.6-v5.9 (no pinning): the rollover clears the map unless KPTI is in use', () => {
    const off = setup({ asidBits: 4, cpus: 2, unmapKernelAtEl0: true, kpti: false, variant: 'v5.6' });
    expect(handOut(off, 7)).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(handOut(off, 1, 7)).toEqual([1]);
    const on = setup({ asidBits: 4, cpus: 2, unmapKernelAtEl0: true, kpti: true, variant: 'v5.6' });
    handOut(on, 7);
    for (const a of handOut(on, 3, 7)) expect(a! % 2).toBe(0);
    expect(on.p.pinLimit.value).toBe(0); // no arm64_mm_context_get
  });

  it('v4.19 (pairs): the option halves the space at compile time, in every generation, KPTI or not', () => {
    const t = setup({ asidBits: 4, cpus: 2, unmapKernelAtEl0: true, kpti: false, variant: 'v4.19' });
    expect(t.p.available).toBe(8);
    expect(handOut(t, 7)).toEqual([2, 4, 6, 8, 10, 12, 14]);
    for (const a of handOut(t, 3, 7)) expect(a! % 2).toBe(0);
    expect(t.n.rollovers).toBe(1);
    const plain = setup({ asidBits: 4, cpus: 2, unmapKernelAtEl0: false, variant: 'v4.19' });
    expect(handOut(plain, 3)).toEqual([1, 2, 3]);
  });

  it('KPTI without the option is refused (arm64_kernel_unmapped_at_el0() is false without it)', () => {
    expect(() => resolveParams({ cpus: 2, asidBits: 8, kpti: true, unmapKernelAtEl0: false, variant: 'v5.10' })).toThrow(
      /CONFIG_UNMAP_KERNEL_AT_EL0/,
    );
  });
});

describe('free ASIDs (kept with asid_map, for the pictures)', () => {
  it('equal a count of the bitmap after allocations and rollovers, with and without KPTI', async () => {
    const { freeAsids } = await import('../src/model/cpu/allocator.js');
    for (const kpti of [false, true]) {
      const t = setup({ asidBits: 4, cpus: 2, kpti, unmapKernelAtEl0: true });
      for (let i = 0; i < 40; i++) {
        t.sw(i % 2, `m${i % 13}`);
        const zeros = t.s.asidMap.slice(1).filter((b) => b === 0).length;
        expect(freeAsids(t.s), `kpti ${kpti}, step ${i}`).toBe(zeros);
      }
      expect(t.n.rollovers).toBeGreaterThan(0);
    }
  });
});
