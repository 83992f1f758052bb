/**
 * An injected fault that cannot change anything on the system says so (stderr), and one that can
 * stays quiet. Each case names the kernel code that makes the fault's step unreachable.
 */
import { describe, expect, it } from 'vitest';
import { inertFaults, whyFaultInert } from '../src/model/faults.js';
import { type SystemInput, resolveSystem } from '../src/trace/system.js';
import { cli } from './helpers/cli.js';

const sys = (extra: SystemInput) =>
  resolveSystem({ smmus: [{ name: 'smmu0', asidBits: 16, btm: true }], devices: [{ name: 'dev', smmu: 'smmu0' }], ...extra }, {});

describe('whyFaultInert', () => {
  it('no-dvm: inert on every mainline kernel (arm_smmu_device_hw_probe never sets ARM_SMMU_FEAT_BTM), live under rfc-btm-2023', () => {
    expect(whyFaultInert(sys({ kernel: '6.6' }), 'no-dvm')).toMatch(/mainline never sets ARM_SMMU_FEAT_BTM/);
    expect(whyFaultInert(sys({ kernel: 'rfc-btm-2023' }), 'no-dvm')).toBeNull();
    expect(whyFaultInert(sys({ kernel: '6.12', driver: 'btm-2023' }), 'no-dvm')).toBeNull();
    const noBtm = resolveSystem({ kernel: 'rfc-btm-2023', smmus: [{ name: 's', asidBits: 16 }], devices: [{ name: 'd', smmu: 's' }] }, {});
    expect(whyFaultInert(noBtm, 'no-dvm')).toMatch(/no SMMU is declared with "btm": true/);
  });
  it('skip-pin: inert where SVA contexts have private ASIDs (v6.11+) or no bind succeeds (before v5.12)', () => {
    expect(whyFaultInert(sys({ kernel: '6.12' }), 'skip-pin')).toMatch(/private ASIDs/);
    expect(whyFaultInert(sys({ kernel: '5.10' }), 'skip-pin')).toMatch(/no SVA bind/);
    expect(whyFaultInert(sys({ kernel: '6.1' }), 'skip-pin')).toBeNull();
  });
  it('no-old-asid-purge: only the shared-asid design moves an ASID', () => {
    expect(whyFaultInert(sys({ kernel: '6.1' }), 'no-old-asid-purge')).toBeNull();
    expect(whyFaultInert(sys({ kernel: '6.11' }), 'no-old-asid-purge')).toMatch(/only the shared-asid design/);
  });
  it('every fault is inert without an SMMU; no-purge-on-free applies to any SMMU', () => {
    const none = resolveSystem({ faults: ['no-purge-on-free', 'no-dvm'] }, {});
    expect(inertFaults(none).map((f) => f.fault)).toEqual(['no-purge-on-free', 'no-dvm']);
    expect(whyFaultInert(sys({ kernel: '4.19' }), 'no-purge-on-free')).toBeNull();
  });
});

describe('the CLI says so on stderr and goes on', () => {
  it('replay --kernel 6.6 --fault no-dvm: a warning naming why, exit 0, the report as usual', async () => {
    const r = await cli('replay', 'traces/real/juno-trace-txt-sva.csv', '--kernel', '6.6', '--fault', 'no-dvm', '--json');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/warning: fault no-dvm cannot apply: no SMMU uses BTM/);
    expect(JSON.parse(r.out).system.faults).toEqual(['no-dvm']);
  });
  it('replay --kernel rfc-btm-2023 --fault no-dvm: no warning', async () => {
    const r = await cli('replay', 'traces/real/juno-trace-txt-sva.csv', '--kernel', 'rfc-btm-2023', '--fault', 'no-dvm', '--json');
    expect(r.err).not.toMatch(/warning/);
  });
});

describe('v5.11: arm_smmu_sva_supported() needs ARM_SMMU_FEAT_BTM, which mainline never sets', () => {
  it('skip-pin, no-old-asid-purge and no-release-tlbi cannot act on 5.11 (no bind succeeds); they can on 5.12', () => {
    for (const f of ['skip-pin', 'no-old-asid-purge', 'no-release-tlbi'] as const) {
      expect(whyFaultInert(sys({ kernel: '5.11' }), f), f).toMatch(/no SVA bind/);
      expect(whyFaultInert(sys({ kernel: '5.12' }), f), f).toBeNull();
    }
  });
});
