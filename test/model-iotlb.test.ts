/**
 * The SMMU TLB and the command queue (src/model/smmu/iotlb.ts), against
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c:
 *
 * - `arm_smmu_cmdq_batch_add()`: `if (cmds->num == CMDQ_BATCH_ENTRIES) { arm_smmu_cmdq_issue_cmdlist(
 *   smmu, cmds->cmds, cmds->num, false); cmds->num = 0; }` before a command is added, and
 *   `arm_smmu_cmdq_batch_submit()` issues the rest with `sync = true`: N commands are
 *   max(1, ceil(N / 64)) cmdlists and one CMD_SYNC (v5.9 on; CMDQ_BATCH_ENTRIES = BITS_PER_LONG).
 * - `__arm_smmu_tlb_inv_range()`: without RANGE_INV one CMD_TLBI_NH_VA per granule (`inv_range =
 *   granule`); with it `scale = __ffs(num_pages); num = (num_pages >> scale) & CMDQ_TLBI_RANGE_NUM_MAX;
 *   num_pages -= num << scale;` per command, so a page count takes one command per 5-bit chunk
 *   (1056 = 0b1_0000_1_00000: 2 commands).
 * - `arm_smmu_sync_cd()`, `arm_smmu_atc_inv_master()` / `arm_smmu_atc_inv_domain()` and the STE sync
 *   add one command per StreamID of the master (`for (i = 0; i < master->num_streams; i++)`);
 *   `arm_smmu_domain_free()` -> `free_io_pgtable_ops()` -> `arm_smmu_tlb_inv_context()` ->
 *   `arm_smmu_tlb_inv_asid()`: one CMD_TLBI_NH_ASID.
 * - A TLBI_NH_VA over [iova, iova + size) removes the entries of that ASID in the range, no other.
 * - BTM (SMMUv3 architecture, IDR0.BTM and the CD's ASET bit): a CPU broadcast TLBI ASIDE1IS /
 *   VAE1IS for ASID a also invalidates the SMMU's entries of ASID a whose CD had ASET = 0 (the
 *   shared set); ASET = 1 entries (a DMA domain's CD) are not affected. Used by the 2023 proposal
 *   ("[PATCH v3 24/27] iommu/arm-smmu-v3: Bring back SVA BTM support").
 * - The IOTLB size is the model's (docs/model.md: 16384 entries, emptied when full).
 */
import { describe, expect, it } from 'vitest';
import { mini, run } from './helpers/mini.js';
import { type SystemModel, cpuView, createSystem, digestSystem, iotlbOccupancy, step } from '../src/model/system.js';
import { ReportCollector } from '../src/report/report.js';
import { type SystemInput, resolveSystem } from '../src/trace/system.js';
import { IOTLB_CAPACITY, iotlbFill, iotlbLookup } from '../src/model/smmu/iotlb.js';
import type { SmmuInstance, TlbEntry } from '../src/model/smmu/state.js';

const L = (...lines: string[]) => lines.join('\n');
const hex = (pages: number) => `0x${(pages * 4096).toString(16)}`;

/** Replay on the model itself, `check(m)` after every event. */
function replay(system: SystemInput, text: string, check: (m: SystemModel, row: number) => void = () => {}) {
  const m = createSystem(resolveSystem({ whatIf: true, unmapKernelAtEl0: false, ...system }, {}));
  const col = new ReportCollector(m.config.smmus.length);
  for (const e of mini(text)) {
    step(m, e, col);
    check(m, e.row);
  }
  return { m, counters: col.smmuCounters[0]! };
}

const plain = { name: 's', asidBits: 16 as const };
const domainSys = (smmu: object = {}, dev: object = {}): SystemInput => ({
  smmus: [{ ...plain, ...smmu }],
  devices: [{ name: 'd', smmu: 's', ...dev }],
});

/** What `tail` adds to SMMU 0's counters after `head`. */
function added(system: SystemInput, head: string, tail: string) {
  const a = run(system, head).devices.smmus[0]!;
  const b = run(system, L(head, tail)).devices.smmus[0]!;
  return {
    b,
    va: b.commands.CMD_TLBI_NH_VA - a.commands.CMD_TLBI_NH_VA,
    cmdlists: b.cmdlists - a.cmdlists,
    syncs: b.syncs - a.syncs,
    sync: b.commands.CMD_SYNC - a.commands.CMD_SYNC,
  };
}

describe('arm_smmu_cmdq_batch: 64 commands per cmdlist, one CMD_SYNC per batch', () => {
  it.each([
    [1, 1],
    [63, 1],
    [64, 1],
    [65, 2],
    [128, 2],
    [129, 3],
  ])('iommu_unmap of %i pages (no RANGE_INV): %i cmdlists', (pages, cmdlists) => {
    const head = L('attach d D', `dmap D 0x100000 ${hex(pages)}`);
    const x = added(domainSys(), head, `dunmap D 0x100000 ${hex(pages)}`);
    expect({ va: x.va, cmdlists: x.cmdlists, syncs: x.syncs, sync: x.sync }).toEqual({ va: pages, cmdlists, syncs: 1, sync: 1 });
    expect(x.b.tlbiVa).toBe(x.b.commands.CMD_TLBI_NH_VA);
    expect(x.b.syncs).toBe(x.b.commands.CMD_SYNC);
  });
});

describe('__arm_smmu_tlb_inv_range with RANGE_INV: one command per 5-bit chunk of the page count', () => {
  it.each([
    [1, 1],
    [31, 1],
    [32, 1],
    [33, 2],
    [511, 2],
    [1024, 1],
    [1056, 2],
    [1057, 3],
  ])('iommu_unmap of %i pages: %i TLBI_NH_VA', (pages, cmds) => {
    const head = L('attach d D', `dmap D 0x100000 ${hex(pages)}`);
    const x = added(domainSys({ rangeInvalidation: true }), head, `dunmap D 0x100000 ${hex(pages)}`);
    expect({ va: x.va, syncs: x.syncs }).toEqual({ va: cmds, syncs: 1 });
  });
});

describe('per-StreamID commands and the counters beside the opcode counts', () => {
  const story = L('attach d D', 'dmap D 0x1000 0x1000', 'dma d - 0x1000', 'dunmap D 0x1000 0x1000', 'detach d');
  const with_ = (streamIds: number[]) => run(domainSys({}, { ats: true, streamIds }), story).devices.smmus[0]!;
  it('a master with two StreamIDs gets twice the CFGI_CD, CFGI_STE and ATC_INV of a master with one', () => {
    const one = with_([1]);
    const two = with_([1, 2]);
    for (const s of [one, two]) {
      expect(s.cfgiCd).toBe(s.commands.CMD_CFGI_CD);
      expect(s.atcInv).toBe(s.commands.CMD_ATC_INV);
      expect(s.tlbiAsid).toBe(s.commands.CMD_TLBI_NH_ASID);
      expect(s.tlbiVa).toBe(s.commands.CMD_TLBI_NH_VA);
      expect(s.syncs).toBe(s.commands.CMD_SYNC);
    }
    expect(one.commands.CMD_CFGI_CD).toBeGreaterThan(0);
    expect(one.commands.CMD_CFGI_STE).toBeGreaterThan(0);
    // the unmap's arm_smmu_atc_inv_domain and the detach's arm_smmu_atc_inv_master
    expect(one.commands.CMD_ATC_INV).toBe(2);
    expect(two).toMatchObject({
      commands: {
        CMD_CFGI_CD: 2 * one.commands.CMD_CFGI_CD,
        CMD_CFGI_STE: 2 * one.commands.CMD_CFGI_STE,
        CMD_ATC_INV: 2 * one.commands.CMD_ATC_INV,
      },
    });
    // arm_smmu_domain_free of the last master's domain: the ASID flushed once.
    expect(one.commands.CMD_TLBI_NH_ASID).toBe(1);
    expect(one.tlbiAsid).toBe(1);
  });
});

describe('CMD_TLBI_NH_VA removes the cached pages of its range, and only those', () => {
  // [cached pages, unmapped range]: every page of the range cached, or a few pages of a wide range.
  it.each([
    ['every page of the range is cached', [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17], [0x11, 0x16]],
    ['two pages of a 16-page range are cached', [0x10, 0x11, 0x20, 0x21], [0x11, 0x20]],
  ] as const)('%s', (_, cached, [first, last]) => {
    const lines = ['attach d D', `dmap D ${hex(0x10)} ${hex(0x12)}`, ...cached.map((p) => `dma d - ${hex(p)}`)];
    lines.push(`dunmap D ${hex(first)} ${hex(last - first + 1)}`);
    const before = run(domainSys(), L(...lines)).devices.smmus[0]!;
    const r = run(domainSys(), L(...lines, ...[first - 1, first, last, last + 1].map((p) => `dma d - ${hex(p)}`)));
    const after = r.devices.smmus[0]!;
    // first - 1 and last + 1 hit their entries; first and last miss and fault (unmapped): nothing stale.
    expect({ hits: after.hits - before.hits, faults: after.faults - before.faults, fills: after.fills - before.fills }).toEqual({
      hits: 2,
      faults: 2,
      fills: 0,
    });
    expect(r.stale.total).toBe(0);
  });

  it('a munmap of 2^32 pages with two of three cached pages in it (v6.1, per-page TLBI_NH_VA) removes those two, at the cost of the cached pages', () => {
    const sys = { kernel: '6.1', smmus: [plain], devices: [{ name: 'dev', smmu: 's' }] };
    const far = 2 ** 32;
    const r = run(
      sys,
      L(
        'fork 1 P',
        'sched 0 1',
        'map P 0x1000 0x1000 rw',
        `map P ${hex(far)} 0x2000 rw`,
        'bind dev P',
        'dma dev 1 0x1000',
        `dma dev 1 ${hex(far)}`,
        `dma dev 1 ${hex(far + 1)}`, //  outside the range: stays, and the latent check looks at it
        `unmap P 0x1000 ${hex(far)}`,
        'dma dev 1 0x1000',
        `dma dev 1 ${hex(far)}`,
        `dma dev 1 ${hex(far + 1)}`,
      ),
    );
    expect(r.devices.smmus[0]).toMatchObject({ fills: 3, hits: 1, misses: 5, faults: 2 });
    expect(r.stale.total).toBe(0);
  }, 10_000);
});

describe('BTM: a CPU broadcast TLBI removes the ASET=0 entries of its ASID, not the ASET=1 ones', () => {
  const sys: SystemInput = {
    driver: 'btm-2023',
    smmus: [{ ...plain, btm: true }],
    devices: [
      { name: 'd', smmu: 's' },
      { name: 'dev', smmu: 's' },
    ],
  };
  it('a DMA domain (ASET=1) on ASID 1 keeps its entry through the TLBIs of the CPU mm running with ASID 1', () => {
    const { m, counters } = replay(
      sys,
      L(
        'attach d D',
        'dmap D 0x1000 0x1000',
        'dma d - 0x1000', //            3: fill (ASID 1, 0x1000)
        'fork 1 Q',
        'sched 0 1', //                  Q runs with CPU ASID 1
        'map Q 0x1000 0x2000 rw',
        'unmap Q 0x1000 0x2000', //      7: TLBI VAE1IS x2, ASID 1 (two pages, one cached)
        'dma d - 0x1000',
        'map Q 0x1000 0x1000 rw',
        'unmap Q 0x1000 0x1000', //      10: TLBI VAE1IS, ASID 1
        'dma d - 0x1000',
        'map Q 0x0 0x400000 rw',
        'unmap Q 0x0 0x400000', //       13: 1024 pages: flush_tlb_mm, TLBI ASIDE1IS ASID 1
        'dma d - 0x1000',
      ),
    );
    expect(m.smmu.domains.get('D')!.asid).toBe(1);
    expect(cpuView(m)[0]).toEqual({ mm: 'Q', asid: 1 });
    expect(counters.btmSnoops).toBe(3);
    expect(counters).toMatchObject({ fills: 1, hits: 3, misses: 1 });
  });

  it('the SVA context on the CPU ASID (ASET=0): a page TLBI removes that page, flush_tlb_mm every page', () => {
    const { counters } = replay(
      sys,
      L(
        'fork 1 P',
        'sched 0 1',
        'map P 0x0 0x400000 rw',
        'bind dev P',
        'dma dev 1 0x0',
        'dma dev 1 0x1000',
        'dma dev 1 0x2000', //          7: three entries, ASID 1
        'unmap P 0x0 0x1000', //        8: page 0 only
        'dma dev 1 0x1000', //          hit
        'unmap P 0x2000 0x1000', //     10: page 2 only
        'dma dev 1 0x1000', //          hit
        'dma dev 1 0x0', //             unmapped: miss, fault
        'unmap P 0x200000 0x200000', // 13: 512 pages: flush_tlb_mm, the whole ASID
        'dma dev 1 0x1000', //          miss, fill again
      ),
    );
    // btm_invalidation: the notifier sends no TLBI, the snoops did it all.
    expect(counters).toMatchObject({ hits: 2, misses: 5, fills: 4, faults: 1, commands: { CMD_TLBI_NH_VA: 0, CMD_TLBI_NH_ASID: 0 } });
  });
});

describe('the IOTLB occupancy counter (IOTLB entries in the time series)', () => {
  it('equals the entries cached after every fill, TLBI_NH_VA, TLBI_NH_ASID and BTM snoop', () => {
    const cached = (m: SystemModel) => [...m.smmu.smmus[0]!.iotlb.values()].reduce((n, p) => n + p.size, 0);
    const seen: number[] = [];
    replay(
      {
        driver: 'btm-2023',
        smmus: [{ ...plain, btm: true }],
        devices: [
          { name: 'd', smmu: 's' },
          { name: 'dev', smmu: 's' },
        ],
      },
      L(
        'attach d D',
        `dmap D 0x0 ${hex(0x40)}`,
        ...[1, 2, 3, 4, 0x20, 0x21].map((p) => `dma d - ${hex(p)}`),
        `dunmap D ${hex(2)} ${hex(2)}`, //      TLBI_NH_VA, range walked
        `dunmap D ${hex(0x10)} ${hex(0x30)}`, // TLBI_NH_VA, cached pages scanned
        'fork 1 P',
        'sched 0 1',
        'map P 0x0 0x400000 rw',
        'bind dev P', //                        D moves off ASID 1: TLBI_NH_ASID(1)
        'dma d - 0x1000', //                    D, new ASID
        ...[0, 1, 2, 3].map((p) => `dma dev 1 ${hex(p)}`),
        'unmap P 0x1000 0x1000', //             BTM snoop of a page (ASET=0 only)
        'unmap P 0x200000 0x200000', //         BTM snoop of the ASID (ASET=0 only)
        'detach d', //                          domain free: TLBI_NH_ASID
      ),
      (m) => {
        expect(iotlbOccupancy(m)[0]).toBe(cached(m));
        seen.push(cached(m));
      },
    );
    expect(seen.slice(0, 12)).toEqual([0, 0, 1, 2, 3, 4, 5, 6, 4, 2, 2, 2]);
    expect(seen.at(-1)).toBe(0);
  });
});

describe(`capacity: the IOTLB is emptied when a fill finds ${IOTLB_CAPACITY} entries`, () => {
  const smmu = (): SmmuInstance => ({
    name: 's',
    asidBits: 16,
    btm: false,
    rangeInvalidation: false,
    ssidBits: 20,
    featBtm: false,
    iotlb: new Map(),
    entries: 0,
    tagsOf: new Map(),
    cmdq: [],
  });
  const entry = (asid: number): TlbEntry => ({ as: -1, epoch: 1, prot: 3, asid, shared: false, fillRow: 1, device: 'd', ssid: 0 });
  it('capacity - 1 entries: the next fill is kept beside them; capacity: the next fill empties the IOTLB first', () => {
    const s = smmu();
    for (let pg = 0; pg < IOTLB_CAPACITY - 1; pg++) iotlbFill(s, pg, entry(pg % 2));
    iotlbFill(s, IOTLB_CAPACITY - 1, entry(1));
    expect(s.entries).toBe(IOTLB_CAPACITY);
    expect(iotlbLookup(s, 0, 0)).toBeDefined();
    iotlbFill(s, IOTLB_CAPACITY, entry(0));
    expect(s.entries).toBe(1);
    expect(iotlbLookup(s, 0, 0)).toBeUndefined();
    expect(iotlbLookup(s, 1, 1)).toBeUndefined();
    expect(iotlbLookup(s, 0, IOTLB_CAPACITY)).toBeDefined();
    expect([...s.tagsOf]).toEqual([[-1, new Set([0])]]);
  });
});

describe('equal states, equal digests', () => {
  it('an IOTLB entry formed and then invalidated leaves the state as if it had never formed', () => {
    const digest = (text: string) => digestSystem(replay(domainSys(), text).m);
    const formed = digest(L('attach d D', 'dmap D 0x1000 0x1000', 'dma d - 0x1000', 'dunmap D 0x1000 0x1000'));
    const never = digest(L('attach d D', 'dmap D 0x1000 0x1000', '# no dma', 'dunmap D 0x1000 0x1000'));
    expect(formed).toBe(never);
    // ... and a cached entry is part of the state.
    expect(digest(L('attach d D', 'dmap D 0x1000 0x1000', 'dma d - 0x1000'))).not.toBe(
      digest(L('attach d D', 'dmap D 0x1000 0x1000', '# no dma')),
    );
  });
});
