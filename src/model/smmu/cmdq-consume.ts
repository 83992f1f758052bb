/**
 * The SMMU side of the command queue: at a CMD_SYNC every command queued before it is decoded by
 * opcode and applied to the IOTLB, the ATCs and the configuration cache, as QEMU's
 * `smmuv3_cmdq_consume` (hw/arm/smmuv3.c) decodes them, with the command semantics of the SMMUv3
 * architecture (IHI 0070, 4.4 "Invalidation commands", 4.5 "ATS and PRI"). QEMU applies each
 * command when the producer index moves; the architecture only promises completion at the
 * CMD_SYNC that follows, which is when the model applies them (the latest a conforming SMMU may).
 */
import { atcDrop } from './atc.js';
import {
  ATC_INV_SIZE_ALL,
  CMDQ_OP_ATC_INV,
  CMDQ_OP_CFGI_CD,
  CMDQ_OP_TLBI_NH_ASID,
  CMDQ_OP_TLBI_NH_VA,
  CMD_STRIDE,
  pow2,
} from './cmdq-ent.js';
import { dropAsid, dropRange } from './iotlb-cache.js';
import type { Ctx } from './port.js';

/** The TLBI range TG field of the 4 KiB granule, the only one the model's entries have (`(12 - 10) / 2`). */
export const TG_4K = 1;

/**
 * Whether a TLBI_NH_VA with TG field `tg` invalidates 4 KiB leaf entries: TG 0 is not a range
 * command (the entries of any granule at the address go); a range command addresses the entries of
 * its own granule (TG 1: 4 KiB, 2: 16 KiB, 3: 64 KiB), and the architecture does not require an
 * SMMU to invalidate entries of another granule, so the model removes none.
 */
export const tlbiGranuleMatches = (tg: number): boolean => tg === 0 || tg === TG_4K;

/**
 * SMMU `i` reached a CMD_SYNC: decode and apply the commands queued before it, oldest first (the
 * first `len` numbers of `q`, records of `CMD_STRIDE`; the caller then empties what it passed):
 *
 * - CMD_TLBI_NH_ASID: every IOTLB entry of the ASID.
 * - CMD_TLBI_NH_VA: TG 0, one page at `addr` (a run record: `count` pages from `addr`); TG 1,
 *   (NUM + 1) * 2^SCALE pages from `addr` (QEMU `smmuv3_range_inval`); TG 2 or 3, none (see
 *   {@link tlbiGranuleMatches}). Page ranges of one ASID that follow each other (a run, the range
 *   commands of one call) are merged and removed once, walking the smaller of the range and the
 *   ASID's entries: a huge unmap costs O(entries cached), never O(pages).
 * - CMD_ATC_INV: the ATC of the master behind `sid`, entries of `ssid` when SSV is set, of every
 *   SSID when it is clear (PCIe ATS: an invalidation without PASID prefix hits all of the range),
 *   in the 2^size pages from `addr` (`ATC_INV_SIZE_ALL`: all).
 * - CMD_CFGI_CD / CMD_CFGI_STE: the configuration cache. The model reads CDs and STEs from the
 *   tables at each access (it caches none), so there is nothing to remove; they are counted.
 *
 * It runs at a CMD_SYNC (the sync itself is not queued), and counts it in `syncs`.
 * The counters `tlbiAsid`, `tlbiVa`, `atcInv` and `cfgiCd` are counted here, per command decoded.
 */
export function cmdqConsume(c: Ctx, i: number, q: readonly number[], len: number): void {
  const s = c.st.smmus[i]!;
  const n = c.obs.smmuCounters[i]!;
  n.syncs++;
  // Pending TLBI_NH_VA page range, merged while contiguous and of one ASID (-1: none).
  let vaAsid = -1;
  let vaFirst = 0;
  let vaLast = -1;
  for (let k = 0; k < len; k += CMD_STRIDE) {
    const op = q[k]!;
    const count = q[k + 1]!;
    if (op === CMDQ_OP_TLBI_NH_VA) {
      n.tlbiVa += count;
      const tg = q[k + 7]!;
      if (!tlbiGranuleMatches(tg)) continue;
      const asid = q[k + 2]!;
      const first = q[k + 4]!;
      const last = tg === 0 ? first + count - 1 : first + (q[k + 5]! + 1) * pow2(q[k + 6]!) - 1;
      if (asid === vaAsid && first <= vaLast + 1 && first >= vaFirst) vaLast = Math.max(vaLast, last);
      else {
        if (vaAsid >= 0) dropRange(s, vaAsid, vaFirst, vaLast);
        vaAsid = asid;
        vaFirst = first;
        vaLast = last;
      }
      continue;
    }
    // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent, every decode only removes entries and removals commute, so a pending range flushed here or at the end of the batch leaves the same cache
    if (vaAsid >= 0) {
      dropRange(s, vaAsid, vaFirst, vaLast);
      vaAsid = -1;
    }
    switch (op) {
      case CMDQ_OP_TLBI_NH_ASID:
        n.tlbiAsid += count;
        dropAsid(s, q[k + 2]!);
        break;
      case CMDQ_OP_ATC_INV: {
        n.atcInv += count;
        const sid = q[k + 2]!;
        const ssid = q[k + 4]! === 1 ? q[k + 3]! : -1;
        const size = q[k + 7]!;
        const first = q[k + 6]!;
        const last = size >= ATC_INV_SIZE_ALL ? -1 : first + pow2(size) - 1;
        c.st.masters.forEach((m) => {
          if (m.smmu === i && m.streamIds.includes(sid)) atcDrop(m, ssid, first, last);
        });
        break;
      }
      case CMDQ_OP_CFGI_CD:
        n.cfgiCd += count;
        break;
      default: // CMDQ_OP_CFGI_STE: no configuration cache to invalidate, no counter of its own
        break;
    }
  }
  if (vaAsid >= 0) dropRange(s, vaAsid, vaFirst, vaLast);
}
