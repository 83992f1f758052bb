/**
 * Pins as a device driver takes them: `arm64_mm_context_get` / `arm64_mm_context_put` on an mm (by
 * trace label, or by key for the SMMU side), with the CPU-side bookkeeping (pinned ASID stability,
 * exited mms kept alive while pinned).
 */
import { PinOutcome, ctxAsid, pinAsid, pinOutcome } from './allocator.js';
import type { AllocatorParams } from './allocator.js';
import { type CpuModelState, type CpuObserver, type MmState, countAsidChange, lookupMm, noteContextMove } from './state.js';
import { reportNoFreeAsid, reportUnbalancedUnpin, touchInstall, touchNewContext } from './invariants.js';
import { retire } from './tasks.js';

/**
 * `pin mm`: `arm64_mm_context_get`, as a device driver calls it.
 * @returns the ASID a device must use (`asid | 1` under KPTI), or 0 when the pin was refused.
 */
export function pin(p: AllocatorParams, s: CpuModelState, label: string, row: number, obs: CpuObserver): number {
  return pinMm(p, s, lookupMm(s, label, row), row, obs);
}

/** {@link pin} of an mm record (the SVA model holds records, not labels). */
export function pinMm(p: AllocatorParams, s: CpuModelState, mm: MmState, row: number, obs: CpuObserver): number {
  const prevCtx = mm.ctx;
  const rollovers = obs.counters.rollovers;
  const r = p.parts.arm64_mm_context_get(p, s.alloc, mm, obs.counters);
  // Stryker disable next-line ConditionalExpression: equivalent, -> true: noteContextMove compares the ASIDs itself
  if (mm.ctx !== prevCtx) noteContextMove(s, mm, prevCtx);
  // arm64_mm_context_get -> new_context may roll the generation over, as a switch does.
  if (obs.counters.rollovers !== rollovers) obs.rollover(row, s.alloc.generation);
  const outcome = pinOutcome(r);
  if (outcome === PinOutcome.Refused || outcome === PinOutcome.Exhausted) mm.refusedPins++;
  if (outcome === PinOutcome.Exhausted) {
    reportNoFreeAsid(mm, s.alloc.generation, undefined, row, obs);
  } else if (outcome === PinOutcome.Pinned) {
    if (mm.ctx !== prevCtx) {
      countAsidChange(mm, prevCtx);
      touchNewContext(mm);
    }
    mm.pinnedAsid = ctxAsid(mm.ctx);
    touchInstall(s, mm);
  }
  obs.pin(row, mm.label, outcome, pinAsid(r), s.alloc.nrPinned);
  return outcome === PinOutcome.Pinned || outcome === PinOutcome.Repinned ? pinAsid(r) : 0;
}

/**
 * `unpin mm`: `arm64_mm_context_put`. An unpin matching a refused pin is not issued (a driver whose
 * `arm64_mm_context_get` returned 0 holds nothing to put); one with no pin at all is a violation.
 */
export function unpin(p: AllocatorParams, s: CpuModelState, label: string, row: number, obs: CpuObserver): void {
  unpinMm(p, s, lookupMm(s, label, row, true), row, obs);
}

/** {@link unpin} of an mm record. */
export function unpinMm(p: AllocatorParams, s: CpuModelState, mm: MmState, row: number, obs: CpuObserver, forgiveRefused = true): void {
  if (forgiveRefused && mm.pinned === 0 && mm.refusedPins > 0) {
    // The matching pin was refused: the driver never holds that reference, so no put is issued.
    mm.refusedPins--;
    retireIfReleased(s, mm, obs);
    return;
  }
  const prevCtx = mm.ctx;
  const put = p.parts.arm64_mm_context_put(p, s.alloc, mm);
  // A put never moves a context in the kernel; a design's might.
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent for every allocator version shipped (no put moves a context; -> true: noteContextMove compares the ASIDs itself)
  if (mm.ctx !== prevCtx) noteContextMove(s, mm, prevCtx);
  if (!put) {
    reportUnbalancedUnpin(mm, row, obs);
    return;
  }
  obs.unpinned(row, mm.label, s.alloc.nrPinned);
  if (mm.pinned > 0) return;
  mm.pinnedAsid = -1;
  retireIfReleased(s, mm, obs);
}

/** An exited mm that no pin (held or refused) keeps any more is dropped. */
function retireIfReleased(s: CpuModelState, mm: MmState, obs: CpuObserver): void {
  if (mm.pinned > 0 || mm.refusedPins > 0 || s.zombies.get(mm.label) !== mm.key) return;
  s.zombies.delete(mm.label);
  retire(s, mm, obs);
}
