/**
 * The SMMU side's encodings, in one place. An address-space id (`as`) names what an IOTLB/ATC
 * entry or a CD translates for: an mm by its key (>= 0), or a DMA domain by `-1 - id` (< 0), so one
 * number tells both apart. SVA contexts are indexed by (mm, SMMU).
 */

/** Address-space id of DMA domain `id`. */
export const domainAs = (id: number): number => -1 - id;

/** Whether an address-space id names a DMA domain (else an mm key). */
export const isDomainAs = (as: number): boolean => as < 0;

/** The DMA domain id an address-space id names (only when {@link isDomainAs}). */
export const domainIdOf = (as: number): number => -1 - as;

/** Most SMMU instances a system may have (the SVA index packs the SMMU into 10 bits). */
export const MAX_SMMUS = 1023;

/** Index key of the SVA context of `mm` on SMMU `smmu` (-1: the shared-asid design's one CD per mm). */
export const svaKey = (mm: number, smmu: number): number => mm * (MAX_SMMUS + 1) + smmu + 1;
