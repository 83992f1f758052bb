/**
 * Tasks and address spaces of an imported recording, from its scheduling and lifecycle events
 * (docs/recordings.md, "Tasks, address spaces and kernel threads").
 *
 * Without lifecycle events (a recording of `sched_switch` only) a pid's first appearance is its fork
 * into its thread group's mm (`p<tgid>`, or `p<pid>`), a dead `prev_state` is its exit, kernel
 * threads are known by their names (or by the systrace process dump: PPID 2). When the recording
 * has them, the kernel's own events decide instead, as include/trace/events/sched.h and task.h emit
 * them:
 *
 * - `task_newtask` (`copy_process`): the child's `clone_flags`; CLONE_VM (0x100) shares the parent's
 *   mm (a thread, or a vfork child), CLONE_THREAD (0x10000) puts it in the parent's thread group;
 *   without `sched_process_fork` in the recording it is the fork itself (its line's task is the parent);
 * - `sched_process_fork` (`kernel_clone`): parent and child; a child of kthreadd (pid 2), of the idle
 *   task or of another kernel thread known from this evidence is a kernel thread; a child of a user
 *   task is a user task, in the parent's mm (CLONE_VM, or a known TGID when `task_newtask` is not
 *   recorded) or a fresh one;
 * - `sched_process_exec` (`exec_binprm`, after `exec_mmap`): a fresh mm for the task; the other
 *   threads of its group have exited (`de_thread`); an exec from a non-leader thread continues
 *   under the leader's pid (`old_pid` -> `pid`); a kernel thread that execs becomes a user task;
 * - `sched_process_exit` (`do_exit`, after `exit_mm`): the exit; the task runs lazily (as task 0)
 *   until its last switch; `sched_process_free`: the pid may be reused;
 * - `task_rename` (`__set_task_comm`): a comm change, decided as below;
 * - perf's task records (`perf script --show-task-events`): `PERF_RECORD_COMM exec` is an exec,
 *   `PERF_RECORD_COMM` a comm change, `PERF_RECORD_FORK` a fork (a thread when the child's pid, its
 *   TGID, is its parent's), `PERF_RECORD_EXIT` an exit.
 *
 * Comm changes (a task's name in its events changes: sched_switch prev_comm/next_comm, the fork
 * events' comm, task_rename, PERF_RECORD_COMM; never the line's leading comm, which trace-cmd and
 * the kernel's `trace` file take from the saved cmdlines at print time). The kernel renames a task in
 * `__set_task_comm` (fs/exec.c), called by `begin_new_exec` on every exec (then `exec_binprm` emits
 * sched_process_exec) and by `set_task_comm` for prctl(PR_SET_NAME) (kernel/sys.c) and writes to
 * /proc/<pid>/comm (fs/proc/base.c `comm_write`, own thread group only). The first rule that applies:
 *
 * 1. a recording with the exec tracepoint (a sched_process_exec event, a PERF_RECORD_COMM exec
 *    record, or perf's header naming sched:sched_process_exec) says every exec: a comm change
 *    without one is a rename;
 * 2. `--comm-change exec|rename` when given (a kernel thread given another kernel thread's name
 *    stays a rename);
 * 3. a thread (its TGID, from the TGID column, clone flags, perf pid/tid or the process dump, is not
 *    its pid) is renamed: exec never leaves a non-leader (`de_thread`);
 * 4. an Android app process forked by zygote (its parent or its former name is zygote, zygote64,
 *    usap32, usap64, webview_zygote; app_process before its rename to zygote) renames itself
 *    without exec (Zygote specialization, AndroidRuntime::setArgv0 -> pthread_setname_np ->
 *    PR_SET_NAME): a rename;
 * 5. a kernel thread given another kernel thread's name is renamed (kthread_create's
 *    set_task_comm); given a program's name, it execs one (call_usermodehelper's kernel_execve);
 * 6. a group leader (pid = TGID): an exec;
 * 7. without TGIDs, an exec.
 *
 * `--user-tasks <regex>` and `--kernel-threads <regex>` (on the comm) override everything but pid 0.
 *
 * An address space is its thread group's and changes only by exec: its key is `p<tgid>`, or
 * `p<pid>#<n>` after the n-th exec of the pid, unique among the live mms; the label adds a name for
 * humans (`p6837:surfaceflinger`). A thread whose TGID names another task joins the group's mm; the
 * group leader is forked with it when not yet seen (it exists: the TGID is its pid), so that the mm
 * lives while the group does, not only while the threads the recording shows do.
 */
import type { EventKind } from '../trace/events.js';
import type { CommChange, ImportSummary } from './kinds.js';
import { type FtraceLine, isExitState, isKernelThread } from './ftrace-line.js';
import { PERF_TASK_EVENTS } from './perf-script.js';
import type { ProcessDump } from './process-dump.js';

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

/** perf's task records as the summary names them (perf-script.ts rewrites them into these events). */
const PERF_NAMES: Record<string, string> = {
  [PERF_TASK_EVENTS.comm]: 'PERF_RECORD_COMM',
  [PERF_TASK_EVENTS.commExec]: 'PERF_RECORD_COMM exec',
  [PERF_TASK_EVENTS.fork]: 'PERF_RECORD_FORK',
  [PERF_TASK_EVENTS.exit]: 'PERF_RECORD_EXIT',
};

/** Overrides of the kernel-thread and comm-change decisions. */
export interface TaskOptions {
  /** Tasks whose comm matches are kernel threads (checked after `userTasks`). */
  kernelThreads?: RegExp;
  /** Tasks whose comm matches are user tasks. */
  userTasks?: RegExp;
  /** A comm change that no exec event settles is this (rule 2 of the file comment). */
  commChange?: CommChange;
}

/** What the whole recording says about its tasks, known before the conversion (first pass, process dump). */
export interface RecordingFacts {
  /** The TGID of each pid the recording says (TGID column, perf pid/tid, process dump). */
  tgids: Map<number, number>;
  /** The first name the recording's sched_switch lines give each pid (names an mm first seen through another thread). */
  comms: Map<number, string>;
  /** The recording has the exec tracepoint (sched_process_exec events, PERF_RECORD_COMM exec, perf's header). */
  execTraced: boolean;
  /** It has sched_process_fork events (else a task_newtask is the fork: its line's task is the parent). */
  forkTraced: boolean;
  /** Android systrace's process dump. */
  dump?: ProcessDump;
}

/** The rules, as the summary names them. */
export const RULES = {
  userOverride: '--user-tasks',
  kernelOverride: '--kernel-threads',
  kthreadd: 'kthreadd (pid 2)',
  descendant: 'forked by kthreadd or another kernel thread',
  forkedByUser: 'forked by a user task',
  exec: 'exec of a program',
  commExec: 'exec inferred from a comm change',
  dumpKernel: 'PPID 2 in the process dump (a child of kthreadd, no address space)',
  dumpUser: 'in the process dump (not a child of kthreadd, or with an address space)',
  groupLeader: 'leader of a thread group (the TGID of a thread)',
  name: 'name of a kernel thread (no lifecycle event for it)',
  userDefault: 'not a kernel thread name (no lifecycle event for it)',
} as const;

/** The comm-change rules (file comment), as the summary names them. */
export const COMM_RULES = {
  traced: 'the recording has the exec tracepoint and no exec event for it',
  execFlag: '--comm-change exec',
  renameFlag: '--comm-change rename',
  zygote: 'an Android app process forked by zygote (renames itself, no exec)',
  kernelRenamed: "a kernel thread given a kernel thread's name",
  kernelExec: "a kernel thread given a program's name (kernel_execve)",
  leader: 'group leader (pid = TGID)',
  thread: 'a thread of its group (pid != TGID)',
  noTgid: 'no TGID in the recording (each pid is its own process)',
} as const;

/** Zygote and its kin (frameworks/base: Zygote, USAP pool, WebView zygote; app_process before it names itself zygote). */
const ZYGOTE_RE = /^(zygote(64)?|usap(32|64)|webview_zygote|app_process(32|64)?)$/;

interface Decision {
  kernel: boolean;
  rule: string;
  /** Decided by the recording's own events or an override (not by the name). */
  evidence: boolean;
}

/** The decisions by name alone (shared: a decision is never changed; one per switch of a known task would be garbage). */
const BY_NAME = {
  kernel: Object.freeze<Decision>({ kernel: true, rule: RULES.name, evidence: false }),
  user: Object.freeze<Decision>({ kernel: false, rule: RULES.userDefault, evidence: false }),
};

/** Names (and comm changes) the summary lists, per list. */
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

/** A comm an event gives, or undefined when it says nothing (`<...>`, empty). */
const known = (comm: string): string | undefined => {
  const c = comm.trim();
  return c === '' || c === '<...>' ? undefined : c;
};

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
  /** Tasks whose thread group the recording says (TGID, clone flags, perf pid/tid, process dump). */
  private readonly groupKnown = new Set<number>();
  /** Live mms by key (the label's part before `:`): their tasks, and their full label. */
  private readonly labelUsers = new Map<string, number>();
  private readonly labelOf = new Map<string, string>();
  /** A thread group's current mm (checked live before use). */
  private readonly groupMm = new Map<number, string>();
  private readonly evidence = new Map<number, Decision>();
  /** Pids that ran `do_exit` and have not been switched out for the last time (they run lazily). */
  private readonly exited = new Set<number>();
  /** Group leaders seen dead (no longer forked to hold their group's mm). */
  private readonly leaderGone = new Set<number>();
  /** pid -> trace v1 task id, after an exec from a non-leader thread. */
  private readonly alias = new Map<number, number>();
  private readonly cloneFlags = new Map<number, number>();
  private readonly execs = new Map<number, number>();
  /** The name of each live task as its latest event gave it. */
  private readonly commOf = new Map<number, string>();
  /** The parent's name of tasks whose fork the recording shows. */
  private readonly parentComm = new Map<number, string>();
  /** Tasks known to be zygote's children (they rename themselves). */
  private readonly zygoteChild = new Set<number>();
  /** With the exec tracepoint: a task_rename / PERF_RECORD_COMM waiting to see whether an exec follows. */
  private readonly pendingRename = new Map<number, string>();
  /** Every distinct name decided by name alone, per side (the summary shows the first ones). */
  private readonly byName = { kernel: new Set<string>(), user: new Set<string>() };

  /**
   * @param facts what the recording says about its tasks as a whole.
   * @param emit  writes an event.
   * @param s     the summary to count into.
   * @param opts  overrides of the kernel-thread and comm-change decisions.
   */
  constructor(
    private readonly facts: RecordingFacts,
    private readonly emit: Emit,
    private readonly s: ImportSummary,
    private readonly opts: TaskOptions = {},
  ) {}

  private get tgids(): Map<number, number> {
    return this.facts.tgids;
  }

  private count(d: Decision, comm: string): void {
    const r = (this.s.taskRules ??= { kernel: {}, user: {} });
    const side = d.kernel ? r.kernel : r.user;
    side[d.rule] = (side[d.rule] ?? 0) + 1;
    if (d.evidence) return;
    // decided by the name alone: the summary names them, so that a wrong guess can be overridden
    const names = (this.s.decidedByName ??= { kernel: [], user: [] });
    const all = d.kernel ? this.byName.kernel : this.byName.user;
    const c = comm.trim() || '<...>';
    if (all.has(c)) return;
    all.add(c);
    const list = d.kernel ? names.kernel : names.user;
    if (list.length < NAMES_SHOWN) list.push(c);
    else {
      const more = (names.more ??= { kernel: 0, user: 0 });
      more[d.kernel ? 'kernel' : 'user']++;
    }
  }

  private override(comm: string): Decision | undefined {
    if (this.opts.userTasks?.test(comm)) return { kernel: false, rule: RULES.userOverride, evidence: true };
    if (this.opts.kernelThreads?.test(comm)) return { kernel: true, rule: RULES.kernelOverride, evidence: true };
    return undefined;
  }

  /** What the process dump says of a pid (its process row, or its thread group's). */
  private fromDump(pid: number): Decision | undefined {
    const dump = this.facts.dump;
    if (!dump) return undefined;
    const p = dump.processes.get(dump.tgids.get(pid) ?? pid);
    if (!p) return undefined;
    return p.kernel ? { kernel: true, rule: RULES.dumpKernel, evidence: true } : { kernel: false, rule: RULES.dumpUser, evidence: true };
  }

  private decide(pid: number, comm: string): Decision {
    const o = this.override(comm);
    if (o) return o;
    if (pid === 2) return { kernel: true, rule: RULES.kthreadd, evidence: true };
    const e = this.evidence.get(pid) ?? (pid !== 0 ? this.fromDump(pid) : undefined);
    if (e) return e;
    return isKernelThread(pid, comm) ? BY_NAME.kernel : BY_NAME.user;
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

  /** The live mm of thread group `group`, if any. */
  private liveGroupMm(group: number): string | undefined {
    const l = this.groupMm.get(group);
    return l !== undefined && this.labelOf.get(mmKey(l)) === l ? l : undefined;
  }

  private async fork(task: number, mm: string, group: number, time: number): Promise<void> {
    this.alive.add(task);
    this.mmOf.set(task, mm);
    this.groupOf.set(task, group);
    this.groupMm.set(group, mm);
    this.use(mm, 1);
    this.s.tasks++;
    await this.emit('fork', { time, task, mm });
  }

  private async exit(task: number, time: number): Promise<void> {
    this.alive.delete(task);
    const mm = this.mmOf.get(task);
    if (mm !== undefined) this.use(mm, -1);
    if (this.groupOf.get(task) === task) this.leaderGone.add(task);
    this.mmOf.delete(task);
    this.groupOf.delete(task);
    this.commOf.delete(task);
    this.s.exits++;
    await this.emit('exit', { time, task });
  }

  /**
   * Note a task's name from an event, and decide a change of it (file comment). Synchronous unless
   * the change is an exec (then the promise of its events): a switch of a known task, the common
   * case of an import, costs no promise.
   */
  private named(task: number, comm: string, time: number, via: string): Promise<void> | undefined {
    const c = known(comm);
    if (c === undefined || task === 0) return;
    const old = this.commOf.get(task);
    this.commOf.set(task, c);
    if (old === undefined || old === c || !(this.alive.has(task) || this.kthreads.has(task))) return;
    if (ZYGOTE_RE.test(old) && !ZYGOTE_RE.test(c)) this.zygoteChild.add(task);
    const [exec, rule] = this.commRule(task, old, c);
    if (this.facts.execTraced && via !== 'sched_switch') {
      // task_rename / PERF_RECORD_COMM: the exec event, if any, comes next (begin_new_exec renames before exec_binprm's trace)
      this.pendingRename.set(task, `${task} ${old} -> ${c} (rename)`);
      return;
    }
    const cc = (this.s.commChanges ??= { execs: {}, renames: {}, shown: [], more: 0 });
    const side = exec ? cc.execs : cc.renames;
    side[rule] = (side[rule] ?? 0) + 1;
    this.show(`${task} ${old} -> ${c} (${exec ? 'exec' : 'rename'})`);
    return exec ? this.execed(task, task, c, time, RULES.commExec) : undefined;
  }

  private show(text: string): void {
    const cc = (this.s.commChanges ??= { execs: {}, renames: {}, shown: [], more: 0 });
    if (cc.shown.length < NAMES_SHOWN) cc.shown.push(text);
    else cc.more++;
  }

  /** A rename that waited for an exec that did not come: count it. */
  private settleRename(task: number): void {
    const text = this.pendingRename.get(task);
    if (text === undefined) return;
    this.pendingRename.delete(task);
    const cc = (this.s.commChanges ??= { execs: {}, renames: {}, shown: [], more: 0 });
    cc.renames[COMM_RULES.traced] = (cc.renames[COMM_RULES.traced] ?? 0) + 1;
    this.show(text);
  }

  /** Count the renames still waiting (at the end of the recording). */
  finish(): void {
    for (const t of [...this.pendingRename.keys()]) this.settleRename(t);
  }

  /** [exec?, rule] for a comm change of `task` from `old` to `comm` that no exec event explains. */
  private commRule(task: number, old: string, comm: string): [boolean, string] {
    if (this.facts.execTraced) return [false, COMM_RULES.traced];
    const kernel = this.kthreads.has(task);
    if (kernel && isKernelThread(task, comm)) return [false, COMM_RULES.kernelRenamed];
    if (this.opts.commChange) return this.opts.commChange === 'exec' ? [true, COMM_RULES.execFlag] : [false, COMM_RULES.renameFlag];
    const group = this.tgids.get(task) ?? (this.groupKnown.has(task) ? this.groupOf.get(task) : undefined);
    if (group !== undefined && group !== task && !kernel) return [false, COMM_RULES.thread];
    if (this.isZygoteChild(task, old, comm)) return [false, COMM_RULES.zygote];
    if (kernel) return [true, COMM_RULES.kernelExec];
    if (group !== undefined) return [true, COMM_RULES.leader];
    return [true, COMM_RULES.noTgid];
  }

  private isZygoteChild(task: number, old: string, comm: string): boolean {
    if (this.zygoteChild.has(task)) return true;
    if (ZYGOTE_RE.test(old) && !/^app_process/.test(old)) return true; // a fork of zygote, still with its parent's name
    if (/^app_process/.test(old) && /^zygote/.test(comm)) return true; // app_process names itself zygote (setArgv0)
    const parent = this.parentComm.get(task);
    if (parent !== undefined && ZYGOTE_RE.test(parent)) return true;
    const dump = this.facts.dump;
    const p = dump?.processes.get(dump.tgids.get(task) ?? task);
    const pp = p ? dump!.processes.get(p.ppid) : undefined;
    return pp !== undefined && (ZYGOTE_RE.test(pp.name) || ZYGOTE_RE.test(pp.comm ?? ''));
  }

  /**
   * The trace v1 task that runs when `pid` is switched in or out: forked on its first appearance,
   * 0 for the idle task, kernel threads and tasks that already exited. `comm` is the name the event
   * gives the task at that time (a change of it is decided by {@link named}). The task id itself
   * when nothing is written (a known task: the common case), else the promise of it.
   */
  ensure(pid: number, comm: string, time: number): number | Promise<number> {
    const task = this.alias.get(pid) ?? pid;
    if (this.exited.has(task)) return 0;
    if (task !== 0) {
      this.settleRename(task);
      const renamed = this.named(task, comm, time, 'sched_switch');
      if (renamed) return renamed.then(() => this.ensured(task, comm, time));
    }
    return this.ensured(task, comm, time);
  }

  /** {@link ensure} once the name is noted. */
  private ensured(task: number, comm: string, time: number): number | Promise<number> {
    // a kernel thread stays one whatever its name becomes (a rename; an exec made it a user task above)
    const d = this.kthreads.has(task) ? (this.override(comm) ?? BY_NAME.kernel) : this.decide(task, comm);
    if (d.kernel) {
      if (task !== 0 && !this.kthreads.has(task)) {
        this.kthreads.add(task);
        this.s.kernelThreads++;
        this.count(d, comm);
      }
      return 0;
    }
    return this.alive.has(task) ? task : this.appear(task, comm, d, time);
  }

  /** A user task's first appearance: forked (with its group's leader first when that is another task). */
  private async appear(task: number, comm: string, d: Decision, time: number): Promise<number> {
    this.count(d, comm);
    const tgid = this.tgids.get(task) ?? task;
    if (this.tgids.has(task)) this.groupKnown.add(task);
    if (tgid !== task) await this.holdGroup(tgid, comm, time);
    // the group's live mm (a thread), else a fresh one named after the task, or after the group
    // leader when the task is another thread of the group
    const label = this.liveGroupMm(tgid) ?? mmLabel(this.fresh(`p${tgid}`), (tgid !== task && this.facts.comms.get(tgid)) || comm);
    await this.fork(task, label, tgid, time);
    const c = known(comm);
    if (c !== undefined) this.commOf.set(task, c);
    return task;
  }

  /**
   * A thread of group `tgid` appears: the leader exists (the TGID is its pid), so it is forked first
   * when it is neither alive nor known to be gone; it holds the group's mm (named after the leader
   * when the recording or its process dump names it, else after the thread, `threadComm`).
   */
  private async holdGroup(tgid: number, threadComm: string, time: number): Promise<void> {
    if (tgid === 0 || this.alive.has(tgid) || this.kthreads.has(tgid) || this.leaderGone.has(tgid) || this.exited.has(tgid)) return;
    if (this.alias.has(tgid) || this.liveGroupMm(tgid) !== undefined) return;
    const name = this.facts.comms.get(tgid) ?? this.facts.dump?.threadNames.get(tgid) ?? '';
    const d: Decision = (name ? this.override(name) : undefined) ?? { kernel: false, rule: RULES.groupLeader, evidence: true };
    if (d.kernel) return;
    this.count(d, name);
    this.groupKnown.add(tgid);
    await this.fork(tgid, mmLabel(this.fresh(`p${tgid}`), name || threadComm), tgid, time);
  }

  /**
   * A `sched_switch` switched `pid` (run as `task`) out in `state`: a dead state is its exit.
   * Synchronous unless it writes the exit (then the promise of it).
   */
  switchedOut(pid: number, task: number, state: string, time: number): Promise<void> | undefined {
    if (!isExitState(state)) return undefined;
    const t = this.alias.get(pid) ?? pid;
    if (this.exited.delete(t)) {
      this.alias.delete(pid);
      return undefined; // its exit was written at sched_process_exit
    }
    if (task !== 0 && this.alive.has(task)) return this.exit(task, time);
    if (task === 0 && this.kthreads.delete(pid)) this.s.exits++;
    return undefined;
  }

  /** Read a lifecycle event; false when `f` is not one. */
  async event(f: FtraceLine): Promise<boolean> {
    const perf = PERF_NAMES[f.event];
    if (!perf && !(LIFECYCLE_EVENTS as readonly string[]).includes(f.event)) return false;
    const lc = (this.s.lifecycle ??= {});
    const name = perf ?? f.event;
    lc[name] = (lc[name] ?? 0) + 1;
    const b = f.body;
    const num = (name: string) => {
      const v = field(b, name);
      return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
    };
    switch (f.event) {
      case 'task_newtask': {
        const pid = num('pid');
        const flags = field(b, 'clone_flags');
        if (pid === undefined || flags === undefined || !/^(0x)?[0-9a-fA-F]+$/.test(flags)) return true;
        const value = parseInt(flags.replace(/^0x/, ''), 16);
        if (this.facts.forkTraced) this.cloneFlags.set(pid, value);
        // no sched_process_fork in the recording: copy_process runs in the parent, the line's task;
        // the child's comm is the parent's, copied by dup_task_struct
        else await this.forked(f.pid, commField(b, 'comm'), pid, commField(b, 'comm'), f.time, value);
        return true;
      }
      case 'sched_process_fork': {
        const parent = num('pid');
        const child = num('child_pid');
        if (parent === undefined || child === undefined) return true;
        await this.forked(parent, commField(b, 'comm'), child, commField(b, 'child_comm'), f.time);
        return true;
      }
      case PERF_TASK_EVENTS.fork: {
        const [pid, tid, ppid, ptid] = [num('pid'), num('tid'), num('ppid'), num('ptid')];
        if (pid === undefined || tid === undefined || ppid === undefined || ptid === undefined) return true;
        // the same TGID as the parent: a thread (CLONE_THREAD, which needs CLONE_VM); else a process
        const flags = pid === ppid && tid !== pid ? CLONE_VM | CLONE_THREAD : 0;
        const pc = this.commOf.get(this.alias.get(ptid) ?? ptid) ?? f.comm;
        await this.forked(ptid, '', tid, pc, f.time, flags);
        return true;
      }
      case 'sched_process_exec': {
        const pid = num('pid');
        const file = /(?:^|\s)filename=(.*?) pid=/.exec(b)?.[1];
        if (pid !== undefined) {
          this.pendingRename.delete(this.alias.get(pid) ?? pid);
          await this.execed(pid, num('old_pid') ?? pid, file ? execComm(file) : f.comm, f.time);
        }
        return true;
      }
      case PERF_TASK_EVENTS.commExec: {
        // after de_thread the task that execs has its group's pid: tid = pid
        const tid = num('tid');
        if (tid !== undefined) {
          this.pendingRename.delete(this.alias.get(tid) ?? tid);
          await this.execed(tid, tid, commField(b, 'comm'), f.time);
        }
        return true;
      }
      case 'task_rename':
      case PERF_TASK_EVENTS.comm: {
        // task_rename: pid (none since the field was dropped: then the line's task, current); PERF_RECORD_COMM: tid
        const pid = num(f.event === 'task_rename' ? 'pid' : 'tid') ?? f.pid;
        const task = this.alias.get(pid) ?? pid;
        this.settleRename(task);
        const comm = commField(b, f.event === 'task_rename' ? 'newcomm' : 'comm');
        await this.named(task, comm, f.time, f.event);
        return true;
      }
      case 'sched_process_exit':
      case PERF_TASK_EVENTS.exit: {
        const pid = num(f.event === 'sched_process_exit' ? 'pid' : 'tid');
        if (pid === undefined) return true;
        const task = this.alias.get(pid) ?? pid;
        this.settleRename(task);
        if (this.alive.has(task)) {
          await this.exit(task, f.time);
          this.written('exits');
          this.exited.add(task);
        } else if (this.kthreads.delete(task)) {
          this.s.exits++;
          this.exited.add(task);
        } else if (task !== 0) this.exited.add(task);
        if (task !== 0) this.leaderGone.add(task);
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
        return true;
    }
  }

  private written(k: 'threads' | 'processes' | 'execs' | 'exits' | 'kernelThreads'): void {
    const w = (this.s.lifecycleWritten ??= { threads: 0, processes: 0, execs: 0, exits: 0, kernelThreads: 0 });
    w[k] = (w[k] ?? 0) + 1;
  }

  private isKernelEvidence(pid: number): boolean {
    if (pid === 0 || pid === 2) return true;
    const e = this.evidence.get(pid);
    return e !== undefined && e.kernel && e.evidence;
  }

  private async forked(parent: number, parentComm: string, child: number, childComm: string, time: number, given?: number): Promise<void> {
    const ptask = parent === 0 ? 0 : await this.ensure(parent, parentComm, time);
    const flags = given ?? this.cloneFlags.get(child);
    this.cloneFlags.delete(child);
    // a pid in use again: the recording missed its exit
    if (this.alive.has(child)) await this.exit(child, time);
    this.kthreads.delete(child);
    this.exited.delete(child);
    this.alias.delete(child);
    this.leaderGone.delete(child);
    this.pendingRename.delete(child);
    const pc = known(parentComm) ?? this.commOf.get(ptask);
    if (pc !== undefined) this.parentComm.set(child, pc);
    else this.parentComm.delete(child);
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
    const c = known(childComm);
    if (c !== undefined) this.commOf.set(child, c);
    else this.commOf.delete(child);
    if (d.kernel) {
      this.kthreads.add(child);
      this.s.kernelThreads++;
      this.written('kernelThreads');
      return;
    }
    const tgid = this.tgids.get(child);
    const pmm = ptask !== 0 ? this.mmOf.get(ptask) : undefined;
    const pgroup = this.groupOf.get(ptask) ?? parent;
    const shares =
      pmm !== undefined && (flags !== undefined ? (flags & CLONE_VM) !== 0 : tgid !== undefined && tgid !== child && tgid === pgroup);
    const group = flags !== undefined ? ((flags & CLONE_THREAD) !== 0 ? pgroup : child) : (tgid ?? child);
    if (flags !== undefined || tgid !== undefined) this.groupKnown.add(child);
    await this.fork(child, shares && pmm !== undefined ? pmm : mmLabel(this.fresh(`p${group}`), childComm), group, time);
    this.written(shares ? 'threads' : 'processes');
  }

  private async execed(pid: number, oldPid: number, comm: string, time: number, rule: string = RULES.exec): Promise<void> {
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
    const c = known(comm);
    if (c !== undefined) this.commOf.set(task, c);
    const d: Decision = this.override(comm) ?? { kernel: false, rule, evidence: true };
    this.evidence.set(task, d);
    if (rule === RULES.exec) this.groupKnown.add(task); // an exec event: the task is its group's leader now
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
      this.groupMm.set(pid, label);
      this.use(label, 1);
      await this.emit('exec', { time, task, mm: label });
    } else {
      this.kthreads.delete(task);
      this.count(d, comm);
      await this.fork(task, label, pid, time);
    }
    if (rule === RULES.exec) this.written('execs'); // an inferred one is counted with the comm changes
  }
}
