/**
 * The SVA mmu notifier: `arm_smmu_mm_release` when a bound mm's last user goes, and the secondary
 * TLB invalidation after a CPU page-table change (`arm_smmu_mm_invalidate_range` before v6.6,
 * `arm_smmu_mm_arch_invalidate_secondary_tlbs` since), with the BTM snoop of CPU broadcast TLBIs on
 * SMMUs whose BTM the driver uses.
 */
import { atcInv, btmSnoop, cfgiCd, tlbiNhAsid, tlbiNhVa } from './iotlb.js';
import { CMDQ_MAX_TLBI_OPS, type Ctx, btmUsed, hasFault } from './port.js';
import { latentAfterUnmap } from './stale.js';
import { contextSmmus, contextsOf } from './sva-context.js';
import { mmdrop } from './sva.js';

/**
 * The mm's last task exited: `exit_mmap` -> `mmu_notifier_release` -> `arm_smmu_mm_release`. Every CD
 * of its contexts becomes the quiet CD (EPD0: walks fault, the ASID stays), then TLBI_NH_ASID and
 * ATC_INV. The ASIDs stay allocated until unbind; an unbind after this flushes nothing more (no new
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
  const flush = !hasFault(c, 'no-release-tlbi');
  for (const ctx of contextsOf(c, mm)) {
    for (const x of ctx.masters) {
      const m = c.st.masters.get(x.device)!;
      const cd = m.cds.get(x.ssid)!;
      m.cds.set(x.ssid, { ...cd, quiet: true });
      cfgiCd(c, m);
      if (flush) atcInv(c, m, x.ssid, 0, -1);
    }
    if (flush) for (const i of contextSmmus(c, ctx)) tlbiNhAsid(c, i, ctx.asid);
    ctx.released = true;
  }
  latentAfterUnmap(c, mm, 0, -1);
}

/** A CPU flush of pages [first, last] of an mm, as the SMMU side sees it. */
export interface CpuFlush {
  /** ASIDs the CPU broadcast (both halves under KPTI; none for a local TLBI). */
  readonly asids: readonly number[];
  readonly first: number;
  readonly last: number;
  /** The CPU flushed the whole ASID (`flush_tlb_mm`, from MAX_TLBI_OPS pages on). */
  readonly cpuWhole: boolean;
  /** The notifier is called for the whole address space (v6.6+: `flush_tlb_mm` passes 0, -1UL). */
  readonly notifyWhole: boolean;
  /** The notifier is called at all (before v6.6 not for a permission upgrade). */
  readonly notify: boolean;
}

/**
 * After a CPU-side TLB flush of `mm`: SMMUs whose BTM the driver uses snoop the broadcast TLBIs
 * (entries with ASET=0 only); then the notifier of every SVA context: TLBI_NH_VA per page (one
 * ranged command with RANGE_INV), or TLBI_NH_ASID for the whole address space and, from v6.6
 * (CMDQ_MAX_TLBI_OPS, d5afb4b47e13), for 512 pages or more without RANGE_INV; none where the context
 * relies on BTM; ATC_INV for its masters; CMD_SYNC. Finally the latent stale check over the pages.
 */
export function invalidateSecondaryTlbs(c: Ctx, mm: number, f: CpuFlush): void {
  if (f.asids.length > 0 && !hasFault(c, 'no-dvm')) {
    c.st.smmus.forEach((_, i) => {
      if (btmUsed(c, i)) for (const a of f.asids) btmSnoop(c, i, a, f.first, f.cpuWhole ? -1 : f.last);
    });
  }
  const sva = c.st.svaMms.get(mm);
  if (!sva || sva.dead) return;
  if (f.notify) {
    const pages = f.last - f.first + 1;
    const cutoff = c.st.features.notifierCutoff;
    for (const ctx of contextsOf(c, mm)) {
      if (!ctx.installed || ctx.released) continue;
      for (const i of contextSmmus(c, ctx)) {
        const s = c.st.smmus[i]!;
        // From v6.6 a range of CMDQ_MAX_TLBI_OPS pages or more becomes size 0: the whole ASID, and
        // the whole ATC of the PASID (arm_smmu_atc_inv_to_cmd: size 0 is ATC_INV_SIZE_ALL).
        const whole = f.notifyWhole || (cutoff && !s.rangeInvalidation && pages >= CMDQ_MAX_TLBI_OPS);
        // v5.11's notifier sent no TLBI at all: FEAT_BTM was required for SVA then.
        if (!ctx.btmInvalidation && c.st.features.sva !== 'needs-btm') {
          if (whole) tlbiNhAsid(c, i, ctx.asid);
          else tlbiNhVa(c, i, ctx.asid, f.first, f.last);
        }
        for (const x of ctx.masters) {
          const m = c.st.masters.get(x.device)!;
          if (m.smmu === i) atcInv(c, m, x.ssid, f.first, whole ? -1 : f.last);
        }
      }
    }
  }
  latentAfterUnmap(c, mm, f.first, f.last);
}
