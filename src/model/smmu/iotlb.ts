/**
 * The SMMU TLB (IOTLB) and the devices' ATCs, with the invalidation commands the driver queues
 * (spec smmu-sva.md §7): CMD_TLBI_NH_ASID, CMD_TLBI_NH_VA (per page, or one ranged command with
 * RANGE_INV), CMD_ATC_INV, CMD_CFGI_CD and CMD_SYNC, plus the BTM snoop of CPU broadcast TLBIs.
 * Like QEMU's `smmu_iotlb_*` (hw/arm/smmu-common.c), with every command complete at its CMD_SYNC,
 * which the model issues in the same step.
 */
import type { Ctx } from './port.js';
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
  if (!pred) {
    s.entries -= pages.size;
    s.iotlb.delete(asid);
    return;
  }
  dropRange(s, asid, 0, Number.MAX_SAFE_INTEGER, pred);
}

/** CMD_TLBI_NH_ASID(asid) + CMD_SYNC on SMMU `i`. */
export function tlbiNhAsid(c: Ctx, i: number, asid: number): void {
  dropAsid(c.st.smmus[i], asid);
  const n = c.obs.smmuCounters[i];
  n.tlbiAsid++;
  n.syncs++;
}

/**
 * CMD_TLBI_NH_VA for pages [first, last] of `asid` + CMD_SYNC: one ranged command with RANGE_INV,
 * else one per page (`arm_smmu_tlb_inv_range_asid`).
 */
export function tlbiNhVa(c: Ctx, i: number, asid: number, first: number, last: number): void {
  const s = c.st.smmus[i];
  dropRange(s, asid, first, last);
  const n = c.obs.smmuCounters[i];
  n.tlbiVa += s.rangeInvalidation ? 1 : last - first + 1;
  n.syncs++;
}

const sharedOnly = (e: TlbEntry): boolean => e.shared;

/**
 * BTM: a CPU `TLBI ASIDE1IS` / `VAE1IS` (broadcast, inner shareable) for `asid` also removes this
 * SMMU's entries with that ASID whose CD had ASET=0. `last < 0` means the whole ASID.
 */
export function btmSnoop(c: Ctx, i: number, asid: number, first: number, last: number): void {
  const s = c.st.smmus[i];
  if (last < 0) dropAsid(s, asid, sharedOnly);
  else dropRange(s, asid, first, last, sharedOnly);
  c.obs.smmuCounters[i].btmSnoops++;
}

/** CMD_ATC_INV for (master, ssid) pages [first, last] (`ssid` -1: every SSID; `last` < 0: all pages). */
export function atcInv(c: Ctx, m: Master, ssid: number, first: number, last: number): void {
  if (!m.ats) return;
  c.obs.smmuCounters[m.smmu].atcInv++;
  atcDrop(m, ssid, first, last);
}

/** CMD_CFGI_CD for each StreamID of the master + CMD_SYNC: the configuration cache only, never TLB entries. */
export function cfgiCd(c: Ctx, m: Master): void {
  const n = c.obs.smmuCounters[m.smmu];
  n.cfgiCd += Math.max(1, m.streamIds.length);
  n.syncs++;
}
