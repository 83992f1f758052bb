/**
 * The SMMU TLB (IOTLB) and the devices' ATCs, with the commands the driver issues to the SMMU's
 * command queue: CMD_TLBI_NH_ASID, CMD_TLBI_NH_VA (per page, or range commands with RANGE_INV),
 * CMD_ATC_INV, CMD_CFGI_CD, CMD_CFGI_STE and CMD_SYNC, plus the BTM snoop of CPU broadcast TLBIs.
 * Like QEMU's `smmu_iotlb_*` (hw/arm/smmu-common.c), with every command complete at its CMD_SYNC,
 * which the model issues in the same step. Commands are counted as `arm_smmu_cmdq_batch` submits
 * them: up to CMDQ_BATCH_ENTRIES (64) per `arm_smmu_cmdq_issue_cmdlist`, one CMD_SYNC at the submit.
 */
import type { Ctx } from './port.js';
import type { CmdOpcode } from './observer.js';
import { atcDrop } from './atc.js';
import type { Master, SmmuInstance, TlbEntry } from './state.js';

/** Entries per SMMU before the IOTLB is emptied (QEMU flushes at 256; larger keeps stale entries findable). */
export const IOTLB_CAPACITY = 16384;

export function iotlbLookup(s: SmmuInstance, asid: number, page: number): TlbEntry | undefined {
  return s.iotlb.get(asid)?.get(page);
}

export function iotlbFill(s: SmmuInstance, page: number, e: TlbEntry): void {
  if (s.entries >= IOTLB_CAPACITY) {
    s.iotlb.clear();
    s.tagsOf.clear();
    s.entries = 0;
  }
  let pages = s.iotlb.get(e.asid);
  if (!pages) s.iotlb.set(e.asid, (pages = new Map()));
  if (!pages.has(page)) s.entries++;
  pages.set(page, e);
  let tags = s.tagsOf.get(e.as);
  if (!tags) s.tagsOf.set(e.as, (tags = new Set()));
  tags.add(e.asid);
}

/** Remove entries of `asid` in pages [first, last] that `pred` accepts. @returns how many. */
function dropRange(s: SmmuInstance, asid: number, first: number, last: number, pred?: (e: TlbEntry) => boolean): number {
  const pages = s.iotlb.get(asid);
  if (!pages) return 0;
  let n = 0;
  // Stryker disable next-line ArithmeticOperator: equivalent, both paths remove the same entries; these only move the choice to walking a range at most 2 pages longer than the entries cached
  if (last - first + 1 > pages.size) {
    for (const [pg, e] of pages) if (pg >= first && pg <= last && (!pred || pred(e)) && pages.delete(pg)) n++;
  } else {
    for (let pg = first; pg <= last; pg++) {
      const e = pages.get(pg);
      if (e && (!pred || pred(e)) && pages.delete(pg)) n++;
    }
  }
  if (pages.size === 0) s.iotlb.delete(asid);
  s.entries -= n;
  return n;
}

function dropAsid(s: SmmuInstance, asid: number, pred?: (e: TlbEntry) => boolean): void {
  const pages = s.iotlb.get(asid);
  if (!pages) return;
  // Stryker disable next-line BlockStatement: equivalent, dropRange over [0, MAX_SAFE_INTEGER] without a predicate removes the same entries and counts them
  if (!pred) {
    s.entries -= pages.size;
    s.iotlb.delete(asid);
    return;
  }
  dropRange(s, asid, 0, Number.MAX_SAFE_INTEGER, pred);
}

/** `CMDQ_BATCH_ENTRIES` (BITS_PER_LONG): commands per `arm_smmu_cmdq_issue_cmdlist` of a batch. */
export const CMDQ_BATCH_ENTRIES = 64;

/**
 * Submit `count` commands of `opcode` to SMMU `i` as one `arm_smmu_cmdq_batch`: a full batch is
 * issued without a sync, the submit issues the rest with one CMD_SYNC (so `count` 0 is just a sync).
 */
function submitBatch(c: Ctx, i: number, opcode: CmdOpcode, count: number): void {
  const n = c.obs.smmuCounters[i]!;
  n.commands[opcode] += count;
  n.commands.CMD_SYNC++;
  n.syncs++;
  n.cmdlists += Math.max(1, Math.ceil(count / CMDQ_BATCH_ENTRIES));
}

/** CMD_TLBI_NH_ASID(asid) + CMD_SYNC on SMMU `i` (`arm_smmu_tlb_inv_asid`). */
export function tlbiNhAsid(c: Ctx, i: number, asid: number): void {
  dropAsid(c.st.smmus[i]!, asid);
  c.obs.smmuCounters[i]!.tlbiAsid++;
  submitBatch(c, i, 'CMD_TLBI_NH_ASID', 1);
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
   * `leaf == false` (the SVA notifier) from eb6c97647be2 (v6.6): with RANGE_INV a page count that is
   * 1 modulo 32 is bumped by one (`num_pages++`), so SCALE and NUM are never both 0 with TTL 0.
   */
  readonly nonLeafBump?: boolean;
  /**
   * The domain's `pgsize_bitmap` is 0 (SVA domains, v6.11-v6.14): `tg = __ffs(0)` is 64 on arm64, the
   * command's 2-bit TG field holds 3 (64 KiB) and `size >> tg` keeps the byte count, so the loop still
   * walks [iova, end) in as many commands as the page count has 5-bit chunks, but an SMMU need not
   * invalidate 4 KiB entries with a range command of another granule: the entries stay.
   */
  readonly tgBug?: boolean;
}

/**
 * CMD_TLBI_NH_VA for pages [first, last] of `asid` + CMD_SYNC (`arm_smmu_tlb_inv_range_asid`): one
 * command per page, or the range commands with RANGE_INV, batched.
 * @returns false when the range commands, as built, do not remove the 4 KiB entries (`how.tgBug`).
 */
export function tlbiNhVa(c: Ctx, i: number, asid: number, first: number, last: number, how: InvRangeHow = {}): boolean {
  const s = c.st.smmus[i]!;
  let pages = last - first + 1;
  let removes = true;
  if (s.rangeInvalidation && how.tgBug) removes = false;
  else if (s.rangeInvalidation && how.nonLeafBump && pages % 32 === 1) pages++;
  if (removes) dropRange(s, asid, first, first + pages - 1);
  const count = s.rangeInvalidation ? rangeCommands(pages) : pages;
  c.obs.smmuCounters[i]!.tlbiVa += count;
  submitBatch(c, i, 'CMD_TLBI_NH_VA', count);
  return removes;
}

const sharedOnly = (e: TlbEntry): boolean => e.shared;

/**
 * BTM: a CPU `TLBI ASIDE1IS` / `VAE1IS` (broadcast, inner shareable) for `asid` also removes this
 * SMMU's entries with that ASID whose CD had ASET=0. `last < 0` means the whole ASID.
 */
export function btmSnoop(c: Ctx, i: number, asid: number, first: number, last: number): void {
  const s = c.st.smmus[i]!;
  if (last < 0) dropAsid(s, asid, sharedOnly);
  else dropRange(s, asid, first, last, sharedOnly);
  c.obs.smmuCounters[i]!.btmSnoops++;
}

/** StreamIDs a master's per-SID commands go to (a master declared without any has one). */
const sids = (m: Master): number => Math.max(1, m.streamIds.length);

/**
 * CMD_ATC_INV for (master, ssid) pages [first, last] (`ssid` -1: every SSID; `last` < 0: all pages):
 * one per StreamID of an ATS master, batched, one CMD_SYNC (`arm_smmu_atc_inv_master/_domain`).
 */
export function atcInv(c: Ctx, m: Master, ssid: number, first: number, last: number): void {
  if (!m.ats) return;
  c.obs.smmuCounters[m.smmu]!.atcInv += sids(m);
  submitBatch(c, m.smmu, 'CMD_ATC_INV', sids(m));
  atcDrop(m, ssid, first, last);
}

/** CMD_CFGI_CD for each StreamID of the master + CMD_SYNC (`arm_smmu_sync_cd`): the configuration cache only. */
export function cfgiCd(c: Ctx, m: Master): void {
  c.obs.smmuCounters[m.smmu]!.cfgiCd += sids(m);
  submitBatch(c, m.smmu, 'CMD_CFGI_CD', sids(m));
}

/** CMD_CFGI_STE for each StreamID of the master + CMD_SYNC (`arm_smmu_sync_ste_for_sid`), at attach and detach. */
export function cfgiSte(c: Ctx, m: Master): void {
  submitBatch(c, m.smmu, 'CMD_CFGI_STE', sids(m));
}
