/**
 * The CPU-side invariants, checked after every event: those of the kernel-tla `asidalloc` TLA+
 * model (UniqueASIDPerCPU, SameASIDActiveTask, UniqueCtxInGeneration, NoUsableStaleEntry /
 * TLBEmptyInvalPTE, FreeAfterRollover) and the pin bookkeeping. Each predicate below is named after
 * the property it checks; a violation is reported, never thrown.
 */
import { ctxAsid, ctxGen } from './allocator.js';
import type { AllocatorParams } from './allocator.js';
import { SPECULATIVE, tlbAnyFillRow, tlbFill } from './tlb.js';
import { type CpuModelState, type CpuObserver, type MmState, labelOf } from './state.js';

/** Kinds of CPU-side invariant violation (the TLA+ asidalloc invariants, and pin bookkeeping). */
export const CPU_VIOLATION_KINDS = [
  /** UniqueASIDPerCPU: a CPU's TLB holds entries of two address spaces under one ASID. */
  'tlb-alias',
  /** SameASIDActiveTask / ActiveASIDMatchesContext: a CPU runs an mm with an ASID that is not the mm's. */
  'active-asid-mismatch',
  /** UniqueCtxInGeneration: two address spaces hold the same ASID in the current generation. */
  'duplicate-asid',
  /** NoUsableStaleEntry / TLBEmptyInvalPTE: a TLB entry survived the unmap that should have removed it. */
  'stale-tlb',
  /** PinnedBookkeeping: the ASID of a pinned mm changed. */
  'pinned-asid-changed',
  /** FreeAfterRollover: no free ASID after a rollover (the kernel would index past asid_map). */
  'no-free-asid',
  /** `unpin` of an mm that is not pinned (refcount_t would warn). */
  'unbalanced-unpin',
  /** A driver used ASID 0 after `arm64_mm_context_get` refused it (rfc-btm-2023 does not check). */
  'unchecked-pin',
] as const;
export type CpuViolationKind = (typeof CPU_VIOLATION_KINDS)[number];

/** One invariant violation. `row` is the trace line of the event after which it was found. */
export interface CpuViolation {
  row: number;
  kind: CpuViolationKind;
  cpu?: number;
  asid?: number;
  mm?: string;
  otherMm?: string;
  /** Row of the event that filled the offending TLB entry, when there is one. */
  fillRow?: number;
  detail: string;
}

/** Record that `mm` now holds ctx (g, asid) and check UniqueCtxInGeneration and pinned stability. */
export function noteNewContext(p: AllocatorParams, s: CpuModelState, mm: MmState, prevCtx: number, row: number, obs: CpuObserver): void {
  const asid = ctxAsid(mm.ctx);
  if (prevCtx !== 0 && ctxAsid(prevCtx) !== asid) mm.asidChanges++;
  if (mm.pinnedAsid >= 0 && mm.pinnedAsid !== asid) {
    obs.violation({ row, kind: 'pinned-asid-changed', asid, mm: mm.label, detail: `pinned ASID ${mm.pinnedAsid} became ${asid}` });
  }
  const idx = asid >> p.idxShift;
  const gen = ctxGen(mm.ctx);
  const owner = s.ownerKey[idx];
  if (owner !== mm.key && owner >= 0 && s.ownerGen[idx] === gen && s.mms.get(owner)?.ctx === mm.ctx) {
    obs.violation({
      row,
      kind: 'duplicate-asid',
      asid,
      mm: mm.label,
      otherMm: labelOf(s, owner),
      detail: `mm ${mm.label} and mm ${labelOf(s, owner)} both hold ASID ${asid} in generation ${gen}`,
    });
  }
  s.ownerKey[idx] = mm.key;
  s.ownerGen[idx] = gen;
}

/** ActiveASIDMatchesContext (implies SameASIDActiveTask): every CPU with `mm` in TTBR uses the mm's ASID. */
export function checkActive(s: CpuModelState, mm: MmState, row: number, obs: CpuObserver): void {
  const asid = ctxAsid(mm.ctx);
  for (let c = 0; c < s.ttbrMm.length; c++) {
    if (s.ttbrMm[c] === mm.key && s.ttbrAsid[c] !== asid) {
      obs.violation({
        row,
        kind: 'active-asid-mismatch',
        cpu: c,
        asid: s.ttbrAsid[c],
        mm: mm.label,
        detail: `CPU${c} runs mm ${mm.label} with ASID ${s.ttbrAsid[c]} but the mm's context holds ASID ${asid}`,
      });
    }
  }
}

export function fillAndCheck(s: CpuModelState, cpu: number, mm: MmState, page: number, row: number, obs: CpuObserver): void {
  const asid = s.ttbrAsid[cpu];
  const other = tlbFill(s.tlb, cpu, asid, mm.key, page, row);
  if (other >= 0) {
    const fillRow = tlbAnyFillRow(s.tlb, cpu, asid, other);
    obs.violation({
      row,
      kind: 'tlb-alias',
      cpu,
      asid,
      mm: mm.label,
      otherMm: labelOf(s, other),
      fillRow,
      detail: `CPU${cpu} runs mm ${mm.label} with ASID ${asid} while its TLB holds entries of mm ${labelOf(s, other)} under that ASID`,
    });
  }
}

