/**
 * Stale IOTLB/ATC entries (src/model/smmu/stale.ts, docs/model.md section 6): at a DMA hit and by the
 * latent checks after each invalidation point. The entries go stale where the kernel fails to
 * invalidate them, or where a fault (docs/model.md section 7) removes the step that would:
 *
 * - v6.11 - v6.14 (d38c28dbefee until 12f78021973a "iommu/arm-smmu-v3: Fix pgsize_bit for sva
 *   domains", v6.15): the SVA domain's `pgsize_bitmap` is 0, so with RANGE_INV
 *   `__arm_smmu_tlb_inv_range()` sends TG = 64 KiB range commands that need not remove 4 KiB entries.
 * - v5.11 - v5.17 (2f7e8c553e98 until 95d4782c34a6 "iommu/arm-smmu-v3: Fix size calculation in
 *   arm_smmu_mm_invalidate_range()", v5.18): `size = end - start + 1`; with RANGE_INV
 *   `__arm_smmu_tlb_inv_range()` never leaves `while (iova < end)`: no TLBI and no ATC_INV is sent.
 * - Before v6.6 a permission upgrade through a fault (`ptep_set_access_flags()`) does not call the
 *   secondary-TLB notifier; from v6.6 ("arm64: Notify on pte permission upgrades", A. Popple) it does.
 * - `arm_smmu_share_asid()` (v5.12 - v6.10) moves a DMA domain to a new ASID before its CDs are
 *   rewritten and the old ASID is flushed (the FIXME): an `iommu_unmap` in between invalidates the
 *   new ASID only.
 * Rows are the line numbers of the mini traces.
 */
import { describe, expect, it } from 'vitest';
import { run, stale } from './helpers/mini.js';
import type { SystemInput } from '../src/trace/system.js';
import type { Report } from '../src/report/report.js';

const L = (...lines: string[]) => lines.join('\n');
const hex = (pages: number) => `0x${(pages * 4096).toString(16)}`;
const smmu = (extra: object = {}) => ({ name: 's', asidBits: 16 as const, ...extra });
/** `[row, kind, cache, latent, page, owner]` of every finding. */
const found = (r: Report) => r.stale.findings.map((f) => [f.row, f.kind, f.cache, f.latent, f.va / 4096, f.owner] as const);

describe('at a DMA hit (v6.12, RANGE_INV: the munmap and mprotect invalidations leave the 4 KiB entries)', () => {
  const sys: SystemInput = { kernel: '6.12', smmus: [smmu({ rangeInvalidation: true })], devices: [{ name: 'dev', smmu: 's' }] };
  // Replayed inside each test: Stryker switches a mutant on per test, not while the file is collected.
  const story = () =>
    run(
      sys,
      L(
        'fork 1 P',
        'map P 0x1000 0x5000 rw', //        pages 1-5
        'mprotect P 0x5000 0x1000 r',
        'bind dev P',
        'dma dev 1 0x1000', //               5
        'dma dev 1 0x2000',
        'dma dev 1 0x3000',
        'dma dev 1 0x4000',
        'dma dev 1 0x5000 r', //             9: an entry allowing r only
        'unmap P 0x1000 0x1000', //          10
        'unmap P 0x2000 0x1000',
        'map P 0x2000 0x1000 rw', //         12: page 2 mapped again
        'mprotect P 0x3000 0x1000 r', //     13
        'dma dev 1 0x1000', //               14: unmapped
        'dma dev 1 0x2000', //               15: another mapping
        'dma dev 1 0x3000 w', //             16: the entry allows rw, the PTE r
        'dma dev 1 0x4000 w', //             17: clean hit
        'dma dev 1 0x5000 w', //             18: clean hit, no write right: a permission fault
      ),
    );
  it('latent at the unmaps and the mprotect, then at the hits: S-UNMAP twice, S-PERM', () => {
    expect(found(story())).toEqual([
      [10, 'S-UNMAP', 'iotlb', true, 1, 'mm P'],
      [11, 'S-UNMAP', 'iotlb', true, 2, 'mm P'],
      [13, 'S-PERM', 'iotlb', true, 3, 'mm P'],
      [14, 'S-UNMAP', 'iotlb', false, 1, 'mm P'],
      [15, 'S-UNMAP', 'iotlb', false, 2, 'mm P'],
      [16, 'S-PERM', 'iotlb', false, 3, 'mm P'],
    ]);
  });
  it('what each finding says: the page, how it changed, the rows', () => {
    const [unmapped, , perm, h1, h2, h3] = story().stale.findings;
    expect(unmapped).toMatchObject({ current: null, fillRow: 5, shouldHaveRow: 10, pasid: 1 });
    expect(perm).toMatchObject({ current: null, fillRow: 7, shouldHaveRow: 13 });
    expect(h1).toMatchObject({ current: 'mm P', fillRow: 5, shouldHaveRow: 10, detail: '0x1000 of mm P is no longer mapped' });
    expect(h2).toMatchObject({ current: 'mm P', fillRow: 6, detail: '0x2000 of mm P was mapped again since the fill' });
    expect(h3).toMatchObject({ current: 'mm P', fillRow: 7, shouldHaveRow: 13, detail: '0x3000 of mm P is now r but the entry allows rw' });
  });
  it('the clean hits: nothing stale; the write through an r entry of an r page faults', () => {
    expect(story().devices.smmus[0]).toMatchObject({ hits: 5, faults: 1 });
  });
});

describe('the benign direction: an entry allowing less than the PTE, for an access the PTE allows', () => {
  const trace = L(
    'fork 1 P',
    'map P 0x1000 0x1000 r',
    'bind dev P',
    'dma dev 1 0x1000 r', //          4: entry r
    'map P 0x1000 0x1000 rw', //      5: a write fault upgrades the PTE (ptep_set_access_flags)
    'dma dev 1 0x1000 w', //          6
  );
  const sys = (kernel: string): SystemInput => ({ kernel, smmus: [smmu()], devices: [{ name: 'dev', smmu: 's' }] });
  it('v6.5: the upgrade is not notified, the write hits the r entry: S-PERM, and the write faults on it', () => {
    const r = run(sys('6.5'), trace);
    expect(found(r)).toEqual([[6, 'S-PERM', 'iotlb', false, 1, 'mm P']]);
    expect(r.stale.findings[0]).toMatchObject({ shouldHaveRow: 5, detail: expect.stringMatching(/^benign direction/) });
    // the SMMU checks the access against the rights it cached: a permission fault (the livelock)
    expect(r.devices.smmus[0]).toMatchObject({ hits: 1, misses: 1, fills: 1, faults: 1 });
  });
  it('v6.6: the upgrade invalidates the entry, the write walks the new PTE', () => {
    const r = run(sys('6.6'), trace);
    expect(r.stale.total).toBe(0);
    expect(r.devices.smmus[0]).toMatchObject({ hits: 0, fills: 2, faults: 0 });
  });
});

describe('a stale hit is checked against the cached rights: an access the entry does not allow faults', () => {
  // v6.12 with RANGE_INV: the SVA domain's TG = 64 KiB range commands leave the 4 KiB entry (d38c28dbefee
  // until 12f78021973a, v6.15), so the unmapped page stays cached with the rights it had (r).
  const sys: SystemInput = { kernel: '6.12', smmus: [smmu({ rangeInvalidation: true })], devices: [{ name: 'dev', smmu: 's' }] };
  const head = L(
    'fork 1 P',
    'map P 0x1000 0x1000 rw',
    'mprotect P 0x1000 0x1000 r',
    'bind dev P',
    'dma dev 1 0x1000 r', //           5: entry r
    'unmap P 0x1000 0x1000', //        6: latent S-UNMAP
  );
  it('a write through the stale r entry: S-UNMAP at the hit, and a permission fault', () => {
    const r = run(sys, L(head, 'dma dev 1 0x1000 w'));
    expect(found(r)).toEqual([
      [6, 'S-UNMAP', 'iotlb', true, 1, 'mm P'],
      [7, 'S-UNMAP', 'iotlb', false, 1, 'mm P'],
    ]);
    expect(r.devices.smmus[0]).toMatchObject({ hits: 1, faults: 1 });
  });
  it('a read the stale entry allows: S-UNMAP at the hit, served (the use after unmap), no fault', () => {
    const r = run(sys, L(head, 'dma dev 1 0x1000 r'));
    expect(found(r).map((f) => f[1])).toEqual(['S-UNMAP', 'S-UNMAP']);
    expect(r.devices.smmus[0]).toMatchObject({ hits: 1, faults: 0 });
  });
});

describe('the benign direction through an ATS master (v6.5: the upgrade invalidates neither the IOTLB nor the ATC)', () => {
  const sys = (kernel: string): SystemInput => ({
    kernel,
    smmus: [smmu()],
    devices: [
      { name: 'a', smmu: 's' },
      { name: 'b', smmu: 's', ats: true },
    ],
  });
  it("the ATC's r entry: the write hits it, S-PERM in the ATC, and faults", () => {
    const trace = L('fork 1 P', 'map P 0x1000 0x1000 r', 'bind b P', 'dma b 1 0x1000 r', 'map P 0x1000 0x1000 rw', 'dma b 1 0x1000 w');
    const r = run(sys('6.5'), trace);
    expect(found(r)).toEqual([[6, 'S-PERM', 'atc', false, 1, 'mm P']]);
    expect(r.devices.smmus[0]).toMatchObject({ atcHits: 1, hits: 0, faults: 1 });
    // v6.6: the upgrade's notifier sends ATC_INV and TLBI, the write walks the rw PTE
    const fixed = run(sys('6.6'), trace);
    expect(fixed.stale.total).toBe(0);
    expect(fixed.devices.smmus[0]).toMatchObject({ atcHits: 0, faults: 0, fills: 2 });
  });
  it("the IOTLB's r entry (filled by a's read): b's write faults there and fills no ATC entry; b's read then does", () => {
    const r = run(
      sys('6.5'),
      L(
        'fork 1 P',
        'map P 0x1000 0x1000 r',
        'bind a P',
        'bind b P', //                    the same PASID and ASID: one IOTLB entry serves both
        'dma a 1 0x1000 r', //            5: IOTLB entry r
        'map P 0x1000 0x1000 rw', //      6: not notified before v6.6
        'dma b 1 0x1000 w', //            7: ATC miss, IOTLB hit: S-PERM, fault, no ATC fill
        'dma b 1 0x1000 r', //            8: ATC miss again, IOTLB hit allows r: ATC filled
        'dma b 1 0x1000 r', //            9: ATC hit
      ),
    );
    expect(found(r)).toEqual([[7, 'S-PERM', 'iotlb', false, 1, 'mm P']]);
    expect(r.devices.smmus[0]).toMatchObject({ misses: 1, fills: 1, hits: 2, atcHits: 1, faults: 1 });
  });
});

describe('latent after an unmap: the entries of that address space in the range, and no other', () => {
  const sys: SystemInput = { kernel: '6.12', smmus: [smmu({ rangeInvalidation: true })], devices: [{ name: 'dev', smmu: 's' }] };
  it.each([
    ['pages 7-12 cached, [8, 11] unmapped (range walked)', [7, 8, 9, 10, 11, 12], [8, 9, 10, 11]],
    ['pages 7, 8, 15, 16 cached, [8, 15] unmapped (cached pages scanned)', [7, 8, 15, 16], [8, 15]],
  ] as const)('%s: pages first - 1 and last + 1 stale since the rows before, not reported again', (_, cached, reported) => {
    const first = cached[1]!;
    const last = reported.at(-1)!;
    const r = run(
      sys,
      L(
        'fork 1 P',
        `map P ${hex(7)} ${hex(10)} rw`,
        'bind dev P',
        ...cached.map((p) => `dma dev 1 ${hex(p)}`),
        `unmap P ${hex(first - 1)} 0x1000`,
        `unmap P ${hex(last + 1)} 0x1000`,
        `unmap P ${hex(first)} ${hex(last - first + 1)}`,
      ),
    );
    const rows = 3 + cached.length;
    expect(found(r)).toEqual([
      [rows + 1, 'S-UNMAP', 'iotlb', true, first - 1, 'mm P'],
      [rows + 2, 'S-UNMAP', 'iotlb', true, last + 1, 'mm P'],
      ...reported.map((p) => [rows + 3, 'S-UNMAP', 'iotlb', true, p, 'mm P']),
    ]);
  });

  it('an entry of another address space under the same ASID is not reported (its owner was unbound)', () => {
    const r = run(
      { ...sys, faults: ['no-purge-on-free'] },
      L(
        'fork 1 P',
        'fork 2 Q',
        'map P 0x1000 0x1000 rw',
        'map Q 0x1000 0x2000 rw',
        'bind dev P', //                 ASID 1
        'dma dev 1 0x1000',
        'unbind dev P', //               7: ASID 1 freed, the entry left behind
        'unmap P 0x1000 0x1000', //      8: P's entry stale
        'bind dev Q', //                 ASID 1 again
        'dma dev 2 0x2000',
        'unmap Q 0x1000 0x2000', //      11: Q's page 2, not P's page 1
      ),
    );
    expect(found(r)).toEqual([
      [7, 'S-ALIAS', 'iotlb', true, 1, 'mm P'],
      [8, 'S-UNMAP', 'iotlb', true, 1, 'mm P'],
      [11, 'S-UNMAP', 'iotlb', true, 2, 'mm Q'],
    ]);
    expect(r.stale.findings.map((f) => f.asid)).toEqual([1, 1, 1]);
  });

  it('a domain with entries under two ASIDs (the move of arm_smmu_share_asid, v6.1): both are checked', () => {
    const r = run(
      {
        kernel: '6.1',
        smmus: [smmu()],
        devices: [
          { name: 'devA', smmu: 's' },
          { name: 'devB', smmu: 's' },
        ],
      },
      L(
        'attach devA D1', //             ASID 1
        'fork 1 P',
        'sched 0 1', //                  P: CPU ASID 1
        'dmap D1 0x1000 0x2000',
        'dma devA - 0x1000', //          5: (ASID 1, 0x1000)
        'bind devB P b1', //             D1 -> ASID 2
        'resume b1', //                  devA's CD rewritten with ASID 2
        'dma devA - 0x2000', //          8: (ASID 2, 0x2000)
        'dunmap D1 0x1000 0x1000', //    9: TLBI_NH_VA of ASID 2: (ASID 1, 0x1000) stays
        'resume b1', //                  TLBI_NH_ASID(1)
        'resume b1',
      ),
    );
    expect(found(r)).toEqual([[9, 'S-UNMAP', 'iotlb', true, 1, 'domain D1']]);
    expect(r.stale.findings[0]).toMatchObject({
      asid: 1,
      fillRow: 5,
      shouldHaveRow: 9,
      detail: 'entry survived the invalidation of domain D1',
    });
  });
});

describe('latent in the ATC (ATS master)', () => {
  it('v5.15 with RANGE_INV (the notifier hangs, nothing is invalidated): the range and the PASID of each unmap', () => {
    const sys: SystemInput = {
      kernel: '5.15',
      smmus: [smmu({ rangeInvalidation: true })],
      devices: [{ name: 'dev', smmu: 's', ats: true }],
    };
    const r = run(
      sys,
      L(
        'fork 1 P',
        'fork 2 Q',
        'map P 0x0 0x10000 rw',
        'map Q 0x0 0x10000 rw',
        'bind dev P', //                PASID 1
        'bind dev Q', //                PASID 2
        'dma dev 1 0x0',
        'dma dev 1 0x1000',
        'dma dev 2 0x5000',
        'dma dev 1 0x5000',
        'unmap P 0x1000 0x1000', //     11
        'unmap P 0x0 0x1000', //        12: page 0; page 1 is stale but outside
        'unmap Q 0x5000 0x1000', //     13
        'unmap P 0x5000 0x1000', //     14: P's page 5, not Q's; not P's pages 0 and 1
      ),
    );
    expect(found(r)).toEqual([
      [11, 'S-UNMAP', 'iotlb', true, 1, 'mm P'],
      [11, 'S-UNMAP', 'atc', true, 1, 'mm P'],
      [12, 'S-UNMAP', 'iotlb', true, 0, 'mm P'],
      [12, 'S-UNMAP', 'atc', true, 0, 'mm P'],
      [13, 'S-UNMAP', 'iotlb', true, 5, 'mm Q'],
      [13, 'S-UNMAP', 'atc', true, 5, 'mm Q'],
      [14, 'S-UNMAP', 'iotlb', true, 5, 'mm P'],
      [14, 'S-UNMAP', 'atc', true, 5, 'mm P'],
    ]);
    expect(r.stale.findings.filter((f) => f.cache === 'atc').map((f) => [f.pasid, f.device, f.shouldHaveRow, f.current])).toEqual([
      [1, 'dev', 11, null],
      [1, 'dev', 12, null],
      [2, 'dev', 13, null],
      [1, 'dev', 14, null],
    ]);
    expect(r.violations.map((v) => v.kind)).toEqual(Array(4).fill('inv-range-hang'));
  });

  it('v5.15 with RANGE_INV, an mprotect to r over rw, r, rw entries: the r one in the middle is not stale', () => {
    const sys: SystemInput = {
      kernel: '5.15',
      smmus: [smmu({ rangeInvalidation: true })],
      devices: [{ name: 'dev', smmu: 's', ats: true }],
    };
    const r = run(
      sys,
      L(
        'fork 1 P',
        'map P 0x1000 0x3000 rw',
        'mprotect P 0x2000 0x1000 r',
        'bind dev P',
        'dma dev 1 0x1000', //          entry rw
        'dma dev 1 0x2000', //          entry r
        'dma dev 1 0x3000', //          entry rw
        'mprotect P 0x1000 0x3000 r', // 8: the notifier hangs; PTEs 1 and 3 change, the r entry of page 2 still matches
      ),
    );
    expect(found(r)).toEqual([
      [8, 'S-PERM', 'iotlb', true, 1, 'mm P'],
      [8, 'S-PERM', 'iotlb', true, 3, 'mm P'],
      [8, 'S-PERM', 'atc', true, 1, 'mm P'],
      [8, 'S-PERM', 'atc', true, 3, 'mm P'],
    ]);
  });

  it('no-release-tlbi (v6.1): every entry of the exiting mm, IOTLB and ATC', () => {
    const sys: SystemInput = {
      kernel: '6.1',
      faults: ['no-release-tlbi'],
      smmus: [smmu()],
      devices: [{ name: 'dev', smmu: 's', ats: true }],
    };
    const r = run(sys, L('fork 1 P', 'map P 0x0 0x10000 rw', 'bind dev P', 'dma dev 1 0x0', 'dma dev 1 0x3000', 'exit 1'));
    expect(found(r)).toEqual([
      [6, 'S-UNMAP', 'iotlb', true, 0, 'mm P'],
      [6, 'S-UNMAP', 'iotlb', true, 3, 'mm P'],
      [6, 'S-UNMAP', 'atc', true, 0, 'mm P'],
      [6, 'S-UNMAP', 'atc', true, 3, 'mm P'],
    ]);
  });
});

describe('latent S-ALIAS when an ASID or an SSID changes hands', () => {
  const sys = (faults: SystemInput['faults']): SystemInput => ({
    kernel: '6.1',
    faults,
    smmus: [smmu()],
    devices: [{ name: 'dev', smmu: 's', ats: true }],
  });
  const trace = L(
    'attach dev D', //              SSID 0 entries beside the PASID's
    'dmap D 0x0 0x1000',
    'dma dev - 0x0',
    'fork 1 P',
    'bind dev P',
    'dma dev 1 0x3000', //          6
    'unbind dev P', //              7
  );
  it('no-purge-on-free: the unbind leaves the PASID 1 ATC entry and the freed ASID 1 entry', () => {
    const r = run(sys(['no-purge-on-free']), trace);
    // both left behind, whichever the model looks at first
    expect(found(r).sort((a, b) => String(a[2]).localeCompare(String(b[2])))).toEqual([
      [7, 'S-ALIAS', 'atc', true, 3, 'mm P'],
      [7, 'S-ALIAS', 'iotlb', true, 3, 'mm P'],
    ]);
    expect(r.stale.findings.map((f) => [f.pasid, f.asid, f.current, f.fillRow, f.shouldHaveRow])).toEqual([
      [1, 1, null, 6, 7],
      [1, 1, null, 6, 7],
    ]);
  });
  it('the unbind purges (ATC_INV at the PASID, TLBI_NH_ASID): nothing, though SSID 0 still has entries', () => {
    const r = run(sys([]), trace);
    expect(r.stale.total).toBe(0);
    const before = run(sys([]), trace.slice(0, trace.lastIndexOf('\n'))).devices.smmus[0]!.commands;
    const after = r.devices.smmus[0]!.commands;
    expect([after.CMD_ATC_INV - before.CMD_ATC_INV, after.CMD_TLBI_NH_ASID - before.CMD_TLBI_NH_ASID]).toEqual([1, 1]);
  });
  it('an ASID taken again by the mm whose entries it still holds: no alias (same address space)', () => {
    const r = run(
      { kernel: '6.1', faults: ['no-purge-on-free'], smmus: [smmu()], devices: [{ name: 'dev', smmu: 's' }] },
      L('fork 1 P', 'sched 0 1', 'bind dev P', 'dma dev 1 0x1000', 'unbind dev P', 'bind dev P', 'dma dev 1 0x1000'),
    );
    expect(stale(r)).toEqual([[5, 'S-ALIAS', true]]);
    expect(r.devices.smmus[0]).toMatchObject({ hits: 1, fills: 1 });
  });
});
