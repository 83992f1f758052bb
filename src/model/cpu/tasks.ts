/**
 * Tasks and their address spaces: fork (CLONE_VM or a fresh mm), exec (`exec_mmap`), exit
 * (`exit_mm`, the mm ends with its last user), and `schedule` (`context_switch` -> `switch_mm` ->
 * `check_and_switch_context`).
 */
import { Switch, ctxAsid } from './allocator.js';
import type { AllocatorParams } from './allocator.js';
import { SPECULATIVE, localFlushTlbAll, tlbFill } from './tlb.js';
import { EventError } from '../errors.js';
import {
  type CpuModelState,
  type CpuObserver,
  type MmState,
  TASK_INDEX_SIZE,
  checkCpu,
  countAsidChange,
  mmOfTask,
  mmRecord,
  newMm,
  noteContextMove,
} from './state.js';
import { checkTouched, reportNoFreeAsid, touchFill, touchInstall, touchNewContext } from './invariants.js';

/** Drop one user of an mm (task exit or exec); the last one ends the address space. */
export function mmput(s: CpuModelState, key: number, obs: CpuObserver): void {
  const mm = s.mms.get(key)!;
  if (--mm.users > 0) return;
  s.labels.delete(mm.label);
  // A driver's pin keeps the mm (its get holds an mmgrab); so, for the trace's bookkeeping, does a
  // refused pin whose unpin is still to come (that unpin is matched, not issued).
  if (mm.pinned > 0 || mm.refusedPins > 0) s.zombies.set(mm.label, key);
  else retire(s, mm, obs);
}

/** Drop an mm's record (its last user gone, no pin left). What the step touched is checked first: it may name this mm. */
export function retire(s: CpuModelState, mm: MmState, obs: CpuObserver): void {
  checkTouched(s, obs);
  s.mms.delete(mm.key);
  obs.retired(mmRecord(mm));
}

/** `fork task [mm]`: `copy_process` → `init_new_context` (ctx 0, not pinned), or CLONE_VM into a live mm. */
export function fork(s: CpuModelState, task: number, label: string | undefined, row: number): void {
  if (task === 0) throw new EventError('task 0 is the idle task and cannot be forked', row, 'task');
  if (s.tasks.has(task)) throw new EventError(`task ${task} is already alive (exit it before its id is reused)`, row, 'task');
  // Stryker disable next-line ConditionalExpression: equivalent, -> true: labels.get(undefined) is undefined (labels are strings)
  if (label !== undefined) {
    const live = s.labels.get(label);
    if (live !== undefined) {
      const mm = s.mms.get(live)!;
      mm.users++;
      setTask(s, task, mm);
      return;
    }
  }
  setTask(s, task, newMm(s, label ?? `${task}@${row}`));
}

/** `task` now runs in `mm`: both task maps ({@link CpuModelState.taskMm}). */
function setTask(s: CpuModelState, task: number, mm: MmState): void {
  s.tasks.set(task, mm.key);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, an entry past the index's end is never read (mmOfTask looks such ids up in the Maps)
  if (task < TASK_INDEX_SIZE) s.taskMm[task] = mm;
}

/**
 * `exec task [mm]`: the task gets a fresh address space (`exec_mmap`); the old one loses a user.
 * If the task is current on a CPU, `exec_mmap` → `activate_mm` → `switch_mm` installs the new mm there
 * at once (`check_and_switch_context` on that CPU).
 */
export function exec(p: AllocatorParams, s: CpuModelState, task: number, label: string | undefined, row: number, obs: CpuObserver): void {
  const old = s.tasks.get(task);
  if (old === undefined) throw new EventError(`task ${task} is not alive`, row, 'task');
  // Stryker disable next-line ConditionalExpression: equivalent, label !== undefined -> true: labels.has(undefined) is false (labels are strings)
  if (label !== undefined && s.labels.has(label))
    throw new EventError(`mm ${label} is already live: exec needs a fresh address space`, row, 'mm');
  setTask(s, task, newMm(s, label ?? `${task}@${row}`));
  // Stryker disable next-line EqualityOperator: equivalent, c <= length reads undefined, never a task id
  for (let c = 0; c < s.curTask.length; c++) {
    if (s.curTask[c] !== task) continue;
    schedule(p, s, c, task, row, obs);
    // The next CPU's switch writes another TTBR the installed mm's check reads: check this one first.
    checkTouched(s, obs);
  }
  mmput(s, old, obs);
}

/** `exit task`: `exit_mm`; the address space ends with its last task. CPUs keep it as active_mm (lazy TLB). */
export function exit(s: CpuModelState, task: number, row: number, obs: CpuObserver): void {
  const old = s.tasks.get(task);
  if (old === undefined) throw new EventError(`task ${task} is not alive`, row, 'task');
  s.tasks.delete(task);
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, an entry past the index's end is never read (mmOfTask looks such ids up in the Maps)
  if (task < TASK_INDEX_SIZE) s.taskMm[task] = undefined;
  // Stryker disable next-line EqualityOperator: equivalent, c <= length reads undefined, never a task id
  for (let c = 0; c < s.curTask.length; c++) if (s.curTask[c] === task) s.curTask[c] = 0;
  mmput(s, old, obs);
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
  const mm = mmOfTask(s, task);
  if (mm === undefined) throw new EventError(`task ${task} is not alive (fork it first)`, row, 'task');
  const key = mm.key;
  s.curTask[cpu] = task;
  if (s.ttbrMm[cpu] === key) {
    n.sameMmSwitches++;
    return;
  }
  n.switches++;
  const prevCtx = mm.ctx;
  const flags = p.parts.check_and_switch_context(p, s.alloc, mm, cpu, n);
  // Stryker disable next-line ConditionalExpression: equivalent, -> true: noteContextMove compares the ASIDs itself
  if (mm.ctx !== prevCtx) noteContextMove(s, mm, prevCtx);
  if (flags & Switch.Rollover) obs.rollover(row, s.alloc.generation);
  if (flags & Switch.Exhausted) {
    reportNoFreeAsid(mm, s.alloc.generation, cpu, row, obs);
    return;
  }
  if (flags & Switch.LocalFlush) localFlushTlbAll(s.tlb, cpu, s.ttbrMm[cpu]!, s.ttbrAsid[cpu]!);
  if (flags & Switch.NewContext) {
    countAsidChange(mm, prevCtx);
    touchNewContext(mm);
  }
  const asid = ctxAsid(mm.ctx);
  s.ttbrMm[cpu] = key;
  s.ttbrAsid[cpu] = asid;
  if (tlbFill(s.tlb, cpu, asid, key, SPECULATIVE, row) >= 0) touchFill(cpu, asid, mm);
  touchInstall(s, mm);
}
