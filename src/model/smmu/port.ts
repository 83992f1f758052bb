/**
 * The small interface through which the SMMU/SVA model uses the CPU side (and nothing else of it):
 * pinning (`arm64_mm_context_get`/`_put`), the mm's current CPU ASID, and walking a process page
 * table through an SVA CD's TTB0.
 */
import type { Pte } from '../cpu/index.js';
import { EventError } from '../errors.js';
import type { Errno, SmmuObserver } from './observer.js';
import type { DmaDomain, DriverOp, Master, OpStep, SmmuModelState, SvaContext, SvaMm } from './state.js';
import { domainIdOf } from './keys.js';

export interface CpuPort {
  /** `arm64_mm_context_get`: the ASID to put in the CD (`asid | 1` under KPTI), or 0 if refused. */
  pin(mm: number, row: number): number;
  /** `arm64_mm_context_put`. */
  unpin(mm: number, row: number): void;
  /** `arm64_mm_context_put` by a driver that did not check its get (the put is issued all the same). */
  putWithoutGet(mm: number, row: number): void;
  /** The CPU ASID the mm holds in the current generation (`asid | 1` under KPTI), or 0 (for the `skip-pin` design). */
  currentAsid(mm: number): number;
  /** The mm's PTE for a page (the walk an SMMU does through TTB0). */
  walk(mm: number, page: number): Pte;
  /** Live mm by trace label: its key, or -1. */
  liveMm(label: string): number;
  label(mm: number): string;
}

/** Everything a step needs: state, CPU port, observer, the event's row, and the parts in force. */
export interface Ctx {
  readonly st: SmmuModelState;
  readonly cpu: CpuPort;
  readonly obs: SmmuObserver;
  readonly row: number;
  /**
   * The SMMU/SVA kernel functions this step runs (docs/designs.md): every call of one goes through
   * here, so a design can swap a callee inside one caller with `{ ...c, parts: { ...c.parts, x } }`.
   */
  readonly parts: SmmuParts;
}

/**
 * One call of the SVA notifier's invalidation: `->invalidate_range(mm, start, end)` before v6.6
 * (`arm_smmu_mm_invalidate_range`), `->arch_invalidate_secondary_tlbs` from v6.6
 * (`arm_smmu_mm_arch_invalidate_secondary_tlbs`). Pages [first, last] (end = (last + 1) pages, exclusive).
 */
export interface NotifierCall {
  readonly first: number;
  readonly last: number;
  /** `flush_tlb_mm` (v6.6+) calls it with (0, -1UL): the whole address space. */
  readonly whole: boolean;
}

/** A CPU TLB flush of an mm and the notifier calls that go with it, as the SMMU side sees them. */
export interface CpuFlush {
  /** ASIDs the CPU broadcast (both halves under KPTI; none when nothing was flushed). */
  readonly asids: readonly number[];
  /** Pages the CPU flushed (ignored when `asids` is empty). */
  readonly first: number;
  readonly last: number;
  /** The CPU flushed the whole ASID (`flush_tlb_mm`, from MAX_TLBI_OPS pages on). */
  readonly cpuWhole: boolean;
  /** CPUs whose TTBR0 holds the mm now (the `local-tlbi` what-if reads it: a local TLBI when at most one). */
  readonly cpusRunning: number;
  /** The notifier calls the kernel path makes, in order (none: a path that does not notify). */
  readonly calls: readonly NotifierCall[];
  /** Pages whose PTEs the change touched: the latent stale check looks there (none: null). */
  readonly latent: readonly [number, number] | null;
}

/** How `__arm_smmu_tlb_inv_range` was called where the kernel's answer depends on it (iotlb.ts `InvRangeHow`). */
export interface TlbInvRangeHow {
  /** The `leaf` argument (default true, `iommu_unmap`'s sync); the SVA notifier passes false. */
  readonly leaf?: boolean;
  /** `leaf == false` (the SVA notifier) from eb6c97647be2 (v6.6): a page count 1 modulo 32 is bumped by one with RANGE_INV. */
  readonly nonLeafBump?: boolean;
  /** The domain's `pgsize_bitmap` is 0 (SVA domains, v6.11-v6.14): range commands of TG 64 KiB. */
  readonly tgBug?: boolean;
}

/**
 * What `arm_smmu_alloc_shared_cd` got from `arm64_mm_context_get(mm)`: the CPU ASID the CD will
 * use (`asid | 1` under KPTI) and whether a pin was taken (one `arm64_mm_context_put` is owed), or
 * null when the bind fails with -ESRCH. `{ asid: 0, pinned: false }` is an unchecked refusal
 * (rfc-btm-2023 uses ASID 0).
 */
export type SharedCdAsid = { readonly asid: number; readonly pinned: boolean } | null;

/**
 * The SMMUv3/SVA kernel functions of the model, by kernel name (drivers/iommu/arm/arm-smmu-v3/,
 * drivers/iommu/iommu-sva.c): each takes the step's {@link Ctx} first. docs/designs.md lists what
 * each may read and change and what it returns.
 */
export interface SmmuParts {
  /** Init part: `arm_smmu_device_hw_probe`'s ARM_SMMU_FEAT_BTM, each SMMU's `featBtm` (called once at boot with the state). */
  arm_smmu_device_hw_probe(st: SmmuModelState): void;
  /** Init part: the ASID maps of `arm_smmu_init_structures` / `arm_smmu_asid_xa`, `st.pools` and `st.asidPools` (once at boot). */
  arm_smmu_init_structures(st: SmmuModelState): void;
  /** `arm_smmu_attach_dev`: attach `device` to DMA domain `domain` (created and finalised by its first attach). */
  arm_smmu_attach_dev(c: Ctx, device: string, domain: string, multiSmmu: boolean): void;
  /** `arm_smmu_domain_finalise_s1`: the new domain's ASID on master `m`'s SMMU, or an errno and why. */
  arm_smmu_domain_finalise_s1(c: Ctx, m: Master, domain: string, id: number): number | [Errno, string];
  /** `arm_smmu_detach_dev` (the core's detach of a DMA domain); the last master frees the domain. */
  arm_smmu_detach_dev(c: Ctx, device: string): void;
  /** `arm_smmu_domain_free`: flush the domain's ASID on its SMMUs, erase it. */
  arm_smmu_domain_free(c: Ctx, d: DmaDomain): void;
  /** `arm_smmu_write_ctx_desc(smmu_domain, 0, cd)`: write master `m`'s SSID-0 CD for domain `d`. */
  arm_smmu_write_ctx_desc(c: Ctx, m: Master, d: DmaDomain): void;
  /** `iommu_map` through io-pgtable-arm. */
  iommu_map(c: Ctx, domain: string, va: number, size: number, prot: number): void;
  /** `iommu_unmap` and its `arm_smmu_tlb_inv_range_domain`. */
  iommu_unmap(c: Ctx, domain: string, va: number, size: number): void;
  /** `iommu_sva_bind_device`. */
  iommu_sva_bind_device(c: Ctx, device: string, mm: string, pasid: number | undefined, op: string | undefined): void;
  /** `iommu_sva_unbind_device`. */
  iommu_sva_unbind_device(c: Ctx, device: string, mm: string): void;
  /** `iommu_sva_alloc_pasid` (`iommu_alloc_global_pasid` from v6.6): null with `sva.pasid` set, or an errno and why. */
  iommu_sva_alloc_pasid(c: Ctx, m: Master, sva: SvaMm, pasid: number | undefined): [Errno, string] | null;
  /**
   * `arm_smmu_sva_domain_alloc` (v6.11+): the SVA context of (mm, master `m`'s SMMU), found or made
   * with a private ASID: its id (whose CD the bind installs), -1 when a stepped bind (`op`) installs
   * it later, or an errno and why.
   */
  arm_smmu_sva_domain_alloc(c: Ctx, m: Master, sva: SvaMm, op: DriverOp | null): number | [Errno, string];
  /** `arm_smmu_mmu_notifier_get` -> `arm_smmu_alloc_shared_cd(mm)` (v5.11-v6.10): the mm's shared CD, on the CPU ASID (same results). */
  arm_smmu_mmu_notifier_get(c: Ctx, m: Master, sva: SvaMm, op: DriverOp | null): number | [Errno, string];
  /** The 2023 BTM series' `arm_smmu_sva_domain_alloc` on an SMMU with FEAT_BTM: the CPU ASID, `btm_invalidation` (same results). */
  arm_smmu_sva_btm_domain_alloc(c: Ctx, m: Master, sva: SvaMm, op: DriverOp | null): number | [Errno, string];
  /** The release of one bond of SVA context `ctx` (its CD at `m` cleared): v6.11+ frees the domain with its last user. */
  arm_smmu_sva_unbind(c: Ctx, m: Master, ctx: SvaContext, sva: SvaMm): void;
  /** `arm_smmu_mmu_notifier_put` (v5.11-v6.10): the (RID domain, mm) notifier's flush with its last bond, the shared CD freed with the last of all. */
  arm_smmu_mmu_notifier_put(c: Ctx, m: Master, ctx: SvaContext, sva: SvaMm): void;
  /** `arm_smmu_alloc_shared_cd`'s `arm64_mm_context_get(mm)` and its check. */
  arm_smmu_alloc_shared_cd(c: Ctx, sva: SvaMm): SharedCdAsid;
  /** One step of `arm_smmu_share_asid`'s move of a DMA domain off the mm's ASID (a `resume` runs the next). */
  arm_smmu_share_asid(c: Ctx, step: OpStep, op: DriverOp | null): void;
  /** `arm_smmu_mm_release`: the bound mm's last user went. */
  arm_smmu_mm_release(c: Ctx, mm: number): void;
  /** One notifier call (`arm_smmu_mm_invalidate_range` before v6.6): '' or why an invalidation went wrong. */
  arm_smmu_mm_arch_invalidate_secondary_tlbs(c: Ctx, mm: number, call: NotifierCall): string;
  /** The CPU's broadcast TLBIs of `__flush_tlb_range` / `flush_tlb_mm` as SMMUs using BTM snoop them (DVM). */
  __flush_tlb_range(c: Ctx, mm: number, f: CpuFlush): void;
  /** `__arm_smmu_tlb_inv_range` (`arm_smmu_tlb_inv_range_asid`): TLBI_NH_VA or range commands + CMD_SYNC; false when they remove nothing. */
  __arm_smmu_tlb_inv_range(c: Ctx, smmu: number, asid: number, first: number, last: number, how: TlbInvRangeHow): boolean;
  /** `arm_smmu_tlb_inv_asid`: CMD_TLBI_NH_ASID + CMD_SYNC on SMMU `smmu`. */
  arm_smmu_tlb_inv_asid(c: Ctx, smmu: number, asid: number): void;
  /** `arm_smmu_atc_inv_domain` for one master (`arm_smmu_atc_inv_master` at detach): CMD_ATC_INV + CMD_SYNC. */
  arm_smmu_atc_inv_domain(c: Ctx, m: Master, ssid: number, first: number, last: number): void;
}

export { PAGE_SHIFT, pageOf } from '../pages.js';

/** `CMDQ_MAX_TLBI_OPS` = 1 << (PAGE_SHIFT - 3): above this, SVA invalidation falls back to a whole-ASID TLBI. */
export const CMDQ_MAX_TLBI_OPS = 512;

/**
 * Whether the driver uses SMMU `i`'s BTM: the hardware has it (`btm: true`, IDR0.BTM) and the driver
 * sets ARM_SMMU_FEAT_BTM and clears CR2.PTM. Mainline never sets FEAT_BTM and always writes CR2_PTM
 * (arm_smmu_device_hw_probe / arm_smmu_device_reset), so only the 2023 proposal's design uses it.
 * The init part `arm_smmu_device_hw_probe` decides it at boot (`featBtm`).
 */
export function btmUsed(c: Ctx, i: number): boolean {
  return c.st.smmus[i]!.featBtm;
}

export function masterOf(c: Ctx, device: string): NonNullable<ReturnType<SmmuModelState['masters']['get']>> {
  const m = c.st.masters.get(device);
  if (!m) {
    const known = [...c.st.masters.keys()];
    throw new EventError(
      `device ${device} is not declared in the system's "devices"${known.length ? ` (declared: ${known.join(', ')})` : ' (none declared: add smmus and devices to the # system: preamble)'}`,
      c.row,
      'device',
    );
  }
  return m;
}

/** Human name of an address space id (`mm P`, `domain D1`). */
export function asName(c: Ctx, as: number): string {
  if (as >= 0) return `mm ${c.st.mmLabels.get(as) ?? c.cpu.label(as)}`;
  const name = c.st.domainIds.get(domainIdOf(as));
  return name !== undefined ? `domain ${name}` : `freed domain #${domainIdOf(as)}`;
}
