/**
 * Device DMA through the SMMU (`dma device [pasid] va [prot]`): STE → CD at the SSID → ATC (ATS
 * masters) → IOTLB keyed by the CD's ASID → on a miss, a walk of the address space behind the CD and
 * a fill. Every hit is checked for staleness (docs/model.md, stale entries).
 *
 * A hit is a translation the SMMU already holds: the access is checked against the cached entry's
 * rights, whether the entry is stale or not, and one it does not allow is a permission fault
 * (F_PERMISSION in the event queue for an IOTLB hit: the SMMUv3 architecture lets a permission fault
 * come from a cached translation, as the CPU's MMU does). On an ATC hit the device itself finds the
 * right missing and asks again (PCIe ATS), getting no more than it has: no SMMU event, but the
 * access fails all the same, and the model counts it as a fault too. This is how a device that
 * cached a read-only page faults on it after the CPU made the page writable, the pre-v6.6 livelock that 6bbd42e2df8f
 * ("mmu_notifiers: call invalidate_range() when invalidating TLBs", v6.6) ended: the stale finding
 * (S-PERM) and the fault are both counted.
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
      checkHit(c, 'atc', m, ssid, page, access, e, cd.as, m.ssidReleasedRow.get(ssid));
      // The rights are the cached entry's, stale or not: an access it does not allow faults.
      if (access & ~e.prot) n.faults++;
      return;
    }
  }
  const s = c.st.smmus[m.smmu]!;
  const hit = iotlbLookup(s, cd.asid, page);
  if (hit) {
    n.hits++;
    checkHit(c, 'iotlb', m, ssid, page, access, hit, cd.as, c.st.pools[poolIndex(c.st, m.smmu)]!.releasedRow.get(cd.asid));
    // The rights are the cached entry's, stale or not (see the file comment): an access it does not
    // allow faults, and a faulting access fills no ATC entry.
    if (access & ~hit.prot) n.faults++;
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
