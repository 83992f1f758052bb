/**
 * The kernel functions the model is made of, as one record of replaceable parts under their kernel
 * names (docs/designs.md lists each with its source). A system runs the parts it was created with
 * (`createSystem(config, parts)`): the base ones, or a design's composition of them
 * (src/design/). Parts are code, not state: they live beside the state, never in it, so a state
 * stays plain data that explore can clone, compare and hash.
 */
import { ALLOCATOR_PARTS, type AllocatorParts } from '../cpu/allocator.js';
import { SMMU_PARTS, type SmmuParts } from '../smmu/index.js';

/**
 * Every replaceable part: the CPU ASID allocator's (arch/arm64/mm/context.c, called as
 * `p.parts.<name>(p, ...)`) and the SMMUv3/SVA driver's (drivers/iommu/arm/arm-smmu-v3/, the SVA
 * core; called as `c.parts.<name>(c, ...)`).
 */
export type KernelParts = AllocatorParts & SmmuParts;
/** A part's kernel name. */
export type PartName = keyof KernelParts;

/** The parts as the model has them: the base a design starts from. */
export const BASE_PARTS: KernelParts = Object.freeze({ ...ALLOCATOR_PARTS, ...SMMU_PARTS });

/**
 * The part names, in the order docs/designs.md lists them. `satisfies` makes the compiler refuse a
 * list that misses a part or names one that does not exist.
 */
export const PART_NAMES = [
  'check_and_switch_context',
  'new_context',
  'check_update_reserved_asid',
  'flush_context',
  'arm64_mm_context_get',
  'arm64_mm_context_put',
  'asids_init',
  'arm_smmu_device_hw_probe',
  'arm_smmu_init_structures',
  'arm_smmu_attach_dev',
  'arm_smmu_domain_finalise_s1',
  'arm_smmu_detach_dev',
  'arm_smmu_domain_free',
  'arm_smmu_write_ctx_desc',
  'iommu_map',
  'iommu_unmap',
  'iommu_sva_bind_device',
  'iommu_sva_unbind_device',
  'iommu_sva_alloc_pasid',
  'arm_smmu_sva_domain_alloc',
  'arm_smmu_mmu_notifier_get',
  'arm_smmu_sva_btm_domain_alloc',
  'arm_smmu_sva_unbind',
  'arm_smmu_mmu_notifier_put',
  'arm_smmu_alloc_shared_cd',
  'arm_smmu_share_asid',
  'arm_smmu_mm_release',
  'arm_smmu_mm_arch_invalidate_secondary_tlbs',
  '__flush_tlb_range',
  '__arm_smmu_tlb_inv_range',
  'arm_smmu_tlb_inv_asid',
  'arm_smmu_atc_inv_domain',
] as const satisfies readonly PartName[];
type Missing = Exclude<PartName, (typeof PART_NAMES)[number]>;
/** Compile-time check: `never` unless a part is missing from {@link PART_NAMES}. */
export const PART_NAMES_COMPLETE: Missing extends never ? true : Missing = true;
