/**
 * Delta debugging of a failing trace: ddmin over events (Zeller and Hildebrandt, "Simplifying and
 * isolating failure-inducing input", TSE 2002), preceded by removing whole tasks and address spaces
 * and followed by dense renaming, keeping one finding kind. The result is 1-minimal: removing any
 * single event loses the finding (or makes the trace impossible to replay).
 */
import { EventError } from '../model/errors.js';
import { createSystem, step } from '../model/system.js';
import type { TraceEvent } from '../trace/events.js';
import type { SystemConfig } from '../trace/system.js';
import { FindingRecorder } from '../explore/recorder.js';

/** Progress of a shrink: tests run and the current length. */
export interface ShrinkProgress {
  tests: number;
  events: number;
  phase: 'groups' | 'ddmin' | 'single' | 'rename';
}

/** Whether replaying `events` on `system` produces a finding of `kind` (false if an event is impossible). */
export function hasFinding(system: SystemConfig, events: readonly TraceEvent[], kind: string): boolean {
  const m = createSystem(system);
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
export function findingKinds(system: SystemConfig, events: readonly TraceEvent[]): string[] {
  const m = createSystem(system);
  const obs = new FindingRecorder(system.smmus.length, null);
  for (const e of events) step(m, e, obs);
  return [...new Set(obs.found.map((f) => f.kind))];
}

/** Options of {@link shrink}. */
export interface ShrinkOptions {
  onProgress?: (p: ShrinkProgress) => void;
  /** Skip dense renaming. */
  keepNames?: boolean;
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
    return hasFinding(system, evs, kind);
  };
  // Cut the trace after the event that produces the finding.
  const m = createSystem(system);
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
  // 3. 1-minimality, checked event by event (ddmin ends there too; this also covers the renaming).
  phase = 'single';
  const singles = () => {
    for (let i = cur.length - 1; i >= 0; i--) {
      const next = cur.slice(0, i).concat(cur.slice(i + 1));
      if (fails(next)) cur = next;
    }
  };
  singles();
  // 4. Dense names: tasks 1.., mms A.., CPUs 0.. in order of first use (kept only if the finding stays).
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
    return r;
  });
}
