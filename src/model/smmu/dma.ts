/**
 * Device DMA through the SMMU (`dma device [pasid] va [prot]`): STE → CD at the SSID → ATC (ATS
 * masters) → IOTLB keyed by the CD's ASID → on a miss, a walk of the address space behind the CD and
 * a fill. Every hit is checked for staleness (spec smmu-sva.md §8).
 */
import { iotlbFill, iotlbLookup } from './iotlb.js';
import { type Ctx, PAGE_KEY, masterOf, pageOf } from './port.js';
import { checkHit, walkAs } from './stale.js';
import { type TlbEntry, poolIndex } from './state.js';

/** ATC entries per master before it is emptied. */
export const ATC_CAPACITY = 4096;

export function dma(c: Ctx, device: string, pasid: number | undefined, va: number, access: number): void {
  const m = masterOf(c, device);
  const ssid = pasid ?? 0;
  const n = c.obs.smmuCounters[m.smmu];
  const cd = m.cds.get(ssid);
  if (!cd) {
    // STE abort / C_BAD_CD / C_BAD_SUBSTREAMID: the transaction faults.
    n.faults++;
    return;
  }
  const page = pageOf(va);
  const atcKey = ssid * PAGE_KEY + page;
  if (m.ats) {
    const e = m.atc.get(atcKey);
    if (e) {
      n.atcHits++;
      if (!checkHit(c, 'atc', m, ssid, page, access, e, cd.as, m.ssidReleasedRow.get(ssid)) && access & ~e.prot) n.faults++;
      return;
    }
  }
  const s = c.st.smmus[m.smmu];
  const hit = iotlbLookup(s, cd.asid, page);
  if (hit) {
    n.hits++;
    const stale = checkHit(c, 'iotlb', m, ssid, page, access, hit, cd.as, c.st.pools[poolIndex(c.st, m.smmu)].releasedRow.get(cd.asid));
    if (!stale && access & ~hit.prot) n.faults++;
    else if (m.ats) atcFill(m.atc, atcKey, hit);
    return;
  }
  n.misses++;
  if (cd.quiet) {
    n.faults++;
    return;
  }
  const t = walkAs(c, cd.as, page);
  if (t.prot === 0 || access & ~t.prot) {
    n.faults++;
    return;
  }
  const e: TlbEntry = { as: cd.as, epoch: t.epoch, prot: t.prot, asid: cd.asid, shared: cd.shared, fillRow: c.row, device, ssid };
  iotlbFill(s, page, e);
  n.fills++;
  if (m.ats) atcFill(m.atc, atcKey, e);
}

function atcFill(atc: Map<number, TlbEntry>, key: number, e: TlbEntry): void {
  if (atc.size >= ATC_CAPACITY && !atc.has(key)) atc.clear();
  atc.set(key, e);
}
