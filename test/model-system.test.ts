/**
 * src/model/system.ts: the read-only views (cpuView, summarize), the state digest and clone used to
 * compare states, and the routing of events between the CPU side and the SMMU side, each on both
 * sides of its condition.
 *
 * The digest and the clone are pinned by properties (docs/explore.md): equal states give equal
 * digests whatever order their Maps and Sets were filled in; states that differ in a field the
 * search must tell apart give different digests; a clone is equal to, and independent of, its
 * original. The routing cases cite the kernel path each follows.
 */
import { describe, expect, it } from 'vitest';
import { cloneSystem, cpuView, createSystem, digestSystem, step, summarize, type SystemModel } from '../src/model/system.js';
import { tlbFill } from '../src/model/cpu/tlb.js';
import { EventError } from '../src/model/errors.js';
import { ReportCollector } from '../src/report/report.js';
import { type SystemInput, resolveSystem } from '../src/trace/system.js';
import { mini } from './helpers/mini.js';

function harness(input: SystemInput) {
  const m = createSystem(resolveSystem({ whatIf: true, unmapKernelAtEl0: input.kpti === true, ...input }, {}));
  const col = new ReportCollector(m.smmu.smmus.length);
  let rows = 0;
  const play = (...lines: string[]) => {
    const at = rows;
    rows += lines.length;
    mini('\n'.repeat(at) + lines.join('\n')).forEach((e) => step(m, e, col));
  };
  const report = () => col.finish('t', summarize(m));
  const thrown = (line: string) => {
    try {
      play(line);
      return null;
    } catch (e) {
      if (!(e instanceof EventError)) throw e;
      return [e.row, e.field] as const;
    }
  };
  return { m, col, play, report, thrown };
}

describe('cpuView: what each CPU runs (TTBR0 mm and ASID)', () => {
  it('a CPU that never ran an mm shows none; the first mm of the trace (key 0) is named', () => {
    const h = harness({ cpus: 3, asidBits: 8 });
    h.play('fork 1 A', 'fork 2 B', 'sched 1 1', 'sched 2 2');
    expect(h.m.cpu.mms.get(0)!.label).toBe('A');
    expect(cpuView(h.m)).toEqual([
      { mm: null, asid: 0 },
      { mm: 'A', asid: 1 },
      { mm: 'B', asid: 2 },
    ]);
  });

  it('an idle CPU keeps the mm it ran (lazy TLB); once that mm is gone, no name, the ASID stays in TTBR', () => {
    const h = harness({ cpus: 2, asidBits: 8 });
    h.play('fork 1 A', 'fork 2 B', 'sched 0 1', 'sched 1 2', 'sched 0 0');
    expect(cpuView(h.m)[0]).toEqual({ mm: 'A', asid: 1 });
    h.play('exit 1');
    expect(cpuView(h.m)).toEqual([
      { mm: null, asid: 1 },
      { mm: 'B', asid: 2 },
    ]);
  });
});

/** A deep copy of a state with every Map and Set refilled in reverse order (an equal state). */
function reordered(m: SystemModel): SystemModel {
  const walk = (v: unknown): unknown => {
    if (v instanceof Map) return new Map([...v].reverse().map(([k, x]) => [k, walk(x)]));
    if (v instanceof Set) return new Set([...v].reverse().map(walk));
    if (ArrayBuffer.isView(v)) return (v as Uint8Array).slice();
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return {
    config: m.config,
    params: m.params,
    parts: m.parts,
    cpu: walk(m.cpu) as SystemModel['cpu'],
    smmu: walk(m.smmu) as SystemModel['smmu'],
  };
}

/** A state with something in every part: several mms, tasks, owners, TLB entries, pins, SVA binds with PASIDs, a DMA domain. */
function richState(kernel = '6.1') {
  const h = harness({
    kernel,
    cpus: 2,
    asidBits: 8,
    smmus: [{ name: 'smmu0', asidBits: 16 }],
    devices: [
      { name: 'dev', smmu: 'smmu0', pasidBits: 4, ats: true },
      { name: 'nic', smmu: 'smmu0' },
    ],
  });
  h.play(
    'fork 1 A',
    'fork 2 B',
    'fork 3 C',
    'fork 4 A',
    'sched 0 1',
    'sched 1 2',
    'sched 0 3',
    'access 0 0x3000',
    'access 1 0x5000',
    'pin C',
    'bind dev A',
    'bind dev B',
    'dma dev 1 0x1000',
    'dma dev 2 0x2000 w',
    'attach nic D',
    'dmap D 0x8000 0x2000',
    'dma nic - 0x8000',
    'unmap A 0x4000 0x1000',
  );
  return h;
}

describe('digestSystem: equal states, equal digests', () => {
  it('whatever order the Maps and Sets of the state were filled in', () => {
    const { m } = richState();
    // The parts whose order the reversal must change have two entries or more.
    expect(m.cpu.owners.size).toBeGreaterThan(1);
    expect(m.cpu.mms.size).toBeGreaterThan(1);
    expect(m.smmu.pasids.used.size).toBeGreaterThan(1);
    expect(m.smmu.svaMms.size).toBeGreaterThan(1);
    expect(digestSystem(reordered(m))).toBe(digestSystem(m));
  });

  it('a clone has the digest of its original', () => {
    const { m } = richState();
    expect(digestSystem(cloneSystem(m))).toBe(digestSystem(m));
  });

  it('the same events give the same digest; without pinning (v4.19: no pinned_asid_map) too', () => {
    expect(digestSystem(richState().m)).toBe(digestSystem(richState().m));
    const v419 = () => {
      const h = harness({ kernel: '4.19', cpus: 2, asidBits: 8 });
      h.play('fork 1 A', 'fork 2 B', 'sched 0 1', 'sched 1 2', 'pin A');
      return h.m;
    };
    expect(v419().cpu.alloc.pinnedMap).toBeNull();
    expect(digestSystem(v419())).toBe(digestSystem(v419()));
    expect(digestSystem(reordered(v419()))).toBe(digestSystem(v419()));
  });
});

describe('digestSystem: states that differ give different digests', () => {
  const aKey = (m: SystemModel) => m.cpu.labels.get('A')!;
  const changes: [string, (m: SystemModel) => void][] = [
    ['the generation', (m) => m.cpu.alloc.generation++],
    ['nr_pinned_asids', (m) => m.cpu.alloc.nrPinned++],
    ['cur_idx', (m) => m.cpu.alloc.curIdx++],
    ['the next mm key', (m) => m.cpu.nextKey++],
    ['the owners generation', (m) => m.cpu.ownersGen++],
    ['an ASID owner', (m) => m.cpu.owners.set(1, m.cpu.labels.get('C')!)],
    ['one more ASID owner', (m) => m.cpu.owners.set(99, aKey(m))],
    ['a bit of asid_map', (m) => (m.cpu.alloc.asidMap[9] = 1)],
    ['a bit of pinned_asid_map', (m) => (m.cpu.alloc.pinnedMap![9] = 1)],
    ['an active ASID', (m) => (m.cpu.alloc.active[1] = 0)],
    ['a reserved ASID', (m) => (m.cpu.alloc.reserved[1] = 5)],
    ['a pending local flush', (m) => (m.cpu.alloc.flushPending[1] = 1)],
    ['the task a CPU runs', (m) => (m.cpu.curTask[1] = 0)],
    ['the mm in a TTBR', (m) => (m.cpu.ttbrMm[1] = aKey(m))],
    ['the ASID in a TTBR', (m) => (m.cpu.ttbrAsid[1] = 7)],
    ['a task', (m) => m.cpu.tasks.set(9, aKey(m))],
    ['a label', (m) => m.cpu.labels.set('Z', aKey(m))],
    ['an exited pinned mm', (m) => m.cpu.zombies.set('Z', aKey(m))],
    ['the users of an mm', (m) => m.cpu.mms.get(aKey(m))!.users++],
    ['a CPU TLB entry', (m) => tlbFill(m.cpu.tlb, 1, 2, m.cpu.labels.get('B')!, 0x77, 1)],
    ['a PASID in use', (m) => m.smmu.pasids.used.add(9)],
    [
      'which PASIDs are in use (as many)',
      (m) => {
        const first = [...m.smmu.pasids.used][0]!;
        m.smmu.pasids.used.delete(first);
        m.smmu.pasids.used.add(first + 8);
      },
    ],
    ['a DMA domain ASID', (m) => m.smmu.domains.get('D')!.asid++],
  ];
  const { m } = richState();
  const before = digestSystem(m);
  it.each(changes)('%s', (_, change) => {
    const c = cloneSystem(m);
    change(c);
    expect(digestSystem(c)).not.toBe(before);
    // The original is untouched by a change of its clone.
    expect(digestSystem(m)).toBe(before);
  });
});

describe('cloneSystem: equal to and independent of its original', () => {
  it('events on the clone leave the original as it was, and the same events on both give one state', () => {
    const { m } = richState();
    const before = digestSystem(m);
    const c = cloneSystem(m);
    const events = mini('sched 1 1\nunmap A 0x1000 0x1000\ndma dev 1 0x1000\nexit 1\nunpin C');
    const col = new ReportCollector(1);
    events.forEach((e) => step(c, e, col));
    expect(digestSystem(m)).toBe(before);
    expect(digestSystem(c)).not.toBe(before);
    events.forEach((e) => step(m, e, new ReportCollector(1)));
    expect(digestSystem(m)).toBe(digestSystem(c));
  });
});

describe('one CPU port per (model, observer): a clone stepped with the same observer acts on itself', () => {
  it('a bind on the clone pins the clone mm, not the original one', () => {
    const { m } = richState();
    const obs = new ReportCollector(1);
    step(m, mini('dma dev 1 0x1000')[0]!, obs); // builds the port of (m, obs)
    const c = cloneSystem(m);
    const pins = (x: SystemModel) => x.cpu.mms.get(x.cpu.labels.get('C')!)!.pinned;
    expect([pins(m), pins(c)]).toEqual([1, 1]); // C pinned once by the trace
    // arm_smmu_alloc_shared_cd -> arm64_mm_context_get (v6.1): refcount_inc_not_zero on the clone's C.
    step(c, mini('bind dev C')[0]!, obs);
    expect([pins(m), pins(c)]).toEqual([1, 2]);
    step(m, mini('bind dev C')[0]!, obs);
    expect([pins(m), pins(c)]).toEqual([2, 2]);
  });
});

const btmSmmu = { name: 'smmu0', asidBits: 16 as const, btm: true };
/** The 2023 BTM proposal on a BTM SMMU: the SVA CD uses the CPU ASID and the notifier sends no TLBI (BTM snoops the CPU's). */
const btmSystem = (extra: SystemInput = {}): SystemInput => ({
  kernel: 'rfc-btm-2023',
  cpus: 2,
  asidBits: 8,
  smmus: [btmSmmu],
  devices: [{ name: 'dev', smmu: 'smmu0' }],
  ...extra,
});

describe('CPU broadcast TLBIs reaching a BTM SMMU (__flush_tlb_range, arch/arm64/include/asm/tlbflush.h)', () => {
  it('under KPTI both halves: __tlbi(vae1is, asid) and __tlbi_user (asid | USER_ASID_FLAG), which the CD uses', () => {
    const h = harness(btmSystem({ kpti: true }));
    // P = ASID 2 (KPTI: even ASIDs); arm64_mm_context_get returns 2 | 1 = 3, the CD's ASID.
    h.play('fork 1 P', 'sched 0 1', 'bind dev P', 'dma dev 1 0x1000', 'unmap P 0x1000 0x1000', 'dma dev 1 0x1000');
    const r = h.report();
    expect(r.devices.smmus[0]!.btmSnoops).toBe(2);
    expect(r.stale.total).toBe(0);
  });

  it('without KPTI one ASID', () => {
    const h = harness(btmSystem());
    h.play('fork 1 P', 'sched 0 1', 'bind dev P', 'dma dev 1 0x1000', 'unmap P 0x1000 0x1000', 'dma dev 1 0x1000');
    expect(h.report().devices.smmus[0]!.btmSnoops).toBe(1);
    expect(h.report().stale.total).toBe(0);
  });

  it('an unmap that clears no PTE flushes nothing (tlb->end is 0): nothing to snoop', () => {
    const h = harness(btmSystem());
    h.play('fork 1 P', 'sched 0 1', 'bind dev P', 'unmap P 0x1000 0x1000');
    expect(h.report().devices.smmus[0]!.btmSnoops).toBe(1);
    h.play('unmap P 0x1000 0x1000'); // the same page again: no PTE present
    expect(h.report().devices.smmus[0]!.btmSnoops).toBe(1);
  });

  it('local-tlbi (what-if): an mm live on one CPU gets a local TLBI the SMMU never sees; on two CPUs a broadcast', () => {
    const h = harness(btmSystem({ faults: ['local-tlbi'] }));
    h.play('fork 1 P', 'fork 2 P', 'sched 0 1', 'bind dev P', 'dma dev 1 0x1000', 'unmap P 0x1000 0x1000');
    expect(h.report().devices.smmus[0]!.btmSnoops).toBe(0);
    h.play('dma dev 1 0x1000'); // row 7: the entry the local TLBI left behind
    expect(
      h
        .report()
        .stale.findings.filter((f) => !f.latent)
        .map((f) => [f.row, f.kind]),
    ).toEqual([[7, 'S-UNMAP']]);
    h.play('sched 1 2', 'unmap P 0x2000 0x1000'); // P now in both TTBRs: broadcast
    expect(h.report().devices.smmus[0]!.btmSnoops).toBe(1);
  });
});

/** v6.6 on: mmu_notifier_arch_invalidate_secondary_tlbs from the CPU flush only (6bbd42e2df8f). */
const sva66 = (kernel = '6.6'): SystemInput => ({
  kernel,
  cpus: 2,
  asidBits: 8,
  smmus: [{ name: 'smmu0', asidBits: 16 }],
  devices: [{ name: 'dev', smmu: 'smmu0', ats: true }],
});

describe('the SVA notifier calls of a CPU page-table change, v6.6 on', () => {
  it('a fault that raises rights: flush_tlb_page per page, so one notifier call (one ATC_INV) per page', () => {
    const h = harness(sva66());
    h.play('fork 1 P', 'sched 0 1', 'bind dev P', 'mprotect P 0x1000 0x3000 r');
    const before = { ...h.report().devices.smmus[0]!.commands };
    h.play('map P 0x1000 0x3000 rw'); // 3 pages gain write: 3 faults, 3 flush_tlb_page
    const after = h.report().devices.smmus[0]!.commands;
    expect(after.CMD_ATC_INV - before.CMD_ATC_INV).toBe(3);
    expect(after.CMD_TLBI_NH_VA - before.CMD_TLBI_NH_VA).toBe(3);
  });

  it('mprotect of 3 pages: one flush_tlb_range, one call', () => {
    const h = harness(sva66());
    h.play('fork 1 P', 'sched 0 1', 'bind dev P');
    const before = { ...h.report().devices.smmus[0]!.commands };
    h.play('mprotect P 0x1000 0x3000 r');
    const after = h.report().devices.smmus[0]!.commands;
    expect(after.CMD_ATC_INV - before.CMD_ATC_INV).toBe(1);
    expect(after.CMD_TLBI_NH_VA - before.CMD_TLBI_NH_VA).toBe(3);
  });

  it('no CPU flush (nothing present to clear), no call', () => {
    const h = harness(sva66());
    h.play('fork 1 P', 'sched 0 1', 'bind dev P', 'unmap P 0x1000 0x1000');
    const before = { ...h.report().devices.smmus[0]!.commands };
    h.play('unmap P 0x1000 0x1000', 'mprotect P 0x1000 0x1000 r');
    expect(h.report().devices.smmus[0]!.commands).toEqual(before);
  });
});

describe('the mm of a map/unmap is found by its label, whatever its key', () => {
  it('munmap of a bound mm that is not the first of the trace: its notifier removes the entry', () => {
    const h = harness(sva66('6.1'));
    h.play('fork 1 X', 'fork 2 P', 'sched 0 2', 'bind dev P', 'dma dev 1 0x1000', 'unmap P 0x1000 0x1000', 'dma dev 1 0x1000');
    expect(h.m.cpu.labels.get('P')).toBe(1);
    const r = h.report();
    expect(r.devices.smmus[0]!.commands.CMD_TLBI_NH_VA).toBeGreaterThan(0);
    expect(r.stale.total).toBe(0);
  });
});

describe('exit and exec end an address space only with its last user (kernel/fork.c mmput -> __mmput -> mmu_notifier_release)', () => {
  const sys = sva66('6.1');
  it('exit of one of two threads: no release; of the last: arm_smmu_mm_release', () => {
    const h = harness(sys);
    h.play('fork 1 P', 'fork 2 P', 'sched 0 1', 'bind dev P', 'exit 1');
    expect(h.report().devices.sva.releases).toBe(0);
    h.play('exit 2');
    expect(h.report().devices.sva.releases).toBe(1);
  });

  it('exec of the last task: the old mm is released, the task runs the new one', () => {
    const h = harness(sys);
    h.play('fork 1 P', 'sched 0 1', 'bind dev P', 'exec 1 Q');
    expect(h.report().devices.sva.releases).toBe(1);
    expect(h.m.cpu.tasks.get(1)).toBe(h.m.cpu.labels.get('Q'));
    expect(cpuView(h.m)[0]!.mm).toBe('Q');
  });

  it('exec of one of two threads: no release', () => {
    const h = harness(sys);
    h.play('fork 1 P', 'fork 2 P', 'sched 0 1', 'bind dev P', 'exec 1 Q');
    expect(h.report().devices.sva.releases).toBe(0);
  });

  it('an mm that no device is bound to: no release', () => {
    const h = harness(sys);
    h.play('fork 1 P', 'fork 2 R', 'bind dev P', 'exit 2');
    expect(h.report().devices.sva.releases).toBe(0);
  });
});

describe('a bind in flight holds the mm (iommu_sva_bind_device runs under the caller mmget)', () => {
  // v6.1: D holds ASID 1, P's CPU ASID; the bind moves D in steps (op b1) and is stopped after step 1.
  const sys: SystemInput = {
    kernel: '6.1',
    cpus: 2,
    asidBits: 16,
    smmus: [{ name: 'smmu0', asidBits: 16 }],
    devices: [
      { name: 'devA', smmu: 'smmu0' },
      { name: 'devB', smmu: 'smmu0' },
    ],
  };
  const start = ['attach devA D', 'fork 1 P', 'fork 2 P', 'sched 0 1', 'bind devB P b1'];

  it('the last task cannot end while it is in flight: the task column is named', () => {
    const h = harness(sys);
    h.play(...start, 'exit 1'); // row 6: another thread remains
    expect(h.m.cpu.tasks.has(1)).toBe(false);
    expect(h.thrown('exit 2')).toEqual([7, 'task']);
    expect(h.thrown('exec 2 Q')).toEqual([8, 'task']);
    h.play('resume b1', 'resume b1', 'resume b1', 'exit 2');
    expect(h.report().devices.sva.releases).toBe(1);
  });
});

describe('rfc-btm-2023: a refused pin is not checked, and the domain free puts it all the same', () => {
  it('arm64_mm_context_put without a get: refcount_t underflow (unbalanced-unpin)', () => {
    // 1 CPU, 2-bit CPU ASIDs: max_pinned_asids = 4 - 1 - 2 = 1; Q holds it.
    const h = harness(btmSystem({ cpus: 1, asidBits: 2 }));
    h.play('fork 1 P', 'fork 2 Q', 'sched 0 1', 'pin Q', 'bind dev P', 'unbind dev P');
    expect(h.report().violations.map((v) => [v.row, v.kind, v.mm])).toEqual([
      [5, 'unchecked-pin', 'P'],
      [6, 'unbalanced-unpin', 'P'],
    ]);
  });
});

describe('skip-pin (what-if): the bind reads the CPU ASID the mm holds in the current generation, without a pin', () => {
  // 1 CPU, 2-bit CPU ASIDs (what-if): P = 1 in generation 1; a, b = 2, 3; c rolls over (generation 2).
  const sys: SystemInput = {
    kernel: '6.1',
    cpus: 1,
    asidBits: 2,
    faults: ['skip-pin'],
    smmus: [{ name: 'smmu0', asidBits: 16 }],
    devices: [{ name: 'dev', smmu: 'smmu0' }],
  };
  const story = ['fork 1 P', 'sched 0 1', 'fork 2 a', 'sched 0 2', 'fork 3 b', 'sched 0 3', 'fork 4 c', 'sched 0 4'];

  it('an mm whose ASID is of an old generation holds none: the bind fails as a refused pin would (-ESRCH)', () => {
    const h = harness(sys);
    h.play(...story, 'bind dev P'); // row 9
    const r = h.report();
    expect(r.churn.rollovers).toBe(1);
    expect(r.devices.failures.map((f) => [f.row, f.call, f.errno])).toEqual([[9, 'bind', 'ESRCH']]);
  });

  it('once it runs in the current generation, the bind takes that ASID (and pins nothing)', () => {
    const h = harness(sys);
    h.play(...story, 'sched 0 1', 'bind dev P'); // P: generation 2, fresh ASID 2
    const r = h.report();
    expect(r.devices.failures).toEqual([]);
    expect(r.pins.requests).toBe(0);
    expect([...h.m.smmu.svaContexts.values()].map((x) => x.asid)).toEqual([2]);
  });
});

describe('findings of the SVA notifier name the mm by its label', () => {
  it('v5.15 with RANGE_INV: size = end - start + 1 hangs __arm_smmu_tlb_inv_range (inv-range-hang) for mm P', () => {
    // arm_smmu_mm_invalidate_range, v5.11-v5.17 (2f7e8c553e98 .. 95d4782c34a6).
    const h = harness({
      kernel: '5.15',
      cpus: 2,
      asidBits: 8,
      smmus: [{ name: 'smmu0', asidBits: 16, rangeInvalidation: true }],
      devices: [{ name: 'dev', smmu: 'smmu0' }],
    });
    h.play('fork 1 X', 'fork 2 P', 'sched 0 2', 'bind dev P', 'unmap P 0x1000 0x1000');
    expect(h.report().violations.map((v) => [v.row, v.kind, v.mm])).toContainEqual([5, 'inv-range-hang', 'P']);
  });
});

describe('an event kind with no step is refused, not skipped', () => {
  it('step() throws an internal Error (not an EventError about the trace) naming the kind', () => {
    const { m } = harness({ cpus: 1, asidBits: 8 });
    const bogus = { kind: 'bogus', row: 1 } as unknown as Parameters<typeof step>[1];
    let err: unknown = null;
    try {
      step(m, bogus, new ReportCollector());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(EventError);
    expect((err as Error).message).toContain('bogus');
  });
});
