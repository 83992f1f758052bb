/**
 * Answers that differ between mainline releases, each hand-derived from the kernel source of both
 * sides of the commit that changed it (file, function, commit, first release):
 *
 * - mm/mmu_gather.c `tlb_flush_mmu_tlbonly` and mm/mmu_notifier.c `mn_hlist_invalidate_end` both call
 *   `->invalidate_range` before v6.6; ec8832d007cb and 6bbd42e2df8f (v6.6) moved the one call to
 *   arm64's `__flush_tlb_range` (arch_invalidate_secondary_tlbs).
 * - arm-smmu-v3-sva.c `arm_smmu_mm_invalidate_range`: `size = end - start + 1` from 2f7e8c553e98
 *   (v5.11) until 95d4782c34a6 (v5.18); arm-smmu-v3.c `__arm_smmu_tlb_inv_range` loops
 *   `while (iova < end)`.
 * - eb6c97647be2 (v6.6): non-leaf range commands bump `num_pages` when `(num_pages & 31) == 1`.
 * - d38c28dbefee (v6.11) .. 12f78021973a (v6.15): the SVA domain's pgsize_bitmap is 0.
 * - arm_smmu_domain_finalise_s1: `arm_smmu_bitmap_alloc` (-ENOSPC, per SMMU, from ASID 0) until
 *   0299a1a81ca0 (v5.8), then `xa_alloc` over [1, 2^bits - 1] (-EBUSY).
 * - arm_smmu_attach_dev, domain of another SMMU: -ENXIO until f4a147735793 (v6.2), -EINVAL after;
 *   v6.15 returns 0 (48e7b8e284e5) until be5a2d3f8f97 (v6.16).
 * - iommu_sva_alloc_pasid: `mm->pasid >= max` from 701fac40384f (v5.18) until 4e14176ab13f (v6.4).
 */
import { describe, expect, it } from 'vitest';
import type { SystemInput } from '../src/trace/system.js';
import { failures, kinds, mini, run, stale } from './helpers/mini.js';
import { createSystem, step } from '../src/model/system.js';
import { resolveSystem } from '../src/trace/system.js';
import { ReportCollector } from '../src/report/report.js';

const L = (...lines: string[]) => lines.join('\n');
const smmu = (extra: object = {}) => ({ name: 'smmu0', asidBits: 16 as const, ...extra });
const dev = (name: string, s = 'smmu0', extra: object = {}) => ({ name, smmu: s, ...extra });
const sys = (kernel: string, extra: SystemInput = {}): SystemInput => ({ kernel, smmus: [smmu()], devices: [dev('dev')], ...extra });

/** Commands by opcode on SMMU 0 that `tail` adds after `head`. */
function commandsOf(system: SystemInput, head: string, tail: string) {
  const a = run(system, head).devices.smmus[0]!.commands;
  const b = run(system, L(head, tail)).devices.smmus[0]!.commands;
  return Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v - a[k as keyof typeof a]]));
}

describe('a two-page munmap of a bound mm, counted per opcode from the source of each era', () => {
  // One ATS master with one StreamID, no RANGE_INV: each notifier call is arm_smmu_tlb_inv_range_asid
  // (one TLBI_NH_VA per 4 KiB of `size`, one batch, one CMD_SYNC) then arm_smmu_atc_inv_domain (one
  // CMD_ATC_INV per StreamID of each ATS master, one CMD_SYNC).
  const s = (kernel: string) => sys(kernel, { devices: [dev('dev', 'smmu0', { ats: true, streamIds: [3] })] });
  const head = L('fork 1 P', 'map P 0x10000 0x2000', 'bind dev P', 'sched 0 1', 'dma dev 1 0x10000');
  const munmap = 'unmap P 0x10000 0x2000';
  it.each([
    // v5.12-v5.17: two calls (tlb_flush_mmu_tlbonly, then invalidate_range_end), size = 2 pages + 1 byte: 3 TLBIs each.
    ['5.12', { CMD_TLBI_NH_VA: 6, CMD_ATC_INV: 2, CMD_SYNC: 4 }],
    ['5.17', { CMD_TLBI_NH_VA: 6, CMD_ATC_INV: 2, CMD_SYNC: 4 }],
    // v5.18-v6.5: two calls, size = end - start: 2 TLBIs each.
    ['5.18', { CMD_TLBI_NH_VA: 4, CMD_ATC_INV: 2, CMD_SYNC: 4 }],
    ['6.5', { CMD_TLBI_NH_VA: 4, CMD_ATC_INV: 2, CMD_SYNC: 4 }],
    // v6.6 on: one call, from __flush_tlb_range.
    ['6.6', { CMD_TLBI_NH_VA: 2, CMD_ATC_INV: 1, CMD_SYNC: 2 }],
    ['6.12', { CMD_TLBI_NH_VA: 2, CMD_ATC_INV: 1, CMD_SYNC: 2 }],
    ['7.0', { CMD_TLBI_NH_VA: 2, CMD_ATC_INV: 1, CMD_SYNC: 2 }],
  ])('%s: %o', (kernel, want) => {
    expect(commandsOf(s(kernel), head, munmap)).toEqual({ CMD_CFGI_STE: 0, CMD_CFGI_CD: 0, CMD_TLBI_NH_ASID: 0, ...want });
  });
  it('two StreamIDs: one CMD_ATC_INV per StreamID per call (6.1: 4, 6.6: 2)', () => {
    const two = (kernel: string) => sys(kernel, { devices: [dev('dev', 'smmu0', { ats: true, streamIds: [3, 4] })] });
    expect(commandsOf(two('6.1'), head, munmap).CMD_ATC_INV).toBe(4);
    expect(commandsOf(two('6.6'), head, munmap).CMD_ATC_INV).toBe(2);
  });
  it('an munmap of pages that were never mapped again (no PTE cleared, no VMA): no CPU flush, no notifier call', () => {
    const t = L(head, munmap);
    for (const kernel of ['6.1', '6.6']) {
      expect(commandsOf(s(kernel), t, munmap), kernel).toEqual({
        CMD_CFGI_STE: 0,
        CMD_CFGI_CD: 0,
        CMD_TLBI_NH_ASID: 0,
        CMD_TLBI_NH_VA: 0,
        CMD_ATC_INV: 0,
        CMD_SYNC: 0,
      });
    }
    expect(run(s('6.6'), L(t, munmap)).churn.tlbi.va).toBe(run(s('6.6'), t).churn.tlbi.va);
  });
  it('before v6.6 the two calls cover different ranges: the cleared PTEs, then the whole munmap range', () => {
    // Page 0x11000 was already unmapped: tlb->start/end covers page 0x10000 only (1 TLBI), the
    // invalidate_range_end call the whole [0x10000, 0x12000) (2 TLBIs); v6.6: the flushed page only.
    const t = L('fork 1 P', 'map P 0x10000 0x2000', 'bind dev P', 'sched 0 1', 'unmap P 0x11000 0x1000');
    expect(commandsOf(s('6.1'), t, munmap).CMD_TLBI_NH_VA).toBe(3);
    expect(commandsOf(s('6.6'), t, munmap).CMD_TLBI_NH_VA).toBe(1);
  });
});

describe('v5.11-v5.17: arm_smmu_mm_invalidate_range passes size = end - start + 1 (fixed by 95d4782c34a6, v5.18)', () => {
  const t = L('fork 1 P', 'map P 0x10000 0x2000', 'bind dev P', 'sched 0 1', 'dma dev 1 0x10000', 'dma dev 1 0x12000');
  it('without RANGE_INV: one TLBI_NH_VA too many per call, for the page after the range (its entry goes too)', () => {
    const r = run(sys('5.17'), L(t, 'unmap P 0x10000 0x2000'));
    // Two calls of 3 pages each; the entry of page 0x12000 (still mapped) is removed as well.
    expect(r.devices.smmus[0]!.tlbiVa).toBe(6);
    expect(run(sys('5.18'), L(t, 'unmap P 0x10000 0x2000')).devices.smmus[0]!.tlbiVa).toBe(4);
    const again = (k: string) => run(sys(k), L(t, 'unmap P 0x10000 0x2000', 'dma dev 1 0x12000')).devices.smmus[0]!.hits;
    expect(again('5.17')).toBe(0);
    expect(again('5.18')).toBe(1);
    expect(r.violations).toEqual([]);
  });
  it('with RANGE_INV: __arm_smmu_tlb_inv_range never leaves its loop: inv-range-hang, the invalidation never happens', () => {
    const s = (kernel: string) => sys(kernel, { smmus: [smmu({ rangeInvalidation: true })] });
    const r = run(s('5.17'), L(t, 'unmap P 0x10000 0x2000', 'dma dev 1 0x10000'));
    expect(kinds(r)).toEqual([[7, 'inv-range-hang']]);
    expect(r.violations[0]!.detail).toContain('95d4782c34a6');
    expect(r.violations[0]!.detail).toContain('__arm_smmu_tlb_inv_range');
    // No command was issued for it, so the entry of the unmapped page is stale.
    expect(r.devices.smmus[0]!.tlbiVa).toBe(0);
    expect(stale(r)).toEqual([
      [7, 'S-UNMAP', true],
      [8, 'S-UNMAP', false],
    ]);
    expect(r.stale.findings[0]!.detail).toContain('inv-range-hang');
    const fixed = run(s('5.18'), L(t, 'unmap P 0x10000 0x2000', 'dma dev 1 0x10000'));
    expect(fixed.violations).toEqual([]);
    expect(fixed.stale.total).toBe(0);
    // 2 pages = one range command (scale 1, num 1) per call, two calls.
    expect(fixed.devices.smmus[0]!.tlbiVa).toBe(2);
  });
  it('an SMMU whose contexts rely on BTM sends no TLBI: no hang (rfc-btm-2023 is not affected, the fix predates it)', () => {
    const r = run(sys('5.12', { smmus: [smmu({ rangeInvalidation: true })] }), L('fork 1 P', 'bind dev P', 'sched 0 1'));
    expect(r.violations).toEqual([]);
  });
});

describe('v6.5 | v6.6: non-leaf range commands (eb6c97647be2)', () => {
  // 33 pages = 0b100001: 6.5 builds (scale 0, num 1) and (scale 5, num 1): two commands per call.
  // 6.6 bumps num_pages to 34 = 0b100010: (scale 1, num 17): one command, one page more.
  const s = (kernel: string) => sys(kernel, { smmus: [smmu({ rangeInvalidation: true })] });
  const head = L('fork 1 P', 'map P 0x100000 0x22000', 'bind dev P', 'sched 0 1', 'dma dev 1 0x121000');
  it('6.5: 2 commands in each of the two calls; 6.6: 1 command, and page 34 goes too', () => {
    expect(commandsOf(s('6.5'), head, 'unmap P 0x100000 0x21000').CMD_TLBI_NH_VA).toBe(4);
    expect(commandsOf(s('6.6'), head, 'unmap P 0x100000 0x21000').CMD_TLBI_NH_VA).toBe(1);
    const hits = (k: string) => run(s(k), L(head, 'unmap P 0x100000 0x21000', 'dma dev 1 0x121000')).devices.smmus[0]!.hits;
    expect(hits('6.5')).toBe(1);
    expect(hits('6.6')).toBe(0);
  });
  it('32 pages (not 1 modulo 32) are not bumped: one command on both sides', () => {
    expect(commandsOf(s('6.6'), head, 'unmap P 0x100000 0x20000').CMD_TLBI_NH_VA).toBe(1);
  });
  it('a DMA-domain unmap is a leaf invalidation: never bumped (33 pages, 2 commands)', () => {
    const d = L('attach dev D', 'dmap D 0x100000 0x21000');
    expect(commandsOf(s('6.6'), d, 'dunmap D 0x100000 0x21000').CMD_TLBI_NH_VA).toBe(2);
  });
});

describe('v6.11-v6.14: the SVA domain has no pgsize_bitmap (d38c28dbefee .. 12f78021973a, v6.15)', () => {
  const s = (kernel: string, range = true) => sys(kernel, { smmus: [smmu({ rangeInvalidation: range })] });
  const t = L(
    'fork 1 P',
    'map P 0x10000 0x2000',
    'bind dev P',
    'sched 0 1',
    'dma dev 1 0x10000',
    'unmap P 0x10000 0x2000',
    'dma dev 1 0x10000',
  );
  it('6.14 with RANGE_INV: the range command carries TG 64 KiB, the 4 KiB entry survives the munmap', () => {
    const r = run(s('6.14'), t);
    expect(stale(r)).toEqual([
      [6, 'S-UNMAP', true],
      [7, 'S-UNMAP', false],
    ]);
    expect(r.stale.findings[0]!.detail).toContain('12f78021973a');
    expect(r.devices.smmus[0]!.tlbiVa).toBe(1);
  });
  it.each(['6.10', '6.15', '7.0'])('%s with RANGE_INV: clean', (kernel) => {
    expect(run(s(kernel), t).stale.total).toBe(0);
  });
  it('6.14 without RANGE_INV (one TLBI_NH_VA per page, no TG): clean', () => {
    expect(run(s('6.14', false), t).stale.total).toBe(0);
  });
  it('6.14: a munmap of 512 pages or more is a whole-ASID flush (flush_tlb_mm): clean', () => {
    const big = L('fork 1 P', 'bind dev P', 'sched 0 1', 'dma dev 1 0x10000', 'unmap P 0x0 0x200000', 'dma dev 1 0x10000');
    expect(run(s('6.14'), big).stale.total).toBe(0);
  });
});

describe('mprotect (change_protection) and a fault that raises rights (ptep_set_access_flags)', () => {
  const head = L('fork 1 P', 'map P 0x10000 0x2000 r', 'bind dev P', 'sched 0 1', 'dma dev 1 0x10000 r');
  it('a fault before v6.6 never reaches the SMMU: the device keeps its read-only entry (S-PERM at the write)', () => {
    const t = L(head, 'map P 0x10000 0x1000 rw', 'dma dev 1 0x10000 w');
    expect(stale(run(sys('6.5'), t))).toEqual([[7, 'S-PERM', false]]);
    expect(run(sys('6.6'), t).stale.total).toBe(0);
  });
  it('an mprotect that raises rights reaches the SMMU in every era that binds: no S-PERM', () => {
    const t = L(head, 'mprotect P 0x10000 0x1000 rw', 'dma dev 1 0x10000 w');
    for (const k of ['5.12', '5.18', '6.1', '6.5', '6.6', '6.12']) expect(run(sys(k), t).stale.total, k).toBe(0);
  });
  it('mprotect notifier calls: 1 (range_end) before v6.0, 2 (range_end and the mmu_gather flush) v6.0-v6.5, 1 from v6.6', () => {
    const tlbi = (k: string) => commandsOf(sys(k), head, 'mprotect P 0x10000 0x2000 rw').CMD_TLBI_NH_VA;
    expect(tlbi('5.19')).toBe(2);
    expect(tlbi('6.0')).toBe(4);
    expect(tlbi('6.5')).toBe(4);
    expect(tlbi('6.6')).toBe(2);
  });
  it('an mprotect that changes nothing: the notifier range still runs before v6.6 (no flush), nothing from v6.6', () => {
    const same = 'mprotect P 0x10000 0x2000 r';
    expect(commandsOf(sys('6.5'), head, same).CMD_TLBI_NH_VA).toBe(2);
    expect(commandsOf(sys('6.6'), head, same).CMD_TLBI_NH_VA).toBe(0);
    expect(run(sys('6.6'), L(head, same)).churn.tlbi.va).toBe(run(sys('6.6'), head).churn.tlbi.va);
  });
  it('mprotect lowers rights without a new mapping: a write then faults, nothing stale, in every era', () => {
    const t = L('fork 1 P', 'bind dev P', 'sched 0 1', 'dma dev 1 0x10000 w', 'mprotect P 0x10000 0x1000 r', 'dma dev 1 0x10000 w');
    for (const k of ['5.12', '6.5', '6.6', '6.12']) {
      const r = run(sys(k), t);
      expect(r.stale.total, k).toBe(0);
      expect(r.devices.smmus[0]!.faults, k).toBe(1);
    }
  });
  it('mprotect of pages that are not mapped changes nothing and maps nothing', () => {
    const r = run({}, L('fork 1 P', 'unmap P 0x10000 0x1000', 'sched 0 1', 'mprotect P 0x10000 0x1000 rw', 'access 0 0x10000'));
    expect(r.churn.faults).toBe(1);
  });
  it('CPU flush of an mprotect: the whole range before v6.0 (flush_tlb_range), the changed PTEs from v6.0 (mmu_gather)', () => {
    // Pages 0x10000 (r) and 0x11000 (rw): only the first changes.
    const head = L('fork 1 P', 'map P 0x10000 0x1000 r', 'sched 0 1');
    const t = L(head, 'mprotect P 0x10000 0x2000 rw');
    const va = (k: string) => run({ kernel: k }, t).churn.tlbi.va - run({ kernel: k }, head).churn.tlbi.va;
    expect(va('5.19')).toBe(2);
    expect(va('6.0')).toBe(1);
  });
});

describe('errnos of the SMMU driver per era', () => {
  const two = { smmus: [smmu(), { name: 'smmu1', asidBits: 16 as const }], devices: [dev('d0'), dev('d1', 'smmu1')] };
  it('a domain of another SMMU: -ENXIO up to 6.1, -EINVAL from 6.2 (f4a147735793)', () => {
    const t = L('attach d0 D', 'attach d1 D');
    expect(failures(run({ kernel: '6.1', ...two }, t))).toEqual([[2, 'attach', 'ENXIO']]);
    expect(failures(run({ kernel: '4.19', ...two }, t))).toEqual([[2, 'attach', 'ENXIO']]);
    expect(failures(run({ kernel: '6.2', ...two }, t))).toEqual([[2, 'attach', 'EINVAL']]);
    expect(failures(run({ kernel: '6.14', ...two }, t))).toEqual([[2, 'attach', 'EINVAL']]);
    expect(failures(run({ kernel: '6.16', ...two }, t))).toEqual([[2, 'attach', 'EINVAL']]);
  });
  it('6.15 (48e7b8e284e5): the attach returns 0 and attaches nothing; d1 keeps its domain', () => {
    const t = L('attach d1 E', 'dmap E 0x1000 0x1000', 'attach d0 D', 'attach d1 D', 'dma d1 - 0x1000');
    const r = run({ kernel: '6.15', ...two }, t);
    expect(failures(r)).toEqual([]);
    expect(r.devices.smmus[1]!.fills).toBe(1);
    expect(r.devices.smmus[1]!.faults).toBe(0);
  });
  it('DMA-domain ASIDs exhausted: -ENOSPC from the per-SMMU bitmap up to 5.7, -EBUSY from xa_alloc from 5.8', () => {
    // 2-bit... SMMU ASIDs are 8 or 16 bits: fill 8-bit space with 256 domains (bitmap: 0..255) or 255 (xa: 1..255).
    const small = { smmus: [{ name: 'smmu0', asidBits: 8 as const }], devices: Array.from({ length: 257 }, (_, i) => dev(`d${i}`)) };
    const t = (n: number) => L(...Array.from({ length: n }, (_, i) => `attach d${i} D${i}`));
    expect(failures(run({ kernel: '5.7', ...small }, t(256)))).toEqual([]);
    expect(failures(run({ kernel: '5.7', ...small }, t(257)))).toEqual([[257, 'attach', 'ENOSPC']]);
    expect(failures(run({ kernel: '5.8', ...small }, t(255)))).toEqual([]);
    expect(failures(run({ kernel: '5.8', ...small }, t(256)))).toEqual([[256, 'attach', 'EBUSY']]);
  });
  it('before 5.8 each SMMU has its own ASID map starting at 0; from 5.8 one global space from 1', () => {
    const asids = (kernel: string) => {
      const m = createSystem(resolveSystem({ kernel, ...two }, {}));
      const obs = new ReportCollector(2);
      for (const e of mini(L('attach d0 D', 'attach d1 E'))) step(m, e, obs);
      return [m.smmu.domains.get('D')!.asid, m.smmu.domains.get('E')!.asid];
    };
    expect(asids('5.7')).toEqual([0, 0]);
    expect(asids('5.8')).toEqual([1, 2]);
  });
  it('v6.11+: a private SVA ASID that xa_alloc cannot find is -EBUSY', () => {
    const small = {
      smmus: [{ name: 'smmu0', asidBits: 8 as const }],
      devices: [dev('d'), ...Array.from({ length: 255 }, (_, i) => dev(`x${i}`))],
    };
    const t = L(...Array.from({ length: 255 }, (_, i) => `attach x${i} D${i}`), 'fork 1 P', 'bind d P');
    expect(failures(run({ kernel: '6.12', asidBits: 8, ...small }, t))).toEqual([[257, 'bind', 'EBUSY']]);
  });
});

describe('iommu_sva_alloc_pasid: the device highest PASID (701fac40384f, v5.18 .. 4e14176ab13f, v6.4)', () => {
  // A 2-bit PASID device takes PASIDs 1..3. The mm gets PASID 3 on its first bind (asked for), then
  // binds a second device of the same width: v5.18-v6.3 test `mm->pasid >= max` with max = 3.
  const s = (kernel: string) => sys(kernel, { devices: [dev('a', 'smmu0', { pasidBits: 2 }), dev('b', 'smmu0', { pasidBits: 2 })] });
  const t = L('fork 1 P', 'bind a P 3', 'bind b P');
  it.each([
    ['5.17', []],
    ['5.18', [[3, 'bind', 'EOVERFLOW']]],
    ['6.1', [[3, 'bind', 'EOVERFLOW']]],
    ['6.3', [[3, 'bind', 'EOVERFLOW']]],
    ['6.4', []],
    ['6.12', []],
  ])('%s: %j', (kernel, want) => {
    expect(failures(run(s(kernel), t))).toEqual(want);
  });
  it('PASID 2 (below the highest) is accepted on 6.1', () => {
    expect(failures(run(s('6.1'), L('fork 1 P', 'bind a P 2', 'bind b P')))).toEqual([]);
  });
});
