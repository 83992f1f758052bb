/**
 * Tasks and address spaces of an imported recording, from its scheduling and lifecycle events.
 *
 * Without lifecycle events (a recording of `sched_switch` only) the rules are the importer's
 * historical ones: a pid's first appearance is its fork into `p<tgid>` (or `p<pid>`), a dead
 * `prev_state` is its exit, kernel threads are known by their names. When the recording has them,
 * the kernel's own events decide instead, as include/trace/events/sched.h and task.h emit them:
 *
 * - `task_newtask` (`copy_process`): the child's `clone_flags`; CLONE_VM (0x100) shares the parent's
 *   mm (a thread, or a vfork child), CLONE_THREAD (0x10000) puts it in the parent's thread group;
 * - `sched_process_fork` (`kernel_clone`): parent and child; a child of kthreadd (pid 2), of the idle
 *   task or of another kernel thread known from this evidence is a kernel thread; a child of a user
 *   task is a user task, in the parent's mm (CLONE_VM, or a known TGID when `task_newtask` is not
 *   recorded) or a fresh one;
 * - `sched_process_exec` (`exec_binprm`, after `exec_mmap`): a fresh mm for the task; the other
 *   threads of its group have exited (`de_thread`); an exec from a non-leader thread continues
 *   under the leader's pid (`old_pid` -> `pid`); a kernel thread that execs becomes a user task;
 * - `sched_process_exit` (`do_exit`, after `exit_mm`): the exit; the task runs lazily (as task 0)
 *   until its last switch; `sched_process_free`: the pid may be reused;
 * - `task_rename`: counted (names decide nothing once the evidence has).
 *
 * `--user-tasks <regex>` and `--kernel-threads <regex>` (on the comm) override everything but pid 0.
 *
 * mm labels name the process: `p<tgid>:<comm>` (`p6837:surfaceflinger`), `p<pid>#<n>:<comm>` for
 * the n-th exec of a pid; the part before the first `:` (the key) is unique among the live mms.
 */
import type { EventKind } from '../trace/events.js';
import type { ImportSummary } from './kinds.js';
import { type FtraceLine, isExitState, isKernelThread } from './ftrace-line.js';

/** include/uapi/linux/sched.h */
export const CLONE_VM = 0x100;
export const CLONE_THREAD = 0x10000;

/** The lifecycle events read (others are counted by name as before). */
export const LIFECYCLE_EVENTS = [
  'sched_process_fork',
  'task_newtask',
  'sched_process_exec',
  'sched_process_exit',
  'sched_process_free',
  'task_rename',
] as const;

/** Overrides of the kernel-thread decision. */
export interface TaskOptions {
  /** Tasks whose comm matches are kernel threads (checked after `userTasks`). */
  kernelThreads?: RegExp;
  /** Tasks whose comm matches are user tasks. */
  userTasks?: RegExp;
}

/** The rules, as the summary names them. */
export const RULES = {
  userOverride: '--user-tasks',
  kernelOverride: '--kernel-threads',
  kthreadd: 'kthreadd (pid 2)',
  descendant: 'forked by kthreadd or another kernel thread',
  forkedByUser: 'forked by a user task',
  exec: 'exec of a program',
  name: 'name of a kernel thread (no lifecycle event for it)',
  userDefault: 'not a kernel thread name (no lifecycle event for it)',
} as const;

interface Decision {
  kernel: boolean;
  rule: string;
  /** Decided by the recording's own events or an override (not by the name). */
  evidence: boolean;
}

/** Names decided by the name rule that the summary lists, per side. */
const NAMES_SHOWN = 12;

/** Characters a trace v1 identifier may not hold (the complement of the mm label rule, NAME_RE in trace/row-schema.ts). */
const NOT_NAME = /[^A-Za-z0-9_.:\-/@#]/g;

/**
 * The name part of an mm label: the comm with every character an identifier may not hold replaced
 * by `_` (`UI Thread` -> `UI_Thread`); '' when the recording does not know it (`<...>`).
 */
export function commLabel(comm: string): string {
  const c = comm.trim();
  return c === '' || c === '<...>' ? '' : c.replace(NOT_NAME, '_');
}

/** An mm label: the key (`p<tgid>`, `p<pid>#<n>`), then `:<comm>` when the name is known. */
export function mmLabel(key: string, comm: string): string {
  const c = commLabel(comm);
  return c === '' ? key : `${key}:${c}`;
}

/** The key of an mm label: the part before the first `:` (`p6837#1` of `p6837#1:make`). */
export function mmKey(label: string): string {
  const i = label.indexOf(':');
  return i < 0 ? label : label.slice(0, i);
}

/** The name part of an mm label ('' when it has none). */
export function mmName(label: string): string {
  const i = label.indexOf(':');
  return i < 0 ? '' : label.slice(i + 1);
}

/** The comm `exec` gives a task: the file name's last part, cut to TASK_COMM_LEN - 1 (`__set_task_comm(kbasename(filename))`). */
export function execComm(filename: string): string {
  return (filename.split('/').pop() ?? '').slice(0, 15);
}

type Emit = (kind: EventKind, e: { time: number; cpu?: number; task?: number; mm?: string }) => Promise<void>;

const field = (body: string, name: string): string | undefined => new RegExp(`(?:^|\\s)${name}=(\\S*)`).exec(body)?.[1];
/** A comm value (it may contain spaces): from `name=` to the next ` key=`. */
const commField = (body: string, name: string): string => new RegExp(`(?:^|\\s)${name}=(.*?)(?= \\w+=|$)`).exec(body)?.[1] ?? '';

/** The task state of an import: which tasks live, in which mm, and which are kernel threads. */
export class Tasks {
  /** Live user tasks (trace v1 task ids). */
  private readonly alive = new Set<number>();
  /** Live kernel threads (pids). */
  private readonly kthreads = new Set<number>();
  private readonly mmOf = new Map<number, string>();
  private readonly groupOf = new Map<number, number>();
  /** Live mms by key (the label's part before `:`): their tasks, and their full label. */
  private readonly labelUsers = new Map<string, number>();
  private readonly labelOf = new Map<string, string>();
  private readonly evidence = new Map<number, Decision>();
  /** Pids that ran `do_exit` and have not been switched out for the last time (they run lazily). */
  private readonly exited = new Set<number>();
  /** pid -> trace v1 task id, after an exec from a non-leader thread. */
  private readonly alias = new Map<number, number>();
  private readonly cloneFlags = new Map<number, number>();
  private readonly execs = new Map<number, number>();

  /**
   * @param tgids the TGID of each pid that the recording says.
   * @param emit  writes an event.
   * @param s     the summary to count into.
   * @param opts  overrides of the kernel-thread decision.
   * @param comms the first name the recording gives each pid (names the mm of a thread group first
   *   seen through another of its threads).
   */
  constructor(
    private readonly tgids: Map<number, number>,
    private readonly emit: Emit,
    private readonly s: ImportSummary,
    private readonly opts: TaskOptions = {},
    private readonly comms: Map<number, string> = new Map(),
  ) {}

  private count(d: Decision, comm: string): void {
    const r = (this.s.taskRules ??= { kernel: {}, user: {} });
    const side = d.kernel ? r.kernel : r.user;
    side[d.rule] = (side[d.rule] ?? 0) + 1;
    if (d.evidence) return;
    // decided by the name alone: the summary names them, so that a wrong guess can be overridden
    const names = (this.s.decidedByName ??= { kernel: [], user: [] });
    const list = d.kernel ? names.kernel : names.user;
    const c = comm.trim() || '<...>';
    if (list.length < NAMES_SHOWN && !list.includes(c)) list.push(c);
  }

  private override(comm: string): Decision | undefined {
    if (this.opts.userTasks?.test(comm)) return { kernel: false, rule: RULES.userOverride, evidence: true };
    if (this.opts.kernelThreads?.test(comm)) return { kernel: true, rule: RULES.kernelOverride, evidence: true };
    return undefined;
  }

  private decide(pid: number, comm: string): Decision {
    const o = this.override(comm);
    if (o) return o;
    if (pid === 2) return { kernel: true, rule: RULES.kthreadd, evidence: true };
    const e = this.evidence.get(pid);
    if (e) return e;
    return isKernelThread(pid, comm)
      ? { kernel: true, rule: RULES.name, evidence: false }
      : { kernel: false, rule: RULES.userDefault, evidence: false };
  }

  private use(label: string, d: number): void {
    const key = mmKey(label);
    const n = (this.labelUsers.get(key) ?? 0) + d;
    if (n > 0) {
      this.labelUsers.set(key, n);
      this.labelOf.set(key, label);
    } else {
      this.labelUsers.delete(key);
      this.labelOf.delete(key);
    }
  }

  /** A key no live mm has: `base`, else `base#1`, `base#2`, ... */
  private fresh(base: string): string {
    if (!this.labelUsers.has(base)) return base;
    for (let k = 1; ; k++) if (!this.labelUsers.has(`${base}#${k}`)) return `${base}#${k}`;
  }

  private async fork(task: number, mm: string, group: number, time: number): Promise<void> {
    this.alive.add(task);
    this.mmOf.set(task, mm);
    this.groupOf.set(task, group);
    this.use(mm, 1);
    this.s.tasks++;
    await this.emit('fork', { time, task, mm });
  }

  private async exit(task: number, time: number): Promise<void> {
    this.alive.delete(task);
    const mm = this.mmOf.get(task);
    if (mm !== undefined) this.use(mm, -1);
    this.mmOf.delete(task);
    this.groupOf.delete(task);
    this.s.exits++;
    await this.emit('exit', { time, task });
  }

  /**
   * The trace v1 task that runs when `pid` is switched in or out: forked on its first appearance,
   * 0 for the idle task, kernel threads and tasks that already exited.
   */
  async ensure(pid: number, comm: string, time: number): Promise<number> {
    const task = this.alias.get(pid) ?? pid;
    if (this.exited.has(task)) return 0;
    const d = this.decide(task, comm);
    if (d.kernel) {
      if (task !== 0 && !this.kthreads.has(task)) {
        this.kthreads.add(task);
        this.s.kernelThreads++;
        this.count(d, comm);
      }
      return 0;
    }
    if (!this.alive.has(task)) {
      this.count(d, comm);
      const tgid = this.tgids.get(task) ?? task;
      // the group's live mm (a thread), else a fresh one named after the task, or after the group
      // leader when the task is another thread of the group
      const label = this.labelOf.get(`p${tgid}`) ?? mmLabel(`p${tgid}`, (tgid !== task && this.comms.get(tgid)) || comm);
      await this.fork(task, label, tgid, time);
    }
    return task;
  }

  /** A `sched_switch` switched `pid` (run as `task`) out in `state`: a dead state is its exit. */
  async switchedOut(pid: number, task: number, state: string, time: number): Promise<void> {
    if (!isExitState(state)) return;
    const t = this.alias.get(pid) ?? pid;
    if (this.exited.delete(t)) {
      this.alias.delete(pid);
      return; // its exit was written at sched_process_exit
    }
    if (task !== 0 && this.alive.has(task)) await this.exit(task, time);
    else if (task === 0 && this.kthreads.delete(pid)) this.s.exits++;
  }

  /** Read a lifecycle event; false when `f` is not one. */
  async event(f: FtraceLine): Promise<boolean> {
    if (!(LIFECYCLE_EVENTS as readonly string[]).includes(f.event)) return false;
    const lc = (this.s.lifecycle ??= {});
    lc[f.event] = (lc[f.event] ?? 0) + 1;
    const b = f.body;
    const num = (name: string) => {
      const v = field(b, name);
      return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
    };
    switch (f.event) {
      case 'task_newtask': {
        const pid = num('pid');
        const flags = field(b, 'clone_flags');
        if (pid !== undefined && flags !== undefined && /^(0x)?[0-9a-fA-F]+$/.test(flags))
          this.cloneFlags.set(pid, parseInt(flags.replace(/^0x/, ''), 16));
        return true;
      }
      case 'sched_process_fork': {
        const parent = num('pid');
        const child = num('child_pid');
        if (parent === undefined || child === undefined) return true;
        await this.forked(parent, commField(b, 'comm'), child, commField(b, 'child_comm'), f.time);
        return true;
      }
      case 'sched_process_exec': {
        const pid = num('pid');
        const file = /(?:^|\s)filename=(.*?) pid=/.exec(b)?.[1];
        if (pid !== undefined) await this.execed(pid, num('old_pid') ?? pid, file ? execComm(file) : f.comm, f.time);
        return true;
      }
      case 'sched_process_exit': {
        const pid = num('pid');
        if (pid === undefined) return true;
        const task = this.alias.get(pid) ?? pid;
        if (this.alive.has(task)) {
          await this.exit(task, f.time);
          this.written('exits');
          this.exited.add(task);
        } else if (this.kthreads.delete(task)) {
          this.s.exits++;
          this.exited.add(task);
        } else if (task !== 0) this.exited.add(task);
        return true;
      }
      case 'sched_process_free': {
        const pid = num('pid');
        if (pid !== undefined) {
          this.exited.delete(this.alias.get(pid) ?? pid);
          this.alias.delete(pid);
        }
        return true;
      }
      default:
        return true; // task_rename: counted
    }
  }

  private written(k: 'threads' | 'processes' | 'execs' | 'exits'): void {
    const w = (this.s.lifecycleWritten ??= { threads: 0, processes: 0, execs: 0, exits: 0 });
    w[k]++;
  }

  private isKernelEvidence(pid: number): boolean {
    if (pid === 0 || pid === 2) return true;
    const e = this.evidence.get(pid);
    return e !== undefined && e.kernel && e.evidence;
  }

  private async forked(parent: number, parentComm: string, child: number, childComm: string, time: number): Promise<void> {
    const ptask = parent === 0 ? 0 : await this.ensure(parent, parentComm, time);
    const flags = this.cloneFlags.get(child);
    this.cloneFlags.delete(child);
    // a pid in use again: the recording missed its exit
    if (this.alive.has(child)) await this.exit(child, time);
    this.kthreads.delete(child);
    this.exited.delete(child);
    this.alias.delete(child);
    const d: Decision =
      this.override(childComm) ??
      (this.isKernelEvidence(parent) && ptask === 0
        ? { kernel: true, rule: RULES.descendant, evidence: true }
        : ptask !== 0
          ? { kernel: false, rule: RULES.forkedByUser, evidence: true }
          : isKernelThread(child, childComm)
            ? { kernel: true, rule: RULES.name, evidence: false }
            : { kernel: false, rule: RULES.userDefault, evidence: false });
    this.evidence.set(child, d);
    this.count(d, childComm);
    if (d.kernel) {
      this.kthreads.add(child);
      this.s.kernelThreads++;
      return;
    }
    const tgid = this.tgids.get(child);
    const pmm = ptask !== 0 ? this.mmOf.get(ptask) : undefined;
    const pgroup = this.groupOf.get(ptask) ?? parent;
    const shares =
      pmm !== undefined && (flags !== undefined ? (flags & CLONE_VM) !== 0 : tgid !== undefined && tgid !== child && tgid === pgroup);
    const group = flags !== undefined ? ((flags & CLONE_THREAD) !== 0 ? pgroup : child) : (tgid ?? child);
    await this.fork(child, shares && pmm !== undefined ? pmm : mmLabel(this.fresh(`p${group}`), childComm), group, time);
    this.written(shares ? 'threads' : 'processes');
  }

  private async execed(pid: number, oldPid: number, comm: string, time: number): Promise<void> {
    const task = this.alias.get(oldPid) ?? oldPid;
    const group = this.groupOf.get(task) ?? this.tgids.get(pid) ?? pid;
    // de_thread: every other thread of the group is gone before exec_mmap
    for (const t of [...this.alive]) {
      if (t !== task && this.groupOf.get(t) === group) {
        await this.exit(t, time);
        this.written('exits');
        this.exited.add(t); // it runs lazily until its last switch
      }
    }
    if (oldPid !== pid) this.alias.set(pid, task);
    this.exited.delete(task);
    const d: Decision = this.override(comm) ?? { kernel: false, rule: RULES.exec, evidence: true };
    this.evidence.set(task, d);
    if (d.kernel) return;
    // the n-th exec of the pid; a number a live mm already has (fresh() gave it) is skipped
    let n = (this.execs.get(pid) ?? 0) + 1;
    while (this.labelUsers.has(`p${pid}#${n}`)) n++;
    this.execs.set(pid, n);
    const label = mmLabel(`p${pid}#${n}`, comm);
    if (this.alive.has(task)) {
      const old = this.mmOf.get(task);
      if (old !== undefined) this.use(old, -1);
      this.mmOf.set(task, label);
      this.groupOf.set(task, pid);
      this.use(label, 1);
      await this.emit('exec', { time, task, mm: label });
    } else {
      this.kthreads.delete(task);
      this.count(d, comm);
      await this.fork(task, label, pid, time);
    }
    this.written('execs');
  }
}
