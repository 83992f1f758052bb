// @ts-check
/**
 * `--driver shared-asid`: the SVA of mainline v5.11-v6.10 (drivers/iommu/arm/arm-smmu-v3/
 * arm-smmu-v3-sva.c, from 32784a9562fb "iommu/arm-smmu-v3: Implement iommu_sva_bind/unbind()", v5.11,
 * to d38c28dbefee "iommu/arm-smmu-v3: Put the SVA mmu notifier in the smmu_domain", v6.11, which gave
 * SVA domains private ASIDs).
 *
 * The base parts are v6.11's driver (an SVA domain per mm and SMMU with a private ASID, no pin).
 * This design puts back the shared CD: a bind goes through `arm_smmu_mmu_notifier_get()` ->
 * `arm_smmu_alloc_shared_cd(mm)` (one CD per mm on the CPU ASID, pinned by `arm64_mm_context_get()`;
 * `arm_smmu_share_asid()` moves a DMA domain off that number), and an unbind through
 * `arm_smmu_sva_unbind()` -> `arm_smmu_mmu_notifier_put()` (the (RID domain, mm) notifier's TLBI and ATC_INV, the shared
 * CD freed with its last bond).
 */

/** @type {import('asid-replay/design').Design} */
export default {
  name: 'shared-asid',
  description: 'SVA binds share the CPU ASID through one pinned CD per mm (v5.11-v6.10)',
  parts: {
    arm_smmu_sva_domain_alloc: () => (c, m, sva, op) => c.parts.arm_smmu_mmu_notifier_get(c, m, sva, op),
    arm_smmu_sva_unbind: () => (c, m, ctx, sva) => c.parts.arm_smmu_mmu_notifier_put(c, m, ctx, sva),
  },
};
