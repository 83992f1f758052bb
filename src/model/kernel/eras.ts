/**
 * Kernel versions as the model sees them: a version names an era, and an era fixes every behaviour
 * that changed between mainline releases (the CPU ASID allocator, whether arm-smmu-v3 can bind SVA
 * at all, the SVA ASID design, PASID lifetime, how the SVA mmu notifier invalidates). Each boundary
 * is the commit that opens it; docs/kernel-eras.md has the table with the code each one changed.
 *
 * Boundaries read in the kernel sources (tags are the first release containing the commit):
 * - v5.6  f88f42f853a8 "arm64: context: Free up kernel ASIDs if KPTI is not in use": KPTI decided at
 *         run time; before it, CONFIG_UNMAP_KERNEL_AT_EL0 halves the ASID space at compile time.
 * - v5.10 48118151d8cc "arm64: mm: Pin down ASIDs for sharing mm with devices".
 * - v5.11 32784a9562fb "iommu/arm-smmu-v3: Implement iommu_sva_bind/unbind()" — but
 *         arm_smmu_sva_supported() still required ARM_SMMU_FEAT_BTM, which mainline never sets.
 * - v5.12 51d113c3be09 "iommu/arm-smmu-v3: Make BTM optional for SVA": binds work, the notifier
 *         sends TLBI_NH_VA per page.
 * - v5.18 701fac40384f + 2667ed10d9f0: the PASID belongs to the mm until __mmdrop (was: freed at
 *         the last unbind).
 * - v6.4  "iommu/sva: Stop using ioasid_set for SVA" and the ioasid removal: PASIDs come from
 *         iommu_global_pasid_ida (ida_alloc_range: -ENOSPC when exhausted; ioasid gave -ENOMEM).
 * - v6.6  d5afb4b47e13 (CMDQ_MAX_TLBI_OPS cutoff) and A. Popple's "Invalidate secondary IOMMU TLB
 *         on permission upgrade" series (arm64 TLB flushes call arch_invalidate_secondary_tlbs).
 * - v6.11 d38c28dbefee "iommu/arm-smmu-v3: Put the SVA mmu notifier in the smmu_domain": SVA domains
 *         get private ASIDs; arm64_mm_context_get has no in-tree caller.
 * - rfc-btm-2023: "[PATCH v3 24/27] iommu/arm-smmu-v3: Bring back SVA BTM support" (J. Gunthorpe,
 *         Dec 2023, not merged), on top of the v6.11 design.
 */
import type { AllocatorVariant } from '../cpu/variants.js';

/** SMMU driver designs: how an SVA context gets its ASID. */
export const DRIVER_DESIGNS = ['shared-asid', 'private-asid', 'btm-2023'] as const;
export type DriverDesign = (typeof DRIVER_DESIGNS)[number];

/** Whether `iommu_sva_bind_device` can succeed on arm-smmu-v3. */
export type SvaSupport =
  /** No `sva_bind` op (before v5.11): -ENODEV. */
  | 'none'
  /** v5.11: the op exists but FEAT_SVA needs FEAT_BTM, which mainline never sets: -ENODEV. */
  | 'needs-btm'
  | 'yes';

/** What a kernel version does, as the model's steps need it. */
export interface KernelFeatures {
  readonly sva: SvaSupport;
  /** `last-unbind`: ioasid refcounted per bond (v5.11-v5.17); `mmdrop`: the mm keeps it (v5.18+). */
  readonly pasidLifetime: 'last-unbind' | 'mmdrop';
  /** errno of an exhausted PASID space: -ENOMEM from the ioasid allocator before v6.4. */
  readonly pasidExhausted: 'ENOMEM' | 'ENOSPC';
  /** CMDQ_MAX_TLBI_OPS: above 512 pages the SVA notifier sends one TLBI_NH_ASID (v6.6+). */
  readonly notifierCutoff: boolean;
  /**
   * The arm64 TLB flush functions call `mmu_notifier_arch_invalidate_secondary_tlbs` (v6.6+): a
   * permission upgrade reaches the SMMU, and `flush_tlb_mm` reaches it as a whole-ASID flush.
   */
  readonly archNotifier: boolean;
  /** The driver sets ARM_SMMU_FEAT_BTM from IDR0 and clears CR2.PTM (only the 2023 proposal). */
  readonly btm: boolean;
}

/** One era: the versions it covers, what it runs, and where that comes from. */
export interface Era {
  /** Short id printed in reports: `v6.11+`, `v5.12-v5.17`, `rfc-btm-2023`. */
  readonly id: string;
  /** First and last mainline version [major, minor] it covers (the last era is open-ended). */
  readonly from: readonly [number, number];
  readonly to: readonly [number, number] | null;
  readonly allocator: AllocatorVariant;
  readonly driver: DriverDesign;
  readonly features: KernelFeatures;
  /** The commits that make this era what it is. */
  readonly sources: readonly string[];
}

const MAINLINE_SVA_V512: KernelFeatures = {
  sva: 'yes',
  pasidLifetime: 'last-unbind',
  pasidExhausted: 'ENOMEM',
  notifierCutoff: false,
  archNotifier: false,
  btm: false,
};
const NO_SVA: KernelFeatures = { ...MAINLINE_SVA_V512, sva: 'none' };
const V518: KernelFeatures = { ...MAINLINE_SVA_V512, pasidLifetime: 'mmdrop' };
const V64: KernelFeatures = { ...V518, pasidExhausted: 'ENOSPC' };
const V66: KernelFeatures = { ...V64, notifierCutoff: true, archNotifier: true };

/** Mainline eras, oldest first. */
export const ERAS: readonly Era[] = [
  {
    id: 'v4.19-v5.5',
    from: [4, 19],
    to: [5, 5],
    allocator: 'v4.19',
    driver: 'shared-asid',
    features: NO_SVA,
    sources: [
      '0c8ea531b774 "arm64: mm: Allocate ASIDs in pairs" (v4.16): compile-time KPTI ASID pairs',
      'no arm64_mm_context_get; arm-smmu-v3 has no sva_bind',
    ],
  },
  {
    id: 'v5.6-v5.9',
    from: [5, 6],
    to: [5, 9],
    allocator: 'v5.6',
    driver: 'shared-asid',
    features: NO_SVA,
    sources: ['f88f42f853a8 "arm64: context: Free up kernel ASIDs if KPTI is not in use" (v5.6)'],
  },
  {
    id: 'v5.10',
    from: [5, 10],
    to: [5, 10],
    allocator: 'v5.10',
    driver: 'shared-asid',
    features: NO_SVA,
    sources: [
      '48118151d8cc "arm64: mm: Pin down ASIDs for sharing mm with devices" (v5.10)',
      'arm-smmu-v3 sva_bind not merged yet (-ENODEV)',
    ],
  },
  {
    id: 'v5.11',
    from: [5, 11],
    to: [5, 11],
    allocator: 'v5.10',
    driver: 'shared-asid',
    features: { ...MAINLINE_SVA_V512, sva: 'needs-btm' },
    sources: [
      '32784a9562fb "iommu/arm-smmu-v3: Implement iommu_sva_bind/unbind()" (v5.11)',
      'arm_smmu_sva_supported() requires ARM_SMMU_FEAT_BTM, never set by mainline',
    ],
  },
  {
    id: 'v5.12-v5.17',
    from: [5, 12],
    to: [5, 17],
    allocator: 'v5.10',
    driver: 'shared-asid',
    features: MAINLINE_SVA_V512,
    sources: ['51d113c3be09 "iommu/arm-smmu-v3: Make BTM optional for SVA" (v5.12)', 'ioasid PASIDs freed at the last unbind'],
  },
  {
    id: 'v5.18-v6.3',
    from: [5, 18],
    to: [6, 3],
    allocator: 'v5.10',
    driver: 'shared-asid',
    features: V518,
    sources: [
      '701fac40384f "iommu/sva: Assign a PASID to mm on PASID allocation and free it on mm exit" (v5.18)',
      '2667ed10d9f0 "mm: Fix PASID use-after-free issue" (v5.18: freed at __mmdrop)',
    ],
  },
  {
    id: 'v6.4-v6.5',
    from: [6, 4],
    to: [6, 5],
    allocator: 'v5.10',
    driver: 'shared-asid',
    features: V64,
    sources: [
      '"iommu/sva: Stop using ioasid_set for SVA" and the ioasid removal (v6.4): PASIDs from iommu_global_pasid_ida, -ENOSPC when exhausted',
    ],
  },
  {
    id: 'v6.6-v6.10',
    from: [6, 6],
    to: [6, 10],
    allocator: 'v5.10',
    driver: 'shared-asid',
    features: V66,
    sources: [
      'd5afb4b47e13 "iommu/arm-smmu-v3: Fix soft lockup triggered by arm_smmu_mm_invalidate_range" (v6.6)',
      'A. Popple, "Invalidate secondary IOMMU TLB on permission upgrade" series (v6.6): arm64 TLB flushes call the notifier',
    ],
  },
  {
    id: 'v6.11+',
    from: [6, 11],
    to: null,
    allocator: 'v5.10',
    driver: 'private-asid',
    features: V66,
    sources: ['d38c28dbefee "iommu/arm-smmu-v3: Put the SVA mmu notifier in the smmu_domain" (v6.11): private SVA ASIDs'],
  },
];

/** The unmerged 2023 proposal: per-SMMU ASID maps, the CPU ASID on BTM SMMUs. */
export const RFC_BTM_2023: Era = {
  id: 'rfc-btm-2023',
  from: [6, 11],
  to: null,
  allocator: 'v5.10',
  driver: 'btm-2023',
  features: { ...V66, btm: true },
  sources: ['"[PATCH v3 24/27] iommu/arm-smmu-v3: Bring back SVA BTM support" (J. Gunthorpe, 6 Dec 2023, not merged)'],
};

/** The kernel a system runs when none is named: the newest mainline release the model knows. */
export const DEFAULT_KERNEL = '6.12';

/** What `--kernel` accepts, for messages. */
export const KERNEL_HELP = 'a mainline version from 4.19 on (4.19, 5.10, 5.15, 6.1, 6.6, 6.11, 6.12, 6.12.3, v6.1, ...) or rfc-btm-2023';

/** A resolved kernel: the version as given (normalised) and its era. */
export interface ResolvedKernel {
  /** `6.12`, `5.15`, `rfc-btm-2023` (patch level and a leading `v` dropped). */
  readonly version: string;
  readonly era: Era;
}

/**
 * Resolve a kernel version to its era.
 * @throws Error naming what is accepted, for an unknown name or a version before 4.19.
 */
export function resolveKernel(version: string): ResolvedKernel {
  const v = version.trim();
  if (v === RFC_BTM_2023.id) return { version: v, era: RFC_BTM_2023 };
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?(?:-rc\d+)?$/.exec(v);
  if (!m) throw new Error(`unknown kernel "${version}"; expected ${KERNEL_HELP}`);
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const key = major * 1000 + minor;
  if (key < 4019) throw new Error(`kernel ${version} is older than 4.19, the oldest the model covers; expected ${KERNEL_HELP}`);
  const era = ERAS.find((e) => key >= e.from[0] * 1000 + e.from[1] && (e.to === null || key <= e.to[0] * 1000 + e.to[1]));
  return { version: `${major}.${minor}`, era: era! };
}
