/**
 * iommu_sva_bind_device / iommu_sva_unbind_device through the arm-smmu-v3 SVA ops (src/model/smmu/
 * sva.ts, sva-context.ts, port.ts), each case worked out from the kernel source it cites:
 *
 * - drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-sva.c: arm_smmu_sva_supported(), __arm_smmu_sva_bind(),
 *   arm_smmu_mmu_notifier_get/put(), arm_smmu_alloc_shared_cd() / arm_smmu_free_shared_cd()
 *   (v5.11 - v6.10); arm_smmu_sva_domain_free() (v6.11 on, d38c28dbefee);
 * - drivers/iommu/iommu-sva-lib.c (v5.11 - v6.3) and iommu-sva.c (v6.4 on): iommu_sva_alloc_pasid(),
 *   iommu_sva_free_pasid() (ioasid refcounted per bond until v5.17), mm_pasid_drop() at __mmdrop
 *   (v5.18 on, 2667ed10d9f0);
 * - the trace's PASID column names the PASID the kernel handed out, so it can only be one that
 *   `ida_alloc_range(&iommu_global_pasid_ida, 1, max_pasids - 1)` could return: in the device's
 *   range and held by no other mm (docs/model.md §4, step 3).
 *
 * Devices have 2-bit PASIDs ([1, 3]) unless a case says otherwise; CPUs have 16-bit ASIDs and no
 * KPTI, so the first mm scheduled gets CPU ASID 1.
 */
import { describe, expect, it } from 'vitest';
import { EventError } from '../src/model/errors.js';
import { createSystem, step } from '../src/model/system.js';
import { contextsOf } from '../src/model/smmu/sva-context.js';
import type { Ctx } from '../src/model/smmu/port.js';
import { ReportCollector } from '../src/report/report.js';
import { type SystemInput, resolveSystem } from '../src/trace/system.js';
import { failures, kinds, mini, run, stale } from './helpers/mini.js';

const L = (...lines: string[]) => lines.join('\n');
const smmu = (name: string, extra: object = {}) => ({ name, asidBits: 16 as const, ...extra });
const dev = (name: string, s = 's0', extra: object = {}) => ({ name, smmu: s, pasidBits: 2, ...extra });
const sys = (kernel: string, devices: object[] = [dev('dev')], smmus: object[] = [smmu('s0')], extra: object = {}): SystemInput =>
  ({ kernel, smmus, devices, ...extra }) as SystemInput;

/** The model after the story, to read the PASIDs and ASIDs it holds. */
function replay(system: SystemInput, text: string) {
  const m = createSystem(resolveSystem({ whatIf: true, unmapKernelAtEl0: false, ...system }, {}));
  const col = new ReportCollector(m.config.smmus.length);
  for (const e of mini(text)) step(m, e, col);
  return m;
}

/** [row, column, message] of the EventError the story throws. */
function refused(system: SystemInput, text: string): [number, string | undefined, string] {
  try {
    replay(system, text);
  } catch (e) {
    if (e instanceof EventError) return [e.row, e.field, e.message];
    throw e;
  }
  throw new Error('no EventError');
}

/** Commands each SMMU queued for the rows of `tail`, after `head`. */
function added(system: SystemInput, head: string, tail: string) {
  const a = run(system, head).devices.smmus;
  return run(system, L(head, tail)).devices.smmus.map((s, i) => {
    const b = a[i]!.commands;
    return {
      asid: s.commands.CMD_TLBI_NH_ASID - b.CMD_TLBI_NH_ASID,
      va: s.commands.CMD_TLBI_NH_VA - b.CMD_TLBI_NH_VA,
      atc: s.commands.CMD_ATC_INV - b.CMD_ATC_INV,
      cd: s.commands.CMD_CFGI_CD - b.CMD_CFGI_CD,
    };
  });
}

const pasidOf = (m: ReturnType<typeof replay>, label: string) => [...m.smmu.svaMms.values()].find((s) => s.label === label)?.pasid;

describe('which kernels can bind at all (arm_smmu_sva_supported, the sva_bind op)', () => {
  it.each([
    // arm_smmu_ops has no .sva_bind before 32784a9562fb (v5.11): iommu_sva_bind_device returns -ENODEV.
    ['5.10', {}, undefined, 'ENODEV'],
    // v5.11 arm_smmu_sva_supported(): feat_mask = ARM_SMMU_FEAT_BTM | ARM_SMMU_FEAT_COHERENCY, and
    // arm_smmu_device_hw_probe() never sets FEAT_BTM, so no master gets sva_enabled: -ENODEV.
    ['5.11', {}, undefined, 'ENODEV'],
    ['5.11', { btm: true }, undefined, 'ENODEV'],
    // The 2023 proposal's driver sets FEAT_BTM from IDR0.BTM: v5.11's check then passes.
    ['5.11', { btm: true }, 'btm-2023', null],
    // 51d113c3be09 (v5.12) "Make BTM optional for SVA".
    ['5.12', {}, undefined, null],
  ] as const)('kernel %s, SMMU %j, driver %s: %s', (kernel, extra, driver, errno) => {
    const r = run(sys(kernel, [dev('dev')], [smmu('s0', extra)], driver ? { driver } : {}), L('fork 1 P', 'bind dev P'));
    expect(failures(r)).toEqual(errno ? [[2, 'bind', errno]] : []);
    expect(r.devices.sva.binds).toBe(errno ? 0 : 1);
  });

  it('a failure before the PASID allocation frees no PASID (v5.12: SMMU ASIDs narrower than the CPU: -ENODEV)', () => {
    // arm_smmu_sva_supported(): "We can support bigger ASIDs than the CPU, but not smaller".
    const r = run(sys('5.12', [dev('dev')], [{ name: 's0', asidBits: 8 }]), L('fork 1 P', 'bind dev P'));
    expect(failures(r)).toEqual([[2, 'bind', 'ENODEV']]);
    expect(r.devices.sva).toMatchObject({ pasidsAllocated: 0, pasidsFreed: 0, pasidsInUse: 0 });
  });

  it('a device without PASIDs: -EOPNOTSUPP (iommu_sva_bind_device, v6.2 - v6.5: `if (!max_pasids) return ERR_PTR(-EOPNOTSUPP)`)', () => {
    const r = run(sys('6.4', [dev('nop', 's0', { pasidBits: 0 })]), L('fork 1 P', 'bind nop P'));
    expect(failures(r)).toEqual([[2, 'bind', 'EOPNOTSUPP']]);
    expect(r.devices.failures[0]!.detail).toContain('nop');
    expect(r.devices.sva.pasidsAllocated).toBe(0);
  });

  it('a device the system does not declare is refused at its device column, naming the declared ones', () => {
    const [row, column, message] = refused(sys('6.4'), L('fork 1 P', 'bind nodev P'));
    expect([row, column]).toEqual([2, 'device']);
    expect(message).toContain('declared: dev');
  });
});

describe('attach or detach of a bound device (arm_smmu_attach_dev: "cannot attach - SVA enabled")', () => {
  // f534d98b9d27 (v5.10) refuses a master with SVA enabled, -EBUSY, and SVA stays enabled while it
  // has binds (arm_smmu_master_disable_sva: -EBUSY); be7c90de39fd (v6.11) lets a stage-1 domain in.
  const head = L('attach dev D1', 'fork 1 P', 'bind dev P');
  it.each(['5.12', '6.1', '6.10'])(
    '%s: -EBUSY for the attach and the detach; the device keeps its domain; after the unbind both work',
    (k) => {
      const r = run(sys(k), L(head, 'attach dev D2', 'detach dev'));
      expect(failures(r)).toEqual([
        [4, 'attach', 'EBUSY'],
        [5, 'attach', 'EBUSY'],
      ]);
      expect(r.devices.smmus[0]!.attachFailures).toBe(2);
      const [attach, detach] = r.devices.failures.map((f) => f.detail);
      expect(attach).toMatch(/^attach of dev to domain D2: .*cannot attach - SVA enabled.*bound to mm P/);
      expect(detach).toMatch(/^detach of dev .*cannot attach - SVA enabled.*bound to mm P/);
      // still in D1: its DMA at SSID 0 is D1's (no domain D2 was made)
      expect(r.devices.smmus[0]!.asidsAllocated, 'D1 and the shared CD only').toBe(2);
      expect(failures(run(sys(k), L(head, 'unbind dev P', 'attach dev D2', 'detach dev')))).toEqual([]);
    },
  );
  it.each(['6.11', '6.16'])('%s: allowed', (k) => {
    expect(failures(run(sys(k), L(head, 'attach dev D2', 'detach dev')))).toEqual([]);
  });
});

describe('the PASID a bind row names', () => {
  it.each([
    [0, 'EINVAL'], // ida_alloc_range(..., 1, max): PASID 0 is never handed out (it is the RID's)
    [1, null],
    [3, null], // max_pasids - 1 for 2-bit PASIDs
    [4, 'EINVAL'],
  ] as const)('PASID %i of a device with PASIDs [1, 3]: %s', (pasid, errno) => {
    const r = run(sys('6.4'), L('fork 1 P', `bind dev P ${pasid}`));
    expect(failures(r)).toEqual(errno ? [[2, 'bind', errno]] : []);
    if (errno) expect(r.devices.failures[0]!.detail).toContain(`PASID ${pasid}`);
    expect(r.devices.sva.pasidsAllocated).toBe(errno ? 0 : 1);
  });

  it('a PASID another mm holds: -EBUSY (the IDA hands out each id once); a free one is fine', () => {
    const r = run(sys('6.4'), L('fork 1 A', 'fork 2 B', 'fork 3 C', 'bind dev A 2', 'bind dev B 2', 'bind dev C 3'));
    expect(failures(r)).toEqual([[5, 'bind', 'EBUSY']]);
    expect(r.devices.failures[0]!.detail).toContain('PASID 2');
    expect(r.devices.sva).toMatchObject({ binds: 2, pasidsAllocated: 2 });
    const m = replay(sys('6.4'), L('fork 1 A', 'fork 2 B', 'bind dev A 2', 'bind dev B 2', 'bind dev B'));
    expect([pasidOf(m, 'A'), pasidOf(m, 'B')]).toEqual([2, 1]);
  });

  it('an mm that has a PASID keeps it for every device (one PASID per mm): naming another is -EINVAL', () => {
    const two = sys('6.4', [dev('dev'), dev('dev2')]);
    const r = run(two, L('fork 1 P', 'bind dev P 2', 'bind dev2 P 3'));
    expect(failures(r)).toEqual([[3, 'bind', 'EINVAL']]);
    expect(r.devices.failures[0]!.detail).toMatch(/PASID 2\b.*\b3\b/);
    expect(failures(run(two, L('fork 1 P', 'bind dev P 2', 'bind dev2 P 2')))).toEqual([]);
    expect(failures(run(two, L('fork 1 P', 'bind dev P 2', 'bind dev2 P')))).toEqual([]);
  });

  it("an mm's PASID beyond a narrower device: -EOVERFLOW (iommu_sva_alloc_pasid: mm->pasid > max)", () => {
    const r = run(sys('6.4', [dev('wide', 's0', { pasidBits: 3 }), dev('narrow')]), L('fork 1 P', 'bind wide P 5', 'bind narrow P'));
    expect(failures(r)).toEqual([[3, 'bind', 'EOVERFLOW']]);
    expect(r.devices.failures[0]!.detail).toContain('PASID 5');
  });

  it('v5.18 - v6.3 also refuse the mm whose PASID is the device top one (`mm->pasid >= max`, 701fac40384f); v6.4 takes it', () => {
    const devices = [dev('wide', 's0', { pasidBits: 3 }), dev('narrow')];
    const story = L('fork 1 P', 'bind wide P 3', 'bind narrow P');
    const r = run(sys('5.18', devices), story);
    expect(failures(r)).toEqual([[3, 'bind', 'EOVERFLOW']]);
    expect(r.devices.failures[0]!.detail).toContain('mm->pasid >= max');
    expect(failures(run(sys('6.4', devices), story))).toEqual([]);
  });

  it('no PASID left: the failure names the range it searched', () => {
    const r = run(sys('6.4'), L('fork 1 A', 'fork 2 B', 'fork 3 C', 'fork 4 D', 'bind dev A', 'bind dev B', 'bind dev C', 'bind dev D'));
    expect(failures(r)).toEqual([[8, 'bind', 'ENOSPC']]);
    expect(r.devices.failures[0]!.detail).toContain('[1, 3]');
  });
});

describe('when the PASID is freed', () => {
  const two = (kernel: string) => sys(kernel, [dev('devA'), dev('devB')]);
  const bound = L('fork 1 P', 'bind devA P', 'bind devB P');

  it('v5.12: one ioasid reference per bond (ioasid_get when the mm has one), freed by the last unbind', () => {
    expect(run(two('5.12'), L(bound, 'unbind devA P')).devices.sva).toMatchObject({ pasidsFreed: 0, pasidsInUse: 1 });
    expect(run(two('5.12'), L(bound, 'unbind devA P', 'unbind devB P')).devices.sva).toMatchObject({ pasidsFreed: 1, pasidsInUse: 0 });
  });

  it('v5.12: freed once, at the unbind, when the mm exited before it (nothing left for __mmdrop)', () => {
    const r = run(sys('5.12'), L('fork 1 P', 'bind dev P', 'exit 1', 'unbind dev P'));
    expect(r.devices.sva).toMatchObject({ pasidsAllocated: 1, pasidsFreed: 1, pasidsInUse: 0 });
  });

  it('v6.4: the mm keeps its PASID after its last unbind; mm_pasid_drop at __mmdrop frees it', () => {
    const story = L('fork 1 P', 'bind dev P', 'unbind dev P');
    expect(run(sys('6.4'), story).devices.sva).toMatchObject({ pasidsFreed: 0, pasidsInUse: 1 });
    expect(run(sys('6.4'), L(story, 'exit 1')).devices.sva).toMatchObject({ pasidsFreed: 1, pasidsInUse: 0 });
  });

  it('v6.4: an exited mm keeps its PASID while a bond holds the mm; the last unbind drops it', () => {
    expect(run(two('6.4'), L(bound, 'exit 1', 'unbind devA P')).devices.sva).toMatchObject({ pasidsFreed: 0, pasidsInUse: 1 });
    expect(run(two('6.4'), L(bound, 'exit 1', 'unbind devA P', 'unbind devB P')).devices.sva).toMatchObject({
      pasidsFreed: 1,
      pasidsInUse: 0,
    });
  });

  it('v6.4: the final mmdrop forgets the mm; a failed bind still awaiting its unbind keeps the record until then', () => {
    expect(replay(sys('6.4'), L('fork 1 P', 'bind dev P', 'exit 1', 'unbind dev P')).smmu.svaMms.size).toBe(0);
    const nop = sys('6.4', [dev('nop', 's0', { pasidBits: 0 })]);
    const r = run(nop, L('fork 1 P', 'bind nop P', 'exit 1', 'unbind nop P'));
    expect(failures(r)).toEqual([[2, 'bind', 'EOPNOTSUPP']]);
    expect(r.devices.sva.unbindsOfFailedBinds).toBe(1);
    expect(replay(nop, L('fork 1 P', 'bind nop P', 'exit 1', 'unbind nop P')).smmu.svaMms.size).toBe(0);
  });
});

describe('unbind rows: which bind they undo', () => {
  const nop = sys('6.4', [dev('nop', 's0', { pasidBits: 0 })]);

  it('each failed bind is matched by one unbind (the caller got an error and holds no handle); one more is refused', () => {
    expect(run(nop, L('fork 1 P', 'bind nop P', 'unbind nop P')).devices.sva.unbindsOfFailedBinds).toBe(1);
    expect(refused(nop, L('fork 1 P', 'bind nop P', 'unbind nop P', 'unbind nop P')).slice(0, 2)).toEqual([4, 'mm']);
    const twice = L('fork 1 P', 'bind nop P', 'bind nop P', 'unbind nop P', 'unbind nop P');
    expect(run(nop, twice).devices.sva.unbindsOfFailedBinds).toBe(2);
    expect(refused(nop, L(twice, 'unbind nop P')).slice(0, 2)).toEqual([6, 'mm']);
  });

  it('an unbind of a device the mm is not bound to is refused, even when the mm is bound to another', () => {
    expect(refused(sys('6.4', [dev('devA'), dev('devB')]), L('fork 1 P', 'bind devA P', 'unbind devB P')).slice(0, 2)).toEqual([3, 'mm']);
  });

  it('after the mm exited, its label still names it; a new mm with that label is not the one unbound', () => {
    const r = run(sys('6.4'), L('fork 1 P', 'bind dev P', 'exit 1', 'fork 2 P', 'unbind dev P'));
    expect(r.devices.sva).toMatchObject({ unbinds: 1, pasidsFreed: 1 });
    expect(refused(sys('6.4'), L('fork 1 P', 'bind dev P', 'exit 1', 'fork 2 P', 'unbind dev P', 'unbind dev P')).slice(0, 2)).toEqual([
      6,
      'mm',
    ]);
  });

  it('among exited mms, the one with that label (v5.12: its PASID is the one freed)', () => {
    // Q (PASID 1) and P (PASID 2) exit bound; `unbind dev P` frees 2, so R gets 2, not 1.
    const m = replay(
      sys('5.12'),
      L('fork 1 Q', 'fork 2 P', 'bind dev Q', 'bind dev P', 'exit 1', 'exit 2', 'unbind dev P', 'fork 3 R', 'bind dev R'),
    );
    expect([pasidOf(m, 'Q'), pasidOf(m, 'R')]).toEqual([1, 2]);
  });
});

describe('a stepped bind (op label) in flight', () => {
  // dom1 takes SMMU ASID 1, then P's CPU ASID is 1: arm_smmu_share_asid must move dom1 first.
  const system = sys('6.1', [dev('sva'), dev('d1')]);
  const story = L('attach d1 dom1', 'fork 1 P', 'sched 0 1', 'bind sva P b1');

  it('counts as a started operation', () => {
    expect(run(system, story).devices.sva).toMatchObject({ opsStarted: 1, binds: 0 });
  });

  it('holds sva_lock: another bind of the mm cannot run before it completes (refused at the mm column)', () => {
    expect(refused(system, L(story, 'bind sva P')).slice(0, 2)).toEqual([5, 'mm']);
    const r = run(system, L(story, 'resume b1', 'resume b1', 'resume b1', 'bind sva P'));
    expect(r.devices.sva).toMatchObject({ binds: 1, rebinds: 1 });
  });
});

describe('unbind: what the last reference tears down', () => {
  const ats = (name: string, s = 's0', extra: object = {}) => dev(name, s, { ats: true, ...extra });

  it('v6.1: the CD is cleared and the whole ATC of the PASID invalidated (arm_smmu_mmu_notifier_put, not cleared)', () => {
    const system = sys('6.1', [ats('dev')]);
    const head = L('fork 1 P', 'sched 0 1', 'map P 0x5000 0x1000', 'bind dev P', 'dma dev 1 0x5000');
    expect(added(system, head, 'unbind dev P')).toEqual([{ asid: 1, va: 0, atc: 1, cd: 1 }]);
    // The ATC entry at 0x5000 is gone with the rest: no S-ALIAS left at the freed SSID.
    expect(stale(run(system, L(head, 'unbind dev P')))).toEqual([]);
  });

  it('v6.1: the ASID is erased and the pin dropped (arm_smmu_free_shared_cd)', () => {
    const r = run(sys('6.1'), L('fork 1 P', 'sched 0 1', 'bind dev P', 'unbind dev P'));
    expect(r.devices.smmus[0]).toMatchObject({ asidsAllocated: 1, asidsFreed: 1 });
    expect(r.pins).toMatchObject({ pinned: 1, unpins: 1 });
    expect(r.violations).toEqual([]);
  });

  it('v6.1, two devices of one RID domain: the notifier (per domain and mm) goes with the last of them', () => {
    // P runs second, so its CPU ASID (2) is not the one dom1 took (1): no ASID move.
    const system = sys('6.1', [dev('devA'), dev('devB')]);
    const head = L('attach devA dom1', 'attach devB dom1', 'fork 9 X', 'sched 0 9', 'fork 1 P', 'sched 1 1', 'bind devA P', 'bind devB P');
    expect(added(system, head, 'unbind devA P')[0]).toMatchObject({ asid: 0, cd: 1 });
    expect(added(system, L(head, 'unbind devA P'), 'unbind devB P')[0]).toMatchObject({ asid: 1, cd: 1 });
  });

  it('v6.1, devices behind two SMMUs: each SMMU flushes the ASID when its own last master goes', () => {
    const system = sys('6.1', [dev('devA', 's0'), dev('devB', 's1')], [smmu('s0'), smmu('s1')]);
    const head = L('fork 1 P', 'sched 0 1', 'bind devA P', 'bind devB P');
    expect(added(system, head, 'unbind devA P').map((x) => x.asid)).toEqual([1, 0]);
    expect(added(system, L(head, 'unbind devA P'), 'unbind devB P').map((x) => x.asid)).toEqual([0, 1]);
  });

  it('v6.1: an unbind after the mm exited sends no TLBI (smmu_mn->cleared: "no new TLB entry can have been formed")', () => {
    const r = run(sys('6.1'), L('fork 1 P', 'sched 0 1', 'bind dev P', 'exit 1', 'unbind dev P'));
    expect(r.devices.smmus[0]!.commands.CMD_TLBI_NH_ASID).toBe(1);
  });

  it('no-purge-on-free: the unbind erases the ASID without TLBI_NH_ASID', () => {
    const r = run(
      sys('6.1', undefined, undefined, { faults: ['no-purge-on-free'] }),
      L('fork 1 P', 'sched 0 1', 'bind dev P', 'unbind dev P'),
    );
    expect(r.devices.smmus[0]).toMatchObject({ asidsFreed: 1, tlbiAsid: 0 });
  });

  it('v6.11: arm_smmu_sva_domain_free() flushes the ASID even after the release flushed it', () => {
    const r = run(sys('6.11'), L('fork 1 P', 'sched 0 1', 'bind dev P', 'exit 1', 'unbind dev P'));
    expect(r.devices.smmus[0]!.commands.CMD_TLBI_NH_ASID).toBe(2);
  });

  it('v6.11: the SVA domain of (mm, SMMU) is freed with its last user (iommu_sva_unbind_device: --domain->users)', () => {
    const system = sys('6.11', [dev('devA'), dev('devB')]);
    const head = L('fork 1 P', 'sched 0 1', 'bind devA P', 'bind devB P');
    expect(added(system, head, 'unbind devA P')[0]).toMatchObject({ asid: 0, cd: 1 });
    expect(run(system, L(head, 'unbind devA P')).devices.smmus[0]!.asidsFreed).toBe(0);
    expect(added(system, L(head, 'unbind devA P'), 'unbind devB P')[0]).toMatchObject({ asid: 1, cd: 1 });
    expect(run(system, L(head, 'unbind devA P', 'unbind devB P')).devices.smmus[0]!.asidsFreed).toBe(1);
  });

  it('v6.11: a private ASID holds no pin, so its free puts none', () => {
    const r = run(sys('6.11'), L('fork 1 P', 'sched 0 1', 'bind dev P', 'unbind dev P'));
    expect(r.pins).toMatchObject({ requests: 0, unpins: 0 });
    expect(r.violations).toEqual([]);
  });

  it('rfc-btm-2023: a refused pin is not checked, and the domain free puts it all the same (unbalanced)', () => {
    const system = sys('rfc-btm-2023', undefined, [smmu('s0', { btm: true })]);
    const story = L('fork 1 P', 'sched 0 1', 'bind dev P', 'unbind dev P');
    expect(kinds(run({ ...system, maxPinnedAsids: 0 }, story))).toEqual([
      [3, 'unchecked-pin'],
      [4, 'unbalanced-unpin'],
    ]);
    const r = run(system, story);
    expect(r.violations).toEqual([]);
    expect(r.pins).toMatchObject({ pinned: 1, unpins: 1 });
  });

  it("rfc-btm-2023, per-SMMU ASID maps: the free erases the ASID from its own SMMU's map", () => {
    // Non-BTM SMMUs: private ASIDs, the lowest free of each SMMU's map.
    const system = sys('rfc-btm-2023', [dev('dev0', 's0'), dev('dev1', 's1')], [smmu('s0'), smmu('s1')]);
    const m = replay(system, L('fork 1 P', 'fork 2 Q', 'bind dev1 P', 'unbind dev1 P', 'bind dev1 Q'));
    expect([...m.smmu.svaContexts.values()].map((x) => [m.smmu.mmLabels.get(x.mm), x.smmu, x.asid])).toEqual([['Q', 1, 1]]);
  });
});

describe('which master an unbind removes from the context (the ATC invalidations that follow)', () => {
  // v6.6: one notifier call per CPU flush. devA has one StreamID, devB two: ATC_INV counts which
  // masters the context still has (each device sits in a RID domain of its own in the kernel).
  const system = sys('6.6', [dev('devA', 's0', { ats: true, streamIds: [1] }), dev('devB', 's0', { ats: true, streamIds: [2, 3] })]);
  const head = L('fork 1 P', 'sched 0 1', 'map P 0x1000 0x1000', 'bind devA P', 'bind devB P');
  it.each([
    ['devA', 2],
    ['devB', 1],
  ])('unbind %s: the munmap then invalidates the ATC of the other (%i StreamIDs)', (gone, atc) => {
    expect(added(system, L(head, `unbind ${gone} P`), 'unmap P 0x1000 0x1000')[0]).toMatchObject({ va: 1, atc });
  });
});

describe('stale-entry owners are named as the report prints them', () => {
  it('an entry filled through a DMA domain is owned by "domain <name>"', () => {
    // no-old-asid-purge: dom1 moves off ASID 1 without TLBI_NH_ASID(1), then P's SVA context takes 1.
    const system = sys('6.1', [dev('sva'), dev('d1')], undefined, { faults: ['no-old-asid-purge'] });
    const r = run(system, L('attach d1 dom1', 'dmap dom1 0x1000 0x1000', 'dma d1 - 0x1000', 'fork 1 P', 'sched 0 1', 'bind sva P'));
    expect(r.stale.findings.map((f) => [f.row, f.kind, f.owner, f.current])).toEqual([[6, 'S-ALIAS', 'domain dom1', 'mm P']]);
  });

  it('a domain freed before the finding is "freed domain #<id>"', () => {
    const system = sys('6.1', [dev('d')], undefined, { faults: ['no-purge-on-free'] });
    const r = run(system, L('attach d dom1', 'dmap dom1 0x1000 0x1000', 'dma d - 0x1000', 'detach d'));
    expect(r.stale.findings.map((f) => [f.row, f.kind, f.owner])).toEqual([[4, 'S-ALIAS', 'freed domain #0']]);
  });
});

describe('SVA contexts: their SMMUs and pools (sva-context.ts)', () => {
  it('v6.1, one global arm_smmu_asid_xa: a freed ASID is checked on every SMMU (no-purge-on-free leaves the entry on s1)', () => {
    const system = sys('6.1', [dev('dev', 's1')], [smmu('s0'), smmu('s1')], { faults: ['no-purge-on-free'] });
    const r = run(system, L('fork 1 P', 'sched 0 1', 'map P 0x1000 0x1000', 'bind dev P', 'dma dev 1 0x1000', 'unbind dev P'));
    expect(r.stale.findings.map((f) => [f.row, f.kind, f.smmu, f.latent])).toEqual([[6, 'S-ALIAS', 's1', true]]);
  });

  it("rfc-btm-2023, per-SMMU maps: a freed ASID is checked on its SMMU only (s1's ASID 1 is another context's)", () => {
    const system = sys('rfc-btm-2023', [dev('dev0', 's0'), dev('dev1', 's1')], [smmu('s0'), smmu('s1')]);
    const story = L(
      'fork 1 P',
      'fork 2 Q',
      'map P 0x1000 0x1000',
      'map Q 0x1000 0x1000',
      'bind dev0 P', // ASID 1 of s0
      'bind dev1 Q', // ASID 1 of s1
      'dma dev0 1 0x1000',
      'dma dev1 2 0x1000',
      'unbind dev0 P',
    );
    expect(stale(run(system, story))).toEqual([]);
    // Without the TLBI, the entry left on s0 is found there.
    const r = run({ ...system, faults: ['no-purge-on-free'] }, story);
    expect(r.stale.findings.map((f) => [f.row, f.kind, f.smmu, f.owner])).toEqual([[9, 'S-ALIAS', 's0', 'mm P']]);
  });

  it('contextsOf(mm) finds the contexts of that mm only, up to the largest system (MAX_SMMUS = 1023)', () => {
    const system = resolveSystem(
      { kernel: '6.6', smmus: Array.from({ length: 1023 }, (_, i) => smmu(`s${i}`)), devices: [dev('dev')] } as SystemInput,
      {},
    );
    const m = createSystem(system);
    const col = new ReportCollector(1023);
    for (const e of mini(L('fork 1 P', 'fork 2 Q', 'bind dev P', 'bind dev Q'))) step(m, e, col);
    const [p, q] = [...m.smmu.svaMms.keys()];
    const c = { st: m.smmu } as Ctx;
    expect(contextsOf(c, p!).map((x) => x.mm)).toEqual([p]);
    expect(contextsOf(c, q!).map((x) => x.mm)).toEqual([q]);
  });

  it('each installed CD is a successful bind', () => {
    expect(
      run(sys('6.4', [dev('devA'), dev('devB')]), L('fork 1 P', 'bind devA P', 'bind devB P', 'bind devA P')).devices.sva,
    ).toMatchObject({
      binds: 2,
      rebinds: 1,
    });
  });
});
