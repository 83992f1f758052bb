/**
 * The commands the driver issues to an SMMU's command queue (cmdq.ts), under the names of the model's
 * calls: CMD_TLBI_NH_ASID, CMD_TLBI_NH_VA (per page, or range commands with RANGE_INV), CMD_ATC_INV,
 * CMD_CFGI_CD and CMD_CFGI_STE, each batched and submitted with one CMD_SYNC, at which the consumer
 * (cmdq-consume.ts) applies them; plus the BTM snoop of CPU broadcast TLBIs (not a command). These
 * functions build commands with the fields the kernel encodes and submit them: they neither touch
 * the IOTLB or ATC nor count.
 */
import type { Ctx } from './port.js';
import {
  ATC_INV_SIZE_ALL,
  CMDQ_OP_ATC_INV,
  CMDQ_OP_CFGI_CD,
  CMDQ_OP_CFGI_STE,
  CMDQ_OP_TLBI_NH_ASID,
  CMDQ_OP_TLBI_NH_VA,
  CMDQ_TLBI_RANGE_NUM_MAX,
  type CmdqBatch,
  cmdqBatchAdd,
  cmdqScratchBatch,
  cmdqBatchSubmit,
  alignDown,
  ffs,
  flsXor,
  pow2,
} from './cmdq.js';
import { tlbiGranuleMatches } from './cmdq-consume.js';
import { dropAsid, dropRange } from './iotlb-cache.js';
import type { DmaDomain, Master, TlbEntry } from './state.js';

export { IOTLB_CAPACITY, iotlbFill, iotlbLookup } from './iotlb-cache.js';
export { CMDQ_BATCH_ENTRIES } from './cmdq.js';

/** CMD_TLBI_NH_ASID(asid) + CMD_SYNC on SMMU `i` (`arm_smmu_tlb_inv_asid`: `arm_smmu_cmdq_issue_cmd_with_sync`). */
export function tlbiNhAsid(c: Ctx, i: number, asid: number): void {
  const b = cmdqScratchBatch(i);
  cmdqBatchAdd(c, b, CMDQ_OP_TLBI_NH_ASID, 1, asid, 0);
  cmdqBatchSubmit(c, b);
}

/**
 * Range commands `__arm_smmu_tlb_inv_range` needs for `pages` 4 KiB pages with RANGE_INV: each takes
 * `num = (num_pages >> scale) & CMDQ_TLBI_RANGE_NUM_MAX` (5 bits) at `scale = __ffs(num_pages)`.
 */
export function rangeCommands(pages: number): number {
  let cmds = 0;
  for (let left = pages; left > 0; cmds++) {
    let scale = 0;
    while (Math.floor(left / 2 ** scale) % 2 === 0) scale++;
    left -= (Math.floor(left / 2 ** scale) % 32) * 2 ** scale;
  }
  return cmds;
}

/** How `__arm_smmu_tlb_inv_range` was called, where the kernel's answer depends on it. */
export interface InvRangeHow {
  /**
   * The `leaf` argument (default true: `iommu_unmap`'s `arm_smmu_iotlb_sync`); the SVA notifier
   * passes false. With RANGE_INV a leaf command carries TTL 3 (`4 - ((ilog2(granule) - 3) / (tg -
   * 3))`), a non-leaf one TTL 0; the model's 4 KiB leaf entries match either.
   */
  readonly leaf?: boolean;
  /**
   * `leaf == false` (the SVA notifier) from eb6c97647be2 (v6.6): with RANGE_INV a `num_pages` that is
   * 1 modulo 32 (`(num_pages & CMDQ_TLBI_RANGE_NUM_MAX) == 1`) is bumped by one, so SCALE and NUM are
   * never both 0 with TTL 0. Set it only for a non-leaf call.
   */
  readonly nonLeafBump?: boolean;
  /**
   * The domain's `pgsize_bitmap` is 0 (SVA domains, v6.11-v6.14): `tg = __ffs(0)`, 64 on arm64, where
   * a shift by 64 shifts by 0. The commands are built from it as the kernel does: TG field
   * `(64 - 10) / 2 & 3` = 3 (64 KiB), `num_pages = size >> tg` the byte count (so no bump: a byte
   * count is never 1 modulo 32), `inv_range = num << (scale + tg)` the same bytes as for 4 KiB pages,
   * hence as many commands as the page count has 5-bit chunks; the consumer's decode of TG 3 then
   * removes none of the 4 KiB entries.
   */
  readonly tgBug?: boolean;
}

const PAGE = 4096;

/**
 * CMD_TLBI_NH_VA for pages [first, last] of `asid` + CMD_SYNC (`arm_smmu_tlb_inv_range_asid` ->
 * `__arm_smmu_tlb_inv_range`): {@link tlbiNhVaCmds}, then the batch submitted.
 * @returns whether the commands, as built, remove the 4 KiB entries (false: a TG of another
 *   granule, `how.tgBug`), as the consumer decodes them.
 */
export function tlbiNhVa(c: Ctx, i: number, asid: number, first: number, last: number, how: InvRangeHow = {}): boolean {
  const b = cmdqScratchBatch(i);
  const removes = tlbiNhVaCmds(c, b, asid, first, last, how);
  cmdqBatchSubmit(c, b);
  return removes;
}

/**
 * The commands of `__arm_smmu_tlb_inv_range` for pages [first, last] of `asid`, added to batch `b`
 * (not submitted). Without RANGE_INV one command per 4 KiB granule (`inv_range = granule`, TG 0),
 * queued as one run record of `pages` commands (so a 2^32-page unmap is O(1) to issue and
 * O(entries cached) to apply). With RANGE_INV the kernel's loop, literally:
 * `scale = __ffs(num_pages)`, `num = (num_pages >> scale) & 31`, NUM = num - 1, `iova += num <<
 * (scale + tg)`, `num_pages -= num << scale`, while `iova < end`: one command per 5-bit chunk.
 * @returns whether the commands remove the 4 KiB entries when decoded.
 */
export function tlbiNhVaCmds(c: Ctx, b: CmdqBatch, asid: number, first: number, last: number, how: InvRangeHow = {}): boolean {
  const leaf = how.leaf ?? true;
  if (!c.st.smmus[b.smmu]!.rangeInvalidation) {
    cmdqBatchAdd(c, b, CMDQ_OP_TLBI_NH_VA, last - first + 1, asid, 0, first, 0, 0, 0, 0, leaf ? 1 : 0);
    return true;
  }
  // tg = __ffs(domain.pgsize_bitmap): 12 for 4 KiB pages; __ffs(0) is 64 (arm64 rbit + clz of 0).
  const tg = how.tgBug ? 64 : 12;
  const tgField = ((tg - 10) / 2) & 3;
  const ttl = leaf ? (4 - Math.trunc((12 - 3) / (tg - 3))) & 3 : 0;
  // Shifts by a register on arm64 take the count modulo 64.
  let numPages = Math.floor(((last - first + 1) * PAGE) / pow2(tg % 64));
  if (how.nonLeafBump && numPages % (CMDQ_TLBI_RANGE_NUM_MAX + 1) === 1) numPages++;
  let iova = first * PAGE;
  const end = (last + 1) * PAGE;
  while (iova < end) {
    // Stryker disable next-line ConditionalExpression: equivalent, a num_pages of whole pages covers [iova, end) before it is used up (only the v5.11-v5.17 size + 1 left a byte over, and the notifier reports that hang without calling here)
    if (numPages <= 0) throw new Error(`internal: __arm_smmu_tlb_inv_range ran out of pages before end (ASID ${asid})`);
    const scale = ffs(numPages);
    const num = Math.floor(numPages / pow2(scale)) % (CMDQ_TLBI_RANGE_NUM_MAX + 1);
    cmdqBatchAdd(c, b, CMDQ_OP_TLBI_NH_VA, 1, asid, 0, iova / PAGE, (num - 1) & 31, scale & 31, tgField, ttl, leaf ? 1 : 0);
    iova += num * pow2((scale + tg) % 64);
    numPages -= num * pow2(scale);
  }
  return tlbiGranuleMatches(tgField);
}

const sharedOnly = (e: TlbEntry): boolean => e.shared;

/**
 * BTM: a CPU `TLBI ASIDE1IS` / `VAE1IS` (broadcast, inner shareable) for `asid` also removes this
 * SMMU's entries with that ASID whose CD had ASET=0. `last < 0` means the whole ASID. Not a
 * command: the SMMU snoops the broadcast, so this changes the IOTLB directly.
 */
export function btmSnoop(c: Ctx, i: number, asid: number, first: number, last: number): void {
  const s = c.st.smmus[i]!;
  if (last < 0) dropAsid(s, asid, sharedOnly);
  else dropRange(s, asid, first, last, sharedOnly);
  c.obs.smmuCounters[i]!.btmSnoops++;
}

/**
 * CMD_ATC_INV for (master, ssid) pages [first, last] (`ssid` -1: every SSID; `last` < 0: all pages):
 * one per StreamID of an ATS master, batched, one CMD_SYNC (`arm_smmu_atc_inv_master/_domain`). The
 * command as `arm_smmu_atc_inv_to_cmd` builds it: SSV = (ssid != IOMMU_NO_PASID); size 0 (all pages)
 * becomes `ATC_INV_SIZE_ALL`; otherwise the smallest aligned power of two covering the pages,
 * `log2_span = fls_long(page_start ^ page_end)`, `addr = page_start & ~(2^log2_span - 1)` (pages
 * [7, 10] are invalidated as [0, 15]).
 */
export function atcInv(c: Ctx, m: Master, ssid: number, first: number, last: number): void {
  if (!m.ats) return;
  const b = cmdqScratchBatch(m.smmu);
  atcInvCmds(c, b, m, ssid, first, last);
  cmdqBatchSubmit(c, b);
}

/** The CMD_ATC_INV of {@link atcInv}, one per StreamID of `m`, added to batch `b` (not submitted). */
export function atcInvCmds(c: Ctx, b: CmdqBatch, m: Master, ssid: number, first: number, last: number): void {
  let addr = 0;
  let size = ATC_INV_SIZE_ALL;
  if (last >= 0) {
    size = flsXor(first, last);
    addr = alignDown(first, size);
  }
  const ssv = ssid > 0 ? 1 : 0;
  for (const sid of m.streamIds) cmdqBatchAdd(c, b, CMDQ_OP_ATC_INV, 1, sid, ssv ? ssid : 0, ssv, 0, addr, size);
}

/** The page of `ULONG_MAX`, 0xfffffffffffff000, as a 4 KiB page number: 2^52 - 1. */
export const TOP_PAGE = 2 ** 52 - 1;

/**
 * `arm_smmu_iotlb_sync` on an empty gather: what an `iommu_unmap` of domain `d` that unmapped
 * nothing sends, as the era has it (`features.emptyUnmapSync`, eras.ts): nothing (v5.13 on, which
 * return on `!gather->pgsize`); else a lone CMD_SYNC on each SMMU of the domain (the TLBI loop of
 * the wrapped size builds no command, the batch is submitted all the same), and from v5.4 a
 * CMD_ATC_INV at SSID 0 for each ATS master (`arm_smmu_atc_inv_domain(.., 0, ULONG_MAX, size)`):
 * of the page at 0xfffffffffffff000 up to v5.11 (size 1), of the whole ATC in v5.12 (size 2 after
 * 862c3715de8f: the span's log2 is 52, `ATC_INV_SIZE_ALL`).
 */
export function iotlbSyncEmptyGather(c: Ctx, d: DmaDomain): void {
  const how = c.st.features.emptyUnmapSync;
  if (how === 'none') return;
  for (const i of d.smmus) cmdqBatchSubmit(c, cmdqScratchBatch(i));
  if (how === 'sync') return;
  for (const dev of d.masters) {
    const m = c.st.masters.get(dev)!;
    if (how === 'sync-atc-top') c.parts.arm_smmu_atc_inv_domain(c, m, 0, TOP_PAGE, TOP_PAGE);
    else c.parts.arm_smmu_atc_inv_domain(c, m, 0, 0, -1);
  }
}

/**
 * CMD_CFGI_CD(sid, ssid, leaf) for each StreamID of the master + CMD_SYNC (`arm_smmu_sync_cd`):
 * the configuration cache only. `ssid` is the CD's SSID (callers that pass none mean SSID 0).
 */
export function cfgiCd(c: Ctx, m: Master, ssid = 0): void {
  const b = cmdqScratchBatch(m.smmu);
  for (const sid of m.streamIds) cmdqBatchAdd(c, b, CMDQ_OP_CFGI_CD, 1, sid, ssid, 1);
  cmdqBatchSubmit(c, b);
}

/** CMD_CFGI_STE(sid, leaf) for each StreamID of the master + CMD_SYNC (`arm_smmu_sync_ste_for_sid`), at attach and detach. */
export function cfgiSte(c: Ctx, m: Master): void {
  const b = cmdqScratchBatch(m.smmu);
  for (const sid of m.streamIds) cmdqBatchAdd(c, b, CMDQ_OP_CFGI_STE, 1, sid, 0, 1);
  cmdqBatchSubmit(c, b);
}
