/**
 * The CPU side of the system: tasks and address spaces, the ASID allocator (allocator.ts, after
 * arch/arm64/mm/context.c), per-CPU TTBRs and TLBs, and the invariants checked after every event.
 * The rest of the model uses only what this file exports.
 */
export {
  type CpuModelState,
  type CpuObserver,
  type MmRecord,
  type MmState,
  cloneCpuModel,
  createCpuModel,
  lookupMm,
  mmRecord,
  walkMm,
} from './state.js';
export {
  CPU_VIOLATION_KINDS,
  type CpuViolation,
  type CpuViolationKind,
  INVARIANTS,
  type Invariant,
  OPERATION_CHECKS,
  beginStep,
  checkTouched,
  holds,
} from './invariants.js';
export { exec, exit, fork, schedule } from './tasks.js';
export { pin, pinMm, unpin, unpinMm } from './pins.js';
export { MAX_TLBI_OPS, type PtChange, access, mapMm, mprotectMm, unmapMm } from './mappings.js';
export { forEachAsid } from './tlb.js';
export { INITIAL_PTE, type Pte } from './page-table.js';
