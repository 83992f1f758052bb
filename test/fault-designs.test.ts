/**
 * The `--fault` injections are design files (examples/designs/faults/<name>.mjs, docs/designs.md):
 * `--fault X` composes the built-in design X over the kernel's parts, so `--fault X --kernel K` and
 * `--design examples/designs/faults/X.mjs --kernel K` (a design without a base: it applies to the
 * kernel the run uses) must give the same report, on a trace where X changes the answer. Each trace
 * is the one the scenario tests (test/smmu-scenarios.test.ts) use for that fault.
 */
import { describe, expect, it } from 'vitest';
import { loadDesign } from '../src/design/load.js';
import { traceText } from '../src/explore/trace-text.js';
import { FAULTS, type Fault } from '../src/model/config.js';
import { createSystem } from '../src/model/system.js';
import { replayEvents } from '../src/replay/engine.js';
import type { Report } from '../src/report/report.js';
import { type SystemInput, resolveSystem } from '../src/trace/system.js';
import { cli, tmpFile } from './helpers/cli.js';
import { mini, run } from './helpers/mini.js';

const L = (...lines: string[]) => lines.join('\n');
const smmu = (name: string, extra: { btm?: boolean } = {}) => ({ name, asidBits: 16 as const, ...extra });
const dev = (name: string, s = 'smmu0', extra: object = {}) => ({ name, smmu: s, ...extra });

const btmSystem: SystemInput = { cpus: 2, kernel: 'rfc-btm-2023', smmus: [smmu('smmu0', { btm: true })], devices: [dev('dev')] };
const btmUnmap = L('fork 1 P', 'sched 0 1', 'bind dev P', 'dma dev 1 0x1000', 'unmap P 0x1000 0x1000', 'dma dev 1 0x1000');

/** Per fault: a system (its kernel named) and a trace on which the fault changes the findings. */
const CASES: Record<Fault, { system: SystemInput; trace: string }> = {
  // §8.1: a rollover hands P's unpinned ASID to another mm; the snooped TLBI carries P's new one.
  'skip-pin': {
    system: { ...btmSystem, asidBits: 3 },
    trace: L(
      'fork 1 P',
      'sched 0 1',
      'bind dev P',
      'dma dev 1 0x1000',
      'fork 2 R',
      'sched 0 2',
      ...[3, 4, 5, 6, 7].flatMap((t) => [`fork ${t}`, `sched 1 ${t}`]),
      'fork 8 Q',
      'sched 1 8',
      'sched 0 1',
      'unmap P 0x1000 0x1000',
      'dma dev 1 0x1000',
    ),
  },
  // §8.3: D1 moves off ASID 1, which P's shared CD takes.
  'no-old-asid-purge': {
    system: { kernel: '6.1', smmus: [smmu('smmu0')], devices: [dev('devA'), dev('devB')] },
    trace: L('attach devA D1', 'fork 1 P', 'sched 0 1', 'dmap D1 0x1000 0x1000', 'dma devA - 0x1000', 'bind devB P', 'dma devB 1 0x1000'),
  },
  // §8.4: a freed domain's ASID goes to the next one.
  'no-purge-on-free': {
    system: { kernel: '6.11', smmus: [smmu('smmu0')], devices: [dev('devA'), dev('devC')] },
    trace: L(
      'attach devA D1',
      'dmap D1 0x1000 0x1000',
      'dma devA - 0x1000',
      'detach devA',
      'attach devC D2',
      'dmap D2 0x1000 0x1000',
      'dma devC - 0x1000',
    ),
  },
  // §8.5: the process exits; its entries outlive it.
  'no-release-tlbi': {
    system: { kernel: '6.11', smmus: [smmu('smmu0')], devices: [dev('dev')] },
    trace: L('fork 1 P', 'sched 0 1', 'bind dev P', 'dma dev 1 0x1000', 'exit 1', 'dma dev 1 0x1000'),
  },
  // §8.6 / §8.7: the munmap's broadcast TLBI is the only invalidation the BTM design makes.
  'no-dvm': { system: btmSystem, trace: btmUnmap },
  'local-tlbi': { system: btmSystem, trace: btmUnmap },
};

/** The report without what names the fault or the design (the system line, the design summary). */
const answer = (r: Report) => ({ ...r, system: { ...r.system, faults: [] }, design: undefined });

describe('each --fault is its design file (examples/designs/faults/)', () => {
  it('one case per fault', () => expect(Object.keys(CASES).sort()).toEqual([...FAULTS].sort()));

  for (const f of FAULTS) {
    const { system, trace } = CASES[f];
    it(`${f}: the fault changes the findings, and the design file (no base, on ${system.kernel}) gives the same report`, async () => {
      const faulty = run({ ...system, faults: [f] }, trace);
      const clean = run(system, trace);
      expect(faulty.stale.total).toBeGreaterThan(0);
      expect(faulty.stale.findings).not.toEqual(clean.stale.findings);
      const d = await loadDesign(`examples/designs/faults/${f}.mjs`);
      expect([d.name, d.base]).toEqual([f, undefined]);
      const sys = resolveSystem({ whatIf: true, unmapKernelAtEl0: false, ...system }, {});
      expect(answer(replayEvents(mini(trace), sys, '(events)', d.parts))).toEqual(answer(faulty));
    });
  }

  it('no-old-asid-purge in a stepped move: the resumed steps run without the purge too', async () => {
    const { system } = CASES['no-old-asid-purge'];
    const trace = L(
      'attach devA D1',
      'fork 1 P',
      'sched 0 1',
      'dmap D1 0x1000 0x1000',
      'dma devA - 0x1000',
      'bind devB P op1',
      'resume op1', // the CD of devA
      'resume op1', // TLBI_NH_ASID of the old ASID (none under the fault)
      'dma devA - 0x1000',
      'resume op1', // P's CD takes ASID 1
      'dma devB 1 0x1000',
      'resume op1',
    );
    const faulty = run({ ...system, faults: ['no-old-asid-purge'] }, trace);
    expect(faulty.stale.findings).not.toEqual(run(system, trace).stale.findings);
    const d = await loadDesign('examples/designs/faults/no-old-asid-purge.mjs');
    const sys = resolveSystem({ whatIf: true, unmapKernelAtEl0: false, ...system }, {});
    expect(answer(replayEvents(mini(trace), sys, '(events)', d.parts))).toEqual(answer(faulty));
  });

  it('an unloaded built-in is an internal error naming it, never a run without it', () => {
    const sys = resolveSystem({ kernel: '6.1', smmus: [smmu('smmu0')], devices: [dev('d')] }, {});
    expect(() => createSystem({ ...sys, faults: ['no-such-fault' as Fault] })).toThrow(/built-in design "no-such-fault" was not loaded/);
  });
});

describe('the CLI: --fault X --kernel K and --design examples/designs/faults/X.mjs --kernel K', () => {
  const replay = async (file: string, ...args: string[]) => {
    const r = await cli('replay', file, '--json', ...args);
    expect(r.code, r.err).toBe(0);
    return JSON.parse(r.out) as Report;
  };
  for (const f of FAULTS) {
    it(`${f}: the same findings`, async () => {
      const { system, trace } = CASES[f];
      const { kernel, ...rest } = system;
      const file = tmpFile(traceText({ whatIf: true, unmapKernelAtEl0: false, ...rest }, mini(trace)));
      const byFault = await replay(file, '--fault', f, '--kernel', kernel!);
      const byDesign = await replay(file, '--design', `examples/designs/faults/${f}.mjs`, '--kernel', kernel!);
      expect(byFault.stale.total).toBeGreaterThan(0);
      expect(byDesign.design).toMatchObject({ name: f, base: byFault.system.kernel, replaced: expect.any(Array) });
      expect(answer(byDesign)).toEqual(answer(byFault));
    });
  }

  it("a design without a base on the trace's own kernel (no --kernel)", async () => {
    const { system, trace } = CASES['no-release-tlbi'];
    const file = tmpFile(traceText({ whatIf: true, unmapKernelAtEl0: false, ...system }, mini(trace)));
    const byFault = await replay(file, '--fault', 'no-release-tlbi');
    const byDesign = await replay(file, '--design', 'examples/designs/faults/no-release-tlbi.mjs');
    expect(byDesign.system.kernel).toBe('6.11');
    expect(byDesign.design?.base).toBe('6.11');
    expect(byFault.stale.total).toBeGreaterThan(0);
    expect(answer(byDesign)).toEqual(answer(byFault));
  });
});
