/**
 * Kernel versions as the model sees them: a version names an era, and an era fixes every behaviour
 * that changed between mainline releases (the CPU ASID allocator, whether arm-smmu-v3 can bind SVA
 * at all, the SVA ASID design, PASID lifetime, how the SVA mmu notifier invalidates). Each boundary
 * is the commit that opens it; docs/kernel-eras.md has the table with the code each one changed.
 *
 * Boundaries read in the kernel sources (tags are the first release containing the commit):
 * - v5.4  2af2e72b18b4 "iommu/arm-smmu-v3: Defer TLB invalidation until ->iotlb_sync()": the
 *         invalidation moves to iotlb_sync, where an empty gather still reaches the ATC.
 * - v5.6  f88f42f853a8 "arm64: context: Free up kernel ASIDs if KPTI is not in use": KPTI decided at
 *         run time; before it, CONFIG_UNMAP_KERNEL_AT_EL0 halves the ASID space at compile time.
 * - v5.10 48118151d8cc "arm64: mm: Pin down ASIDs for sharing mm with devices".
 * - v5.11 32784a9562fb "iommu/arm-smmu-v3: Implement iommu_sva_bind/unbind()" — but
 *         arm_smmu_sva_supported() still required ARM_SMMU_FEAT_BTM, which mainline never sets.
 * - v5.12 51d113c3be09 "iommu/arm-smmu-v3: Make BTM optional for SVA": binds work, the notifier
 *         sends TLBI_NH_VA per page.
 * - v5.13 6cc7e5a9c6b0 "iommu/arm-smmu-v3: Add a check to avoid invalid iotlb sync": an unmap of
 *         nothing sends nothing (v5.4-v5.12 sent a lone CMD_SYNC and an ATC_INV: `emptyUnmapSync`).
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
  /**
   * `iommu_sva_alloc_pasid` v5.18-v6.3 refuses an mm whose PASID is the device's highest one
   * (`mm->pasid >= max` with `max` inclusive, -EOVERFLOW); 4e14176ab13f (v6.4) made it `>`.
   */
  readonly pasidTopRefused: boolean;
  /**
   * How arm-smmu-v3 allocates stage-1 ASIDs: `bitmap` = per-SMMU `asid_map`, ASID 0 included,
   * -ENOSPC when full (before v5.8); `xa` = the global `arm_smmu_asid_xa`, [1, 2^bits - 1], `xa_alloc`
   * -EBUSY when full (0299a1a81ca0 "iommu/arm-smmu-v3: Manage ASIDs with xarray", v5.8).
   */
  readonly smmuAsids: 'bitmap' | 'xa';
  /**
   * errno of `arm_smmu_attach_dev` for a domain finalised on another SMMU: -ENXIO until
   * f4a147735793 "iommu: Use EINVAL for incompatible device/domain in ->attach_dev" (v6.2). `none`:
   * v6.15 returns 0 and attaches nothing (48e7b8e284e5; -EINVAL again from be5a2d3f8f97, v6.16).
   */
  readonly foreignDomainErrno: 'ENXIO' | 'EINVAL' | 'none';
  /**
   * `arm_smmu_mm_invalidate_range` computed `size = end - start + 1` (2f7e8c553e98, v5.11, until
   * 95d4782c34a6, v5.18): one page too many, and a dead loop in `__arm_smmu_tlb_inv_range` with RANGE_INV.
   */
  readonly notifierSizePlusOne: boolean;
  /**
   * `change_protection` gathers its TLB flush in an mmu_gather (4a18419f71cd "mm/mprotect: use
   * mmu_gather", v6.0): the CPU flushes the changed PTEs' extent at `tlb_finish_mmu`, whose
   * `tlb_flush_mmu_tlbonly` also calls `->invalidate_range` before v6.6. Before v6.0,
   * `flush_tlb_range(vma, start, end)` over the whole range, no notifier.
   */
  readonly mprotectGather: boolean;
  /** CMDQ_MAX_TLBI_OPS: above 512 pages the SVA notifier sends one TLBI_NH_ASID (v6.6+). */
  readonly notifierCutoff: boolean;
  /**
   * eb6c97647be2 "iommu/arm-smmu-v3: Avoid constructing invalid range commands" (v6.6): a non-leaf
   * range invalidation (the SVA notifier's) whose page count is 1 modulo 32 covers one page more.
   */
  readonly nonLeafRangeBump: boolean;
  /**
   * The SVA domain's `pgsize_bitmap` is 0 (d38c28dbefee, v6.11, until 12f78021973a "iommu/arm-smmu-v3:
   * Fix pgsize_bit for sva domains", v6.15): `__ffs(0)` makes the range commands' TG the 64 KiB
   * granule, so an SMMU need not remove the 4 KiB entries they name.
   */
  readonly svaRangeTgBug: boolean;
  /**
   * The arm64 TLB flush functions call `mmu_notifier_arch_invalidate_secondary_tlbs` (v6.6+): a
   * permission upgrade reaches the SMMU, and `flush_tlb_mm` reaches it as a whole-ASID flush.
   * Before, `->invalidate_range` ran from `mmu_notifier_invalidate_range_end` and
   * `tlb_flush_mmu_tlbonly`: twice per munmap.
   */
  readonly archNotifier: boolean;
  /** The driver sets ARM_SMMU_FEAT_BTM from IDR0 and clears CR2.PTM (only the 2023 proposal). */
  readonly btm: boolean;
  /**
   * An unbind sends CMD_ATC_INV for the unbinding ATS master's PASID every time, even after the
   * mm's release: `arm_smmu_remove_dev_pasid` runs `arm_smmu_clear_cd()` then
   * `arm_smmu_atc_inv_master(master, pasid)` (49db2ed23c52 "iommu/arm-smmu-v3: Keep track of
   * arm_smmu_master_domain for SVA", v6.11). Before, the unbind's only ATC_INV is
   * `arm_smmu_mmu_notifier_put`'s, inside `if (!smmu_mn->cleared)`: once `arm_smmu_mm_release` has
   * invalidated and set `cleared`, an unbind sends none (v5.11-v6.10). (That put also runs only for
   * the last bond of its (domain, mm) notifier; the model's unbind sends the ATC_INV of a live mm at
   * each unbind: docs/kernel-eras.md, "Not modelled".)
   */
  readonly unbindAtcAfterRelease: boolean;
  /**
   * What an `iommu_unmap` that unmapped nothing sends: `iommu_unmap` calls `iommu_iotlb_sync` on
   * the empty gather (start ULONG_MAX, end 0, pgsize 0) all the same.
   * - `sync` (v4.19-v5.3): `arm_smmu_iotlb_sync` issues a CMD_SYNC (`arm_smmu_cmdq_issue_sync`);
   *   the ATC is invalidated only when something was unmapped (`if (ret && ...)`, v5.2-v5.3).
   * - `sync-atc-top` (2af2e72b18b4 "iommu/arm-smmu-v3: Defer TLB invalidation until ->iotlb_sync()",
   *   v5.4, to v5.11): `arm_smmu_tlb_inv_range(start, end - start, ...)`, whose size wraps to 1:
   *   no TLBI, the batch's lone CMD_SYNC; then `arm_smmu_atc_inv_domain(.., 0, ULONG_MAX, 1)`: a
   *   CMD_ATC_INV of the page at 0xfffffffffffff000, SSID 0, per StreamID of each ATS master, and
   *   a CMD_SYNC (per master in v5.4-v5.6; one for the domain's batch from 9e773aee8c3e, v5.7: the
   *   model syncs per master).
   * - `sync-atc-all` (v5.12): 862c3715de8f "iommu: Switch gather->end to the inclusive end" makes
   *   the size wrap to 2 and the ATC_INV span every page (`ATC_INV_SIZE_ALL`, without SSV: the
   *   whole ATC of the master).
   * - `none`: 6cc7e5a9c6b0 "iommu/arm-smmu-v3: Add a check to avoid invalid iotlb sync" (v5.13, also
   *   5.12.y) returns on `!gather->pgsize`.
   */
  readonly emptyUnmapSync: 'sync' | 'sync-atc-top' | 'sync-atc-all' | 'none';
  /**
   * `arm_smmu_attach_dev` refuses a master with SVA enabled ("cannot attach - SVA enabled",
   * -EBUSY: f534d98b9d27 "iommu/arm-smmu-v3: Add SVA device feature", v5.10), and SVA stays enabled
   * while the master has binds (`arm_smmu_master_disable_sva`: -EBUSY): a bound device can neither
   * be attached to another domain nor detached (to its default domain) until be7c90de39fd
   * "iommu/arm-smmu-v3: Do not use master->sva_enable to restrict attaches" (v6.11), from which a
   * stage-1 domain keeps the PASIDs live.
   */
  readonly attachRefusedWhileBound: boolean;
}

/** One era: the versions it covers, what it runs, and where that comes from. */
export interface Era {
  /** Short id printed in reports: `v6.15+`, `v5.12-v5.17`, `rfc-btm-2023`. */
  readonly id: string;
  /** First and last mainline version [major, minor] it covers. */
  readonly from: readonly [number, number];
  readonly to: readonly [number, number];
  readonly allocator: AllocatorVariant;
  readonly driver: DriverDesign;
  readonly features: KernelFeatures;
  /** The commits that make this era what it is. */
  readonly sources: readonly string[];
}

/** v4.19: no SVA, per-SMMU ASID bitmaps, -ENXIO for a foreign domain. */
const V419: KernelFeatures = {
  sva: 'none',
  pasidLifetime: 'last-unbind',
  pasidExhausted: 'ENOMEM',
  pasidTopRefused: false,
  smmuAsids: 'bitmap',
  foreignDomainErrno: 'ENXIO',
  notifierSizePlusOne: false,
  mprotectGather: false,
  notifierCutoff: false,
  nonLeafRangeBump: false,
  svaRangeTgBug: false,
  archNotifier: false,
  btm: false,
  unbindAtcAfterRelease: false,
  emptyUnmapSync: 'sync',
  attachRefusedWhileBound: false,
};
const V54: KernelFeatures = { ...V419, emptyUnmapSync: 'sync-atc-top' };
const V58: KernelFeatures = { ...V54, smmuAsids: 'xa' };
const V511: KernelFeatures = { ...V58, sva: 'needs-btm', notifierSizePlusOne: true, attachRefusedWhileBound: true };
const V512: KernelFeatures = { ...V511, sva: 'yes', emptyUnmapSync: 'sync-atc-all' };
const V513: KernelFeatures = { ...V512, emptyUnmapSync: 'none' };
const V518: KernelFeatures = { ...V513, notifierSizePlusOne: false, pasidLifetime: 'mmdrop', pasidTopRefused: true };
const V60: KernelFeatures = { ...V518, mprotectGather: true };
const V62: KernelFeatures = { ...V60, foreignDomainErrno: 'EINVAL' };
const V64: KernelFeatures = { ...V62, pasidExhausted: 'ENOSPC', pasidTopRefused: false };
const V66: KernelFeatures = { ...V64, notifierCutoff: true, nonLeafRangeBump: true, archNotifier: true };
const V611: KernelFeatures = { ...V66, svaRangeTgBug: true, unbindAtcAfterRelease: true, attachRefusedWhileBound: false };
const V615: KernelFeatures = { ...V611, svaRangeTgBug: false, foreignDomainErrno: 'none' };
const V616: KernelFeatures = { ...V615, foreignDomainErrno: 'EINVAL' };

/** The newest mainline release the model was checked against: later versions are refused. */
export const NEWEST_RELEASE: readonly [number, number] = [7, 0];

/** The last minor release of each major line: v4.20 was followed by v5.0, v5.19 by v6.0. */
const LAST_MINOR: Readonly<Record<number, number>> = { 4: 20, 5: 19, 6: 19, 7: NEWEST_RELEASE[1] };

/** Mainline eras, oldest first. */
export const ERAS: readonly Era[] = [
  {
    id: 'v4.19-v5.3',
    from: [4, 19],
    to: [5, 3],
    allocator: 'v4.19',
    driver: 'shared-asid',
    features: V419,
    sources: [
      '0c8ea531b774 "arm64: mm: Allocate ASIDs in pairs" (v4.16): compile-time KPTI ASID pairs',
      'no arm64_mm_context_get; arm-smmu-v3 has no sva_bind; per-SMMU asid_map (ASID 0 allocatable, -ENOSPC)',
    ],
  },
  {
    id: 'v5.4-v5.5',
    from: [5, 4],
    to: [5, 5],
    allocator: 'v4.19',
    driver: 'shared-asid',
    features: V54,
    sources: [
      '2af2e72b18b4 "iommu/arm-smmu-v3: Defer TLB invalidation until ->iotlb_sync()" (v5.4): an unmap of nothing sends a lone CMD_SYNC and an ATC_INV of the top page',
    ],
  },
  {
    id: 'v5.6-v5.7',
    from: [5, 6],
    to: [5, 7],
    allocator: 'v5.6',
    driver: 'shared-asid',
    features: V54,
    sources: ['f88f42f853a8 "arm64: context: Free up kernel ASIDs if KPTI is not in use" (v5.6)'],
  },
  {
    id: 'v5.8-v5.9',
    from: [5, 8],
    to: [5, 9],
    allocator: 'v5.6',
    driver: 'shared-asid',
    features: V58,
    sources: ['0299a1a81ca0 "iommu/arm-smmu-v3: Manage ASIDs with xarray" (v5.8): one global ASID space [1, 2^bits - 1], -EBUSY when full'],
  },
  {
    id: 'v5.10',
    from: [5, 10],
    to: [5, 10],
    allocator: 'v5.10',
    driver: 'shared-asid',
    features: V58,
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
    features: V511,
    sources: [
      '32784a9562fb "iommu/arm-smmu-v3: Implement iommu_sva_bind/unbind()" (v5.11)',
      'arm_smmu_sva_supported() requires ARM_SMMU_FEAT_BTM, never set by mainline',
    ],
  },
  {
    id: 'v5.12',
    from: [5, 12],
    to: [5, 12],
    allocator: 'v5.10',
    driver: 'shared-asid',
    features: V512,
    sources: [
      '51d113c3be09 "iommu/arm-smmu-v3: Make BTM optional for SVA" (v5.12)',
      'ioasid PASIDs freed at the last unbind',
      '2f7e8c553e98 "iommu/arm-smmu-v3: Hook up ATC invalidation to mm ops" (v5.11): notifier size = end - start + 1',
      '862c3715de8f "iommu: Switch gather->end to the inclusive end" (v5.12): an unmap of nothing invalidates the whole ATC of each ATS master',
    ],
  },
  {
    id: 'v5.13-v5.17',
    from: [5, 13],
    to: [5, 17],
    allocator: 'v5.10',
    driver: 'shared-asid',
    features: V513,
    sources: ['6cc7e5a9c6b0 "iommu/arm-smmu-v3: Add a check to avoid invalid iotlb sync" (v5.13): an unmap of nothing sends nothing'],
  },
  {
    id: 'v5.18-v5.19',
    from: [5, 18],
    to: [5, 19],
    allocator: 'v5.10',
    driver: 'shared-asid',
    features: V518,
    sources: [
      '701fac40384f "iommu/sva: Assign a PASID to mm on PASID allocation and free it on mm exit" (v5.18): the mm keeps its PASID, mm->pasid >= max refused',
      '2667ed10d9f0 "mm: Fix PASID use-after-free issue" (v5.18: freed at __mmdrop)',
      '95d4782c34a6 "iommu/arm-smmu-v3: Fix size calculation in arm_smmu_mm_invalidate_range()" (v5.18)',
    ],
  },
  {
    id: 'v6.0-v6.1',
    from: [6, 0],
    to: [6, 1],
    allocator: 'v5.10',
    driver: 'shared-asid',
    features: V60,
    sources: [
      '4a18419f71cd "mm/mprotect: use mmu_gather" (v6.0): mprotect flushes the changed PTEs at tlb_finish_mmu, and notifies there too',
    ],
  },
  {
    id: 'v6.2-v6.3',
    from: [6, 2],
    to: [6, 3],
    allocator: 'v5.10',
    driver: 'shared-asid',
    features: V62,
    sources: ['f4a147735793 "iommu: Use EINVAL for incompatible device/domain in ->attach_dev" (v6.2)'],
  },
  {
    id: 'v6.4-v6.5',
    from: [6, 4],
    to: [6, 5],
    allocator: 'v5.10',
    driver: 'shared-asid',
    features: V64,
    sources: [
      '4e14176ab13f "iommu/sva: Stop using ioasid_set for SVA" (v6.4): PASIDs from iommu_global_pasid_ida, -ENOSPC when exhausted, mm->pasid > max refused',
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
      'A. Popple, "Invalidate secondary IOMMU TLB on permission upgrade" series (v6.6): arm64 TLB flushes call the notifier, once',
      'eb6c97647be2 "iommu/arm-smmu-v3: Avoid constructing invalid range commands" (v6.6)',
    ],
  },
  {
    id: 'v6.11-v6.14',
    from: [6, 11],
    to: [6, 14],
    allocator: 'v5.10',
    driver: 'private-asid',
    features: V611,
    sources: [
      'd38c28dbefee "iommu/arm-smmu-v3: Put the SVA mmu notifier in the smmu_domain" (v6.11): private SVA ASIDs',
      'the SVA domain has no pgsize_bitmap (until 12f78021973a, v6.15): range commands carry TG 64 KiB',
    ],
  },
  {
    id: 'v6.15',
    from: [6, 15],
    to: [6, 15],
    allocator: 'v5.10',
    driver: 'private-asid',
    features: V615,
    sources: [
      '12f78021973a "iommu/arm-smmu-v3: Fix pgsize_bit for sva domains" (v6.15, also 6.12.y and 6.14.y)',
      '48e7b8e284e5 "iommu/arm-smmu-v3: Remove arm_smmu_domain_finalise() during attach" (v6.15): a domain of another SMMU is "attached" with 0',
      '7c8896dd4a2a "iommu: Remove IOMMU_DEV_FEAT_SVA" (v6.15): no feature to enable before a bind',
    ],
  },
  {
    id: 'v6.16+',
    from: [6, 16],
    to: NEWEST_RELEASE,
    allocator: 'v5.10',
    driver: 'private-asid',
    features: V616,
    sources: [
      'be5a2d3f8f97 "iommu/arm-smmu-v3: Re-instate the -EINVAL return value when the SMMU doesn\'t match on the device attach path" (v6.16, also 6.15.y)',
    ],
  },
];

/** The unmerged 2023 proposal: per-SMMU ASID maps, the CPU ASID on BTM SMMUs. */
export const RFC_BTM_2023: Era = {
  id: 'rfc-btm-2023',
  from: [6, 11],
  to: [6, 11],
  allocator: 'v5.10',
  driver: 'btm-2023',
  features: { ...V611, svaRangeTgBug: false, btm: true },
  sources: ['"[PATCH v3 24/27] iommu/arm-smmu-v3: Bring back SVA BTM support" (J. Gunthorpe, 6 Dec 2023, not merged)'],
};

/** The kernel a system runs when none is named: the newest mainline release the model knows. */
export const DEFAULT_KERNEL = `${NEWEST_RELEASE[0]}.${NEWEST_RELEASE[1]}`;

/** Every mainline release the model covers, oldest first (`4.19`, `4.20`, `5.0`, ..., the newest). */
export const RELEASES: readonly string[] = (() => {
  const out: string[] = [];
  for (let major = 4; major <= NEWEST_RELEASE[0]; major++) {
    for (let minor = major === 4 ? 19 : 0; minor <= LAST_MINOR[major]!; minor++) out.push(`${major}.${minor}`);
  }
  return out;
})();

/** What `--kernel` accepts, for messages. */
export const KERNEL_HELP = `a mainline release from 4.19 to ${DEFAULT_KERNEL} (4.19, 4.20, 5.0 ... 5.19, 6.0 ... ${DEFAULT_KERNEL}; a patch level or -rc suffix is accepted: 6.1.80, v6.12, 6.13-rc1) or rfc-btm-2023`;

/** A resolved kernel: the version as given (normalised) and its era. */
export interface ResolvedKernel {
  /** `6.12`, `5.15`, `rfc-btm-2023` (patch level and a leading `v` dropped). */
  readonly version: string;
  readonly era: Era;
}

/**
 * Resolve a kernel version to its era. The patch level of a stable release is dropped: `6.1.80` is
 * modelled as mainline 6.1 (docs/kernel-eras.md lists the fixes stable kernels took).
 * @throws Error naming what is accepted, for a malformed version, one that never was a mainline
 *   release (4.21, 5.20), one before 4.19 or one newer than {@link NEWEST_RELEASE}.
 */
export function resolveKernel(version: string): ResolvedKernel {
  const v = version.trim();
  if (v === RFC_BTM_2023.id) return { version: v, era: RFC_BTM_2023 };
  const m = /^v?(\d{1,3})\.(\d{1,3})(?:\.(\d{1,4}))?(?:-rc\d{1,2})?$/.exec(v);
  if (!m) throw new Error(`unknown kernel "${version}"; expected ${KERNEL_HELP}`);
  const major = Number(m[1]);
  const minor = Number(m[2]);
  const name = `${major}.${minor}`;
  if (major * 1000 + minor < 4019)
    throw new Error(`kernel ${version} is older than 4.19, the oldest the model covers; expected ${KERNEL_HELP}`);
  if (!RELEASES.includes(name)) {
    // Stryker disable next-line EqualityOperator,ConditionalExpression: equivalent, major >= / minor >= / minor -> true: reached only for a version that is not a release, and the newest minor of the newest major is one
    const newer = major > NEWEST_RELEASE[0] || (major === NEWEST_RELEASE[0] && minor > NEWEST_RELEASE[1]);
    throw new Error(
      newer
        ? `kernel ${version} is newer than ${DEFAULT_KERNEL}, the newest release the model was checked against; expected ${KERNEL_HELP}`
        : `kernel ${version} is not a mainline release (after ${major}.${LAST_MINOR[major] ?? '?'} came ${major + 1}.0); expected ${KERNEL_HELP}`,
    );
  }
  const key = major * 1000 + minor;
  // Stryker disable next-line ArithmeticOperator,ConditionalExpression: equivalent, a lower bound at or below the era start: ERAS is sorted and contiguous, so the first era ending at or after key is the same
  const era = ERAS.find((e) => key >= e.from[0] * 1000 + e.from[1] && key <= e.to[0] * 1000 + e.to[1]);
  return { version: name, era: era! };
}
