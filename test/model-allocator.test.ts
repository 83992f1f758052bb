/**
 * Boundaries of the CPU ASID allocator, on both sides, as arch/arm64/mm/context.c computes them.
 * Every expected figure is worked out by hand from the kernel source named in each test:
 *
 * - v5.10 (48118151d8cc "arm64: mm: Pin down ASIDs for sharing mm with devices"):
 *   `asids_update_limit()`: `max_pinned_asids = num_available_asids - num_possible_cpus() - 2`, with
 *   `num_available_asids = NUM_USER_ASIDS`, halved `if (arm64_kernel_unmapped_at_el0())`, in
 *   `unsigned long`; `arm64_mm_context_get()`: `refcount_inc_not_zero()` first, then
 *   `if (nr_pinned_asids >= max_pinned_asids) { asid = 0; goto out_unlock; }`, and at the end
 *   `if (asid && arm64_kernel_unmapped_at_el0()) asid |= 1;`; `arm64_mm_context_put()`:
 *   `if (refcount_dec_and_test(...)) { __clear_bit(...pinned_asid_map); nr_pinned_asids--; }`.
 * - v5.6 (f88f42f853a8 "arm64: context: Free up kernel ASIDs if KPTI is not in use"): `asids_init()`
 *   does `if (IS_ENABLED(CONFIG_UNMAP_KERNEL_AT_EL0)) set_kpti_asid_bits(asid_map)` (memset 0xaa: the
 *   odd bits); `set_reserved_asid_bits()` at each rollover copies `pinned_asid_map` (v5.10), else
 *   sets the KPTI pattern only `if (arm64_kernel_unmapped_at_el0())`, else clears the map.
 * - v4.16 - v5.5 (0c8ea531b774 "arm64: mm: Allocate ASIDs in pairs"): with the option built in,
 *   `NUM_USER_ASIDS = ASID_FIRST_VERSION >> 1`, `asid2idx(asid) = asid >> 1`, `idx2asid(idx) = idx << 1`.
 */
import { partsFor } from '../src/model/kernel/builtins.js';
import { describe, expect, it } from 'vitest';
import {
  type AllocatorConfig,
  type MmContext,
  PinOutcome,
  Switch,
  createAllocator,
  freeAsids,
  ctxAsid,
  ctxGen,
  newCounters,
  pinAsid,
  pinOutcome,
  resolveParams,
} from '../src/model/cpu/allocator.js';

function setup(cfg: Partial<AllocatorConfig>) {
  const c: AllocatorConfig = { cpus: 1, asidBits: 4, kpti: false, unmapKernelAtEl0: false, variant: 'v5.10', ...cfg };
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
  const pin = (name: string) => {
    const r = p.parts.arm64_mm_context_get(p, s, mm(name), n);
    return [pinOutcome(r), pinAsid(r)] as const;
  };
  const put = (name: string) => p.parts.arm64_mm_context_put(p, s, mm(name));
  const asid = (name: string) => ctxAsid(mm(name).ctx);
  const gen = (name: string) => ctxGen(mm(name).ctx);
  return { p, s, n, mm, sw, pin, put, asid, gen };
}

describe('max_pinned_asids (asids_update_limit, v5.10 48118151d8cc)', () => {
  it('16 ASIDs, 2 CPUs: 16 - 2 - 2 = 12; one more CPU, one less', () => {
    expect(setup({ cpus: 2 }).p.pinLimit.value).toBe(12);
    expect(setup({ cpus: 3 }).p.pinLimit.value).toBe(11);
  });

  it('halved only when KPTI is in use at run time, not for the option alone', () => {
    // num_available_asids /= 2 under arm64_kernel_unmapped_at_el0(): 8 - 2 - 2.
    expect(setup({ cpus: 2, kpti: true, unmapKernelAtEl0: true }).p.pinLimit.value).toBe(4);
    expect(setup({ cpus: 2, kpti: false, unmapKernelAtEl0: true }).p.pinLimit.value).toBe(12);
  });

  it('2018 v2 patch (pairs): NUM_USER_ASIDS is halved by the option at compile time', () => {
    expect(setup({ cpus: 2, variant: 'pin-v2', unmapKernelAtEl0: true }).p.pinLimit.value).toBe(4);
    expect(setup({ cpus: 2, variant: 'pin-v2', unmapKernelAtEl0: false }).p.pinLimit.value).toBe(12);
  });

  it('exactly 0 (4 ASIDs, 2 CPUs): a limit of 0, so even the first pin is refused', () => {
    const t = setup({ asidBits: 2, cpus: 2 });
    expect(t.p.pinLimit.value).toBe(0);
    // nr_pinned_asids (0) >= max_pinned_asids (0): asid = 0.
    expect(t.pin('a')).toEqual([PinOutcome.Refused, 0]);
    expect(t.s.nrPinned).toBe(0);
  });

  it('below 0 (4 ASIDs, 3 CPUs): unsigned long wraps to ULONG_MAX, no pin is ever refused', () => {
    const t = setup({ asidBits: 2, cpus: 3 });
    expect(t.p.pinLimit.value).toBe(Infinity);
    expect(t.pin('a')).toEqual([PinOutcome.Pinned, 1]);
    expect(t.pin('b')).toEqual([PinOutcome.Pinned, 2]);
    expect(t.pin('c')).toEqual([PinOutcome.Pinned, 3]);
  });

  it('allocators without arm64_mm_context_get: limit 0 and every pin refused', () => {
    for (const variant of ['v4.19', 'v5.6'] as const) {
      const t = setup({ variant });
      expect(t.p.pinLimit.value).toBe(0);
      expect(t.pin('a')).toEqual([PinOutcome.Refused, 0]);
      expect(t.put('a')).toBe(false);
    }
  });

  it('a what-if override replaces the kernel figure', () => {
    expect(setup({ maxPinnedOverride: 3 }).p.pinLimit.value).toBe(3);
    expect(setup({ maxPinnedOverride: 0 }).p.pinLimit.value).toBe(0);
  });
});

describe('the max_pinned_asids formula the report prints', () => {
  it('names the available ASIDs, why they are halved, the CPUs and the 2', () => {
    expect(setup({ cpus: 2 }).p.pinLimit.formula).toBe('16 available - 2 CPUs - 2 = 12');
    expect(setup({ cpus: 2, kpti: true, unmapKernelAtEl0: true }).p.pinLimit.formula).toBe(
      '8 available (ASID pairs under KPTI) - 2 CPUs - 2 = 4',
    );
    // The option alone does not halve num_available_asids in v5.10.
    expect(setup({ cpus: 2, unmapKernelAtEl0: true }).p.pinLimit.formula).toBe('16 available - 2 CPUs - 2 = 12');
    expect(setup({ cpus: 2, variant: 'pin-v2', unmapKernelAtEl0: true }).p.pinLimit.formula).toBe(
      '8 available (ASID pairs: CONFIG_UNMAP_KERNEL_AT_EL0) - 2 CPUs - 2 = 4',
    );
    expect(setup({ cpus: 2, variant: 'pin-v2', unmapKernelAtEl0: false }).p.pinLimit.formula).toBe('16 available - 2 CPUs - 2 = 12');
    expect(setup({ asidBits: 2, cpus: 3 }).p.pinLimit.formula).toBe('4 available - 3 CPUs - 2 = -1 -> unsigned underflow (no limit)');
    expect(setup({ maxPinnedOverride: 3 }).p.pinLimit.formula).toBe('3 (what-if override; kernel: 16 available - 1 CPUs - 2)');
    expect(setup({ variant: 'v5.6' }).p.pinLimit.formula).toBe('0');
  });
});

describe('arm64_mm_context_get / arm64_mm_context_put at the limit', () => {
  it('limit 1: the first pin is taken, the second refused; after the put, the next is taken again', () => {
    // 8 ASIDs (3 bits), 5 CPUs: 8 - 5 - 2 = 1.
    const t = setup({ asidBits: 3, cpus: 5 });
    expect(t.p.pinLimit.value).toBe(1);
    expect(t.pin('a')).toEqual([PinOutcome.Pinned, 1]);
    expect(t.s.nrPinned).toBe(1);
    expect(t.pin('b')).toEqual([PinOutcome.Refused, 0]);
    // refcount_inc_not_zero comes before the limit check: a pinned mm is pinned again at the limit.
    expect(t.pin('a')).toEqual([PinOutcome.Repinned, 1]);
    expect(t.mm('a').pinned).toBe(2);
    // The first put only drops the refcount: the slot stays taken.
    expect(t.put('a')).toBe(true);
    expect(t.s.nrPinned).toBe(1);
    expect(t.s.pinnedMap![1]).toBe(1);
    expect(t.pin('b')).toEqual([PinOutcome.Refused, 0]);
    // The last put frees it (pinned_asid_map bit cleared, nr_pinned_asids--), the asid_map bit stays.
    expect(t.put('a')).toBe(true);
    expect(t.s.nrPinned).toBe(0);
    expect(t.s.pinnedMap![1]).toBe(0);
    expect(t.s.asidMap[1]).toBe(1);
    expect(t.mm('a').pinned).toBe(0);
    // b never ran: new_context gives it the next ASID (2), pinned.
    expect(t.pin('b')).toEqual([PinOutcome.Pinned, 2]);
    expect(t.s.pinnedMap![2]).toBe(1);
    // A put without a pin changes nothing.
    expect(t.put('a')).toBe(false);
    expect(t.s.nrPinned).toBe(1);
  });

  it('no free ASID even after the rollover (what-if limit): the pin fails and takes nothing', () => {
    // 2-bit ASIDs, 1 CPU, limit overridden to 4 (the kernel's would be 1): a, b, c pinned on 1, 2, 3.
    const t = setup({ asidBits: 2, cpus: 1, maxPinnedOverride: 4 });
    for (const [m, a] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      expect(t.pin(m)).toEqual([PinOutcome.Pinned, a]);
    // d: nothing free from cur_idx -> rollover; the map is the pinned map {1, 2, 3} plus CPU0's
    // reservation (0, it never ran): the search from 1 finds nothing.
    expect(t.pin('d')).toEqual([PinOutcome.Exhausted, 0]);
    expect(t.n.rollovers).toBe(1);
    expect(t.s.nrPinned).toBe(3);
    expect(t.mm('d')).toEqual({ ctx: 0, pinned: 0 });
  });

  it('a pin of an mm of the current generation keeps its ASID and allocates nothing', () => {
    const t = setup({});
    t.sw(0, 'a'); // ASID 1
    t.sw(0, 'b'); // ASID 2
    const before = t.n.allocations;
    expect(t.pin('a')).toEqual([PinOutcome.Pinned, 1]);
    expect(t.n.allocations).toBe(before);
    expect(t.s.pinnedMap![1]).toBe(1);
  });

  it('a pin of an mm of an old generation runs new_context first (its old number if still free)', () => {
    // 3-bit ASIDs without the option: 1..7; 1 CPU.
    const t = setup({ asidBits: 3, cpus: 1 });
    for (const m of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) t.sw(0, m); // 1..7
    t.sw(0, 'h'); // rollover: generation 2, CPU0's 7 reserved, h = 1
    expect([t.gen('h'), t.asid('h')]).toEqual([2, 1]);
    // c (generation 1, ASID 3): 3 is clear in generation 2's map -> new_context re-uses it.
    expect(t.pin('c')).toEqual([PinOutcome.Pinned, 3]);
    expect([t.gen('c'), t.asid('c')]).toEqual([2, 3]);
    expect(t.s.asidMap[3]).toBe(1);
    expect(t.s.pinnedMap![3]).toBe(1);
  });

  it('the user half (asid | 1) only when KPTI is in use; the option alone returns the even ASID', () => {
    // v5.10, option built in, KPTI in use: ASIDs 2, 4, ...; the pin returns 3.
    const on = setup({ kpti: true, unmapKernelAtEl0: true });
    expect(on.pin('a')).toEqual([PinOutcome.Pinned, 3]);
    expect(on.asid('a')).toBe(2);
    // Option built in, KPTI not in use: generation 1 hands out even ASIDs, returned as they are.
    const off = setup({ kpti: false, unmapKernelAtEl0: true });
    expect(off.pin('a')).toEqual([PinOutcome.Pinned, 2]);
    // The 2018 v2 patch returned the even ASID under KPTI too.
    const v2 = setup({ kpti: true, unmapKernelAtEl0: true, variant: 'pin-v2' });
    expect(v2.pin('a')).toEqual([PinOutcome.Pinned, 2]);
  });
});

describe('the odd ASIDs of CONFIG_UNMAP_KERNEL_AT_EL0 (v5.6 f88f42f853a8, v5.10)', () => {
  // 3-bit ASIDs, 1 CPU: four mms switched in on CPU0 one after the other.
  const four = (t: ReturnType<typeof setup>) => {
    for (const m of ['a', 'b', 'c', 'd']) t.sw(0, m);
    return ['a', 'b', 'c', 'd'].map((m) => [t.gen(m), t.asid(m)]);
  };

  it('option built in, KPTI off: even ASIDs in generation 1, the odd ones from the first rollover on', () => {
    for (const variant of ['v5.6', 'v5.10'] as const) {
      const t = setup({ asidBits: 3, variant, unmapKernelAtEl0: true, kpti: false });
      // asids_init set the odd bits: 2, 4, 6; then none free from cur_idx -> rollover; the map is
      // rebuilt without the KPTI pattern and CPU0's active 6 reserved: the search from 1 finds 1.
      expect(four(t)).toEqual([
        [1, 2],
        [1, 4],
        [1, 6],
        [2, 1],
      ]);
      expect(t.n.rollovers).toBe(1);
    }
  });

  it('KPTI in use: even ASIDs in every generation', () => {
    for (const variant of ['v5.6', 'v5.10'] as const) {
      const t = setup({ asidBits: 3, variant, unmapKernelAtEl0: true, kpti: true });
      expect(four(t)).toEqual([
        [1, 2],
        [1, 4],
        [1, 6],
        [2, 2],
      ]);
    }
  });

  it('option not built in: every ASID from boot', () => {
    const t = setup({ asidBits: 3, variant: 'v5.10', unmapKernelAtEl0: false });
    expect(four(t)).toEqual([
      [1, 1],
      [1, 2],
      [1, 3],
      [1, 4],
    ]);
  });

  it('pairs era with the option: index = asid >> 1, ASIDs 2, 4, 6 and after the rollover 2 again', () => {
    // NUM_USER_ASIDS = 4 pairs; index 0 (ASIDs 0/1) never handed out; idx2asid = idx << 1.
    const t = setup({ asidBits: 3, variant: 'v4.19', unmapKernelAtEl0: true });
    expect(t.p.numIdx).toBe(4);
    expect(four(t)).toEqual([
      [1, 2],
      [1, 4],
      [1, 6],
      [2, 2],
    ]);
    // Pairs era without the option: the full space.
    const u = setup({ asidBits: 3, variant: 'v4.19', unmapKernelAtEl0: false });
    expect(u.p.numIdx).toBe(8);
    expect(four(u).map(([, a]) => a)).toEqual([1, 2, 3, 4]);
  });
});

describe('check_and_switch_context: fast and slow path (v5.10)', () => {
  it('the fast path needs both a non-zero active_asids and an ASID of the current generation', () => {
    // 2-bit ASIDs (1..3), 2 CPUs, no option. tlb_flush_pending is empty at boot.
    const t = setup({ cpus: 2, asidBits: 2 });
    expect(t.sw(0, 'a')).toBe(Switch.Slow | Switch.NewContext); // active 0, a fresh: a = 1
    expect(t.sw(0, 'b')).toBe(Switch.Slow | Switch.NewContext); // active set, b fresh (generation 0): b = 2
    expect(t.sw(0, 'a')).toBe(0); // active set and a of generation 1: fast path
    // CPU1's active_asids is 0: slow path, though a is current; no new_context, a keeps 1.
    expect(t.sw(1, 'a')).toBe(Switch.Slow);
    expect(t.asid('a')).toBe(1);
    expect([t.n.fastPath, t.n.slowPath]).toEqual([1, 3]);
    expect(t.sw(1, 'c')).toBe(Switch.Slow | Switch.NewContext); // c = 3, cur_idx 3
    // d: nothing free from cur_idx: rollover to generation 2; CPU0 (a, 1) and CPU1 (c, 3) reserved;
    // d = 2; CPU1 flushes now.
    expect(t.sw(1, 'd')).toBe(Switch.Slow | Switch.NewContext | Switch.Rollover | Switch.LocalFlush);
    expect([t.gen('d'), t.asid('d')]).toEqual([2, 2]);
    // CPU0: active wiped by the rollover, a of generation 1: new_context finds a reserved on CPU0.
    expect(t.sw(0, 'a')).toBe(Switch.Slow | Switch.NewContext | Switch.LocalFlush);
    expect([t.gen('a'), t.asid('a')]).toEqual([2, 1]);
    expect(t.n.reuseReserved).toBe(1);
    // Back on CPU0, a is current and CPU0's active_asids set: fast path, no second flush.
    expect(t.sw(0, 'd')).toBe(0);
    expect(t.n.localTlbFlushes).toBe(2);
  });
});

describe('free ASIDs left in the generation (asid_map bits clear from index 1)', () => {
  it('ASID 0 is never counted; after a rollover a CPU that never ran sets bit 0 (asid2idx(0))', () => {
    // 2-bit ASIDs, 2 CPUs, no option: 1..3 can be handed out.
    const t = setup({ cpus: 2, asidBits: 2 });
    expect(freeAsids(t.s)).toBe(3);
    t.sw(0, 'a'); // 1
    expect(freeAsids(t.s)).toBe(2);
    t.sw(0, 'b'); // 2
    t.sw(0, 'c'); // 3
    expect(freeAsids(t.s)).toBe(0);
    // Rollover: CPU0 reserves c (3); CPU1 never ran, so flush_context sets asid2idx(0) for it.
    t.sw(0, 'd');
    expect(t.s.asidMap[0]).toBe(1);
    expect(t.asid('d')).toBe(1);
    // Bits 0, 1 and 3 set: only ASID 2 is left.
    expect(freeAsids(t.s)).toBe(1);
  });
});

describe('new_context re-use paths (v5.10 48118151d8cc; pin-v1: pinned tested before reserved)', () => {
  it('pinned and reserved at once: v5.10 takes the reserved path and moves the reservation; pin-v1 does not', () => {
    // 2-bit ASIDs (1..3), 2 CPUs, what-if limit 1 (the kernel formula gives 0 here).
    const go = (variant: 'v5.10' | 'pin-v1') => {
      const t = setup({ variant, cpus: 2, asidBits: 2, maxPinnedOverride: 1 });
      t.sw(0, 'a'); // a = 1 on CPU0
      expect(t.pin('a')).toEqual([PinOutcome.Pinned, 1]);
      t.sw(1, 'b'); // 2
      t.sw(1, 'c'); // 3
      t.sw(1, 'd'); // rollover: reserved CPU0 = (1,1), CPU1 = (1,3); map = pinned {1} + {1, 3}; d = 2
      expect([t.gen('d'), t.asid('d')]).toEqual([2, 2]);
      t.sw(1, 'a'); // a of generation 1 on CPU1: new_context
      expect([t.gen('a'), t.asid('a')]).toEqual([2, 1]);
      return t;
    };
    const v510 = go('v5.10');
    expect([v510.n.reuseReserved, v510.n.reusePinned]).toEqual([1, 0]);
    expect(ctxGen(v510.s.reserved[0]!)).toBe(2); // check_update_reserved_asid moved CPU0's copy
    const v1 = go('pin-v1');
    expect([v1.n.reuseReserved, v1.n.reusePinned]).toEqual([0, 1]);
    expect(ctxGen(v1.s.reserved[0]!)).toBe(1); // the stale copy the TLA+ model found
  });

  it('pinned only: both orders take the pinned path', () => {
    for (const variant of ['v5.10', 'pin-v1'] as const) {
      // 2-bit ASIDs, 1 CPU: limit 4 - 1 - 2 = 1.
      const t = setup({ variant, cpus: 1, asidBits: 2 });
      t.sw(0, 'a'); // 1
      t.pin('a');
      t.sw(0, 'b'); // 2
      t.sw(0, 'c'); // 3
      t.sw(0, 'd'); // rollover: reserved CPU0 = c (3), pinned 1; d = 2
      t.sw(0, 'a'); // not reserved, pinned: keeps 1
      expect([t.gen('a'), t.asid('a')]).toEqual([2, 1]);
      expect([t.n.reuseReserved, t.n.reusePinned, t.n.reuseFree]).toEqual([0, 1, 0]);
    }
  });

  it('still free: __test_and_set_bit takes the old number and it is no longer free', () => {
    const t = setup({ asidBits: 3, cpus: 1 });
    for (const m of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) t.sw(0, m); // 1..7
    t.sw(0, 'h'); // rollover: reserved CPU0 = g (7); h = 1
    expect(freeAsids(t.s)).toBe(5); // 2..6
    t.sw(0, 'c'); // 3 is clear: re-used
    expect([t.gen('c'), t.asid('c'), t.n.reuseFree]).toEqual([2, 3, 1]);
    expect(freeAsids(t.s)).toBe(4);
  });
});
