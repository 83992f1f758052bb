// @ts-check
/**
 * `--driver btm-2023`: the unmerged 2023 proposal that brings back BTM for SVA, "[PATCH v3 24/27]
 * iommu/arm-smmu-v3: Bring back SVA BTM support" (J. Gunthorpe, Dec 2023, not merged), over the
 * v6.11 driver of the base parts (d38c28dbefee: an SVA domain per mm and SMMU).
 *
 * - `arm_smmu_device_hw_probe()` sets ARM_SMMU_FEAT_BTM from IDR0.BTM (and the reset leaves CR2.PTM
 *   clear): the SMMU snoops the CPU's broadcast TLBIs;
 * - the ASID map is per SMMU, as the VMID map (the series moves `arm_smmu_asid_xa` into the SMMU:
 *   `xa_init_flags(&smmu->asid_map, XA_FLAGS_ALLOC1)`), so the CPU ASID one SMMU takes is free on others;
 * - on an SMMU with FEAT_BTM, `arm_smmu_sva_domain_alloc()` gives the SVA domain the CPU ASID
 *   (`arm_smmu_share_asid(smmu, smmu_domain, mm)`) and sets `btm_invalidation` (the notifier sends no
 *   TLBI); on others, a private ASID as in the base;
 * - `smmu_domain->cd.asid = arm64_mm_context_get(mm)` is not checked: a refused pin gives ASID 0.
 */

/** @type {import('asid-replay/design').Design} */
export default {
  name: 'btm-2023',
  description: 'SVA domains on BTM SMMUs use the CPU ASID, unchecked pin, per-SMMU ASID maps (2023 proposal)',
  parts: {
    arm_smmu_device_hw_probe: (base) => (st) => {
      base(st);
      for (const s of st.smmus) s.featBtm = s.btm;
    },
    arm_smmu_init_structures: (base, api) => (st) => {
      base(st);
      const first = st.pools[0]?.base ?? 1;
      st.pools = st.smmus.map(() => api.xaInit(first));
      st.asidPools = 'per-smmu';
    },
    arm_smmu_sva_domain_alloc: (base) => (c, m, sva, op) =>
      c.st.smmus[m.smmu]?.featBtm ? c.parts.arm_smmu_sva_btm_domain_alloc(c, m, sva, op) : base(c, m, sva, op),
    arm_smmu_alloc_shared_cd: () => (c, sva) => {
      const asid = c.cpu.pin(sva.key, c.row);
      return asid !== 0 ? { asid, pinned: true } : { asid: 0, pinned: false };
    },
  },
};
