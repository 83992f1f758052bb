/**
 * The CPU-side invariants, in one place: each a named predicate over the CPU state (plain data),
 * named as kernel-tla's `asidalloc` TLA+ model names it where the model has it (asidalloc.tla; the
 * INVARIANTS of asidalloc.cfg: TypeInv, UniqueASIDAllCPUs, UniqueASIDPerCPU, SameASIDActiveTask,
 * UniqueASIDActiveTask, TLBEmptyInvalPTE; the CnP ones and the type invariant are not modelled),
 * with the kernel reason it holds and the kind of violation it reports ({@link CPU_VIOLATIONS}).
 *
 * How they are checked. A step records what it touched in the step log ({@link touchNewContext},
 * {@link touchFill}, {@link touchInstall}, {@link touchUnmap}); after the step, `step`
 * (model/system.ts) calls {@link checkTouched}, which walks the log in the order things happened and,
 * for each touch, evaluates every invariant of {@link INVARIANTS} that reads that touch, over what
 * was touched only: the incremental evaluation of the same predicate as the full one
 * ({@link Invariant.witnesses}). Over random event sequences (test/invariants.test.ts, fast-check)
 * every violation it reports is one the full evaluation finds after the step, and every violation
 * the step adds (absent before, present after) is reported. A violation that persists is reported
 * again only when a later step touches it (a fill under the aliased ASID, a switch to the mm), never
 * at every event: that is when the model has always reported it.
 *
 * Two checks are not state predicates but outcomes of one kernel call, reported where the call
 * fails ({@link OPERATION_CHECKS}: FreeAfterRollover, the refcount_t underflow); the SMMU side
 * reports `unchecked-pin` and `inv-range-hang` (model/smmu/share-asid.ts, model/smmu/notifier.ts).
 */
import { ctxAsid, ctxGen } from './allocator.js';
import type { AllocatorParams } from './allocator.js';
import { SPECULATIVE, forEachAsid, tlbAnyFillRow, tlbEntriesIn, tlbOtherMm } from './tlb.js';
import { type CpuModelState, type CpuObserver, type MmState, labelOf, walkMm } from './state.js';
import { PAGE_SHIFT } from '../pages.js';
import type { CpuViolationKind } from '../findings.js';

export { CPU_VIOLATIONS, CPU_VIOLATION_KINDS, type CpuViolation, type CpuViolationKind } from '../findings.js';

/** What a step touched, as the invariants read it. */
export const Touch = {
  /** An mm got a new context id (`new_context` from `check_and_switch_context` or `arm64_mm_context_get`). */
  NewContext: 0,
  /** A CPU TLB fill (a speculative walk at `cpu_switch_mm`, or an `access`). */
  Fill: 1,
  /** An mm written to a CPU's TTBR (`cpu_switch_mm`), or pinned (its context may have moved). */
  Install: 2,
  /** An unmap's PTEs cleared and its TLBI sent (TLA's `after_tlbi` point). */
  Unmap: 3,
} as const;
export type Touch = (typeof Touch)[keyof typeof Touch];

/**
 * The log of the step in progress: touch i is `op[i]` on `mm[i]` with operands `a[i]`, `b[i]`;
 * `p` and `row` are the step's allocator parameters and event row. Not model state: steps are
 * synchronous and never nested, `step` starts it empty ({@link beginStep}) and {@link checkTouched}
 * drains it. Typed arrays allocated once (grown if a step ever needs more): logging a touch
 * allocates nothing on the replay's hot path (plain arrays written past their end measured slower
 * on the schedule-heavy profiles of scripts/bench.mjs).
 */
const log = {
  n: 0,
  op: new Int32Array(64),
  mm: new Array<MmState | null>(64).fill(null),
  a: new Float64Array(64),
  b: new Float64Array(64),
  p: null as AllocatorParams | null,
  row: 0,
};

function touch(op: Touch, mm: MmState, a: number, b: number): void {
  const i = log.n++;
  if (i === log.op.length) grow();
  log.op[i] = op;
  log.mm[i] = mm;
  log.a[i] = a;
  log.b[i] = b;
}

function grow(): void {
  const n = log.op.length * 2;
  const op = new Int32Array(n);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  op.set(log.op);
  a.set(log.a);
  b.set(log.b);
  log.op = op;
  log.a = a;
  log.b = b;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, a plain array also grows on a write past its end (the loop only keeps it packed)
  for (let i = log.mm.length; i < n; i++) log.mm.push(null);
}

/**
 * Start a step of event row `row` (forgetting touches a caller outside `step` left; a step that
 * throws has its touches checked all the same).
 */
export function beginStep(p: AllocatorParams, row: number): void {
  log.n = 0;
  log.p = p;
  log.row = row;
}

/** `mm` got a new context id; `pinnedAsid` is its pinned ASID at that moment (-1: not pinned). */
export const touchNewContext = (mm: MmState): void => touch(Touch.NewContext, mm, mm.pinnedAsid, 0);
/**
 * `cpu`'s TLB was filled for `mm` under `asid` (the ASID in its TTBR), and `tlbFill` saw another
 * mm's entries under that ASID. A fill that saw none is not logged: the ASID's entries on that CPU
 * were then the filler's alone, so UniqueASIDPerCPU holds there (the fill's scan is the first half
 * of its evaluation, and spares the replay a log entry per access).
 */
export const touchFill = (cpu: number, asid: number, mm: MmState): void => touch(Touch.Fill, mm, cpu, asid);
/**
 * `mm` was written to a TTBR, or pinned, in state `s`. Not logged while no ASID ever moved under a
 * TTBR ({@link CpuModelState.ttbrAsidMoved}): SameASIDActiveTask, its only reader, holds until then
 * (the install is a switch's or a pin's last act, after the move a kernel call may have made).
 */
export const touchInstall = (s: CpuModelState, mm: MmState): void => {
  // Stryker disable next-line ConditionalExpression: equivalent, -> true logs every install, whose check finds nothing until an ASID moved (it only costs time)
  if (s.ttbrAsidMoved) touch(Touch.Install, mm, 0, 0);
};
/** Pages [first, last] of `mm` were unmapped and the TLBI sent. */
export const touchUnmap = (mm: MmState, first: number, last: number): void => touch(Touch.Unmap, mm, first, last);

/**
 * One invariant: its name, the TLA+ property it is (null when the TLA+ model has none), the kind it
 * reports, the touch its incremental evaluation reads, and the predicate twice: in full over a
 * state, and incrementally over one touch of the step that just ran.
 */
export interface Invariant {
  readonly name: string;
  readonly tla: string | null;
  readonly kind: CpuViolationKind;
  readonly reads: Touch;
  /**
   * The full evaluation: what breaks the predicate in `s`, as witness strings (empty: it holds):
   * `mm#<key>` (an mm by key: a retired mm's label is gone), `CPU<c>`, `CPU<c> ASID <a> mm#<key>`,
   * `CPU<c> page <n>`.
   */
  witnesses(s: CpuModelState): string[];
  /**
   * The incremental evaluation over one touch of the step log (its mm and operands, see
   * {@link Touch}); reports each violation to `obs` with the step's `row`.
   */
  check(p: AllocatorParams, s: CpuModelState, mm: MmState, a: number, b: number, row: number, obs: CpuObserver): void;
}

/** Whether `inv` holds in `s` (its full evaluation finds nothing). */
export const holds = (inv: Invariant, s: CpuModelState): boolean => inv.witnesses(s).length === 0;

/**
 * **PinnedBookkeeping** (`pinned-asid-changed`; not in the TLA+ model, which has no pinning: the
 * name is this project's, in its style). Every pinned mm runs with the ASID it was pinned with:
 * `pinnedAsid >= 0` implies `ctxAsid(ctx) = pinnedAsid`. Why it holds: `arm64_mm_context_get` sets
 * the index in `pinned_asid_map`, which `flush_context` copies into `asid_map` at every rollover,
 * and `new_context` keeps the number of an mm whose `context.pinned` refcount is set (`if
 * (refcount_read(&mm->context.pinned)) return newasid;`, arch/arm64/mm/context.c v5.10): a device
 * uses that ASID without knowing of rollovers. Evaluated at each new context, against the pinned ASID of
 * that moment (the log keeps it: `arm64_mm_context_get` records the new pinned ASID right after).
 */
export const PinnedBookkeeping: Invariant = {
  name: 'PinnedBookkeeping',
  tla: null,
  kind: 'pinned-asid-changed',
  reads: Touch.NewContext,
  witnesses: (s) => [...s.mms.values()].filter((mm) => mm.pinnedAsid >= 0 && mm.pinnedAsid !== ctxAsid(mm.ctx)).map((mm) => `mm#${mm.key}`),
  check(_p, _s, mm, pinned, _b, row, obs) {
    const asid = ctxAsid(mm.ctx);
    // Stryker disable next-line EqualityOperator: equivalent, pinned >= 0 -> > 0: a pinned ASID is never 0 (-1 when not pinned)
    if (pinned >= 0 && pinned !== asid) {
      obs.violation({ row, kind: 'pinned-asid-changed', asid, mm: mm.label, detail: `pinned ASID ${pinned} became ${asid}` });
    }
  },
};

/**
 * **UniqueCtxInGeneration** (`duplicate-asid`; the TLA+ model has no such invariant, its nearest is
 * the CnP-only UniqueASIDAllCPUs: the name is this project's, in the model's style). No two mms
 * hold the same context id (generation and ASID). Why it holds: `new_context` hands out an ASID
 * only after `__test_and_set_bit` / `find_next_zero_bit` on `asid_map` found it free in this
 * generation, and `flush_context` rebuilds the map from the ASIDs still in use (arch/arm64/mm/context.c).
 *
 * Incrementally: at a new context of (g, asid), the mm that last got that index (`s.owners`, the
 * index this evaluation keeps in the state) must not hold the same context; then the new holder is
 * recorded. An mm gets at most one context per generation, and every new context is recorded, so
 * the last owner is the one of generation g that could share it (an older generation's cannot
 * hold a context of g without having been recorded since).
 */
export const UniqueCtxInGeneration: Invariant = {
  name: 'UniqueCtxInGeneration',
  tla: null,
  kind: 'duplicate-asid',
  reads: Touch.NewContext,
  witnesses(s) {
    const holders = new Map<number, string[]>();
    for (const mm of s.mms.values()) if (mm.ctx !== 0) holders.set(mm.ctx, [...(holders.get(mm.ctx) ?? []), `mm#${mm.key}`]);
    return [...holders.values()].filter((h) => h.length > 1).flat();
  },
  check(p, s, mm, _a, _b, row, obs) {
    const asid = ctxAsid(mm.ctx);
    const idx = asid >> p.idxShift;
    const gen = ctxGen(mm.ctx);
    // Older generations' owners are not cleared out (a Map.clear at every rollover cost 7% of a
    // replay that rolls over at nearly every switch): the map holds one owner per index at most,
    // and the comparison below is of whole context ids, generation included, so an older
    // generation's owner never matches. `ownersGen` says which generation is current for explore's
    // canonical form (explore/canon.ts lists only owners holding a context of it).
    // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent, a duplicate needs equal context ids (generation included), so the generation mark changes no finding
    if (gen !== s.ownersGen) {
      // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, gen < ownersGen never holds: a new context is of the current generation
      if (gen < s.ownersGen) return; // never: a new context is of the current generation
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
  },
};

/**
 * **UniqueASIDPerCPU** (`tlb-alias`; asidalloc.tla: `\A t1, t2 \in tlb : t1.task # t2.task /\
 * t1.cpu = t2.cpu => t1.asid # t2.asid`). No CPU's TLB holds entries of two mms under one ASID: the
 * running mm could use the other's translations. Why it holds: an ASID is reused only in a later
 * generation, and every CPU does `local_flush_tlb_all()` at its first switch after the rollover
 * (`tlb_flush_pending`, `check_and_switch_context`, arch/arm64/mm/context.c) before it runs an mm
 * with a reused number. Incrementally: at each fill, under the filled ASID on the filling CPU (a
 * new alias appears only by a fill).
 */
export const UniqueASIDPerCPU: Invariant = {
  name: 'UniqueASIDPerCPU',
  tla: 'UniqueASIDPerCPU',
  kind: 'tlb-alias',
  reads: Touch.Fill,
  witnesses(s) {
    const out: string[] = [];
    s.tlb.cpus.forEach((_, c) =>
      forEachAsid(s.tlb, c, (first, asid) => {
        if (first.next) for (let x: typeof first | null = first; x; x = x.next) out.push(`CPU${c} ASID ${asid} mm#${x.mm}`);
      }),
    );
    return out;
  },
  check(_p, s, mm, cpu, asid, row, obs) {
    const other = tlbOtherMm(s.tlb, cpu, asid, mm.key);
    // Stryker disable next-line ConditionalExpression: equivalent, -> false: a fill is logged only when tlbFill saw another mm under the ASID, and nothing of the step runs between that fill and this check (it is a switch's or an access's last act)
    if (other < 0) return;
    obs.violation({
      row,
      kind: 'tlb-alias',
      cpu,
      asid,
      mm: mm.label,
      otherMm: labelOf(s, other),
      fillRow: tlbAnyFillRow(s.tlb, cpu, asid, other),
      detail: `CPU${cpu} runs mm ${mm.label} with ASID ${asid} while its TLB holds entries of mm ${labelOf(s, other)} under that ASID`,
    });
  },
};

/**
 * **SameASIDActiveTask** (`active-asid-mismatch`; asidalloc.tla: two CPUs running the same task
 * outside the switch code use the same ASID), checked in the stronger form
 * ActiveASIDMatchesContext: every CPU that has an mm in its TTBR uses the mm's current ASID number
 * (`ttbrAsid[c] = ctxAsid(mm.ctx)`; the TLA+ property follows, as both CPUs then use that number).
 * Why it holds: `new_context` keeps the number of an mm that is running (its ASID is in
 * `active_asids` or `reserved_asids`, so `check_update_reserved_asid` keeps it), so a context moves
 * to another number only when no CPU runs it (arch/arm64/mm/context.c); the 2018 v1 pinning patch
 * broke this (docs/kernel-bugs.md). Incrementally: for the installed or pinned mm, over the CPUs
 * that run it (a mismatch appears only when an mm's context moves, at a switch or a pin, or a TTBR
 * is written); installs are logged only once some ASID has moved under a TTBR
 * (`CpuModelState.ttbrAsidMoved`): before that no TTBR can hold a stale number.
 */
export const SameASIDActiveTask: Invariant = {
  name: 'SameASIDActiveTask',
  tla: 'SameASIDActiveTask',
  kind: 'active-asid-mismatch',
  reads: Touch.Install,
  witnesses(s) {
    const out: string[] = [];
    s.ttbrMm.forEach((key, c) => {
      const mm = s.mms.get(key);
      if (mm && s.ttbrAsid[c] !== ctxAsid(mm.ctx)) out.push(`CPU${c}`);
    });
    return out;
  },
  check(_p, s, mm, _a, _b, row, obs) {
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
  },
};

/**
 * **TLBEmptyInvalPTE** (`stale-tlb`; asidalloc.tla: a CPU running a task whose PTE was unmapped and
 * invalidated holds no TLB entry of that task under the task's ASID), checked in the stronger form
 * NoUsableStaleEntry: under the ASID the CPU actually runs with (TLBEmptyInvalPTE looks at the
 * mm's current ASID only, and so misses the v1 pinning bug's stale entry): no CPU running an mm
 * holds an entry, under the ASID in its TTBR, of a page the mm no longer maps. Why it holds:
 * munmap clears the PTEs, then `tlb_finish_mmu` -> `__flush_tlb_range` sends TLBI VAE1IS /
 * ASIDE1IS for `ASID(mm)` to every CPU (arch/arm64/include/asm/tlbflush.h), and every CPU that
 * runs the mm uses that ASID (SameASIDActiveTask).
 *
 * Timing kept as it was: evaluated at the unmap only, over its range (TLA's `after_tlbi` point).
 * Evaluated after every step in full it would report at other events too: when a CPU switches back
 * to an mm whose entries survived under the ASID it gets again, or when an mprotect to PROT_NONE
 * leaves an entry under an ASID the flush did not carry; reports would change.
 */
export const TLBEmptyInvalPTE: Invariant = {
  name: 'TLBEmptyInvalPTE',
  tla: 'TLBEmptyInvalPTE',
  kind: 'stale-tlb',
  reads: Touch.Unmap,
  witnesses(s) {
    const out: string[] = [];
    s.ttbrMm.forEach((key, c) => {
      const mm = s.mms.get(key);
      if (!mm) return;
      for (const [pg] of tlbEntriesIn(s.tlb, c, s.ttbrAsid[c]!, key, 0, Number.MAX_SAFE_INTEGER)) {
        if (pg !== SPECULATIVE && walkMm(mm, pg).prot === 0) out.push(`CPU${c} page ${pg}`);
      }
    });
    return out;
  },
  check(_p, s, mm, first, last, row, obs) {
    for (let c = 0; c < s.ttbrMm.length; c++) {
      if (s.ttbrMm[c] !== mm.key) continue;
      for (const [pg, fillRow] of tlbEntriesIn(s.tlb, c, s.ttbrAsid[c]!, mm.key, first, last)) {
        obs.violation({
          row,
          kind: 'stale-tlb',
          cpu: c,
          asid: s.ttbrAsid[c],
          mm: mm.label,
          fillRow,
          detail: `CPU${c} runs mm ${mm.label} with ASID ${s.ttbrAsid[c]} and still translates page 0x${(pg * 2 ** PAGE_SHIFT).toString(16)} after the TLBI (sent for ASID ${ctxAsid(mm.ctx)})`,
        });
      }
    }
  },
};

/**
 * The invariants the engine checks after every step, in the order a touch is evaluated (for a new
 * context: PinnedBookkeeping, then UniqueCtxInGeneration, as the model always reported them).
 */
export const INVARIANTS: readonly Invariant[] = [
  PinnedBookkeeping,
  UniqueCtxInGeneration,
  UniqueASIDPerCPU,
  SameASIDActiveTask,
  TLBEmptyInvalPTE,
];

/** The invariants that read touch `t`, in {@link INVARIANTS} order (what {@link checkTouched} runs for it). */
export const readersOf = (t: Touch): readonly Invariant[] => INVARIANTS.filter((inv) => inv.reads === t);

/**
 * Evaluate the invariants over what the step touched so far, touch by touch in the order they
 * happened, and empty the log. `step` calls it after every event. A step that goes on to change
 * what its earlier touches read calls it at that point (same row): before an mm is retired (its
 * label, its context: `retire`), and between the CPUs an `exec` switches (their TTBRs); the
 * violations are then those, in that order, of checking each touch as it happens.
 */
export function checkTouched(s: CpuModelState, obs: CpuObserver): void {
  const n = log.n;
  // Stryker disable next-line ConditionalExpression: equivalent, -> false: the loop below runs zero times
  if (n === 0) return;
  log.n = 0;
  const p = log.p!;
  const row = log.row;
  for (let i = 0; i < n; i++) {
    // readersOf(op), spelled out: one call site per invariant (a loop over the table calls five
    // functions from one site, measured slower on the schedule-heavy profiles of scripts/bench.mjs).
    // test/invariants.test.ts checks that this switch and the table agree.
    const mm = log.mm[i]!;
    const a = log.a[i]!;
    const b = log.b[i]!;
    switch (log.op[i] as Touch) {
      case Touch.NewContext:
        PinnedBookkeeping.check(p, s, mm, a, b, row, obs);
        UniqueCtxInGeneration.check(p, s, mm, a, b, row, obs);
        break;
      case Touch.Fill:
        UniqueASIDPerCPU.check(p, s, mm, a, b, row, obs);
        break;
      case Touch.Install:
        SameASIDActiveTask.check(p, s, mm, a, b, row, obs);
        break;
      case Touch.Unmap:
        TLBEmptyInvalPTE.check(p, s, mm, a, b, row, obs);
        break;
    }
  }
}

/**
 * Checks of one kernel call's outcome, not of a state, reported where the call fails: the state
 * after the failed call says nothing (after a normal allocation `asid_map` may be full, the next
 * switch rolls over; a refused put leaves the state as it was).
 *
 * - **FreeAfterRollover** (`no-free-asid`; not in the TLA+ model, which assumes `Cardinality(CPUS)
 *   < ASIDS - 1` so that "this will always succeed"): the search of `new_context` after
 *   `flush_context` finds a free ASID (arch/arm64/mm/context.c: the WARN_ON in `asids_init`
 *   requires more ASIDs than CPUs, and `pinned_asid_map` is capped at `max_pinned_asids`).
 * - **refcount_t underflow** (`unbalanced-unpin`): `arm64_mm_context_put` of an mm that holds no
 *   pin (`refcount_dec_and_test` would warn, include/linux/refcount.h).
 */
export const OPERATION_CHECKS = [
  { name: 'FreeAfterRollover', tla: null, kind: 'no-free-asid' },
  { name: 'refcount_t underflow', tla: null, kind: 'unbalanced-unpin' },
] as const satisfies readonly { name: string; tla: null; kind: CpuViolationKind }[];

/** FreeAfterRollover broken: `new_context` found no free ASID after the rollover to `generation`. */
export function reportNoFreeAsid(mm: MmState, generation: number, cpu: number | undefined, row: number, obs: CpuObserver): void {
  if (cpu !== undefined) {
    obs.violation({
      row,
      kind: 'no-free-asid',
      cpu,
      mm: mm.label,
      detail: `no free ASID after rollover to generation ${generation} (all taken by pinned and reserved ASIDs)`,
    });
  } else {
    obs.violation({ row, kind: 'no-free-asid', mm: mm.label, detail: `no free ASID after rollover to generation ${generation}` });
  }
}

/** The refcount_t underflow: `arm64_mm_context_put` of `mm`, which holds no pin. */
export function reportUnbalancedUnpin(mm: MmState, row: number, obs: CpuObserver): void {
  obs.violation({ row, kind: 'unbalanced-unpin', mm: mm.label, detail: `unpin of mm ${mm.label}, which holds no pin` });
}
