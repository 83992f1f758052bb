/**
 * The SMMUv3/SVA kernel functions of the model as replaceable parts, under their kernel names
 * ({@link SmmuParts} in port.ts; docs/designs.md lists each with its source). The model calls every
 * one through `c.parts`, never directly, so a design's replacement is what runs.
 */
import { attach, detach, domainFinaliseS1, domainFree, iommuMap, iommuUnmap, writeDomainCd } from './domains.js';
import { atcInv, tlbiNhAsid, tlbiNhVa } from './iotlb.js';
import { cpuBroadcastTlbi, mmRelease, notifierInvalidate } from './notifier.js';
import type { SmmuParts } from './port.js';
import { deviceHwProbe, initStructures } from './init.js';
import { allocSharedCdAsid, mmuNotifierGet, shareAsidStep, svaBtmDomainAlloc, svaDomainAlloc } from './share-asid.js';
import { bind, mmPasid, mmuNotifierPut, svaUnbind, unbind } from './sva.js';

export type { SmmuParts };

/** The SMMU/SVA parts as the model has them. */
export const SMMU_PARTS: SmmuParts = Object.freeze({
  arm_smmu_device_hw_probe: deviceHwProbe,
  arm_smmu_init_structures: initStructures,
  arm_smmu_attach_dev: attach,
  arm_smmu_domain_finalise_s1: domainFinaliseS1,
  arm_smmu_detach_dev: detach,
  arm_smmu_domain_free: domainFree,
  arm_smmu_write_ctx_desc: writeDomainCd,
  iommu_map: iommuMap,
  iommu_unmap: iommuUnmap,
  iommu_sva_bind_device: bind,
  iommu_sva_unbind_device: unbind,
  iommu_sva_alloc_pasid: mmPasid,
  arm_smmu_sva_domain_alloc: svaDomainAlloc,
  arm_smmu_mmu_notifier_get: mmuNotifierGet,
  arm_smmu_sva_btm_domain_alloc: svaBtmDomainAlloc,
  arm_smmu_sva_unbind: svaUnbind,
  arm_smmu_mmu_notifier_put: mmuNotifierPut,
  arm_smmu_alloc_shared_cd: allocSharedCdAsid,
  arm_smmu_share_asid: shareAsidStep,
  arm_smmu_mm_release: mmRelease,
  arm_smmu_mm_arch_invalidate_secondary_tlbs: notifierInvalidate,
  __flush_tlb_range: cpuBroadcastTlbi,
  __arm_smmu_tlb_inv_range: tlbiNhVa,
  arm_smmu_tlb_inv_asid: tlbiNhAsid,
  arm_smmu_atc_inv_domain: atcInv,
});
