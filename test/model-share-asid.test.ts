/**
 * arm_smmu_share_asid() (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c, v5.12 - v6.10) when the
 * CPU ASID of the mm is held by a DMA domain, on both sides of a full ASID space:
 *
 *   ret = xa_alloc(&arm_smmu_asid_xa, &new_asid, cd, XA_LIMIT(1, (1 << smmu->asid_bits) - 1), GFP_KERNEL);
 *   if (ret)
 *       return ERR_PTR(-ENOSPC);
 *
 * and arm_smmu_alloc_shared_cd() then takes `out_free_cd` -> `out_put_context`:
 * arm64_mm_context_put(mm), so the pin taken for the bind is dropped. With one ASID free the domain
 * moves there (cd->asid = new_asid, CD rewritten, TLBI of the old ASID, xa_erase) and the bind goes on.
 * Kernel 6.1, one SMMU with 8-bit ASIDs, 8-bit CPU ASIDs without CONFIG_UNMAP_KERNEL_AT_EL0: the
 * first mm scheduled gets CPU ASID 1, which the first DMA domain got from xa_alloc over [1, 255].
 */
import { describe, expect, it } from 'vitest';
import { EventError } from '../src/model/errors.js';
import { createSystem, step, summarize } from '../src/model/system.js';
import { ReportCollector } from '../src/report/report.js';
import { type SystemInput, resolveSystem } from '../src/trace/system.js';
import { failures, kinds, mini, run, staleHits } from './helpers/mini.js';

function story(domains: number) {
  const devices = [{ name: 'sva', smmu: 'smmu0' }, ...Array.from({ length: domains }, (_, i) => ({ name: `d${i + 1}`, smmu: 'smmu0' }))];
  const lines = [...Array.from({ length: domains }, (_, i) => `attach d${i + 1} dom${i + 1}`), 'fork 1 P', 'sched 0 1', 'bind sva P'];
  return {
    r: run({ kernel: '6.1', asidBits: 8, smmus: [{ name: 'smmu0', asidBits: 8 }], devices }, lines.join('\n')),
    bindRow: domains + 3,
  };
}

describe('moving a DMA domain off the CPU ASID of the mm being bound', () => {
  it('255 domains hold [1, 255]: -ENOSPC, and the pin is put back', () => {
    const { r, bindRow } = story(255);
    expect(failures(r)).toEqual([[bindRow, 'bind', 'ENOSPC']]);
    expect(r.pins).toMatchObject({ requests: 1, pinned: 1, unpins: 1 });
    expect(r.devices.smmus[0]).toMatchObject({ asidsAllocated: 255, asidsMoved: 0, bindFailures: 1 });
    expect(r.devices.smmus[0]!.commands.CMD_TLBI_NH_ASID).toBe(0);
  });

  it('254 domains: the domain on ASID 1 moves to 255, its old ASID is flushed, the bind succeeds and keeps its pin', () => {
    const { r } = story(254);
    expect(failures(r)).toEqual([]);
    expect(r.pins).toMatchObject({ requests: 1, pinned: 1, unpins: 0 });
    expect(r.devices.smmus[0]).toMatchObject({ asidsMoved: 1, bindFailures: 0 });
    // arm_smmu_tlb_inv_asid(smmu, asid) of the old ASID: one TLBI_NH_ASID.
    expect(r.devices.smmus[0]!.commands.CMD_TLBI_NH_ASID).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// The rest of arm_smmu_share_asid() / arm_smmu_alloc_shared_cd() (v5.10 - v6.10), the private ASID
// of v6.11+ (d38c28dbefee: arm_smmu_sva_domain_alloc() does its own xa_alloc, nothing pinned), the
// ASID move replayed in steps, and the 2023 BTM proposal's unchecked pin.
// ---------------------------------------------------------------------------------------------

const L = (...lines: string[]) => lines.join('\n');

function sim(system: SystemInput, text: string) {
  const cfg = resolveSystem({ whatIf: true, unmapKernelAtEl0: false, ...system }, {});
  const m = createSystem(cfg);
  const col = new ReportCollector(cfg.smmus.length);
  for (const e of mini(text)) step(m, e, col);
  return { m, r: col.finish('t', summarize(m)) };
}

/** [row, column, message] of the EventError a story throws. */
function eventError(system: SystemInput, text: string): [number, string | undefined, string] {
  try {
    sim(system, text);
  } catch (e) {
    if (e instanceof EventError) return [e.row, e.field, e.message];
    throw e;
  }
  throw new Error('no EventError');
}

const sys = (kernel: string, extra: Partial<SystemInput> = {}): SystemInput => ({
  kernel,
  asidBits: 8,
  smmus: [{ name: 'smmu0', asidBits: 8 }],
  devices: ['sva', 'sva2', 'd1', 'd2'].map((name) => ({ name, smmu: 'smmu0' })),
  ...extra,
});

describe('v6.1: one shared CD per mm, whatever the SMMU', () => {
  it('the mm bound through two SMMUs: one context, one pin kept (the second get is put back), ASID 1 in both CDs', () => {
    const s = sys('6.1', {
      smmus: [
        { name: 's0', asidBits: 8 },
        { name: 's1', asidBits: 8 },
      ],
      devices: [
        { name: 'x', smmu: 's0' },
        { name: 'y', smmu: 's1' },
      ],
    });
    const { m, r } = sim(s, L('fork 1 P', 'sched 0 1', 'bind x P', 'bind y P'));
    expect(failures(r)).toEqual([]);
    expect(m.smmu.svaContexts.size).toBe(1);
    expect([m.smmu.masters.get('x')!.cds.get(1)!.asid, m.smmu.masters.get('y')!.cds.get(1)!.asid]).toEqual([1, 1]);
    expect(r.pins).toMatchObject({ requests: 2, unpins: 1 });
    expect(kinds(r)).toEqual([]);
  });

  it('bind then unbind: one ASID claimed and freed, the pin put once (arm_smmu_free_shared_cd), no violation', () => {
    const { r } = sim(sys('6.1'), L('fork 1 P', 'sched 0 1', 'bind sva P', 'unbind sva P'));
    expect(r.devices.smmus[0]).toMatchObject({ asidsAllocated: 1, asidsFreed: 1 });
    expect(r.pins).toMatchObject({ requests: 1, unpins: 1 });
    expect(kinds(r)).toEqual([]);
  });
});

describe('v6.11: a private ASID per SVA domain, nothing pinned', () => {
  it("the second device of the same SMMU reuses the mm's SVA domain: one ASID, no arm64_mm_context_get", () => {
    const { m, r } = sim(sys('6.11'), L('fork 1 P', 'sched 0 1', 'bind sva P', 'bind sva2 P'));
    expect(failures(r)).toEqual([]);
    expect(m.smmu.svaContexts.size).toBe(1);
    expect(r.devices.smmus[0]).toMatchObject({ asidsAllocated: 1 });
    expect(r.pins).toMatchObject({ requests: 0, unpins: 0 });
  });

  it('the private design on a BTM SMMU (--driver private-asid on the rfc-btm-2023 kernel) still pins nothing', () => {
    const s = sys('rfc-btm-2023', { driver: 'private-asid', smmus: [{ name: 'smmu0', asidBits: 8, btm: true }] });
    const { m, r } = sim(s, L('fork 1 P', 'sched 0 1', 'bind sva P'));
    expect(failures(r)).toEqual([]);
    expect(r.pins).toMatchObject({ requests: 0 });
    expect([...m.smmu.svaContexts.values()][0]).toMatchObject({ shared: false });
  });

  // xa_alloc(&arm_smmu_asid_xa, ..., XA_LIMIT(1, (1 << smmu->asid_bits) - 1)) in arm_smmu_sva_domain_alloc.
  const crowded = (n: number) => {
    const devices = [{ name: 'sva', smmu: 'smmu0' }, ...Array.from({ length: n }, (_, i) => ({ name: `d${i + 1}`, smmu: 'smmu0' }))];
    return sim(sys('6.11', { devices }), L(...Array.from({ length: n }, (_, i) => `attach d${i + 1} D${i + 1}`), 'fork 1 P', 'bind sva P'));
  };
  it('254 DMA domains on an 8-bit SMMU: the SVA domain gets 255', () => {
    const { m, r } = crowded(254);
    expect(failures(r)).toEqual([]);
    expect([...m.smmu.svaContexts.values()][0]!.asid).toBe(255);
  });
  it('255: xa_alloc finds nothing in [1, 255], the bind fails -EBUSY', () => {
    const { r } = crowded(255);
    expect(failures(r)).toEqual([[257, 'bind', 'EBUSY']]);
    expect(r.devices.failures[0]!.detail).toContain('[1, 255]');
  });
});

describe('v6.1: moving a DMA domain off the CPU ASID', () => {
  it('two xa_allocs (finalise, share_asid); the CD of its master is rewritten with the new ASID', () => {
    const { m, r } = sim(sys('6.1'), L('attach d1 D', 'fork 1 P', 'sched 0 1', 'bind sva P'));
    expect(r.devices.smmus[0]).toMatchObject({ asidsAllocated: 2, asidsMoved: 1 });
    expect(m.smmu.masters.get('d1')!.cds.get(0)!.asid).toBe(2);
    expect(m.smmu.masters.get('sva')!.cds.get(1)!.asid).toBe(1);
  });

  it('moved twice: Q gets CPU ASID 2, which D now holds, and D moves on to 3', () => {
    const { m, r } = sim(sys('6.1'), L('attach d1 D', 'fork 1 P', 'sched 0 1', 'bind sva P', 'fork 2 Q', 'sched 0 2', 'bind sva2 Q'));
    expect(failures(r)).toEqual([]);
    expect(m.smmu.domains.get('D')!.asid).toBe(3);
    expect(r.devices.smmus[0]).toMatchObject({ asidsMoved: 2 });
  });

  it('-ENOSPC: the reason names the domain and the ASID, and the one pin is put once (no unbalanced put)', () => {
    const { r } = story(255);
    expect(r.devices.failures[0]!.detail).toContain('dom1');
    expect(r.devices.failures[0]!.detail).toContain('ASID 1');
    expect(kinds(r)).toEqual([]);
  });

  it('the race of the FIXME: an unmap between the ASID change and the CD rewrite misses the old entry; remapped, a hit on it is S-UNMAP', () => {
    // arm_smmu_share_asid: "Race with unmap: TLB invalidations will start targeting the new ASID,
    // which isn't assigned yet." The CD still says ASID 1; the unmap sent TLBI_NH_VA for ASID 2.
    const { r } = sim(
      sys('6.1'),
      L(
        'attach d1 D',
        'dmap D 0x10000 0x1000 rw',
        'dma d1 - 0x10000', // 3: fill under ASID 1
        'fork 1 P',
        'sched 0 1',
        'bind sva P op1', // 6: D's ASID is 2 now, the CD still 1
        'dunmap D 0x10000 0x1000', // 7: TLBI_NH_VA ASID 2
        'dmap D 0x10000 0x1000 rw', // 8: mapped again: a new PTE
        'dma d1 - 0x10000', // 9: hits the entry of the first mapping
      ),
    );
    expect(staleHits(r)).toEqual([[9, 'S-UNMAP']]);
  });
});

describe('the move in steps (op): CD rewrite, TLBI of the old ASID, then the SVA CD', () => {
  const steps = L('attach d1 D', 'fork 1 P', 'sched 0 1', 'map P 0x10000 0x2000 rw', 'bind sva P op1');
  const va = (r: ReturnType<typeof sim>['r']) => r.devices.smmus[0]!.commands.CMD_TLBI_NH_VA;

  it('until the last step the mm has no notifier on the SMMU (mmu_notifier_register comes after the CD): a munmap sends nothing', () => {
    expect(va(sim(sys('6.1'), L(steps, 'unmap P 0x10000 0x1000')).r)).toBe(0);
  });

  it('three resumes complete it: the notifier invalidates, the SVA CD translates; a fourth resume has nothing to do', () => {
    const { r } = sim(
      sys('6.1'),
      L(steps, 'resume op1', 'resume op1', 'resume op1', 'unmap P 0x10000 0x1000', 'dma sva 1 0x11000', 'resume op1'),
    );
    expect(va(r)).toBeGreaterThan(0);
    expect(r.devices.sva).toMatchObject({ opSteps: 3, idleResumes: 1 });
    expect(r.devices.smmus[0]).toMatchObject({ fills: 1, faults: 0 });
  });

  it('after two resumes the SVA CD is not there yet', () => {
    const { r } = sim(sys('6.1'), L(steps, 'resume op1', 'resume op1', 'dma sva 1 0x11000'));
    expect(r.devices.smmus[0]).toMatchObject({ fills: 0, faults: 1 });
  });

  it("a master detached mid-move gets no CD from the rewrite step (arm_smmu_write_ctx_desc walks the domain's masters)", () => {
    const { m } = sim(
      sys('6.1'),
      L(
        'attach d1 D',
        'attach d2 D',
        'fork 1 P',
        'sched 0 1',
        'bind sva P op1',
        'detach d1',
        'resume op1',
        'resume op1',
        'resume op1',
        'resume op1',
      ),
    );
    expect(m.smmu.masters.get('d1')!.cds.has(0)).toBe(false);
    expect(m.smmu.masters.get('d2')!.cds.get(0)!.asid).toBe(2);
  });

  it('resume of an unknown label: an input error at the op column listing the operations still in flight', () => {
    const two = L(
      'attach d1 D',
      'attach d2 E',
      'fork 1 P',
      'sched 0 1',
      'fork 2 Q',
      'sched 1 2',
      'bind sva P op1',
      'resume op1',
      'resume op1',
      'resume op1',
      'bind sva2 Q op2',
      'resume nope',
    );
    const [row, field, message] = eventError({ ...sys('6.1'), cpus: 2 }, two);
    expect([row, field]).toEqual([12, 'op']);
    expect(message).toContain('in flight: op2');
    expect(message).not.toContain('op1');
  });
});

describe('skip-pin (what-if: the CPU ASID used without arm64_mm_context_get)', () => {
  it('bind and unbind put nothing: no unbalanced put', () => {
    const { r } = sim(
      sys('6.1', { faults: ['skip-pin'] }),
      L('fork 1 P', 'sched 0 1', 'bind sva P', 'bind sva2 P', 'unbind sva P', 'unbind sva2 P'),
    );
    expect(failures(r)).toEqual([]);
    expect(r.pins).toMatchObject({ requests: 0, unpins: 0 });
    expect(kinds(r)).toEqual([]);
  });

  // 3-bit CPU ASIDs: P (ASID 1) is bound unpinned; a rollover while P runs nowhere hands 1 to Q.
  const rollover = (head: string[]) =>
    L(
      ...head,
      'fork 1 P',
      'sched 0 1',
      'bind sva P',
      'fork 2 R',
      'sched 0 2',
      ...[3, 4, 5, 6, 7].flatMap((t) => [`fork ${t}`, `sched 1 ${t}`]),
      'fork 8 Q',
      'sched 1 8', // rollover: Q takes ASID 1
      'bind sva2 Q',
    );
  const s3 = sys('6.1', { cpus: 2, asidBits: 3, faults: ['skip-pin'] });

  it('P binds a second device after a rollover it has not run since: it has no current CPU ASID, -ESRCH (`if (!asid)`)', () => {
    const text = rollover([]).replace(/bind sva2 Q$/, 'bind sva2 P');
    const { r } = sim(s3, text);
    expect(failures(r)).toEqual([[18, 'bind', 'ESRCH']]);
    expect(r.devices.failures[0]!.detail).toContain('mm P');
  });

  it.each([
    ['the SVA CD took CPU ASID 1 (xa_insert)', []],
    ['the SVA CD took ASID 1 after moving D off it (xa_store)', ['attach d1 D']],
  ])('%s: Q with CPU ASID 1 finds the CD of mm P (WARN_ON(cd->mm != mm)): -EINVAL', (_, head) => {
    const { r } = sim(s3, rollover(head));
    expect(r.churn.rollovers).toBe(1);
    expect(failures(r)).toEqual([[head.length + 18, 'bind', 'EINVAL']]);
    expect(r.devices.failures[0]!.detail).toContain('mm P');
  });
});

describe('rfc-btm-2023: the pin is not checked; a refused one leaves ASID 0', () => {
  const s = sys('rfc-btm-2023', {
    maxPinnedAsids: 0,
    smmus: [{ name: 'smmu0', asidBits: 8, btm: true }],
    devices: ['sva', 'sva2'].map((name) => ({ name, smmu: 'smmu0', ats: true })),
  });

  it('the bind succeeds on ASID 0 (unchecked-pin); the notifier then sends no TLBI but still ATC_INV; the free puts a pin never taken', () => {
    const { m, r } = sim(s, L('fork 1 P', 'sched 0 1', 'map P 0x10000 0x1000 rw', 'bind sva P', 'unmap P 0x10000 0x1000', 'unbind sva P'));
    expect(failures(r)).toEqual([]);
    expect(m.smmu.svaContexts.size).toBe(0);
    expect(kinds(r)).toEqual([
      [4, 'unchecked-pin'],
      [6, 'unbalanced-unpin'],
    ]);
    const c = r.devices.smmus[0]!;
    expect(c.commands.CMD_TLBI_NH_VA).toBe(0);
    // one ATC_INV from the notifier (row 5), one from the unbind
    expect(c.commands.CMD_ATC_INV).toBe(2);
  });

  it('a second refused mm on the same SMMU finds the first at index 0: -EINVAL, and its error path puts the pin too', () => {
    const { r } = sim(s, L('fork 1 P', 'fork 2 Q', 'bind sva P', 'bind sva2 Q'));
    expect(failures(r)).toEqual([[4, 'bind', 'EINVAL']]);
    expect(r.devices.failures[0]!.detail).toContain('ASID 0');
    expect(kinds(r)).toEqual([
      [3, 'unchecked-pin'],
      [4, 'unchecked-pin'],
      [4, 'unbalanced-unpin'],
    ]);
  });

  // drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c arm_smmu_domain_finalise_s1(): `xa_alloc(&arm_smmu_asid_xa,
  // &asid, ..., XA_LIMIT(1, (1 << smmu->asid_bits) - 1), GFP_KERNEL)` (0299a1a81ca0, v5.8 on); freeing
  // the index 0 the refused pin's xa_store took makes no index below 1 allocatable.
  it('once the SVA domain on ASID 0 is freed, a DMA domain still gets ASID 1: xa_alloc takes [1, 2^asid_bits - 1], never 0', () => {
    const { m } = sim(s, L('fork 1 P', 'sched 0 1', 'bind sva P', 'unbind sva P', 'attach sva2 D', 'attach sva E'));
    expect(m.smmu.domains.get('D')!.asid).toBe(1);
    expect(m.smmu.domains.get('E')!.asid).toBe(2);
  });

  it('with skip-pin there is no get to leave unchecked: an mm with no CPU ASID is refused -ESRCH', () => {
    const { r } = sim({ ...s, faults: ['skip-pin'] }, L('fork 1 P', 'bind sva P'));
    expect(failures(r)).toEqual([[2, 'bind', 'ESRCH']]);
    expect(r.devices.failures[0]!.detail).toContain('mm P');
  });
});
