// @ts-check
/**
 * `--fault no-purge-on-free`: a freed ASID is erased without its TLBI (and ATC invalidation).
 *
 * Removes, inside the two frees only:
 * - the TLBI_NH_ASID of `arm_smmu_domain_free()` (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c: its
 *   `free_io_pgtable_ops()` -> `arm_smmu_tlb_inv_context()` flushes the ASID before
 *   `arm_smmu_free_asid()` / `xa_erase()`);
 * - in `iommu_sva_unbind_device()`, the ATC_INV of the unbound PASID and the TLBI_NH_ASID of the SVA
 *   context's last user (`arm_smmu_mmu_notifier_put()`'s `arm_smmu_tlb_inv_asid()` and
 *   `arm_smmu_atc_inv_domain()`, v5.11-v6.10; the SVA domain's free from v6.11).
 * The next owner of the ASID (or PASID) can then hit the previous owner's entries.
 */

/** @param {import('asid-replay/design').Ctx} c */
const withoutPurge = (c) => ({ ...c, parts: { ...c.parts, arm_smmu_tlb_inv_asid: () => {}, arm_smmu_atc_inv_domain: () => {} } });

/** @type {import('asid-replay/design').Design} */
export default {
  name: 'no-purge-on-free',
  description: 'domain and SVA-context frees erase the ASID without TLBI_NH_ASID (and the unbind without ATC_INV)',
  parts: {
    arm_smmu_domain_free: (base) => (c, d) => base(withoutPurge(c), d),
    iommu_sva_unbind_device: (base) => (c, device, mm) => base(withoutPurge(c), device, mm),
  },
};
