/**
 * Stage-1 ASID allocation of the SMMUv3 driver (src/model/smmu/asid-pool.ts), on both sides of every
 * boundary:
 *
 * - v5.8 on (0299a1a81ca0 "iommu/arm-smmu-v3: Manage ASIDs with xarray"): arm_smmu_domain_finalise_s1()
 *   `xa_alloc(&arm_smmu_asid_xa, &asid, &cfg->cd, XA_LIMIT(1, (1 << smmu->asid_bits) - 1), GFP_KERNEL)`:
 *   the lowest free index in [1, 2^asid_bits - 1] of ONE xarray shared by every SMMU; full: -EBUSY
 *   (lib/xarray.c __xa_alloc: "-EBUSY if there are no free entries in @limit"). arm_smmu_domain_free()
 *   gives it back (`arm_smmu_free_asid` -> xa_erase).
 * - before v5.8: `arm_smmu_bitmap_alloc(smmu->asid_map, smmu->asid_bits)`: `find_first_zero_bit`
 *   from ASID 0 of a bitmap per SMMU, -ENOSPC when full; freed by arm_smmu_bitmap_free().
 * - arm_smmu_alloc_shared_cd() (arm-smmu-v3-sva.c, v5.10 - v6.10) claims the mm's CPU ASID with
 *   `xa_insert(&arm_smmu_asid_xa, asid, cd, GFP_KERNEL)` after arm_smmu_share_asid() moved a DMA
 *   domain off it (`xa_alloc` of a new one, then `xa_erase` of the old).
 * - rfc-btm-2023 (J. Gunthorpe, "iommu/arm-smmu-v3: Move the arm_smmu_asid_xa to per-smmu like vmid"
 *   and "[PATCH v3 24/27] Bring back SVA BTM support", not merged) keeps one ASID map per SMMU; with
 *   `multiSmmuDomains` (M. Shavit's 2023 RFC, a what-if) a domain spans several SMMUs and holds the
 *   same ASID in each of their maps: an attach claims it in the new SMMU's map (xa_insert, -EBUSY if
 *   taken), and a move needs the lowest ASID free in every map, within the narrowest SMMU's range.
 *
 * Builds without CONFIG_UNMAP_KERNEL_AT_EL0, so the first mm scheduled gets CPU ASID 1.
 */
import { describe, expect, it } from 'vitest';
import { createSystem, step, summarize } from '../src/model/system.js';
import { ReportCollector } from '../src/report/report.js';
import { type SystemInput, resolveSystem } from '../src/trace/system.js';
import { failures, mini } from './helpers/mini.js';

const L = (...lines: string[]) => lines.join('\n');

function sim(system: SystemInput, text: string) {
  const cfg = resolveSystem({ whatIf: true, unmapKernelAtEl0: false, ...system }, {});
  const m = createSystem(cfg);
  const col = new ReportCollector(cfg.smmus.length);
  for (const e of mini(text)) step(m, e, col);
  return { m, r: col.finish('t', summarize(m)) };
}

/** Domain name -> its ASID. */
const asids = (m: ReturnType<typeof sim>['m']) => Object.fromEntries([...m.smmu.domains].map(([n, d]) => [n, d.asid]));

/** `n` devices d1..dn on smmu0 (8-bit ASIDs), each attached to its own domain D1..Dn. */
function domains(kernel: string, n: number, tail = '') {
  const devices = Array.from({ length: n + 1 }, (_, i) => ({ name: `d${i + 1}`, smmu: 'smmu0' }));
  const lines = Array.from({ length: n }, (_, i) => `attach d${i + 1} D${i + 1}`);
  return sim({ kernel, smmus: [{ name: 'smmu0', asidBits: 8 }], devices }, L(...lines, tail));
}

describe('xa_alloc (v5.8 on): the lowest free ASID in [1, 2^asid_bits - 1]', () => {
  it('1, 2, 3; with 1 and 3 freed the next domains get 1, then 3, then 4', () => {
    const { m } = domains('6.1', 3, L('detach d1', 'detach d3', 'attach d4 E', 'attach d1 F', 'attach d3 G'));
    expect(asids(m)).toEqual({ D2: 2, E: 1, F: 3, G: 4 });
  });

  it('an 8-bit SMMU holds 255 domains: the 255th gets ASID 255', () => {
    const { m, r } = domains('6.1', 255);
    expect(failures(r)).toEqual([]);
    expect(m.smmu.domains.get('D255')!.asid).toBe(255);
  });

  it('the 256th attach fails -EBUSY (xa_alloc over [1, 255]); once one is freed, it is handed out again', () => {
    const { m, r } = domains('6.1', 256, L('detach d200', 'attach d256 X'));
    expect(failures(r)).toEqual([[256, 'attach', 'EBUSY']]);
    expect(r.devices.failures[0]!.detail).toContain('xa_alloc');
    expect(r.devices.failures[0]!.detail).toContain('[1, 255]');
    expect(m.smmu.domains.get('X')!.asid).toBe(200);
  });
});

describe('arm_smmu_bitmap_alloc (before v5.8): the lowest clear bit from ASID 0, one map per SMMU', () => {
  it.each(['4.19', '5.7'])('%s: the first domain gets ASID 0; 256 fit in [0, 255]; the 257th fails -ENOSPC', (kernel) => {
    const fit = domains(kernel, 256);
    expect(failures(fit.r)).toEqual([]);
    expect(fit.m.smmu.domains.get('D1')!.asid).toBe(0);
    expect(fit.m.smmu.domains.get('D256')!.asid).toBe(255);
    const full = domains(kernel, 257);
    expect(failures(full.r)).toEqual([[257, 'attach', 'ENOSPC']]);
    expect(full.r.devices.failures[0]!.detail).toContain('arm_smmu_bitmap_alloc');
    expect(full.r.devices.failures[0]!.detail).toContain('[0, 255]');
  });

  it.each([
    ['5.7', { A: 0, B: 0 }],
    ['5.8', { A: 1, B: 2 }],
  ])('%s: domains on two SMMUs get %o (per-SMMU bitmaps, then one global xarray)', (kernel, want) => {
    const sys: SystemInput = {
      kernel,
      smmus: [
        { name: 's0', asidBits: 16 },
        { name: 's1', asidBits: 16 },
      ],
      devices: [
        { name: 'a', smmu: 's0' },
        { name: 'b', smmu: 's1' },
      ],
    };
    expect(asids(sim(sys, L('attach a A', 'attach b B')).m)).toEqual(want);
  });
});

describe('v6.1: the SVA CD holds the CPU ASID in the same xarray', () => {
  const sys: SystemInput = {
    kernel: '6.1',
    asidBits: 8,
    smmus: [{ name: 'smmu0', asidBits: 8 }],
    devices: ['sva', 'd1', 'd2'].map((name) => ({ name, smmu: 'smmu0' })),
  };

  it('xa_insert of CPU ASID 1 at the bind: a DMA domain attached after it gets 2', () => {
    expect(asids(sim(sys, L('fork 1 P', 'sched 0 1', 'bind sva P', 'attach d1 D')).m)).toEqual({ D: 2 });
  });

  it("a domain moved off CPU ASID 1 goes to 2; ASID 1 is the SVA CD's (xa_erase, then xa_insert): the next domain gets 3", () => {
    const { m } = sim(sys, L('attach d1 D', 'fork 1 P', 'sched 0 1', 'bind sva P', 'attach d2 E'));
    expect(asids(m)).toEqual({ D: 2, E: 3 });
  });
});

describe('rfc-btm-2023 with multi-SMMU domains (what-if): one ASID map per SMMU', () => {
  // Two SMMUs: A (16-bit, BTM: SVA binds use the CPU ASID) and B (8-bit, no BTM).
  const sys = (onB: number): SystemInput => ({
    kernel: 'rfc-btm-2023',
    asidBits: 8,
    multiSmmuDomains: true,
    smmus: [
      { name: 'A', asidBits: 16, btm: true },
      { name: 'B', asidBits: 8 },
    ],
    devices: [
      { name: 'sva', smmu: 'A' },
      { name: 'a1', smmu: 'A' },
      ...Array.from({ length: onB }, (_, i) => ({ name: `b${i + 1}`, smmu: 'B' })),
    ],
  });

  it("attaching a domain to a second SMMU claims its ASID in that SMMU's map: the next domain there gets 2", () => {
    const { m, r } = sim(sys(2), L('attach a1 D', 'attach b1 D', 'attach b2 E'));
    expect(failures(r)).toEqual([]);
    expect(asids(m)).toEqual({ D: 1, E: 2 });
  });

  it("the ASID taken in the second SMMU's map: the attach fails -EBUSY and the domain stays on A", () => {
    const { m, r } = sim(sys(2), L('attach a1 D', 'attach b1 E', 'attach b2 D'));
    expect(failures(r)).toEqual([[3, 'attach', 'EBUSY']]);
    expect(r.devices.failures[0]!.detail).toContain('ASID 1');
    expect(m.smmu.domains.get('D')!.smmus).toEqual([0]);
    expect(m.smmu.masters.get('b2')!.rid).toBeNull();
  });

  it('moving a domain off the CPU ASID takes the lowest ASID free in both maps (3: 2 is taken on B)', () => {
    const { m, r } = sim(sys(2), L('attach a1 D', 'attach b1 D', 'attach b2 E', 'fork 1 P', 'sched 0 1', 'bind sva P'));
    expect(failures(r)).toEqual([]);
    expect(asids(m)).toEqual({ D: 3, E: 2 });
  });

  it("a bind on the domain's second SMMU (BTM there) finds the domain in that SMMU's map and moves it", () => {
    const s: SystemInput = {
      ...sys(1),
      smmus: [
        { name: 'A', asidBits: 8 },
        { name: 'B', asidBits: 8, btm: true },
      ],
      devices: [
        { name: 'a1', smmu: 'A' },
        { name: 'b1', smmu: 'B' },
        { name: 'svaB', smmu: 'B' },
      ],
    };
    const { m, r } = sim(s, L('attach a1 D', 'attach b1 D', 'fork 1 P', 'sched 0 1', 'bind svaB P'));
    expect(failures(r)).toEqual([]);
    expect(asids(m)).toEqual({ D: 2 });
  });

  // D on A and B; B's map holds D (1) and 253 or 254 other domains.
  const crowded = (others: number) => {
    const lines = ['attach a1 D', 'attach b1 D', ...Array.from({ length: others }, (_, i) => `attach b${i + 2} E${i + 2}`)];
    return sim(sys(others + 1), L(...lines, 'fork 1 P', 'sched 0 1', 'bind sva P'));
  };

  it('B holds 1..254: the move takes 255, the last ASID the 8-bit SMMU can hold', () => {
    const { m, r } = crowded(253);
    expect(failures(r)).toEqual([]);
    expect(m.smmu.domains.get('D')!.asid).toBe(255);
  });

  it('B holds 1..255: no ASID is free in both maps within [1, 255] (A has plenty above): the bind fails, D keeps 1', () => {
    const { m, r } = crowded(254);
    expect(failures(r).map(([row, call]) => [row, call])).toEqual([[259, 'bind']]);
    expect(m.smmu.domains.get('D')!.asid).toBe(1);
    expect(r.pins).toMatchObject({ pinned: 1, unpins: 1 });
  });
});
