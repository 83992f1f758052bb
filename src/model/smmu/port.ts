/**
 * The small interface through which the SMMU/SVA model uses the CPU side (and nothing else of it):
 * pinning (`arm64_mm_context_get`/`_put`), the mm's current CPU ASID, and walking a process page
 * table through an SVA CD's TTB0.
 */
import type { Pte } from '../cpu/index.js';
import { EventError } from '../errors.js';
import type { SmmuObserver } from './observer.js';
import type { SmmuModelState } from './state.js';
import { domainIdOf } from './keys.js';

export interface CpuPort {
  /** `arm64_mm_context_get`: the ASID to put in the CD (`asid | 1` under KPTI), or 0 if refused. */
  pin(mm: number, row: number): number;
  /** `arm64_mm_context_put`. */
  unpin(mm: number, row: number): void;
  /** `arm64_mm_context_put` by a driver that did not check its get (the put is issued all the same). */
  putWithoutGet(mm: number, row: number): void;
  /** The CPU ASID the mm holds in the current generation, or 0 (for the `skip-pin` what-if). */
  currentAsid(mm: number): number;
  /** The mm's PTE for a page (the walk an SMMU does through TTB0). */
  walk(mm: number, page: number): Pte;
  /** Live mm by trace label: its key, or -1. */
  liveMm(label: string): number;
  label(mm: number): string;
}

/** Everything a step needs: state, CPU port, observer, the event's row. */
export interface Ctx {
  readonly st: SmmuModelState;
  readonly cpu: CpuPort;
  readonly obs: SmmuObserver;
  readonly row: number;
}

export { PAGE_SHIFT, pageOf } from '../pages.js';

/** `CMDQ_MAX_TLBI_OPS` = 1 << (PAGE_SHIFT - 3): above this, SVA invalidation falls back to a whole-ASID TLBI. */
export const CMDQ_MAX_TLBI_OPS = 512;

/**
 * Whether the driver uses SMMU `i`'s BTM: the hardware has it (`btm: true`, IDR0.BTM) and the driver
 * sets ARM_SMMU_FEAT_BTM and clears CR2.PTM. Mainline never sets FEAT_BTM and always writes CR2_PTM
 * (arm_smmu_device_hw_probe / arm_smmu_device_reset), so only the 2023 proposal's design uses it.
 */
export function btmUsed(c: Ctx, i: number): boolean {
  return c.st.smmus[i]!.btm && (c.st.features.btm || c.st.driver === 'btm-2023');
}

export function hasFault(c: Ctx, f: SmmuModelState['faults'][number]): boolean {
  return c.st.faults.includes(f);
}

export function masterOf(c: Ctx, device: string): NonNullable<ReturnType<SmmuModelState['masters']['get']>> {
  const m = c.st.masters.get(device);
  if (!m) {
    const known = [...c.st.masters.keys()];
    throw new EventError(
      `device ${device} is not declared in the system's "devices"${known.length ? ` (declared: ${known.join(', ')})` : ' (none declared: add smmus and devices to the # system: preamble)'}`,
      c.row,
      'device',
    );
  }
  return m;
}

/** Human name of an address space id (`mm P`, `domain D1`). */
export function asName(c: Ctx, as: number): string {
  if (as >= 0) return `mm ${c.st.mmLabels.get(as) ?? c.cpu.label(as)}`;
  const name = c.st.domainIds.get(domainIdOf(as));
  return name !== undefined ? `domain ${name}` : `freed domain #${domainIdOf(as)}`;
}
