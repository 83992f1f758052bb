// @ts-check
/**
 * `--fault no-release-tlbi`: `arm_smmu_mm_release()` installs the quiet CD but flushes nothing.
 *
 * Removes `arm_smmu_tlb_inv_asid(smmu_domain->smmu, smmu_mn->cd->asid)` and
 * `arm_smmu_atc_inv_domain(smmu_domain, mm->pasid, 0, 0)` from `arm_smmu_mm_release()`
 * (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c, v5.11-v6.10; `arm_smmu_mm_release` of the SVA
 * domain from v6.11): the entries of the exiting mm outlive it in the IOTLB and the ATCs.
 */

/** @type {import('asid-replay/design').Design} */
export default {
  name: 'no-release-tlbi',
  description: 'arm_smmu_mm_release() skips TLBI_NH_ASID and ATC_INV',
  parts: {
    arm_smmu_mm_release: (base) => (c, mm) =>
      base({ ...c, parts: { ...c.parts, arm_smmu_tlb_inv_asid: () => {}, arm_smmu_atc_inv_domain: () => {} } }, mm),
  },
};
