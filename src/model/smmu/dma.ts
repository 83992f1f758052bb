/**
 * Device DMA through the SMMU (`dma device [pasid] va [prot]`): STE → CD at the SSID → ATC (ATS
 * masters) → IOTLB keyed by the CD's ASID → on a miss, a walk of the address space behind the CD and
 * a fill. Every hit is checked for staleness (docs/model.md, stale entries).
 */
import { iotlbFill, iotlbLookup } from './iotlb.js';
import { atcFill, atcLookup } from './atc.js';
import { type Ctx, masterOf, pageOf } from './port.js';
import { checkHit, walkAs } from './stale.js';
import { type TlbEntry, poolIndex } from './state.js';

export function dma(c: Ctx, device: string, pasid: number | undefined, va: number, access: number): void {
  const m = masterOf(c, device);
  const ssid = pasid ?? 0;
  const n = c.obs.smmuCounters[m.smmu]!;
  const cd = m.cds.get(ssid);
  if (!cd) {
    // STE abort / C_BAD_CD / C_BAD_SUBSTREAMID: the transaction faults.
    n.faults++;
    return;
  }
  const page = pageOf(va);
  if (m.ats) {
    const e = atcLookup(m, ssid, page);
    if (e) {
      n.atcHits++;
      if (!checkHit(c, 'atc', m, ssid, page, access, e, cd.as, m.ssidReleasedRow.get(ssid)) && access & ~e.prot) n.faults++;
      return;
    }
  }
  const s = c.st.smmus[m.smmu]!;
  const hit = iotlbLookup(s, cd.asid, page);
  if (hit) {
    n.hits++;
    const stale = checkHit(c, 'iotlb', m, ssid, page, access, hit, cd.as, c.st.pools[poolIndex(c.st, m.smmu)]!.releasedRow.get(cd.asid));
    if (!stale && access & ~hit.prot) n.faults++;
    else if (m.ats) atcFill(m, ssid, page, hit);
    return;
  }
  n.misses++;
  // Stryker disable next-line BlockStatement: equivalent, a quiet CD is that of a released (dead) mm, whose walk finds no PTE and faults the same way
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
  if (m.ats) atcFill(m, ssid, page, e);
}
