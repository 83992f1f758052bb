/**
 * arm_smmu_share_asid() (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c, v5.12 - v6.10) when the
 * CPU ASID of the mm is held by a DMA domain, on both sides of a full ASID space:
 *
 *   ret = xa_alloc(&arm_smmu_asid_xa, &new_asid, cd, XA_LIMIT(1, (1 << smmu->asid_bits) - 1), GFP_KERNEL);
 *   if (ret)
 *       return ERR_PTR(-ENOSPC);
 *
 * and arm_smmu_alloc_shared_cd() then takes `out_free_cd` -> `out_put_context`:
 * arm64_mm_context_put(mm), so the pin taken for the bind is dropped. With one ASID free the domain
 * moves there (cd->asid = new_asid, CD rewritten, TLBI of the old ASID, xa_erase) and the bind goes on.
 * Kernel 6.1, one SMMU with 8-bit ASIDs, 8-bit CPU ASIDs without CONFIG_UNMAP_KERNEL_AT_EL0: the
 * first mm scheduled gets CPU ASID 1, which the first DMA domain got from xa_alloc over [1, 255].
 */
import { describe, expect, it } from 'vitest';
import { failures, run } from './helpers/mini.js';

function story(domains: number) {
  const devices = [{ name: 'sva', smmu: 'smmu0' }, ...Array.from({ length: domains }, (_, i) => ({ name: `d${i + 1}`, smmu: 'smmu0' }))];
  const lines = [...Array.from({ length: domains }, (_, i) => `attach d${i + 1} dom${i + 1}`), 'fork 1 P', 'sched 0 1', 'bind sva P'];
  return {
    r: run({ kernel: '6.1', asidBits: 8, smmus: [{ name: 'smmu0', asidBits: 8 }], devices }, lines.join('\n')),
    bindRow: domains + 3,
  };
}

describe('moving a DMA domain off the CPU ASID of the mm being bound', () => {
  it('255 domains hold [1, 255]: -ENOSPC, and the pin is put back', () => {
    const { r, bindRow } = story(255);
    expect(failures(r)).toEqual([[bindRow, 'bind', 'ENOSPC']]);
    expect(r.pins).toMatchObject({ requests: 1, pinned: 1, unpins: 1 });
    expect(r.devices.smmus[0]).toMatchObject({ asidsAllocated: 255, asidsMoved: 0, bindFailures: 1 });
    expect(r.devices.smmus[0]!.commands.CMD_TLBI_NH_ASID).toBe(0);
  });

  it('254 domains: the domain on ASID 1 moves to 255, its old ASID is flushed, the bind succeeds and keeps its pin', () => {
    const { r } = story(254);
    expect(failures(r)).toEqual([]);
    expect(r.pins).toMatchObject({ requests: 1, pinned: 1, unpins: 0 });
    expect(r.devices.smmus[0]).toMatchObject({ asidsMoved: 1, bindFailures: 0 });
    // arm_smmu_tlb_inv_asid(smmu, asid) of the old ASID: one TLBI_NH_ASID.
    expect(r.devices.smmus[0]!.commands.CMD_TLBI_NH_ASID).toBe(1);
  });
});
