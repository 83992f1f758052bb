/**
 * A device's ATC (src/model/smmu/atc.ts) and the ATC_INV commands that empty it, against
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c:
 *
 * - `arm_smmu_atc_inv_to_cmd(ssid, iova, size, cmd)`: `.substream_valid = !!ssid, .atc.ssid = ssid`;
 *   `size == 0` is ATC_INV_SIZE_ALL; otherwise the command covers the smallest naturally aligned
 *   power-of-two span of pages holding [iova, iova + size) ("To invalidate pages [7; 10], we need to
 *   invalidate [0; 15]"). The ranges below are such spans already ([8; 11], [0; 0]), so the ATC
 *   keeps exactly the pages outside them.
 * - A command with a PASID (substream_valid) reaches only that PASID's entries; the SVA notifier
 *   (`arm_smmu_mm_arch_invalidate_secondary_tlbs`, v6.6 on) sends it at the mm's PASID.
 *   (Without a PASID, "all ATC entries within the address range are invalidated, including those
 *   that were requested with a PASID": not pinned here, see the report of this test's commit.)
 * - A DMA through an ATS master is served by its ATC before the SMMU (PCIe ATS: a translated request).
 * - The ATC size is the model's (docs/model.md: 4096 entries per master, emptied when full).
 */
import { describe, expect, it } from 'vitest';
import { mini, run } from './helpers/mini.js';
import { createSystem, digestSystem, step } from '../src/model/system.js';
import { ReportCollector } from '../src/report/report.js';
import { type SystemInput, resolveSystem } from '../src/trace/system.js';
import { ATC_CAPACITY, atcFill, atcLookup } from '../src/model/smmu/atc.js';
import type { Master, TlbEntry } from '../src/model/smmu/state.js';

const L = (...lines: string[]) => lines.join('\n');
const hex = (pages: number) => `0x${(pages * 4096).toString(16)}`;
const sys: SystemInput = { smmus: [{ name: 's', asidBits: 16 }], devices: [{ name: 'd', smmu: 's', ats: true }] };

describe('an ATS master translates through its ATC first', () => {
  it('two pages cached, the first again: an ATC hit, no IOTLB lookup', () => {
    const r = run(sys, L('attach d D', 'dmap D 0x1000 0x2000', 'dma d - 0x1000', 'dma d - 0x2000', 'dma d - 0x1000'));
    expect(r.devices.smmus[0]).toMatchObject({ atcHits: 1, hits: 0, misses: 2, fills: 2 });
    expect(r.stale.total).toBe(0);
  });
});

describe('ATC_INV at a PASID (the SVA notifier after a munmap, v7.0)', () => {
  const head = L(
    'fork 1 P',
    'fork 2 Q',
    `map P 0x0 ${hex(0x10)} rw`,
    `map Q 0x0 ${hex(0x10)} rw`,
    'bind d P', //                 PASID 1
    'bind d Q', //                 PASID 2
    ...[7, 8, 11, 12].map((p) => `dma d 1 ${hex(p)}`),
    `dma d 2 ${hex(8)}`,
  );
  it('pages [8, 11] of PASID 1: pages 7 and 12 stay cached, and page 8 of PASID 2', () => {
    const before = run(sys, head).devices.smmus[0]!;
    const r = run(sys, L(head, `unmap P ${hex(8)} ${hex(4)}`, `dma d 1 ${hex(7)}`, `dma d 1 ${hex(12)}`, `dma d 2 ${hex(8)}`));
    expect(r.devices.smmus[0]!.atcHits - before.atcHits).toBe(3);
    expect(r.devices.smmus[0]!.commands.CMD_ATC_INV - before.commands.CMD_ATC_INV).toBe(1);
    expect(r.stale.total).toBe(0);
  });
  it('pages 8 and 11 of PASID 1 are gone: a DMA there misses the ATC and faults (unmapped)', () => {
    const before = run(sys, head).devices.smmus[0]!;
    const r = run(sys, L(head, `unmap P ${hex(8)} ${hex(4)}`, `dma d 1 ${hex(8)}`, `dma d 1 ${hex(11)}`));
    expect(r.devices.smmus[0]!.atcHits - before.atcHits).toBe(0);
    expect(r.devices.smmus[0]!.faults - before.faults).toBe(2);
    expect(r.stale.total).toBe(0);
  });
});

describe('ATC_INV without a PASID (iommu_unmap of a DMA domain) of page 0', () => {
  it('page 1 stays cached, page 0 is gone', () => {
    const head = L('attach d D', `dmap D 0x0 ${hex(2)}`, 'dma d - 0x0', 'dma d - 0x1000');
    const before = run(sys, head).devices.smmus[0]!;
    const r = run(sys, L(head, 'dunmap D 0x0 0x1000', 'dma d - 0x1000', 'dma d - 0x0'));
    const after = r.devices.smmus[0]!;
    expect({ atcHits: after.atcHits - before.atcHits, faults: after.faults - before.faults }).toEqual({ atcHits: 1, faults: 1 });
    expect(r.stale.total).toBe(0);
  });
});

describe(`capacity: a master's ATC is emptied when a fill finds ${ATC_CAPACITY} entries`, () => {
  const master = (): Master => ({
    name: 'd',
    smmu: 0,
    streamIds: [],
    ssidBits: 20,
    ats: true,
    rid: null,
    cds: new Map(),
    atc: new Map(),
    ssidReleasedRow: new Map(),
  });
  const entry = (ssid: number): TlbEntry => ({ as: -1, epoch: 1, prot: 3, asid: 1, shared: false, fillRow: 1, device: 'd', ssid });
  it('entries of all SSIDs count: capacity - 1 plus one fill are kept; the fill after them empties the ATC first', () => {
    const m = master();
    const half = ATC_CAPACITY / 2;
    for (let pg = 0; pg < half; pg++) atcFill(m, 0, pg, entry(0));
    for (let pg = 0; pg < half - 1; pg++) atcFill(m, 1, pg, entry(1));
    atcFill(m, 1, half - 1, entry(1)); // the ATC-th entry
    expect(atcLookup(m, 0, 0)).toBeDefined();
    expect(atcLookup(m, 1, 0)).toBeDefined();
    expect(atcLookup(m, 1, half - 1)).toBeDefined();
    atcFill(m, 1, half, entry(1));
    expect(atcLookup(m, 0, 0)).toBeUndefined();
    expect(atcLookup(m, 1, 0)).toBeUndefined();
    expect(atcLookup(m, 1, half)).toBeDefined();
    expect([...m.atc.keys()]).toEqual([1]);
  });
});

describe('equal states, equal digests', () => {
  it('an ATC entry formed and then invalidated leaves the state as if it had never formed', () => {
    const digest = (text: string) => {
      const m = createSystem(resolveSystem({ whatIf: true, ...sys }, {}));
      for (const e of mini(text)) step(m, e, new ReportCollector(1));
      return digestSystem(m);
    };
    const formed = digest(L('attach d D', `dmap D 0x0 ${hex(2)}`, 'dma d - 0x0', 'dunmap D 0x0 0x1000'));
    const never = digest(L('attach d D', `dmap D 0x0 ${hex(2)}`, '# no dma', 'dunmap D 0x0 0x1000'));
    expect(formed).toBe(never);
  });
});
