/**
 * The SVA mmu notifier: `arm_smmu_mm_release` when a bound mm's last user goes, and the secondary
 * TLB invalidation after a CPU page-table change (`arm_smmu_mm_invalidate_range` before v6.6,
 * `arm_smmu_mm_arch_invalidate_secondary_tlbs` since), with the BTM snoop of CPU broadcast TLBIs on
 * SMMUs whose BTM the driver uses.
 */
import { btmSnoop, cfgiCd } from './iotlb.js';
import { CMDQ_MAX_TLBI_OPS, type CpuFlush, type Ctx, type NotifierCall, btmUsed } from './port.js';
import { latentAfterUnmap } from './stale.js';
import { contextNotifiers, contextsOf } from './sva-context.js';
import { mmdrop } from './sva.js';

/**
 * The mm's last task exited: `exit_mmap` -> `mmu_notifier_release` -> `arm_smmu_mm_release`. Every CD
 * of its contexts becomes the quiet CD (EPD0: walks fault, the ASID stays), then each notifier
 * ({@link contextNotifiers}) sends TLBI_NH_ASID and ATC_INV of its masters at the PASID. The ASIDs stay allocated until unbind; an unbind after this flushes nothing more (no new
 * entry can form). An mm with no bond left is dropped at once (its final mmdrop).
 */
export function mmRelease(c: Ctx, mm: number): void {
  const sva = c.st.svaMms.get(mm);
  if (!sva) return;
  sva.dead = true;
  sva.deadRow = c.row;
  if (sva.bonds.size === 0) {
    mmdrop(c, sva);
    return;
  }
  c.obs.sva.releases++;
  for (const ctx of contextsOf(c, mm)) {
    for (const x of ctx.masters) {
      const m = c.st.masters.get(x.device)!;
      const cd = m.cds.get(x.ssid)!;
      // Stryker disable next-line BooleanLiteral: equivalent, the mm is dead from here and walkAs maps nothing for a dead mm, so a walk through a non-quiet CD faults as the quiet CD does
      m.cds.set(x.ssid, { ...cd, quiet: true });
      cfgiCd(c, m);
    }
    // each notifier: TLBI_NH_ASID, then the ATC of its masters at the PASID (size 0: all of it)
    for (const n of contextNotifiers(c, ctx)) {
      for (const i of n.smmus) c.parts.arm_smmu_tlb_inv_asid(c, i, ctx.asid);
      for (const x of n.atc) c.parts.arm_smmu_atc_inv_domain(c, c.st.masters.get(x.device)!, x.ssid, 0, -1);
    }
    ctx.released = true;
  }
  latentAfterUnmap(c, mm, 0, -1);
}

export type { CpuFlush, NotifierCall };

/** Fixed by 95d4782c34a6 (v5.18). */
const SIZE_FIX = '95d4782c34a6 "iommu/arm-smmu-v3: Fix size calculation in arm_smmu_mm_invalidate_range()" (v5.18)';

/**
 * After a CPU-side TLB flush of `mm`: SMMUs whose BTM the driver uses snoop the broadcast TLBIs
 * (entries with ASET=0 only); then each notifier call, for every SVA context of the mm
 * ({@link notifierInvalidate}); finally the latent stale check over the pages the change touched.
 */
export function invalidateSecondaryTlbs(c: Ctx, mm: number, f: CpuFlush): void {
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, with no ASID broadcast (f.asids empty) the snoop finds nothing to snoop
  if (f.asids.length > 0) c.parts.__flush_tlb_range(c, mm, f);
  const sva = c.st.svaMms.get(mm);
  // Stryker disable next-line ConditionalExpression: equivalent, an mm with no SVA record never had a context or an entry (a live mm's record stays), and a dead mm gets no page-table change
  if (!sva || sva.dead) return;
  let why = '';
  for (const call of f.calls) {
    const w = c.parts.arm_smmu_mm_arch_invalidate_secondary_tlbs(c, mm, call);
    // Stryker disable next-line StringLiteral: equivalent, why.includes('') is always true, so an empty w is never appended either way
    if (w !== '' && !why.includes(w)) why += w;
    if (w === HUNG) break;
  }
  if (f.latent) latentAfterUnmap(c, mm, f.latent[0], f.latent[1], why);
}

const HUNG = ' (the CPU hung in __arm_smmu_tlb_inv_range before it: inv-range-hang)';
const TG_BUG =
  ' (the SVA domain has no pgsize_bitmap: the range command carries TG 64 KiB, which need not remove 4 KiB entries; fixed by 12f78021973a "iommu/arm-smmu-v3: Fix pgsize_bit for sva domains", v6.15)';

/**
 * One notifier call for every installed SVA context of `mm`, by each of its notifiers
 * ({@link contextNotifiers}: one per RID domain of the bound masters up to v6.10, one per SMMU since):
 * TLBI_NH_VA per page (range commands with RANGE_INV), or TLBI_NH_ASID for the whole address space
 * and, from v6.6 (CMDQ_MAX_TLBI_OPS, d5afb4b47e13), for 512 pages or more without RANGE_INV; none
 * where the context relies on BTM; then ATC_INV for its masters (`arm_smmu_atc_inv_domain`); CMD_SYNC.
 *
 * v5.11-v5.17 (2f7e8c553e98 .. 95d4782c34a6): `arm_smmu_mm_invalidate_range` computed
 * `size = end - start + 1`, one byte past the range: without RANGE_INV one TLBI_NH_VA too many (the
 * page after the range), and the ATC range one page wider. With RANGE_INV, `__arm_smmu_tlb_inv_range`
 * takes `num_pages = size >> tg` (the whole pages only); once they are consumed `iova` is still one
 * byte short of `end`, `num_pages` is 0, so `inv_range` is 0 and `while (iova < end)` never ends: the
 * CPU hangs (a soft lockup) and the munmap never completes. The model reports
 * `inv-range-hang`, and the call (and the rest of this CPU's invalidation) does not happen.
 * v6.11-v6.14 (d38c28dbefee .. 12f78021973a): the SVA domain's `pgsize_bitmap` is 0; see
 * `InvRangeHow.tgBug` (iotlb.ts).
 * @returns '' or, when an invalidation went wrong, why (for the latent findings' detail).
 */
export function notifierInvalidate(c: Ctx, mm: number, call: NotifierCall): string {
  let why = '';
  const f = c.st.features;
  const pages = call.last - call.first + 1;
  /**
   * The call's extent as SMMU `i`'s invalidation sees it: from v6.6 a range of CMDQ_MAX_TLBI_OPS
   * pages or more without RANGE_INV becomes size 0, the whole ASID and the whole ATC of the PASID
   * (arm_smmu_atc_inv_to_cmd: size 0 is ATC_INV_SIZE_ALL); v5.11-v5.17 one byte more.
   */
  const cut = (i: number) => {
    // Stryker disable next-line ConditionalExpression,BooleanLiteral,EqualityOperator: equivalent, from v6.6 a call of 512+ pages always comes from flush_tlb_mm (whole), as the modelled CPU has no FEAT_TLBIRANGE
    const whole = call.whole || (f.notifierCutoff && !c.st.smmus[i]!.rangeInvalidation && pages >= CMDQ_MAX_TLBI_OPS);
    return { whole, extra: f.notifierSizePlusOne && !whole ? 1 : 0 };
  };
  for (const ctx of contextsOf(c, mm)) {
    // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent, a context not yet installed (ASID move in flight) has no master and no TLBI of its own (shared CD: no SMMU; btm-2023: BTM), and a released one's mm is dead
    if (!ctx.installed || ctx.released) continue;
    for (const n of contextNotifiers(c, ctx)) {
      for (const i of n.smmus) {
        const s = c.st.smmus[i]!;
        const { whole, extra } = cut(i);
        // v5.11's notifier sent no TLBI at all: FEAT_BTM was required for SVA then.
        // Stryker disable next-line ConditionalExpression,StringLiteral: equivalent, v5.11 binds only on an SMMU whose BTM the driver uses (svaSupported), and every such context has btmInvalidation
        if (ctx.btmInvalidation || f.sva === 'needs-btm') continue;
        if (whole) c.parts.arm_smmu_tlb_inv_asid(c, i, ctx.asid);
        else if (extra && s.rangeInvalidation) {
          c.obs.violation({
            row: c.row,
            kind: 'inv-range-hang',
            asid: ctx.asid,
            mm: c.cpu.label(mm),
            detail: `arm_smmu_mm_invalidate_range passed size = end - start + 1 (${pages} pages + 1 byte) for ASID ${ctx.asid} on ${s.name}, which has RANGE_INV: __arm_smmu_tlb_inv_range never leaves while (iova < end) once num_pages is 0 (the CPU hangs; fixed by ${SIZE_FIX})`,
          });
          return HUNG;
        } else {
          const how = { leaf: false, nonLeafBump: f.nonLeafRangeBump, tgBug: f.svaRangeTgBug && ctx.smmu >= 0 };
          if (!c.parts.__arm_smmu_tlb_inv_range(c, i, ctx.asid, call.first, call.last + extra, how)) why = TG_BUG;
        }
      }
      for (const x of n.atc) {
        const m = c.st.masters.get(x.device)!;
        const { whole, extra } = cut(m.smmu);
        c.parts.arm_smmu_atc_inv_domain(c, m, x.ssid, call.first, whole ? -1 : call.last + extra);
      }
    }
  }
  return why;
}

/**
 * The CPU's broadcast TLBIs of a flush of `mm` (arm64 `__flush_tlb_range` / `flush_tlb_mm`,
 * arch/arm64/include/asm/tlbflush.h: `__tlbi(vale1is/aside1is)` then `dsb(ish)`) as SMMUs whose BTM
 * the driver uses snoop them over DVM: entries of those ASIDs whose CD had ASET=0 go. The CPU TLBs'
 * own flush is not this part (model/cpu/mappings.ts).
 */
export function cpuBroadcastTlbi(c: Ctx, _mm: number, f: CpuFlush): void {
  c.st.smmus.forEach((_, i) => {
    if (btmUsed(c, i)) for (const a of f.asids) btmSnoop(c, i, a, f.first, f.cpuWhole ? -1 : f.last);
  });
}
