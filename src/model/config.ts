/**
 * The system the model runs: CPUs, ASID width, KPTI and the kernel (its era), SMMUs and devices,
 * and the what-ifs. The trace layer parses a `# system:` preamble and command-line flags into this;
 * the model only reads it.
 */
import type { AllocatorVariant } from './cpu/variants.js';
import type { DriverDesign, KernelFeatures } from './kernel/eras.js';

/**
 * Injected driver bugs and hypothetical kernels. Each one removes one step the kernel performs, so
 * the stale-IOTLB checks can be shown to catch its absence. (What changed between releases is not
 * a fault: name the kernel.)
 */
export const FAULTS = [
  /** A BTM design uses the CPU ASID without `arm64_mm_context_get` (no pin). */
  'skip-pin',
  /** The S1 ASID move skips TLBI_NH_ASID of the old ASID (its third step). */
  'no-old-asid-purge',
  /** Domain / SVA-domain free erases the ASID without its TLBI (and ATC invalidation). */
  'no-purge-on-free',
  /** `arm_smmu_mm_release` skips TLBI_NH_ASID and the ATC invalidation. */
  'no-release-tlbi',
  /** The SMMU advertises BTM but firmware never enabled DVM: CPU broadcasts do not reach it. */
  'no-dvm',
  /** munmap of an mm live on at most one CPU uses a CPU-local TLBI (never snooped). */
  'local-tlbi',
] as const;
export type Fault = (typeof FAULTS)[number];

/** PASID allocators: `lowest` = `ida_alloc_range` (current), `cyclic` = `idr_alloc_cyclic` (2017 SVA RFC). */
export const PASID_ALLOCATORS = ['lowest', 'cyclic'] as const;
export type PasidAllocator = (typeof PASID_ALLOCATORS)[number];

/** One SMMUv3 instance (what its ID registers say). */
export interface SmmuConfig {
  name: string;
  /** IDR0.ASID16: 8 or 16. */
  asidBits: 8 | 16;
  vmidBits: 8 | 16;
  /** IDR0.BTM: the hardware can snoop CPU broadcast TLBIs (whether the driver uses it is the kernel's choice). */
  btm: boolean;
  /** IDR1.SSIDSIZE. */
  ssidBits: number;
  /** IDR3.RIL: range invalidation. */
  rangeInvalidation: boolean;
}

/** A device (master) behind an SMMU. */
export interface DeviceConfig {
  name: string;
  smmu: string;
  /** PASID width of the device (PCIe PASID capability). */
  pasidBits: number;
  streamIds?: number[] | undefined;
  /** PCIe ATS: the device caches translations in its ATC. */
  ats: boolean;
}

/** A validated system with its kernel resolved to an era (overrides applied). */
export interface SystemConfig {
  cpus: number;
  asidBits: number;
  /** Kernel version as given, normalised (`6.12`, `rfc-btm-2023`). */
  kernel: string;
  /** The era it falls in (`v6.11+`, `v5.13-v5.17`, ...). */
  era: string;
  /** KPTI in use at run time. */
  kpti: boolean;
  /** CONFIG_UNMAP_KERNEL_AT_EL0 built in. */
  unmapKernelAtEl0: boolean;
  allocator: AllocatorVariant;
  driver: DriverDesign;
  /** What the kernel does where releases differ. */
  features: KernelFeatures;
  /** The commits that define the era. */
  sources: readonly string[];
  smmus: SmmuConfig[];
  devices: DeviceConfig[];
  /** ASID widths other than 8 and 16 allowed. */
  whatIf: boolean;
  /** What-if override of max_pinned_asids. */
  maxPinnedAsids?: number | undefined;
  pasidAllocator: PasidAllocator;
  /** What-if (M. Shavit's 2023 RFC): a DMA domain may span SMMUs when its ASID fits each. */
  multiSmmuDomains: boolean;
  faults: Fault[];
}
