/**
 * The CPU side of the system: tasks and address spaces (mm), the ASID allocator, per-CPU TTBR and
 * TLBs, and the invariants of the kernel-tla `asidalloc` model checked after every event
 * (the invariants of the kernel-tla `asidalloc` TLA+ model; docs/model.md).
 *
 * Every exported step takes the state and mutates it in place; the state is plain data (Maps,
 * typed arrays, numbers), so a caller that needs the old state clones it first ({@link cloneCpuModel}).
 */
import {
  type AllocatorCounters,
  type AllocatorParams,
  type AllocatorState,
  type MmContext,
  PinOutcome,
  SWITCH_EXHAUSTED,
  SWITCH_LOCAL_FLUSH,
  SWITCH_NEW_CONTEXT,
  SWITCH_ROLLOVER,
  checkAndSwitchContext,
  cloneAllocator,
  createAllocator,
  ctxAsid,
  ctxGen,
  mmContextGet,
  mmContextPut,
  pinAsid,
  pinOutcome,
} from './allocator.js';
import {
  SPECULATIVE,
  type TlbState,
  cloneTlb,
  createTlb,
  localFlushTlbAll,
  tlbAnyFillRow,
  tlbEntriesIn,
  tlbFill,
  tlbiAsidBroadcast,
  tlbiVaRangeBroadcast,
} from './tlb.js';
import { EventError } from '../../trace/errors.js';
import { type PageTable, type Pte, INITIAL_PTE, clonePageTable, createPageTable, ptUpdate, ptWalk } from './page-table.js';

/** 4 KiB pages (PAGE_SHIFT 12). */
export const PAGE_SHIFT = 12;
/**
 * `MAX_TLBI_OPS` = PTRS_PER_PTE for 4 KiB pages: `__flush_tlb_range` uses `flush_tlb_mm` when
 * `(end - start) >= MAX_TLBI_OPS * stride` (arch/arm64/include/asm/tlbflush.h, v4.19 to v6.12).
 */
export const MAX_TLBI_OPS = 512;

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
const UNTOUCHED_PT: Readonly<PageTable> = Object.freeze(createPageTable());

/** The page table of `mm` for writing (one of its own on the first write; most mms never get one). */
function ptOf(mm: MmState): PageTable {
  if (mm.pt === UNTOUCHED_PT) mm.pt = createPageTable();
  return mm.pt as PageTable;
}

/** Walk the process page table (what an SMMU does through an SVA CD's TTB0). */
export function walkMm(mm: MmState, page: number): Pte {
  return ptWalk(mm.pt, page);
}

/** What a `map` of an mm did to pages that were already mapped (bit mask). */
export const MAP_UPGRADED = 1;
export const MAP_DOWNGRADED = 2;

export interface CpuModelState {
  alloc: AllocatorState;
  tlb: TlbState;
  /** task id -> mm key. */
  tasks: Map<number, number>;
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
  /** Per allocator index: last mm key given that ASID, and the generation it got it in. */
  ownerKey: Int32Array;
  ownerGen: Float64Array;
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
  /** A successful `arm64_mm_context_put`. */
  unpinned(): void;
  /** An mm's record is dropped (exited and unpinned). */
  retired(mm: MmState): void;
}

export function createCpuModel(p: AllocatorParams): CpuModelState {
  const n = p.cfg.cpus;
  return {
    alloc: createAllocator(p),
    tlb: createTlb(n),
    tasks: new Map(),
    mms: new Map(),
    labels: new Map(),
    zombies: new Map(),
    nextKey: 0,
    curTask: new Int32Array(n),
    ttbrMm: new Int32Array(n).fill(-1),
    ttbrAsid: new Int32Array(n),
    ownerKey: new Int32Array(p.numIdx).fill(-1),
    ownerGen: new Float64Array(p.numIdx),
  };
}

export function cloneCpuModel(s: CpuModelState): CpuModelState {
  const mms = new Map<number, MmState>();
  for (const [k, m] of s.mms) mms.set(k, { ...m, pt: m.pt === UNTOUCHED_PT ? m.pt : clonePageTable(m.pt) });
  return {
    alloc: cloneAllocator(s.alloc),
    tlb: cloneTlb(s.tlb),
    tasks: new Map(s.tasks),
    mms,
    labels: new Map(s.labels),
    zombies: new Map(s.zombies),
    nextKey: s.nextKey,
    curTask: s.curTask.slice(),
    ttbrMm: s.ttbrMm.slice(),
    ttbrAsid: s.ttbrAsid.slice(),
    ownerKey: s.ownerKey.slice(),
    ownerGen: s.ownerGen.slice(),
  };
}

function labelOf(s: CpuModelState, key: number): string {
  return s.mms.get(key)?.label ?? `#${key}`;
}

function newMm(s: CpuModelState, label: string): MmState {
  const mm: MmState = {
    key: s.nextKey++,
    label,
    ctx: 0,
    pinned: 0,
    users: 1,
    pinnedAsid: -1,
    refusedPins: 0,
    asidChanges: 0,
    pt: UNTOUCHED_PT,
    epoch: 0,
  };
  s.mms.set(mm.key, mm);
  s.labels.set(label, mm.key);
  return mm;
}

function checkCpu(p: AllocatorParams, cpu: number, row: number): void {
  if (cpu >= p.cfg.cpus) throw new EventError(`cpu ${cpu} does not exist: the system has ${p.cfg.cpus} CPUs (0-${p.cfg.cpus - 1})`, row, 'cpu');
}

/** The live mm named `label` (or, with `allowZombie`, an exited one still pinned). */
export function lookupMm(s: CpuModelState, label: string, row: number, allowZombie = false): MmState {
  const key = s.labels.get(label) ?? (allowZombie ? s.zombies.get(label) : undefined);
  if (key === undefined) throw new EventError(`mm ${label} is not a live address space (no fork names it, or its last task exited)`, row, 'mm');
  return s.mms.get(key)!;
}

/** Drop one user of an mm (task exit or exec); the last one ends the address space. */
function mmput(s: CpuModelState, key: number, obs: CpuObserver): void {
  const mm = s.mms.get(key)!;
  if (--mm.users > 0) return;
  s.labels.delete(mm.label);
  if (mm.pinned > 0) s.zombies.set(mm.label, key);
  else retire(s, mm, obs);
}

function retire(s: CpuModelState, mm: MmState, obs: CpuObserver): void {
  s.mms.delete(mm.key);
  obs.retired(mm);
}

/** `fork task [mm]`: `copy_process` → `init_new_context` (ctx 0, not pinned), or CLONE_VM into a live mm. */
export function fork(s: CpuModelState, task: number, label: string | undefined, row: number): void {
  if (task === 0) throw new EventError('task 0 is the idle task and cannot be forked', row, 'task');
  if (s.tasks.has(task)) throw new EventError(`task ${task} is already alive (exit it before its id is reused)`, row, 'task');
  if (label !== undefined) {
    const live = s.labels.get(label);
    if (live !== undefined) {
      s.mms.get(live)!.users++;
      s.tasks.set(task, live);
      return;
    }
  }
  s.tasks.set(task, newMm(s, label ?? `${task}@${row}`).key);
}

/**
 * `exec task [mm]`: the task gets a fresh address space (`exec_mmap`); the old one loses a user.
 * If the task is current on a CPU, `exec_mmap` → `activate_mm` → `switch_mm` installs the new mm there
 * at once (`check_and_switch_context` on that CPU).
 */
export function exec(p: AllocatorParams, s: CpuModelState, task: number, label: string | undefined, row: number, obs: CpuObserver): void {
  const old = s.tasks.get(task);
  if (old === undefined) throw new EventError(`task ${task} is not alive`, row, 'task');
  if (label !== undefined && s.labels.has(label)) throw new EventError(`mm ${label} is already live: exec needs a fresh address space`, row, 'mm');
  s.tasks.set(task, newMm(s, label ?? `${task}@${row}`).key);
  for (let c = 0; c < s.curTask.length; c++) if (s.curTask[c] === task) schedule(p, s, c, task, row, obs);
  mmput(s, old, obs);
}

/** `exit task`: `exit_mm`; the address space ends with its last task. CPUs keep it as active_mm (lazy TLB). */
export function exit(s: CpuModelState, task: number, row: number, obs: CpuObserver): void {
  const old = s.tasks.get(task);
  if (old === undefined) throw new EventError(`task ${task} is not alive`, row, 'task');
  s.tasks.delete(task);
  for (let c = 0; c < s.curTask.length; c++) if (s.curTask[c] === task) s.curTask[c] = 0;
  mmput(s, old, obs);
}

/** Record that `mm` now holds ctx (g, asid) and check UniqueCtxInGeneration and pinned stability. */
function noteNewContext(p: AllocatorParams, s: CpuModelState, mm: MmState, prevCtx: number, row: number, obs: CpuObserver): void {
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
function checkActive(s: CpuModelState, mm: MmState, row: number, obs: CpuObserver): void {
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

function fillAndCheck(s: CpuModelState, cpu: number, mm: MmState, page: number, row: number, obs: CpuObserver): void {
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

/**
 * `schedule cpu task`: `context_switch` → `switch_mm` → `check_and_switch_context` when the mm changes;
 * task 0 (idle / kernel thread) is lazy TLB and switches nothing. Order as the kernel does it:
 * allocator, pending local flush (TTBR still holds the outgoing mm), `active_asids`, TTBR, then the
 * speculative walk of the new mm.
 */
export function schedule(p: AllocatorParams, s: CpuModelState, cpu: number, task: number, row: number, obs: CpuObserver): void {
  checkCpu(p, cpu, row);
  const n = obs.counters;
  if (task === 0) {
    s.curTask[cpu] = 0;
    n.idleSwitches++;
    return;
  }
  const key = s.tasks.get(task);
  if (key === undefined) throw new EventError(`task ${task} is not alive (fork it first)`, row, 'task');
  s.curTask[cpu] = task;
  if (s.ttbrMm[cpu] === key) {
    n.sameMmSwitches++;
    return;
  }
  n.switches++;
  const mm = s.mms.get(key)!;
  const prevCtx = mm.ctx;
  const flags = checkAndSwitchContext(p, s.alloc, mm, cpu, n);
  if (flags & SWITCH_ROLLOVER) obs.rollover(row, s.alloc.generation);
  if (flags & SWITCH_EXHAUSTED) {
    obs.violation({ row, kind: 'no-free-asid', cpu, mm: mm.label, detail: `no free ASID after rollover to generation ${s.alloc.generation} (all taken by pinned and reserved ASIDs)` });
    return;
  }
  if (flags & SWITCH_LOCAL_FLUSH) localFlushTlbAll(s.tlb, cpu, s.ttbrMm[cpu], s.ttbrAsid[cpu]);
  if (flags & SWITCH_NEW_CONTEXT) noteNewContext(p, s, mm, prevCtx, row, obs);
  s.ttbrMm[cpu] = key;
  s.ttbrAsid[cpu] = ctxAsid(mm.ctx);
  fillAndCheck(s, cpu, mm, SPECULATIVE, row, obs);
  checkActive(s, mm, row, obs);
}

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
  const r = mmContextGet(p, s.alloc, mm, obs.counters);
  const outcome = pinOutcome(r);
  if (outcome === PinOutcome.Refused || outcome === PinOutcome.Exhausted) mm.refusedPins++;
  if (outcome === PinOutcome.Exhausted) {
    obs.violation({ row, kind: 'no-free-asid', mm: mm.label, detail: `no free ASID after rollover to generation ${s.alloc.generation}` });
  } else if (outcome === PinOutcome.Pinned) {
    if (mm.ctx !== prevCtx) noteNewContext(p, s, mm, prevCtx, row, obs);
    mm.pinnedAsid = ctxAsid(mm.ctx);
    checkActive(s, mm, row, obs);
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
    return;
  }
  if (!mmContextPut(p, s.alloc, mm)) {
    obs.violation({ row, kind: 'unbalanced-unpin', mm: mm.label, detail: `unpin of mm ${mm.label}, which holds no pin` });
    return;
  }
  obs.unpinned();
  if (mm.pinned > 0) return;
  mm.pinnedAsid = -1;
  if (s.zombies.get(mm.label) === mm.key) {
    s.zombies.delete(mm.label);
    retire(s, mm, obs);
  }
}

function pageRange(va: number, size: number, row: number): [number, number] {
  if (size <= 0) throw new EventError('size must be at least 1 byte', row, 'size');
  return [Math.floor(va / 2 ** PAGE_SHIFT), Math.floor((va + size - 1) / 2 ** PAGE_SHIFT)];
}

/**
 * `map mm va size [prot]`: the process's page tables gain (or change) a mapping. A page mapped anew
 * gets a new epoch. Changing the rights of a present page is `ptep_set_access_flags` (upgrade) or
 * `change_protection` (downgrade): both flush the CPU TLB by VA (`flush_tlb_page`/`flush_tlb_range`).
 * @returns {@link MAP_UPGRADED} | {@link MAP_DOWNGRADED} for present pages whose rights changed (the
 * caller then runs the mmu notifier), 0 otherwise.
 */
export function mapMm(s: CpuModelState, label: string, va: number, size: number, prot: number, row: number, obs: CpuObserver): number {
  const mm = lookupMm(s, label, row, true);
  const [first, last] = pageRange(va, size, row);
  if (mm.pt === UNTOUCHED_PT && prot === INITIAL_PTE.prot) return 0;
  let changed = 0;
  const fresh: Pte = { prot, epoch: mm.epoch + 1, row };
  ptUpdate(ptOf(mm), first, last, (old) => {
    if (old.prot === prot) return old;
    if (old.prot === 0) return fresh;
    changed |= prot & ~old.prot ? MAP_UPGRADED : 0;
    changed |= old.prot & ~prot ? MAP_DOWNGRADED : 0;
    return { prot, epoch: old.epoch, row };
  });
  mm.epoch++;
  if (changed && mm.ctx !== 0) {
    // A downgrade is change_protection -> flush_tlb_range (whole ASID from MAX_TLBI_OPS pages on);
    // an upgrade is a fault per page, each ptep_set_access_flags -> flush_tlb_page.
    if (changed & MAP_DOWNGRADED && last - first + 1 >= MAX_TLBI_OPS) {
      tlbiAsidBroadcast(s.tlb, ctxAsid(mm.ctx));
      obs.counters.tlbiAsid++;
    } else {
      tlbiVaRangeBroadcast(s.tlb, ctxAsid(mm.ctx), first, last);
      obs.counters.tlbiVa += last - first + 1;
    }
  }
  return changed;
}

/**
 * `unmap mm va size`: PTEs cleared, then `flush_tlb_range` with `ASID(mm)` read now: per-page
 * TLBI VAE1IS, or TLBI ASIDE1IS (`flush_tlb_mm`) from MAX_TLBI_OPS pages on. Then NoUsableStaleEntry:
 * no CPU that runs the mm may still hold an entry for those pages under the ASID it runs with.
 */
export function unmapMm(s: CpuModelState, label: string, va: number, size: number, row: number, obs: CpuObserver): void {
  const mm = lookupMm(s, label, row, true);
  const [first, last] = pageRange(va, size, row);
  const pages = last - first + 1;
  const gone: Pte = { prot: 0, epoch: ++mm.epoch, row };
  ptUpdate(ptOf(mm), first, last, (old) => (old.prot === 0 ? old : gone));
  if (mm.ctx !== 0) {
    const asid = ctxAsid(mm.ctx);
    if (pages >= MAX_TLBI_OPS) {
      tlbiAsidBroadcast(s.tlb, asid);
      obs.counters.tlbiAsid++;
    } else {
      tlbiVaRangeBroadcast(s.tlb, asid, first, last);
      obs.counters.tlbiVa += pages;
    }
  }
  for (let c = 0; c < s.ttbrMm.length; c++) {
    if (s.ttbrMm[c] !== mm.key) continue;
    for (const [pg, fillRow] of tlbEntriesIn(s.tlb, c, s.ttbrAsid[c], mm.key, first, last)) {
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
}

/** `access cpu va`: the CPU's current task touches `va`: a TLB fill under the TTBR's ASID, or a fault. */
export function access(p: AllocatorParams, s: CpuModelState, cpu: number, va: number, row: number, obs: CpuObserver): void {
  checkCpu(p, cpu, row);
  if (s.curTask[cpu] === 0) throw new EventError(`CPU${cpu} runs no user task (idle or kernel thread): it cannot access user memory`, row, 'cpu');
  const mm = s.mms.get(s.ttbrMm[cpu]);
  if (!mm) throw new EventError(`CPU${cpu} has no user address space`, row, 'cpu');
  obs.counters.accesses++;
  const page = Math.floor(va / 2 ** PAGE_SHIFT);
  if (walkMm(mm, page).prot === 0) {
    obs.counters.faults++;
    return;
  }
  fillAndCheck(s, cpu, mm, page, row, obs);
}
