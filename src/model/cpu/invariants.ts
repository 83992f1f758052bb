/**
 * The CPU-side invariants, checked after every event: those of the kernel-tla `asidalloc` TLA+
 * model (UniqueASIDPerCPU, SameASIDActiveTask, UniqueCtxInGeneration, NoUsableStaleEntry /
 * TLBEmptyInvalPTE, FreeAfterRollover) and the pin bookkeeping. Each predicate below is named after
 * the property it checks; a violation is reported, never thrown.
 */
import { ctxAsid, ctxGen } from './allocator.js';
import type { AllocatorParams } from './allocator.js';
import { tlbAnyFillRow, tlbFill } from './tlb.js';
import { type CpuModelState, type CpuObserver, type MmState, labelOf } from './state.js';

export { CPU_VIOLATION_KINDS, type CpuViolation, type CpuViolationKind } from '../findings.js';

/** Record that `mm` now holds ctx (g, asid) and check UniqueCtxInGeneration and pinned stability. */
export function noteNewContext(p: AllocatorParams, s: CpuModelState, mm: MmState, prevCtx: number, row: number, obs: CpuObserver): void {
  const asid = ctxAsid(mm.ctx);
  if (prevCtx !== 0 && ctxAsid(prevCtx) !== asid) mm.asidChanges++;
  // Stryker disable next-line EqualityOperator: equivalent, pinnedAsid >= 0 -> > 0: a pinned ASID is never 0 (-1 when not pinned)
  if (mm.pinnedAsid >= 0 && mm.pinnedAsid !== asid) {
    obs.violation({ row, kind: 'pinned-asid-changed', asid, mm: mm.label, detail: `pinned ASID ${mm.pinnedAsid} became ${asid}` });
  }
  const idx = asid >> p.idxShift;
  const gen = ctxGen(mm.ctx);
  // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent, a duplicate needs equal context ids (generation included), so keeping older generations' owners changes no finding
  if (gen !== s.ownersGen) {
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, gen < ownersGen never holds: a new context is of the current generation
    if (gen < s.ownersGen) return; // never: a new context is of the current generation
    s.owners.clear();
    s.ownersGen = gen;
  }
  const owner = s.owners.get(idx);
  // Stryker disable next-line LogicalOperator,ConditionalExpression,OptionalChaining: equivalent, an mm gets at most one context per generation and its ASID stays in asid_map until the rollover, so this generation's owner of the number is another mm holding that very context
  if (owner !== undefined && owner !== mm.key && s.mms.get(owner)?.ctx === mm.ctx) {
    obs.violation({
      row,
      kind: 'duplicate-asid',
      asid,
      mm: mm.label,
      otherMm: labelOf(s, owner),
      detail: `mm ${mm.label} and mm ${labelOf(s, owner)} both hold ASID ${asid} in generation ${gen}`,
    });
  }
  s.owners.set(idx, mm.key);
}

/** ActiveASIDMatchesContext (implies SameASIDActiveTask): every CPU with `mm` in TTBR uses the mm's ASID. */
export function checkActive(s: CpuModelState, mm: MmState, row: number, obs: CpuObserver): void {
  const asid = ctxAsid(mm.ctx);
  // Stryker disable next-line EqualityOperator: equivalent, c <= length reads undefined, never an mm key
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
  const asid = s.ttbrAsid[cpu]!;
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
