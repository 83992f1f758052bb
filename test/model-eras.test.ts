/**
 * Kernel version -> era (src/model/kernel/eras.ts), on both sides of every boundary. Each boundary
 * is the first mainline release that contains the commit named (docs/kernel-eras.md):
 * f88f42f853a8 (v5.6), 0299a1a81ca0 (v5.8), 48118151d8cc (v5.10), 32784a9562fb (v5.11),
 * 51d113c3be09 (v5.12), 95d4782c34a6 / 701fac40384f + 2667ed10d9f0 (v5.18), 4a18419f71cd (v6.0),
 * f4a147735793 (v6.2), 4e14176ab13f (v6.4), d5afb4b47e13 / eb6c97647be2 / A. Popple's series (v6.6),
 * d38c28dbefee (v6.11), 12f78021973a and 48e7b8e284e5 (v6.15), be5a2d3f8f97 (v6.16).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_KERNEL, RELEASES, resolveKernel } from '../src/model/kernel/eras.js';

const era = (v: string) => resolveKernel(v).era;
const f = (v: string) => era(v).features;

describe('era boundaries, both sides', () => {
  it('allocator: pairs to v5.5, run-time KPTI from v5.6, pinning from v5.10', () => {
    expect([era('4.19').allocator, era('5.5').allocator]).toEqual(['v4.19', 'v4.19']);
    expect([era('5.6').allocator, era('5.9').allocator]).toEqual(['v5.6', 'v5.6']);
    expect([era('5.10').allocator, era('7.0').allocator]).toEqual(['v5.10', 'v5.10']);
  });

  it('SMMU ASIDs: per-SMMU bitmap to v5.7, arm_smmu_asid_xa from v5.8', () => {
    expect(f('5.7').smmuAsids).toBe('bitmap');
    expect(f('5.8').smmuAsids).toBe('xa');
  });

  it('SVA: none to v5.10, the op without BTM in v5.11, binds from v5.12', () => {
    expect(f('5.10').sva).toBe('none');
    expect(f('5.11').sva).toBe('needs-btm');
    expect(f('5.12').sva).toBe('yes');
  });

  it('notifier size + 1 from v5.11 to v5.17; PASID kept by the mm from v5.18', () => {
    expect([f('5.10').notifierSizePlusOne, f('5.11').notifierSizePlusOne, f('5.17').notifierSizePlusOne]).toEqual([false, true, true]);
    expect(f('5.18').notifierSizePlusOne).toBe(false);
    expect([f('5.17').pasidLifetime, f('5.18').pasidLifetime]).toEqual(['last-unbind', 'mmdrop']);
    expect([f('5.17').pasidTopRefused, f('5.18').pasidTopRefused, f('6.3').pasidTopRefused, f('6.4').pasidTopRefused]).toEqual([
      false,
      true,
      true,
      false,
    ]);
  });

  it('mprotect mmu_gather from v6.0; -EINVAL for a foreign domain from v6.2; ida PASIDs from v6.4', () => {
    expect([f('5.19').mprotectGather, f('6.0').mprotectGather]).toEqual([false, true]);
    expect([f('6.1').foreignDomainErrno, f('6.2').foreignDomainErrno]).toEqual(['ENXIO', 'EINVAL']);
    expect([f('6.3').pasidExhausted, f('6.4').pasidExhausted]).toEqual(['ENOMEM', 'ENOSPC']);
  });

  it('v6.6: notifier cutoff, non-leaf range bump, arch notifier', () => {
    for (const k of ['notifierCutoff', 'nonLeafRangeBump', 'archNotifier'] as const) {
      expect([f('6.5')[k], f('6.6')[k]], k).toEqual([false, true]);
    }
  });

  it('private SVA ASIDs from v6.11; the TG bug v6.11-v6.14; v6.15 attaches nothing; -EINVAL again in v6.16', () => {
    expect([era('6.10').driver, era('6.11').driver]).toEqual(['shared-asid', 'private-asid']);
    expect([f('6.10').svaRangeTgBug, f('6.11').svaRangeTgBug, f('6.14').svaRangeTgBug, f('6.15').svaRangeTgBug]).toEqual([
      false,
      true,
      true,
      false,
    ]);
    expect([f('6.14').foreignDomainErrno, f('6.15').foreignDomainErrno, f('6.16').foreignDomainErrno]).toEqual([
      'EINVAL',
      'none',
      'EINVAL',
    ]);
  });

  it('only the 2023 proposal uses BTM', () => {
    expect(era('rfc-btm-2023').driver).toBe('btm-2023');
    expect(f('rfc-btm-2023').btm).toBe(true);
    expect(f('rfc-btm-2023').svaRangeTgBug).toBe(false);
    expect(RELEASES.some((v) => f(v).btm)).toBe(false);
  });
});

describe('version strings', () => {
  it('a patch level, a leading v, an -rc suffix and blanks are dropped', () => {
    expect(resolveKernel('6.1.80').version).toBe('6.1');
    expect(resolveKernel('v6.12').version).toBe('6.12');
    expect(resolveKernel('6.13-rc1').version).toBe('6.13');
    expect(resolveKernel(' 6.6 ').version).toBe('6.6');
    expect(resolveKernel('rfc-btm-2023').version).toBe('rfc-btm-2023');
    expect(DEFAULT_KERNEL).toBe('7.0');
  });

  it('4.19 is the oldest, 7.0 the newest; 4.20 -> 5.0, 5.19 -> 6.0, 6.19 -> 7.0', () => {
    expect(RELEASES[0]).toBe('4.19');
    expect(RELEASES.at(-1)).toBe('7.0');
    expect(RELEASES).toHaveLength(2 + 20 + 20 + 1);
    expect(() => resolveKernel('4.18')).toThrow(/older than 4\.19/);
    expect(resolveKernel('4.19').era.allocator).toBe('v4.19');
    expect(resolveKernel('4.20').version).toBe('4.20');
    expect(() => resolveKernel('4.21')).toThrow(/not a mainline release \(after 4\.20 came 5\.0\)/);
    expect(() => resolveKernel('5.20')).toThrow(/after 5\.19 came 6\.0/);
    expect(() => resolveKernel('6.20')).toThrow(/after 6\.19 came 7\.0/);
    expect(() => resolveKernel('7.1')).toThrow(/newer than 7\.0/);
    expect(() => resolveKernel('8.0')).toThrow(/newer than 7\.0/);
    expect(() => resolveKernel('3.99')).toThrow(/older than 4\.19/);
    expect(() => resolveKernel('six')).toThrow(/unknown kernel "six"/);
    // The whole string is a version: nothing before or after it; up to three digits each, -rc up to 99.
    expect(() => resolveKernel('x6.1')).toThrow(/unknown kernel/);
    expect(() => resolveKernel('6.1-foo')).toThrow(/unknown kernel/);
    expect(() => resolveKernel('10.0')).toThrow(/newer than 7\.0/);
    expect(resolveKernel('6.13-rc10').version).toBe('6.13');
  });
});
