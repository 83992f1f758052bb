/**
 * DMA (stage-1 paging) domains, src/model/smmu/domains.ts, on both sides of every boundary:
 *
 * - Attach: the driver is not called when the group already has that domain (drivers/iommu/iommu.c,
 *   v6.1 __iommu_group_set_domain(): `if (group->domain == new_domain) return 0;`; VFIO's
 *   iommu_attach_group() refuses it -EBUSY before reaching the driver); a second master behind
 *   the same SMMU joins the finalised domain (arm_smmu_attach_dev(): only `smmu_domain->smmu != smmu`
 *   is refused); a master attached elsewhere is detached first (arm_smmu_detach_dev()).
 * - Detach: arm_smmu_detach_dev() -> arm_smmu_disable_ats() -> arm_smmu_atc_inv_master(), which sends
 *   `arm_smmu_atc_inv_to_cmd(0, 0, 0, &cmd)`: size 0 is the whole ATC. The domain is freed with its
 *   last master (an unmanaged-domain owner such as VFIO detaches, then calls iommu_domain_free()):
 *   arm_smmu_domain_free() -> free_io_pgtable_ops() -> arm_smmu_tlb_inv_context() -> TLBI_NH_ASID,
 *   then the ASID is given back.
 * - The CD of a DMA domain has ASET=1 (arm_smmu_write_ctx_desc(): `cd->mm ? 0 : CTXDESC_CD_0_ASET`):
 *   broadcast TLBIs of the CPU never remove its entries, even on an SMMU whose BTM the driver uses.
 * - iommu_map(): io-pgtable-arm refuses to overwrite a valid leaf (arm_lpae_init_pte(): every entry
 *   of the run is checked first, `return -EEXIST`), and __iommu_map() then unmaps the 0 bytes it
 *   mapped: nothing changes.
 * - iommu_unmap() of pages that are not mapped unmaps nothing; arm_smmu_iotlb_sync() returns at
 *   `if (!gather->pgsize)` from v5.13 (6cc7e5a9c6b0): no command is sent; before, the empty
 *   gather's sync sends a lone CMD_SYNC and from v5.4 an ATC_INV (by era, below). An unmap stops at
 *   the first entry that maps nothing (src/model/smmu/io-pgtable.ts).
 * Rows are line numbers of the mini traces.
 */
import { describe, expect, it } from 'vitest';
import { EventError } from '../src/model/errors.js';
import { MAX_DOMAIN_PAGES } from '../src/model/smmu/domains.js';
import { createSystem, digestSystem, step, summarize } from '../src/model/system.js';
import { ReportCollector } from '../src/report/report.js';
import { type SystemInput, resolveSystem } from '../src/trace/system.js';
import { failures, mini } from './helpers/mini.js';

const L = (...lines: string[]) => lines.join('\n');
const hex = (n: number) => `0x${n.toString(16)}`;

function sim(system: SystemInput, text: string) {
  const cfg = resolveSystem({ whatIf: true, unmapKernelAtEl0: false, ...system }, {});
  const m = createSystem(cfg);
  const col = new ReportCollector(cfg.smmus.length);
  for (const e of mini(text)) step(m, e, col);
  return { m, r: col.finish('t', summarize(m)) };
}

/** [row, column] of the EventError a story throws. */
function eventError(system: SystemInput, text: string): [number, string | undefined, string] {
  try {
    sim(system, text);
  } catch (e) {
    if (e instanceof EventError) return [e.row, e.field, e.message];
    throw e;
  }
  throw new Error('no EventError');
}

const sys = (kernel = '6.1', ats = false): SystemInput => ({
  kernel,
  smmus: [{ name: 'smmu0', asidBits: 16 }],
  devices: ['d1', 'd2', 'd3'].map((name) => ({ name, smmu: 'smmu0', ats })),
});

describe('attach', () => {
  it('attaching a master to the domain it already has changes nothing', () => {
    const once = sim(sys(), 'attach d1 D');
    const twice = sim(sys(), L('attach d1 D', 'attach d1 D'));
    expect(twice.r.devices.smmus[0]).toEqual(once.r.devices.smmus[0]);
    expect(twice.m.smmu.domains.get('D')).toMatchObject({ asid: 1, masters: ['d1'] });
  });

  it('a second master behind the same SMMU joins the domain: one ASID, both CDs carry it', () => {
    const { m, r } = sim(sys(), L('attach d1 D', 'attach d2 D'));
    expect(failures(r)).toEqual([]);
    expect(r.devices.smmus[0]).toMatchObject({ asidsAllocated: 1, attachFailures: 0 });
    expect(m.smmu.domains.get('D')!.masters).toEqual(['d1', 'd2']);
    expect([m.smmu.masters.get('d1')!.cds.get(0)!.asid, m.smmu.masters.get('d2')!.cds.get(0)!.asid]).toEqual([1, 1]);
  });

  it('a master moved to another domain leaves the first: with no master left, it is freed (TLBI_NH_ASID) and its ASID reused', () => {
    const { m, r } = sim(sys(), L('attach d1 A', 'attach d1 B', 'attach d2 C'));
    expect(r.devices.smmus[0]).toMatchObject({ asidsAllocated: 3, asidsFreed: 1 });
    expect(r.devices.smmus[0]!.commands.CMD_TLBI_NH_ASID).toBe(1);
    expect([...m.smmu.domains.keys()]).toEqual(['B', 'C']);
    expect(m.smmu.domains.get('C')!.asid).toBe(1);
  });
});

describe('mainline: a domain is finalised on one SMMU', () => {
  // arm_smmu_attach_dev(): `else if (smmu_domain->smmu != smmu) { dev_err(master->dev, "cannot attach to
  // SMMU %s (upstream of %s)\n", ...); ret = -ENXIO; }`, -EINVAL from f4a147735793 (v6.2).
  it.each([
    ['6.1', 'ENXIO'],
    ['6.2', 'EINVAL'],
  ])('%s: a master behind another SMMU is refused -%s, naming the SMMU the domain is on', (kernel, errno) => {
    const { m, r } = sim(
      {
        kernel,
        smmus: [
          { name: 'home', asidBits: 16 },
          { name: 'other', asidBits: 16 },
        ],
        devices: [
          { name: 'a', smmu: 'home' },
          { name: 'b', smmu: 'other' },
        ],
      },
      L('attach a D', 'attach b D'),
    );
    expect(failures(r)).toEqual([[2, 'attach', errno]]);
    expect(r.devices.failures[0]).toMatchObject({ device: 'b', smmu: 'other' });
    expect(r.devices.failures[0]!.detail).toContain('home');
    expect(m.smmu.masters.get('b')!.rid).toBeNull();
  });
});

describe('multi-SMMU domains (what-if, M. Shavit 2023 RFC): a domain joins an SMMU whose ASIDs can hold its own', () => {
  // 256 domains on A (16-bit): D255 holds ASID 255, D256 holds 256. B has 8-bit ASIDs.
  const story = (tail: string) =>
    sim(
      {
        kernel: '6.1',
        multiSmmuDomains: true,
        smmus: [
          { name: 'A', asidBits: 16 },
          { name: 'B', asidBits: 8 },
        ],
        devices: [...Array.from({ length: 256 }, (_, i) => ({ name: `a${i + 1}`, smmu: 'A' })), { name: 'b1', smmu: 'B' }],
      },
      L(...Array.from({ length: 256 }, (_, i) => `attach a${i + 1} D${i + 1}`), tail),
    );
  it('ASID 255 fits an 8-bit SMMU: attached', () => {
    const { m, r } = story('attach b1 D255');
    expect(failures(r)).toEqual([]);
    expect(m.smmu.domains.get('D255')!.smmus).toEqual([0, 1]);
  });
  it('ASID 256 does not: -EINVAL', () => {
    const { m, r } = story('attach b1 D256');
    expect(failures(r)).toEqual([[257, 'attach', 'EINVAL']]);
    expect(r.devices.failures[0]!.detail).toContain('ASID 256');
    expect(m.smmu.masters.get('b1')!.rid).toBeNull();
  });
});

describe('domain identities', () => {
  it("each domain translates its own io-pgtable: not another domain's, nor a process's at the same address", () => {
    const { r } = sim(
      sys(),
      L(
        'attach d1 A',
        'attach d2 B',
        'attach d3 C',
        'fork 1 P',
        'map P 0x10000 0x1000 rw',
        'dmap A 0x10000 0x1000 rw',
        'dma d2 - 0x10000',
        'dma d3 - 0x10000',
        'dma d1 - 0x10000',
      ),
    );
    expect(r.devices.smmus[0]).toMatchObject({ faults: 2, fills: 1 });
  });
});

describe('detach', () => {
  it('one of two masters: the domain stays (no TLBI_NH_ASID, nothing freed)', () => {
    const { m, r } = sim(sys(), L('attach d1 D', 'attach d2 D', 'detach d1'));
    expect(r.devices.smmus[0]).toMatchObject({ asidsFreed: 0 });
    expect(r.devices.smmus[0]!.commands.CMD_TLBI_NH_ASID).toBe(0);
    expect(m.smmu.domains.get('D')!.masters).toEqual(['d2']);
  });

  it('the last master: arm_smmu_domain_free flushes the ASID and gives it back', () => {
    const { m, r } = sim(sys(), L('attach d1 D', 'attach d2 D', 'detach d1', 'detach d2', 'attach d3 E'));
    expect(r.devices.smmus[0]).toMatchObject({ asidsFreed: 1 });
    expect(r.devices.smmus[0]!.commands.CMD_TLBI_NH_ASID).toBe(1);
    expect(m.smmu.domains.get('E')!.asid).toBe(1);
  });

  it('an ATS master: the whole ATC is invalidated, so a new domain at the same IOVA is not served from it', () => {
    const { r } = sim(
      sys('6.1', true),
      L(
        'attach d1 D',
        'dmap D 0x10000 0x1000 rw',
        'dma d1 - 0x10000',
        'detach d1',
        'attach d1 E',
        'dmap E 0x10000 0x1000 r',
        'dma d1 - 0x10000',
      ),
    );
    expect(r.stale.findings).toEqual([]);
    expect(r.devices.smmus[0]).toMatchObject({ atcHits: 0, fills: 2 });
  });

  it('mid-move (the bind that moves its ASID not resumed yet) the last master cannot go: not modelled, refused at the device column', () => {
    const s: SystemInput = { ...sys(), asidBits: 16, devices: [...sys().devices!, { name: 'sva', smmu: 'smmu0' }] };
    const [row, field, message] = eventError(s, L('attach d1 D', 'fork 1 P', 'sched 0 1', 'bind sva P op1', 'detach d1'));
    expect([row, field]).toEqual([5, 'device']);
    expect(message).toContain('op1');
    // With a second master the domain is not freed: detaching one is fine.
    expect(() => sim(s, L('attach d1 D', 'attach d2 D', 'fork 1 P', 'sched 0 1', 'bind sva P op1', 'detach d1'))).not.toThrow();
  });
});

describe('a DMA domain CD has ASET=1: CPU broadcast TLBIs do not reach its entries (rfc-btm-2023, BTM used)', () => {
  it("the CPU unmaps its own page under the same ASID number; the domain's IOTLB entry survives and hits", () => {
    const { r } = sim(
      {
        kernel: 'rfc-btm-2023',
        asidBits: 8,
        smmus: [{ name: 'smmu0', asidBits: 16, btm: true }],
        devices: [{ name: 'd1', smmu: 'smmu0' }],
      },
      L(
        'attach d1 D', // SMMU ASID 1
        'dmap D 0x10000 0x1000 rw',
        'dma d1 - 0x10000', // fill under ASID 1
        'fork 1 P',
        'sched 0 1', // CPU ASID 1
        'map P 0x10000 0x1000 rw',
        'unmap P 0x10000 0x1000', // TLBI VAE1IS, ASID 1: snooped (BTM) but ASET=1
        'dma d1 - 0x10000',
      ),
    );
    expect(r.devices.smmus[0]).toMatchObject({ btmSnoops: 1, fills: 1, hits: 1 });
  });
});

describe('iommu_map of a mapped IOVA: -EEXIST, nothing mapped', () => {
  const map = (tail: string) => sim(sys(), L('attach d1 D', 'dmap D 0x11000 0x1000 r', tail, 'dma d1 - 0x10000', 'dma d1 - 0x12000'));
  it.each([
    ['the first page of the range', 'dmap D 0x11000 0x2000 rw'],
    ['the last page of the range', 'dmap D 0x10000 0x2000 rw'],
    ['a page inside the range', 'dmap D 0x10000 0x3000 rw'],
  ])('%s is mapped', (_, tail) => {
    const { r } = map(tail);
    expect(failures(r)).toEqual([[3, 'map', 'EEXIST']]);
    expect(r.devices.failures[0]).toMatchObject({ device: null, smmu: 'smmu0' });
    expect(r.devices.failures[0]!.detail).toContain('0x11000');
    // 0x10000 and 0x12000 stay unmapped: the DMA faults.
    expect(r.devices.smmus[0]).toMatchObject({ faults: 2, fills: 0 });
  });

  it('the pages next to it map fine', () => {
    const { r } = map(L('dmap D 0x10000 0x1000 rw', 'dmap D 0x12000 0x1000 rw'));
    expect(failures(r)).toEqual([]);
    expect(r.devices.smmus[0]).toMatchObject({ faults: 0, fills: 2 });
  });

  it('an unmapped page (PTE cleared) maps again', () => {
    const { r } = map(L('dunmap D 0x11000 0x1000', 'dmap D 0x10000 0x3000 rw'));
    expect(failures(r)).toEqual([]);
    expect(r.devices.smmus[0]).toMatchObject({ faults: 0, fills: 2 });
  });
});

describe(`the model keeps at most ${MAX_DOMAIN_PAGES} pages per domain (not a kernel limit): an input error at the size column`, () => {
  // One page is mapped at 0x10000; a map over it of n pages is checked against the limit first, and
  // within it fails -EEXIST at its first page (no page is written: cheap).
  const over = (pages: number) => L('attach d1 D', 'dmap D 0x10000 0x1000 r', `dmap D 0x10000 ${hex(pages * 4096)} rw`);
  it(`${MAX_DOMAIN_PAGES - 1} more pages fit beside the one mapped: -EEXIST`, () => {
    expect(failures(sim(sys(), over(MAX_DOMAIN_PAGES - 1)).r)).toEqual([[3, 'map', 'EEXIST']]);
  });
  it(`${MAX_DOMAIN_PAGES} do not: refused`, () => {
    expect(eventError(sys(), over(MAX_DOMAIN_PAGES)).slice(0, 2)).toEqual([3, 'size']);
  });
  it('the count is of the pages mapped, not of their addresses: one page high up maps', () => {
    const va = hex((MAX_DOMAIN_PAGES / 2 + 1) * 4096);
    const { r } = sim(sys(), L('attach d1 D', `dmap D ${va} 0x1000 rw`, `dma d1 - ${va}`));
    expect(failures(r)).toEqual([]);
    expect(r.devices.smmus[0]).toMatchObject({ fills: 1 });
  });
});

describe('iommu_unmap', () => {
  const cmds = (text: string) => {
    const c = sim(sys(), text).r.devices.smmus[0]!;
    return { va: c.commands.CMD_TLBI_NH_VA, sync: c.commands.CMD_SYNC };
  };
  const head = L('attach d1 D', 'dmap D 0x10000 0x1000 rw');

  it('of a mapped page: TLBI_NH_VA + CMD_SYNC', () => {
    const before = cmds(head);
    const after = cmds(L(head, 'dunmap D 0x10000 0x1000'));
    expect({ va: after.va - before.va, sync: after.sync - before.sync }).toEqual({ va: 1, sync: 1 });
  });

  it.each([
    ['never mapped', head, 'dunmap D 0x20000 0x1000'],
    ['already unmapped', L(head, 'dunmap D 0x10000 0x1000'), 'dunmap D 0x10000 0x1000'],
  ])('of a page %s: no command', (_, before, unmap) => {
    expect(cmds(L(before, unmap))).toEqual(cmds(before));
  });

  // Pages 0x1f (below), 0x20, 0x21 (the start of the range), 0x40 (above); the range 0x20..0x24 is
  // larger than the 4 pages the domain holds, so the model looks at the mapped pages only.
  const around = L(
    'attach d1 D',
    'dmap D 0x1f000 0x1000 rw',
    'dmap D 0x20000 0x2000 rw',
    'dmap D 0x40000 0x1000 rw',
    'dunmap D 0x20000 0x5000',
  );
  it('a range larger than what is mapped clears the pages in it, and only those', () => {
    const { r } = sim(sys(), L(around, ...['0x1f000', '0x20000', '0x21000', '0x40000'].map((va) => `dma d1 - ${va}`)));
    // 0x1f000 and 0x40000 translate (fills); 0x20000 and 0x21000 fault.
    expect(r.devices.smmus[0]).toMatchObject({ fills: 2, faults: 2 });
  });

  it('the state after it does not depend on the order the pages were mapped in (equal digests)', () => {
    // The same events, rows 3 and 4 swapped: the two PTEs they write are both cleared by row 6.
    const pages = (third: string, fourth: string) =>
      sim(sys(), L('attach d1 D', 'dmap D 0x1f000 0x1000 rw', third, fourth, 'dmap D 0x40000 0x1000 rw', 'dunmap D 0x20000 0x5000')).m;
    const a = pages('dmap D 0x20000 0x1000 rw', 'dmap D 0x21000 0x1000 rw');
    const b = pages('dmap D 0x21000 0x1000 rw', 'dmap D 0x20000 0x1000 rw');
    expect(digestSystem(a)).toBe(digestSystem(b));
  });

  it('a huge range over two mapped pages is quick: the first 1 GiB entry is freed, the second is empty and ends the unmap', () => {
    // iommu_pgsize() cuts [0, 1 TiB) into 1 GiB entries; the one at 0 holds the table of 0x10000 and is
    // freed whole (its walk invalidated: 2^18 TLBI_NH_VA of 4 KiB); the next is zero, so the unmap
    // stops there and 0x7000000000 stays mapped.
    const before = cmds(L(head, 'dmap D 0x7000000000 0x1000 rw'));
    const text = L(head, 'dmap D 0x7000000000 0x1000 rw', 'dunmap D 0 0x10000000000');
    expect(cmds(text).va - before.va).toBe(2 ** 18);
    const { r } = sim(sys(), L(text, 'dma d1 - 0x10000', 'dma d1 - 0x7000000000'));
    expect(r.devices.smmus[0]).toMatchObject({ faults: 1, fills: 1 });
  });
});

describe('iommu_unmap over a hole: __iommu_unmap stops at the first entry that maps nothing', () => {
  // drivers/iommu/io-pgtable-arm.c __arm_lpae_unmap: `if (WARN_ON(!pte)) break;` (unmap_pages, v5.15
  // on; v4.19 - v5.14 `return 0` per page) and drivers/iommu/iommu.c __iommu_unmap: `if
  // (!unmapped_page) break;` (v4.19 through v6.12 alike). These tests run v6.1.
  // iommu_pgsize() cuts the range into 4 KiB, 2 MiB and 1 GiB entries by alignment; a 2 MiB entry
  // holding a table is freed whole (__arm_lpae_free_pgtable), holes and all.
  const pages = (text: string, ...vas: string[]) => {
    const { r } = sim(sys(), L(text, ...vas.map((va) => `dma d1 - ${va}`)));
    return r;
  };
  const tlbi = (before: string, unmap: string) => {
    const c = (t: string) => sim(sys(), t).r.devices.smmus[0]!.commands;
    const a = c(before);
    const b = c(L(before, unmap));
    return { va: b.CMD_TLBI_NH_VA - a.CMD_TLBI_NH_VA, sync: b.CMD_SYNC - a.CMD_SYNC };
  };
  it('4 KiB entries: 0x10000 and 0x11000 are unmapped, the hole at 0x12000 stops it, 0x13000 stays mapped', () => {
    const head = L('attach d1 D', 'dmap D 0x10000 0x2000 rw', 'dmap D 0x13000 0x1000 rw');
    const unmap = 'dunmap D 0x10000 0x4000';
    const r = pages(L(head, unmap), '0x10000', '0x11000', '0x13000');
    expect(r.devices.smmus[0]).toMatchObject({ faults: 2, fills: 1 });
    // the invalidation covers what was unmapped: two pages, one sync
    expect(tlbi(head, unmap)).toEqual({ va: 2, sync: 1 });
  });
  it('a hole at the first page: nothing is unmapped and nothing is sent', () => {
    const head = L('attach d1 D', 'dmap D 0x11000 0x1000 rw');
    const r = pages(L(head, 'dunmap D 0x10000 0x2000'), '0x11000');
    expect(r.devices.smmus[0]).toMatchObject({ faults: 0, fills: 1 });
    expect(tlbi(head, 'dunmap D 0x10000 0x2000')).toEqual({ va: 0, sync: 0 });
  });
  it("a hole at the first page, by era: what the empty gather's iotlb_sync sends (a lone CMD_SYNC until v5.12; an ATC_INV from v5.4; nothing from v5.13)", () => {
    // iommu_unmap -> iommu_iotlb_sync(empty gather: start ULONG_MAX, end 0) -> arm_smmu_iotlb_sync:
    // v4.19-v5.3 arm_smmu_cmdq_issue_sync; v5.4 (2af2e72b18b4) arm_smmu_tlb_inv_range(start, end - start)
    // wraps to size 1: no TLBI, the batch's CMD_SYNC, and arm_smmu_atc_inv_domain(0, ULONG_MAX, 1):
    // the page at 0xfffffffffffff000; v5.12 (862c3715de8f, inclusive end) size 2: the whole ATC;
    // v5.13 (6cc7e5a9c6b0) `if (!gather->pgsize) return;`.
    const head = L('attach d1 D', 'dmap D 0x11000 0x1000 rw', 'dma d1 - 0x11000');
    const empty = 'dunmap D 0x20000 0x1000';
    const sent = (kernel: string, ats: boolean) => {
      const c = (t: string) => sim(sys(kernel, ats), t).r.devices.smmus[0]!;
      const a = c(head);
      const b = c(L(head, empty, 'dma d1 - 0x11000'));
      return {
        sync: b.commands.CMD_SYNC - a.commands.CMD_SYNC,
        atcInv: b.commands.CMD_ATC_INV - a.commands.CMD_ATC_INV,
        tlbi: b.commands.CMD_TLBI_NH_VA - a.commands.CMD_TLBI_NH_VA,
        atcHits: b.atcHits - a.atcHits,
      };
    };
    for (const k of ['4.19', '5.3', '5.4', '5.11', '5.12'])
      expect(sent(k, false), `${k}, no ATS`).toEqual({ sync: 1, atcInv: 0, tlbi: 0, atcHits: 0 });
    expect(sent('5.13', false)).toEqual({ sync: 0, atcInv: 0, tlbi: 0, atcHits: 0 });
    // with an ATS master: the ATC entry of 0x11000 survives an ATC_INV of the top page, not one of everything
    expect(sent('5.3', true), '5.3').toEqual({ sync: 1, atcInv: 0, tlbi: 0, atcHits: 1 });
    expect(sent('5.4', true), '5.4').toEqual({ sync: 2, atcInv: 1, tlbi: 0, atcHits: 1 });
    expect(sent('5.11', true), '5.11').toEqual({ sync: 2, atcInv: 1, tlbi: 0, atcHits: 1 });
    expect(sent('5.12', true), '5.12').toEqual({ sync: 2, atcInv: 1, tlbi: 0, atcHits: 0 });
    expect(sent('5.13', true), '5.13').toEqual({ sync: 0, atcInv: 0, tlbi: 0, atcHits: 1 });
  });

  it('a 2 MiB entry holding a table is freed whole: a hole inside it does not stop the unmap', () => {
    const head = L('attach d1 D', 'dmap D 0x200000 0x1000 rw', 'dmap D 0x202000 0x1000 rw', 'dmap D 0x400000 0x1000 rw');
    const unmap = 'dunmap D 0x200000 0x201000'; // the 2 MiB entry at 0x200000, then the page 0x400000
    const r = pages(L(head, unmap), '0x200000', '0x202000', '0x400000');
    expect(r.devices.smmus[0]).toMatchObject({ faults: 3, fills: 0 });
    expect(tlbi(head, unmap).va).toBe(513);
  });
  it('a 2 MiB entry with no table under it ends the unmap: the pages after it stay mapped', () => {
    const head = L('attach d1 D', 'dmap D 0x400000 0x1000 rw');
    const unmap = 'dunmap D 0x200000 0x400000'; // 2 MiB entries at 0x200000 (zero) and 0x400000
    const r = pages(L(head, unmap), '0x400000');
    expect(r.devices.smmus[0]).toMatchObject({ faults: 0, fills: 1 });
    expect(tlbi(head, unmap)).toEqual({ va: 0, sync: 0 });
  });
  it.each([
    // a 2 MiB-aligned start below a 1 GiB boundary: 2 MiB entries, and the empty one at 0x400000 ends it
    [
      '2 MiB entries up to the 1 GiB boundary',
      L('dmap D 0x200000 0x1000 rw', 'dmap D 0x600000 0x1000 rw'),
      'dunmap D 0x200000 0x40000000',
      ['0x600000'],
    ],
    // a 1 GiB-aligned start with exactly 1 GiB to go: one 1 GiB entry, freed although its first 2 MiB is empty
    ['one 1 GiB entry (exactly 1 GiB to go)', L('dmap D 0x40400000 0x1000 rw'), 'dunmap D 0x40000000 0x40000000', []],
    // an unaligned start: 4 KiB entries up to the boundary, and the hole at 0x1ff000 ends it first
    [
      '4 KiB entries before the 2 MiB boundary',
      L('dmap D 0x1fe000 0x1000 rw', 'dmap D 0x250000 0x1000 rw'),
      'dunmap D 0x1fe000 0x202000',
      ['0x250000'],
    ],
    // the only page under the 2 MiB entry is its last one: the entry holds a table all the same
    ['a 2 MiB entry whose only page is its last', L('dmap D 0x3ff000 0x1000 rw'), 'dunmap D 0x200000 0x200000', []],
    // pages mapped in descending order: the entries are found by address, not by the order they were mapped in
    ['pages mapped high first', L('dmap D 0x400000 0x1000 rw', 'dmap D 0x200000 0x1000 rw'), 'dunmap D 0x200000 0x400000', []],
  ])('%s: what stays mapped', (_, maps, unmap, kept) => {
    const all = ['0x200000', '0x600000', '0x40400000', '0x1fe000', '0x250000', '0x3ff000', '0x400000'];
    const r = sim(sys(), L('attach d1 D', maps, unmap, ...all.map((va) => `dma d1 - ${va}`))).r;
    // a page that stayed mapped translates (a fill); every other one faults
    expect(r.devices.smmus[0]).toMatchObject({ fills: kept.length, faults: all.length - kept.length });
  });
  it('a second unmap of a freed 2 MiB entry finds it zero: nothing changes and nothing is sent', () => {
    // the first unmap freed the table (__arm_lpae_free_pgtable); the level-2 entry is 0 again
    const once = L('attach d1 D', 'dmap D 0x200000 0x2000 rw', 'dunmap D 0x200000 0x200000');
    const twice = L(once, 'dunmap D 0x200000 0x200000');
    expect(digestSystem(sim(sys(), twice).m)).toBe(digestSystem(sim(sys(), once).m));
    expect(tlbi(once, 'dunmap D 0x200000 0x200000')).toEqual({ va: 0, sync: 0 });
    // and a 4 KiB unmap under it finds no table either
    expect(tlbi(once, 'dunmap D 0x200000 0x1000')).toEqual({ va: 0, sync: 0 });
  });
  it('a 4 KiB unmap keeps the table: a later unmap of the whole entry still frees it (and invalidates it)', () => {
    const head = L('attach d1 D', 'dmap D 0x200000 0x1000 rw', 'dunmap D 0x200000 0x1000');
    expect(tlbi(head, 'dunmap D 0x200000 0x200000')).toEqual({ va: 512, sync: 1 });
    // the page keeps the row that unmapped it (3), now under a freed table
    const { m } = sim(sys(), L(head, 'dunmap D 0x200000 0x200000'));
    const before = sim(sys(), head).m.smmu.domains.get('D')!.ptes.get(0x200)!;
    expect(m.smmu.domains.get('D')!.ptes.get(0x200)).toEqual({ prot: 0, epoch: before.epoch, row: 3, freed: true });
  });
  it('a page unmapped before is a hole too: the unmap stops there', () => {
    const head = L('attach d1 D', 'dmap D 0x10000 0x4000 rw', 'dunmap D 0x12000 0x1000');
    const r = pages(L(head, 'dunmap D 0x10000 0x4000'), '0x10000', '0x11000', '0x13000');
    expect(r.devices.smmus[0]).toMatchObject({ faults: 2, fills: 1 });
  });
  it('after 4 KiB entries and a freed 2 MiB entry, an empty 2 MiB entry ends the unmap', () => {
    const head = L('attach d1 D', 'dmap D 0x1ff000 0x2000 rw', 'dmap D 0x600000 0x1000 rw');
    const r = pages(L(head, 'dunmap D 0x1ff000 0x601000'), '0x1ff000', '0x200000', '0x600000');
    expect(r.devices.smmus[0]).toMatchObject({ faults: 2, fills: 1 });
  });
  it('after a 4 KiB entry, an empty 2 MiB entry ends the unmap (the page before it does not count)', () => {
    const head = L('attach d1 D', 'dmap D 0x1ff000 0x1000 rw', 'dmap D 0x400000 0x1000 rw');
    const r = pages(L(head, 'dunmap D 0x1ff000 0x401000'), '0x1ff000', '0x400000');
    expect(r.devices.smmus[0]).toMatchObject({ faults: 1, fills: 1 });
  });
  it('in a domain with more PTEs than the entry has pages (looked up page by page): the same answers', () => {
    const many = 'dmap D 0x1000000 0x400000 rw'; // 1024 pages elsewhere
    const r = pages(L('attach d1 D', many, 'dmap D 0x3ff000 0x1000 rw', 'dunmap D 0x200000 0x200000'), '0x3ff000');
    expect(r.devices.smmus[0]).toMatchObject({ faults: 1, fills: 0 });
    const kept = pages(L('attach d1 D', many, 'dmap D 0x400000 0x1000 rw', 'dunmap D 0x200000 0x400000'), '0x400000');
    expect(kept.devices.smmus[0]).toMatchObject({ faults: 0, fills: 1 });
  });
  it('a page mapped again under a freed entry makes a new table: the next unmap of the entry frees it', () => {
    const head = L('attach d1 D', 'dmap D 0x200000 0x1000 rw', 'dunmap D 0x200000 0x200000', 'dmap D 0x3ff000 0x1000 rw');
    expect(tlbi(head, 'dunmap D 0x200000 0x200000')).toEqual({ va: 512, sync: 1 });
    const r = pages(L(head, 'dunmap D 0x200000 0x200000'), '0x3ff000');
    expect(r.devices.smmus[0]).toMatchObject({ faults: 1, fills: 0 });
  });
  it('an unaligned start is unmapped page by page up to the 2 MiB boundary, then by 2 MiB entries', () => {
    const head = L('attach d1 D', 'dmap D 0x1ff000 0x2000 rw', 'dmap D 0x3ff000 0x1000 rw');
    const unmap = 'dunmap D 0x1ff000 0x201000'; // the page 0x1ff000, then the 2 MiB entry at 0x200000
    const r = pages(L(head, unmap), '0x1ff000', '0x200000', '0x3ff000');
    expect(r.devices.smmus[0]).toMatchObject({ faults: 3, fills: 0 });
    expect(tlbi(head, unmap).va).toBe(513);
  });
});
