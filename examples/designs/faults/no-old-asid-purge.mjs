// @ts-check
/**
 * `--fault no-old-asid-purge`: the S1 ASID move forgets the TLBI of the old ASID.
 *
 * Removes `arm_smmu_tlb_inv_asid(smmu, asid)` ("Invalidate TLB entries previously associated with
 * that context") from `arm_smmu_share_asid()` (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c,
 * v5.11-v6.10), the third step of moving a DMA domain off the ASID an SVA bind takes: the domain's
 * IOTLB entries stay tagged with the number the mm's shared CD now uses.
 */

/** @type {import('asid-replay/design').Design} */
export default {
  name: 'no-old-asid-purge',
  description: 'arm_smmu_share_asid() moves a DMA domain off an ASID without arm_smmu_tlb_inv_asid() of the old one',
  parts: {
    // Every step of the move runs through arm_smmu_share_asid (a `resume` runs the next one), so the
    // callee is removed inside this caller only: other flushes of the same ASID still happen.
    arm_smmu_share_asid: (base) => (c, step, op) => base({ ...c, parts: { ...c.parts, arm_smmu_tlb_inv_asid: () => {} } }, step, op),
  },
};
