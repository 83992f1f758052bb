/**
 * Delta debugging of a failing trace: ddmin over events (Zeller and Hildebrandt, "Simplifying and
 * isolating failure-inducing input", TSE 2002), preceded by removing whole tasks and address spaces
 * and followed by dense renaming, keeping one finding kind. The result is 1-minimal: removing any
 * single event loses the finding (or makes the trace impossible to replay).
 */
import { EventError } from '../model/errors.js';
import type { KernelParts } from '../model/kernel/parts.js';
import { createSystem, step } from '../model/system.js';
import type { TraceEvent } from '../trace/events.js';
import type { SystemConfig } from '../trace/system.js';
import { FindingRecorder } from './recorder.js';

/** Progress of a shrink: tests run and the current length. */
export interface ShrinkProgress {
  tests: number;
  events: number;
  phase: 'groups' | 'ddmin' | 'single' | 'merge' | 'rename';
}

/** Whether replaying `events` on `system` produces a finding of `kind` (false if an event is impossible). */
export function hasFinding(system: SystemConfig, events: readonly TraceEvent[], kind: string, parts?: KernelParts): boolean {
  const m = createSystem(system, parts);
  const obs = new FindingRecorder(system.smmus.length, new Set([kind]));
  try {
    for (const e of events) {
      step(m, e, obs);
      if (obs.found.length > 0) return true;
    }
  } catch (e) {
    if (e instanceof EventError) return false;
    throw e;
  }
  return false;
}

/** Every finding kind replaying `events` produces, in order of first appearance (throws EventError). */
export function findingKinds(system: SystemConfig, events: readonly TraceEvent[], parts?: KernelParts): string[] {
  const m = createSystem(system, parts);
  const obs = new FindingRecorder(system.smmus.length, null);
  for (const e of events) step(m, e, obs);
  return [...new Set(obs.found.map((f) => f.kind))];
}

/** Options of {@link shrink}. */
export interface ShrinkOptions {
  onProgress?: (p: ShrinkProgress) => void;
  /** Skip dense renaming. */
  keepNames?: boolean;
  /** The kernel functions to replay with (a design's; the base ones when absent). */
  parts?: KernelParts;
}

/**
 * Shrink `events` (which must produce a finding of `kind`) to a 1-minimal trace with that finding.
 * Rows of the result are renumbered 1..n.
 */
export function shrink(system: SystemConfig, events: readonly TraceEvent[], kind: string, o: ShrinkOptions = {}): TraceEvent[] {
  let tests = 0;
  let phase: ShrinkProgress['phase'] = 'groups';
  let cur = events.slice();
  const fails = (evs: readonly TraceEvent[]) => {
    tests++;
    if (o.onProgress && (tests & 63) === 0) o.onProgress({ tests, events: cur.length, phase });
    return hasFinding(system, evs, kind, o.parts);
  };
  // Cut the trace after the event that produces the finding.
  const m = createSystem(system, o.parts);
  const obs = new FindingRecorder(system.smmus.length, new Set([kind]));
  for (let i = 0; i < cur.length; i++) {
    step(m, cur[i]!, obs);
    if (obs.found.length > 0) {
      cur = cur.slice(0, i + 1);
      break;
    }
  }
  // 1. Whole tasks, address spaces, devices, domains, operations: their events all at once.
  const groupsOf = (e: TraceEvent): string[] => {
    const g: string[] = [];
    if (e.task !== undefined && e.task !== 0) g.push(`t${e.task}`);
    if (e.mm !== undefined) g.push(`m${e.mm}`);
    if (e.device !== undefined) g.push(`d${e.device}`);
    if (e.domain !== undefined) g.push(`D${e.domain}`);
    if (e.op !== undefined) g.push(`o${e.op}`);
    return g;
  };
  let changed = true;
  while (changed) {
    changed = false;
    const groups = [...new Set(cur.flatMap(groupsOf))];
    for (const g of groups) {
      // A task goes with nothing else; an mm with the tasks forked into it.
      let drop = new Set([g]);
      if (g.startsWith('m')) for (const e of cur) if (e.kind === 'fork' && `m${e.mm}` === g) drop.add(`t${e.task}`);
      const next = cur.filter((e) => !groupsOf(e).some((x) => drop.has(x)));
      if (next.length < cur.length && fails(next)) {
        cur = next;
        changed = true;
      }
      drop = new Set();
    }
  }
  // 2. ddmin over complements.
  const ddmin = () => {
    phase = 'ddmin';
    let n = 2;
    while (cur.length >= 2) {
      const size = Math.ceil(cur.length / n);
      let reduced = false;
      for (let start = 0; start < cur.length; start += size) {
        const next = cur.slice(0, start).concat(cur.slice(start + size));
        if (fails(next)) {
          cur = next;
          n = Math.max(n - 1, 2);
          reduced = true;
          break;
        }
      }
      if (!reduced) {
        if (n >= cur.length) break;
        n = Math.min(n * 2, cur.length);
      }
    }
  };
  ddmin();
  // 3. 1-minimality, checked event by event (ddmin ends there too; this also covers the renaming).
  phase = 'single';
  const singles = () => {
    for (let i = cur.length - 1; i >= 0; i--) {
      const next = cur.slice(0, i).concat(cur.slice(i + 1));
      if (fails(next)) cur = next;
    }
  };
  singles();
  // 4. Fewer tasks: give a forked process's work to a live task by exec (one event instead of a fork and
  // a schedule), kept when the finding survives; ddmin cannot make this rewrite, it only removes.
  phase = 'merge';
  // A merge may need a switch into an mm replaced by a pin of it first (both run new_context): such
  // substitutions are tried one step ahead of a merge, and kept only with a merge that succeeds.
  const mergeOnce = (from: readonly TraceEvent[]) => {
    for (const next of mergeCandidates(from)) if (fails(next)) return next;
    return undefined;
  };
  for (let round = true; round;) {
    round = false;
    phase = 'merge';
    for (let merged: TraceEvent[] | undefined = cur; merged;) {
      merged = mergeOnce(cur);
      for (const sub of merged ? [] : pinSubstitutions(cur)) if (fails(sub) && (merged = mergeOnce(sub))) break;
      if (merged) {
        cur = merged;
        round = true;
      }
    }
    // A merge can make several events removable at once only together (a pin and its unpin).
    if (round) {
      ddmin();
      phase = 'single';
      singles();
    }
  }
  // 5. Dense names: tasks 1.., mms A.., CPUs 0.. in order of first use (kept only if the finding stays).
  if (!o.keepNames) {
    phase = 'rename';
    const renamed = rename(cur);
    if (fails(renamed)) {
      cur = renamed;
      singles();
    }
  }
  o.onProgress?.({ tests, events: cur.length, phase });
  return cur.map((e, i) => ({ ...e, row: i + 1 }));
}

/**
 * Traces in which one fork of a fresh address space is replaced by an `exec` of another live task
 * (`exec_mmap` gives it the fresh mm; on a CPU it runs, `activate_mm` switches to it at once), the
 * forked task's later events then naming the exec'ing task. Two places for the exec: the fork's own
 * (a task that is not running takes the mm, its later schedules switch to it) and the forked task's
 * first `schedule` (a task running on that CPU switches to the mm there). Candidates whose events
 * cannot be replayed are simply rejected by the test.
 */
export function* mergeCandidates(events: readonly TraceEvent[]): Generator<TraceEvent[]> {
  const seenMm = new Set<string>();
  const live = new Set<number>();
  for (let i = 0; i < events.length; i++) {
    const f = events[i]!;
    const fresh = f.kind === 'fork' && f.mm !== undefined && !seenMm.has(f.mm);
    if (fresh && f.task !== undefined && f.mm !== undefined) {
      const b = f.task;
      // The same task id forked again after its exit: the task could have exec'd instead.
      let exited = i - 1;
      while (exited >= 0 && !(events[exited]!.kind === 'exit' && events[exited]!.task === b)) exited--;
      if (exited >= 0 && !events.some((e, j) => j > exited && j < i && e.task === b))
        yield events
          .slice(0, exited)
          .concat(events.slice(exited + 1, i), [withSrc({ row: f.row, kind: 'exec', task: b, mm: f.mm }, f)], events.slice(i + 1));
      const firstRun = events.findIndex((e, j) => j > i && e.task === b);
      for (const a of live) {
        if (a === b) continue;
        const exec: TraceEvent = { row: f.row, kind: 'exec', task: a, mm: f.mm };
        yield reassign(events, i, [withSrc(exec, f)], i + 1, b, a);
        const s = events[firstRun];
        if (s?.kind === 'schedule')
          yield reassign(
            events.slice(0, i).concat(events.slice(i + 1)),
            firstRun - 1,
            [withSrc({ ...exec, row: s.row }, s)],
            firstRun,
            b,
            a,
          );
      }
    }
    if (f.mm !== undefined) seenMm.add(f.mm);
    if (f.kind === 'fork' && f.task !== undefined) live.add(f.task);
    if (f.kind === 'exit' && f.task !== undefined) live.delete(f.task);
  }
}

/**
 * Traces in which one `schedule cpu task` is replaced by `pin mm` of the task's mm: both run the
 * allocator's `new_context` for an mm of an old generation (`check_and_switch_context`,
 * `arm64_mm_context_get`), and a pin leaves the CPUs where they were, which lets a later merge reuse
 * the task.
 */
export function* pinSubstitutions(events: readonly TraceEvent[]): Generator<TraceEvent[]> {
  const mmOf = new Map<number, string>();
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if ((e.kind === 'fork' || e.kind === 'exec') && e.task !== undefined && e.mm !== undefined) mmOf.set(e.task, e.mm);
    const mm = e.kind === 'schedule' && e.task !== undefined ? mmOf.get(e.task) : undefined;
    if (mm !== undefined) yield events.slice(0, i).concat([withSrc({ row: e.row, kind: 'pin', mm }, e)], events.slice(i + 1));
  }
}

/** `e` with the provenance (`src`) of the event it replaces, if that one has any. */
const withSrc = (e: TraceEvent, from: TraceEvent): TraceEvent => (from.src === undefined ? e : { ...e, src: from.src });

/** `events` with `[at, resumeAt)` replaced by `insert`, and task `from` renamed `to` after it (until `from` is forked again). */
function reassign(
  events: readonly TraceEvent[],
  at: number,
  insert: TraceEvent[],
  resumeAt: number,
  from: number,
  to: number,
): TraceEvent[] {
  const out = events.slice(0, at).concat(insert);
  let renaming = true;
  for (let j = resumeAt; j < events.length; j++) {
    const e = events[j]!;
    if (e.kind === 'fork' && e.task === from) renaming = false;
    out.push(renaming && e.task === from ? { ...e, task: to } : e);
  }
  return out;
}

/** Name number `i` (0-based) as A..Z, then A1.. */
const letters = (i: number) => String.fromCharCode(65 + (i % 26)) + (i >= 26 ? String(Math.floor(i / 26)) : '');

/**
 * Rename tasks (1..), mms (A..), domains (D1..), operations (op1..) and CPUs (0..) in order of first
 * use; times are dropped. Task 0 (idle) stays 0.
 */
export function rename(events: readonly TraceEvent[]): TraceEvent[] {
  const tasks = new Map<number, number>([[0, 0]]);
  const mms = new Map<string, string>();
  const doms = new Map<string, string>();
  const ops = new Map<string, string>();
  const cpus = new Map<number, number>();
  const get = <K, V>(map: Map<K, V>, k: K, make: (i: number) => V) => {
    let v = map.get(k);
    if (v === undefined) map.set(k, (v = make(map.size)));
    return v;
  };
  return events.map((e) => {
    const r: TraceEvent = { row: e.row, kind: e.kind };
    if (e.cpu !== undefined) r.cpu = get(cpus, e.cpu, (i) => i);
    if (e.task !== undefined) r.task = get(tasks, e.task, (i) => i);
    if (e.mm !== undefined) r.mm = get(mms, e.mm, letters);
    if (e.device !== undefined) r.device = e.device;
    if (e.domain !== undefined) r.domain = get(doms, e.domain, (i) => `D${i + 1}`);
    if (e.pasid !== undefined) r.pasid = e.pasid;
    if (e.va !== undefined) r.va = e.va;
    if (e.size !== undefined) r.size = e.size;
    if (e.prot !== undefined) r.prot = e.prot;
    if (e.op !== undefined) r.op = get(ops, e.op, (i) => `op${i + 1}`);
    if (e.src !== undefined) r.src = e.src;
    return r;
  });
}
