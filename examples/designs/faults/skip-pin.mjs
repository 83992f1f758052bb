// @ts-check
/**
 * `--fault skip-pin`: the driver puts the mm's CPU ASID in the SVA context without pinning it.
 *
 * Removes the pin of `arm_smmu_alloc_shared_cd()` (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c,
 * v5.11-v6.10: `asid = arm64_mm_context_get(mm); if (!asid) return ERR_PTR(-ESRCH);`, and the
 * unchecked `arm64_mm_context_get()` of the 2023 BTM series): the CD takes the ASID the mm holds now
 * (none: -ESRCH, as a refused pin) and no `arm64_mm_context_put()` is owed. The next rollover can hand
 * that ASID to another mm while the SMMU still tags the first mm's entries with it.
 */

/** @type {import('asid-replay/design').Design} */
export default {
  name: 'skip-pin',
  description: 'arm_smmu_alloc_shared_cd() uses the CPU ASID without arm64_mm_context_get() (no pin)',
  parts: {
    arm_smmu_alloc_shared_cd: () => (c, sva) => {
      const asid = c.cpu.currentAsid(sva.key);
      return asid === 0 ? null : { asid, pinned: false };
    },
  },
};
