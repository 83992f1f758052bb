/**
 * The CPU side's state: tasks, address spaces (mm) with their page tables, the ASID allocator,
 * per-CPU TTBRs and TLBs; and the observer through which the steps report what they do.
 *
 * Plain data (Maps, typed arrays, numbers): {@link cloneCpuModel} copies it for a search that
 * branches; every step mutates it in place.
 */
import {
  type AllocatorCounters,
  type AllocatorParams,
  type AllocatorState,
  type MmContext,
  type PinOutcome,
  cloneAllocator,
  createAllocator,
  ctxAsid,
} from './allocator.js';
import { type TlbState, cloneTlb, createTlb } from './tlb.js';
import { type PageTable, type Pte, clonePageTable, createPageTable, ptWalk } from './page-table.js';
import { EventError } from '../errors.js';
import { copyMap } from '../copy-map.js';
import type { CpuViolation } from '../findings.js';

/** What the CPU side tells about an address space (a read-only record, not its state). */
export interface MmRecord {
  readonly key: number;
  readonly label: string;
  /** Times its ASID number changed (a fresh number after a rollover). */
  readonly asidChanges: number;
}

/** The record of an mm. */
export const mmRecord = (mm: MmState): MmRecord => ({ key: mm.key, label: mm.label, asidChanges: mm.asidChanges });

/** An address space (`struct mm_struct`) as the CPU side sees it. */
export interface MmState extends MmContext {
  key: number;
  /** Trace `mm` value, or `<task>@<row>` for an anonymous mm. */
  label: string;
  /** Live tasks using it (mm_users). */
  users: number;
  /** ASID number held while pinned (-1 when not pinned). */
  pinnedAsid: number;
  /** Pins refused and not yet matched by an unpin (a driver whose get failed does not put). */
  refusedPins: number;
  /** Times its ASID number changed (a fresh number after a rollover). */
  asidChanges: number;
  /**
   * The process page table as extents ({@link PageTable}). A page no `map`/`unmap` touched is
   * mapped read-write since the trace began ({@link INITIAL_PTE}). The SMMU walks it for SVA.
   */
  pt: Readonly<PageTable>;
  /** Mapping version counter: each map/unmap takes the next value for the mappings it creates or removes. */
  epoch: number;
}

export { INITIAL_PTE, type Pte } from './page-table.js';

/** The page table of an mm no map/unmap touched yet: shared, never written (see {@link ptOf}). */
export const UNTOUCHED_PT: Readonly<PageTable> = Object.freeze(createPageTable());

/** The page table of `mm` for writing (one of its own on the first write; most mms never get one). */
export function ptOf(mm: MmState): PageTable {
  if (mm.pt === UNTOUCHED_PT) mm.pt = createPageTable();
  return mm.pt as PageTable;
}

/** Walk the process page table (what an SMMU does through an SVA CD's TTB0). */
export function walkMm(mm: MmState, page: number): Pte {
  return ptWalk(mm.pt, page);
}

export interface CpuModelState {
  alloc: AllocatorState;
  tlb: TlbState;
  /** task id -> mm key. */
  tasks: Map<number, number>;
  /**
   * The same for task ids below {@link TASK_INDEX_SIZE}, indexed by task id and holding the mm
   * itself: the switch path's one lookup (two Map lookups in 100,000-entry Maps were a third of a
   * replay with that many live tasks, the pin-exhaustion profile's). A derived index, set with
   * `tasks` by fork, exec and exit (model/cpu/tasks.ts) and rebuilt by a clone; never encoded,
   * digested or compared. Read it through {@link mmOfTask}.
   */
  taskMm: (MmState | undefined)[];
  mms: Map<number, MmState>;
  /** Live mm labels -> key. */
  labels: Map<string, number>;
  /** Labels of exited mms still pinned by a driver -> key (only `unpin` reaches them). */
  zombies: Map<string, number>;
  nextKey: number;
  /** Task current on each CPU (0 = idle / kernel thread). */
  curTask: Int32Array;
  /** mm in TTBR0 (the CPU's active_mm; stays across lazy-TLB idle), -1 = none yet. */
  ttbrMm: Int32Array;
  /** ASID in TTBR1 (allocator number; the EL0 half is `asid | 1` under KPTI). */
  ttbrAsid: Int32Array;
  /**
   * For the duplicate-asid check: per allocator index, the last mm key given that ASID (new
   * contexts are always of the current generation, {@link ownersGen}; an older generation's record
   * stays until the index is given again, and never matches a context of this one). A Map, not a
   * per-index array: a 16-bit ASID space would otherwise cost 768 KiB per copy of the state.
   */
  owners: Map<number, number>;
  ownersGen: number;
  /**
   * Some mm's ASID number changed while a CPU's TTBR held it ({@link noteContextMove}): the only
   * way a CPU comes to run an mm under a number its context no longer holds (SameASIDActiveTask
   * broken; the 2018 v1 pinning patch did it). Until it happens that invariant cannot break, and
   * its evaluation at each switch (a scan of every CPU's TTBR) is skipped. A fact about the past
   * that only saves work: not encoded, digested or compared (the mismatches themselves are in
   * `ttbrAsid` and the contexts). A test that writes `ttbrAsid` or a context directly sets it.
   */
  ttbrAsidMoved: boolean;
}

/** Callbacks through which the model reports what it does (observations are not model state). */
export interface CpuObserver {
  counters: AllocatorCounters & {
    switches: number;
    sameMmSwitches: number;
    idleSwitches: number;
    accesses: number;
    faults: number;
    tlbiAsid: number;
    tlbiVa: number;
  };
  violation(v: CpuViolation): void;
  rollover(row: number, generation: number): void;
  pin(row: number, mm: string, outcome: PinOutcome, asid: number, held: number): void;
  /**
   * A successful `arm64_mm_context_put` at trace row `row` of mm `mm`; `held` is `nr_pinned_asids`
   * after it (mms holding at least one pin).
   */
  unpinned(row: number, mm: string, held: number): void;
  /** An mm's record is dropped (exited and unpinned). */
  retired(mm: MmRecord): void;
}

/**
 * Task ids {@link CpuModelState.taskMm} covers: 2^17 (1 MiB of pointers at most; Linux's
 * `pid_max` is 32768 by default, up to 2^22). A larger id is looked up through `tasks` and `mms`,
 * so the index never grows with a trace whose ids keep rising.
 */
export const TASK_INDEX_SIZE = 1 << 17;

/** The mm task `task` runs in; undefined when the task is not alive. */
export function mmOfTask(s: CpuModelState, task: number): MmState | undefined {
  // Stryker disable next-line ConditionalExpression: equivalent, -> false: the Maps give the same mm (the index is only faster)
  if (task < TASK_INDEX_SIZE) return s.taskMm[task];
  const key = s.tasks.get(task);
  // Stryker disable next-line ConditionalExpression: equivalent, -> false: mms.get(undefined) is undefined too
  return key === undefined ? undefined : s.mms.get(key);
}

export function createCpuModel(p: AllocatorParams): CpuModelState {
  const n = p.cfg.cpus;
  return {
    alloc: createAllocator(p),
    tlb: createTlb(n),
    tasks: new Map(),
    // Stryker disable next-line ArrayDeclaration: equivalent, an entry at index 0 is never read (task 0, the idle task, is never looked up)
    taskMm: [],
    mms: new Map(),
    labels: new Map(),
    zombies: new Map(),
    nextKey: 0,
    curTask: new Int32Array(n),
    ttbrMm: new Int32Array(n).fill(-1),
    ttbrAsid: new Int32Array(n),
    owners: new Map(),
    ownersGen: 0,
    ttbrAsidMoved: false,
  };
}

/** A copy of an mm (every field listed: one object shape, no spread on the search's hot path). */
function cloneMm(m: MmState): MmState {
  return {
    key: m.key,
    label: m.label,
    ctx: m.ctx,
    pinned: m.pinned,
    users: m.users,
    pinnedAsid: m.pinnedAsid,
    refusedPins: m.refusedPins,
    asidChanges: m.asidChanges,
    // Stryker disable next-line ConditionalExpression: equivalent, -> false copies the shared empty table into an equal empty one (memory only)
    pt: m.pt === UNTOUCHED_PT ? m.pt : clonePageTable(m.pt),
    epoch: m.epoch,
  };
}

export function cloneCpuModel(s: CpuModelState): CpuModelState {
  const mms = new Map<number, MmState>();
  s.mms.forEach((m, k) => mms.set(k, cloneMm(m)));
  // Stryker disable next-line ArrayDeclaration: equivalent, an entry at index 0 is never read (task 0, the idle task, is never looked up)
  const taskMm: (MmState | undefined)[] = [];
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, an entry past the index's end is never read (mmOfTask looks such ids up in the Maps)
  for (const [t, k] of s.tasks) if (t < TASK_INDEX_SIZE) taskMm[t] = mms.get(k);
  return {
    alloc: cloneAllocator(s.alloc),
    tlb: cloneTlb(s.tlb),
    tasks: copyMap(s.tasks),
    taskMm,
    mms,
    labels: copyMap(s.labels),
    zombies: copyMap(s.zombies),
    nextKey: s.nextKey,
    // Typed-array constructors copy about twice as fast as `slice()`.
    curTask: new Int32Array(s.curTask),
    ttbrMm: new Int32Array(s.ttbrMm),
    ttbrAsid: new Int32Array(s.ttbrAsid),
    owners: copyMap(s.owners),
    ownersGen: s.ownersGen,
    ttbrAsidMoved: s.ttbrAsidMoved,
  };
}

export function labelOf(s: CpuModelState, key: number): string {
  return s.mms.get(key)?.label ?? `#${key}`;
}

/**
 * Not a context id: the value an mm's `ctx` is created with before it is set to 0 ("never
 * allocated"), so that V8 lays the field out as a double from the first mm on (see {@link newMm}).
 */
const CTX_FIELD_AS_DOUBLE = 0.5;

/**
 * A new mm named `label`, live, with no context yet (`ctx` 0), recorded in `s.mms` and `s.labels`.
 *
 * Why `ctx` is first written {@link CTX_FIELD_AS_DOUBLE}: a context id is `gen * GEN_UNIT + asid`,
 * past 2^31 from the 32,768th generation on. V8 stores a number field as a small integer until a
 * larger value comes, and then gives every object of that shape a new layout: each mm is migrated
 * when next touched, and the code that read the field as an integer is thrown away and compiled
 * again once the migrations stop. A workload that rolls over at every other switch (pin-exhaustion)
 * crosses 2^31 in its first 65,000 events, and a 2x10^5-event replay of it ran 5-10% slower
 * (whole processes; docs/performance.md). A double in the first mm's field makes
 * the layout a double's from the start; the value is overwritten at once, so no state ever holds it.
 */
export function newMm(s: CpuModelState, label: string): MmState {
  const mm: MmState = {
    key: s.nextKey++,
    label,
    ctx: CTX_FIELD_AS_DOUBLE,
    pinned: 0,
    users: 1,
    pinnedAsid: -1,
    refusedPins: 0,
    asidChanges: 0,
    pt: UNTOUCHED_PT,
    epoch: 0,
  };
  mm.ctx = 0;
  s.mms.set(mm.key, mm);
  s.labels.set(label, mm.key);
  return mm;
}

/**
 * `mm`'s context changed from `prevCtx` in a kernel call (`check_and_switch_context`,
 * `arm64_mm_context_get` or `_put`, whichever version a design gives): if its ASID number moved
 * while a CPU's TTBR held the mm, mark it ({@link CpuModelState.ttbrAsidMoved}). Called before the
 * switching CPU's own TTBR is written, so only other CPUs count.
 */
export function noteContextMove(s: CpuModelState, mm: MmState, prevCtx: number): void {
  // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent, the mark set in more cases only costs checks (it only says that a mismatch may exist)
  if (s.ttbrAsidMoved || ctxAsid(prevCtx) === ctxAsid(mm.ctx)) return;
  // Stryker disable next-line EqualityOperator: equivalent, c <= length reads undefined, never an mm key
  for (let c = 0; c < s.ttbrMm.length; c++) {
    if (s.ttbrMm[c] === mm.key) {
      s.ttbrAsidMoved = true;
      return;
    }
  }
}

/** Count an ASID change of `mm`, which just got a new context after `prevCtx` (0: its first). */
export function countAsidChange(mm: MmState, prevCtx: number): void {
  if (prevCtx !== 0 && ctxAsid(prevCtx) !== ctxAsid(mm.ctx)) mm.asidChanges++;
}

export function checkCpu(p: AllocatorParams, cpu: number, row: number): void {
  if (cpu >= p.cfg.cpus)
    throw new EventError(`cpu ${cpu} does not exist: the system has ${p.cfg.cpus} CPUs (0-${p.cfg.cpus - 1})`, row, 'cpu');
}

/** The live mm named `label` (or, with `allowZombie`, an exited one still pinned). */
export function lookupMm(s: CpuModelState, label: string, row: number, allowZombie = false): MmState {
  const key = s.labels.get(label) ?? (allowZombie ? s.zombies.get(label) : undefined);
  if (key === undefined)
    throw new EventError(`mm ${label} is not a live address space (no fork names it, or its last task exited)`, row, 'mm');
  return s.mms.get(key)!;
}
