/**
 * The 512-page cutoff of the CPU TLB flush, on both sides, and what it sends to an SMMU:
 *
 * - arch/arm64/include/asm/tlbflush.h `__flush_tlb_range` (v4.19 on): `if ((end - start) >=
 *   (MAX_TLBI_OPS * stride)) { flush_tlb_mm(vma->vm_mm); return; }`, MAX_TLBI_OPS = PTRS_PER_PTE =
 *   512 with 4 KiB pages; otherwise one TLBI VAE1IS per page. From v6.6 (A. Popple's "Invalidate
 *   secondary IOMMU TLB on permission upgrade" series) `flush_tlb_mm` calls
 *   `mmu_notifier_arch_invalidate_secondary_tlbs(mm, 0, -1UL)` and the range path calls it with
 *   (start, end); the call is made whether or not the mm ever ran (ASID 0).
 * - arm-smmu-v3-sva.c `arm_smmu_mm_arch_invalidate_secondary_tlbs` (v6.6 on): with RANGE_INV,
 *   `if (size == ULONG_MAX) size = 0;` and size 0 is one TLBI_NH_ASID; otherwise
 *   `arm_smmu_tlb_inv_range_asid`, whose `__arm_smmu_tlb_inv_range` with RANGE_INV sends range
 *   commands of at most 31 x 2^scale pages, scale = __ffs(num_pages): 511 pages = 31 + 15 x 32,
 *   two TLBI_NH_VA; then one CMD_SYNC.
 */
import { describe, expect, it } from 'vitest';
import { run } from './helpers/mini.js';

const L = (...lines: string[]) => lines.join('\n');
const size = (pages: number) => `0x${(pages * 4096).toString(16)}`;

describe('CPU side: TLBI VAE1IS per page below 512 pages, TLBI ASIDE1IS from 512', () => {
  it.each([
    [1, { asid: 0, va: 1 }],
    [511, { asid: 0, va: 511 }],
    [512, { asid: 1, va: 0 }],
    [513, { asid: 1, va: 0 }],
  ])('munmap of %i pages of a running mm', (pages, tlbi) => {
    const r = run({ cpus: 1, asidBits: 8 }, L('fork 1 P', 'sched 0 1', `map P 0x100000 ${size(pages)}`, `unmap P 0x100000 ${size(pages)}`));
    expect(r.churn.tlbi).toEqual(tlbi);
  });
});

describe('v6.12 SVA notifier, SMMU with RANGE_INV: 511 pages are range commands, 512 one TLBI_NH_ASID', () => {
  const sys = {
    kernel: '6.12',
    smmus: [{ name: 'smmu0', asidBits: 16 as const, rangeInvalidation: true }],
    devices: [{ name: 'dev', smmu: 'smmu0' }],
  };
  const added = (head: string, tail: string) => {
    const a = run(sys, head).devices.smmus[0]!.commands;
    const b = run(sys, L(head, tail)).devices.smmus[0]!.commands;
    return { asid: b.CMD_TLBI_NH_ASID - a.CMD_TLBI_NH_ASID, va: b.CMD_TLBI_NH_VA - a.CMD_TLBI_NH_VA, sync: b.CMD_SYNC - a.CMD_SYNC };
  };
  for (const ran of [false, true]) {
    it(`the bound mm ${ran ? 'ran on a CPU' : 'never ran (ASID 0 on the CPU side)'}`, () => {
      for (const [pages, want] of [
        [511, { asid: 0, va: 2, sync: 1 }],
        [512, { asid: 1, va: 0, sync: 1 }],
      ] as const) {
        const head = L('fork 1 P', `map P 0x100000 ${size(pages)}`, 'bind dev P', ...(ran ? ['sched 0 1'] : []));
        expect(added(head, `unmap P 0x100000 ${size(pages)}`), `${pages} pages`).toEqual(want);
      }
    });
  }
});
