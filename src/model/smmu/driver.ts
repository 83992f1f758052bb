/**
 * Which driver design's parts a step runs where the three SVA designs (`--driver`, docs/kernel-eras.md)
 * differ: the one place the SMMU model reads `c.st.driver`. Each design's behaviour is a part under
 * the kernel name of the release that has it (port.ts {@link SmmuParts}); this file only picks one.
 */
import type { Ctx, SmmuParts } from './port.js';
import type { Master, SmmuModelState } from './state.js';

/**
 * The SVA context allocation of a bind on master `m`'s SMMU: `arm_smmu_mmu_notifier_get`
 * (shared-asid, v5.11-v6.10), the 2023 series' BTM domain on an SMMU whose BTM it uses, else
 * `arm_smmu_sva_domain_alloc` (private-asid, v6.11+; btm-2023 on other SMMUs).
 */
export function svaDomainAllocOf(c: Ctx, m: Master): SmmuParts['arm_smmu_sva_domain_alloc'] {
  if (c.st.driver === 'shared-asid') return c.parts.arm_smmu_mmu_notifier_get;
  if (c.st.driver === 'btm-2023' && c.st.smmus[m.smmu]!.featBtm) return c.parts.arm_smmu_sva_btm_domain_alloc;
  return c.parts.arm_smmu_sva_domain_alloc;
}

/** The release of one SVA bond: `arm_smmu_mmu_notifier_put` (shared-asid), else `arm_smmu_sva_unbind`. */
export function svaUnbindOf(c: Ctx): SmmuParts['arm_smmu_sva_unbind'] {
  return c.st.driver === 'shared-asid' ? c.parts.arm_smmu_mmu_notifier_put : c.parts.arm_smmu_sva_unbind;
}

/** Whether the driver design keeps one ASID map per SMMU (the 2023 BTM series) rather than `arm_smmu_asid_xa`. */
export const perSmmuAsidMaps = (st: Pick<SmmuModelState, 'driver'>): boolean => st.driver === 'btm-2023';

/** Whether the driver design sets ARM_SMMU_FEAT_BTM from IDR0.BTM whatever the era (the 2023 BTM series). */
export const setsFeatBtm = (st: Pick<SmmuModelState, 'driver'>): boolean => st.driver === 'btm-2023';

/** Whether `arm_smmu_alloc_shared_cd` checks its `arm64_mm_context_get` (every design but the 2023 BTM series). */
export const checksSharedCdPin = (st: Pick<SmmuModelState, 'driver'>): boolean => st.driver !== 'btm-2023';
