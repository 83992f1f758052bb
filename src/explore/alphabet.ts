/**
 * The event alphabet of the search: which events can follow a state, with concrete names.
 *
 * A new task is created at its first use: "schedule a new task" is one action of two events
 * (`fork` then `schedule`), as are "schedule a new thread of mm M" and "pin a new mm", so that
 * `--depth` counts the events that do something (tasks exist from the start in the kernel-tla
 * `asidalloc` model). A thread is only added to an mm whose live tasks are all running: an idle
 * thread of the same mm would do the same. A task runs on one CPU at a time.
 *
 * With `access` in the alphabet, a task switched in touches the page at once (`schedule` then
 * `access`), as kernel-tla's `cpu_switch_mm` fills a TLB entry for the task's page: a TLB entry
 * can only add hazards, never hide one, so the search loses no finding by always taking it.
 */
import { ctxAsid } from '../model/cpu/allocator.js';
import { walkMm } from '../model/cpu/index.js';
import type { SystemModel } from '../model/system.js';
import { type EventKind, PROT_READ, PROT_WRITE, type TraceEvent } from '../trace/events.js';

/** An event without its row. */
export type ExploreEvent = Omit<TraceEvent, 'row'>;
/** One edge of the search: one event, or a fork followed by the event that uses the new task. */
export type Action = readonly ExploreEvent[];

/** The page the alphabet touches (`access`, `map`, `unmap`, `mprotect`): 0x1000. */
export const PAGE = 1;
export const VA = 0x1000;
const SIZE = 0x1000;
const RW = PROT_READ | PROT_WRITE;

export { ALPHABET_KINDS, DEFAULT_CPU_KINDS, DEFAULT_DEVICE_KINDS } from './kinds.js';
/** Bounds of the alphabet. */
export interface AlphabetBounds {
  /** Most live tasks. */
  tasks: number;
  /** Most live address spaces. */
  mms: number;
  /** Most pins held at once (refused ones included, until their unpin). */
  pins: number;
  /** Devices used (the first N of the system). */
  devices: number;
  /** DMA domains used (D1..DN). */
  domains: number;
}

/** Lowest positive task id not alive. */
function freeTask(m: SystemModel): number {
  let t = 1;
  while (m.cpu.tasks.has(t)) t++;
  return t;
}

/** A label never used by this model's mms (`m<key>`; explore renames them densely in its output). */
const freeLabel = (m: SystemModel): string => `m${m.cpu.nextKey}`;

/** Every action enabled in `m` under `kinds` and `b`, in a fixed order. */
export function actions(m: SystemModel, kinds: ReadonlySet<EventKind>, b: AlphabetBounds): Action[] {
  const s = m.cpu;
  const out: Action[] = [];
  const ncpu = s.curTask.length;
  const running = new Map<number, number>(); // task -> cpu
  for (let c = 0; c < ncpu; c++) if (s.curTask[c] !== 0) running.set(s.curTask[c]!, c);
  const canFork = kinds.has('fork') && s.tasks.size < b.tasks;
  const canNewMm = canFork && s.labels.size < b.mms;
  // mms whose every live task is running (a new thread is useful only there).
  const idleTasks = new Map<number, number>();
  const touches = kinds.has('access');
  /** `schedule` followed by an access of the page, when the mm (key, or -1 for a new one) maps it. */
  const touch = (a: ExploreEvent[], key: number): Action => {
    if (!touches) return a;
    const mm = key < 0 ? undefined : s.mms.get(key);
    if (mm && walkMm(mm, PAGE).prot === 0) return a;
    const sch = a[a.length - 1]!;
    return [...a, { kind: 'access', cpu: sch.cpu, va: VA }];
  };
  for (const [t, k] of s.tasks) if (!running.has(t)) idleTasks.set(k, (idleTasks.get(k) ?? 0) + 1);
  if (kinds.has('schedule')) {
    for (let c = 0; c < ncpu; c++) {
      if (s.curTask[c] !== 0) out.push([{ kind: 'schedule', cpu: c, task: 0 }]);
      for (const [t, k] of s.tasks) if (!running.has(t)) out.push(touch([{ kind: 'schedule', cpu: c, task: t }], k));
      if (canNewMm) {
        const t = freeTask(m);
        out.push(
          touch(
            [
              { kind: 'fork', task: t, mm: freeLabel(m) },
              { kind: 'schedule', cpu: c, task: t },
            ],
            -1,
          ),
        );
      }
      if (canFork) {
        for (const [label, k] of s.labels) {
          if (idleTasks.has(k)) continue;
          const t = freeTask(m);
          out.push(
            touch(
              [
                { kind: 'fork', task: t, mm: label },
                { kind: 'schedule', cpu: c, task: t },
              ],
              k,
            ),
          );
        }
      }
    }
  }
  let held = 0;
  for (const mm of s.mms.values()) held += mm.pinned + mm.refusedPins;
  if (kinds.has('pin') && held < b.pins) {
    for (const label of s.labels.keys()) out.push([{ kind: 'pin', mm: label }]);
    if (canNewMm) {
      const label = freeLabel(m);
      out.push([
        { kind: 'fork', task: freeTask(m), mm: label },
        { kind: 'pin', mm: label },
      ]);
    }
  }
  if (kinds.has('unpin'))
    for (const mm of s.mms.values()) if (mm.pinned > 0 || mm.refusedPins > 0) out.push([{ kind: 'unpin', mm: mm.label }]);
  if (kinds.has('exec')) {
    // `exec task`: a fresh mm for a live task (`exec_mmap`; a running task switches to it at once).
    // It needs an mm slot, unless the task is the last user of its mm, which then ends.
    for (const [t, k] of s.tasks) {
      if (m.smmu.svaMms.get(k)?.busyWith) continue; // as for exit: the stepped bind holds the mm
      if (s.labels.size < b.mms || s.mms.get(k)!.users === 1) out.push([{ kind: 'exec', task: t, mm: freeLabel(m) }]);
    }
  }
  if (kinds.has('exit')) {
    for (const [t, k] of s.tasks) {
      // The model cannot yet end an mm whose stepped bind is in flight (its `resume` would find no
      // SVA record): keep such a task alive until the bind completes.
      if (m.smmu.svaMms.get(k)?.busyWith) continue;
      out.push([{ kind: 'exit', task: t }]);
    }
  }
  // With SMMUs the rights of the page matter (an IOTLB entry caches them: S-PERM), so the page
  // takes `r` or `rw`; without, nothing reads them and a map is `rw` only.
  const rights = m.smmu.smmus.length > 0;
  for (const [label, k] of s.labels) {
    const mm = s.mms.get(k)!;
    const prot = walkMm(mm, PAGE).prot;
    const mapped = prot !== 0;
    // An unmap matters once the mm has had an ASID (before that no CPU can hold its entries) or
    // is bound (the SVA notifier and the device's entries: a private SVA ASID needs no CPU one).
    if (mapped && kinds.has('unmap') && (mm.ctx !== 0 || m.smmu.svaMms.has(k)))
      out.push([{ kind: 'unmap', mm: label, va: VA, size: SIZE }]);
    if (!mapped && kinds.has('map')) {
      out.push([{ kind: 'map', mm: label, va: VA, size: SIZE }]);
      if (rights) out.push([{ kind: 'map', mm: label, va: VA, size: SIZE, prot: PROT_READ }]);
    }
    // A map that raises the rights of a present page is a fault (ptep_set_access_flags); one that
    // lowers them would be change_protection, which `mprotect` is.
    if (rights && prot === PROT_READ && kinds.has('map')) out.push([{ kind: 'map', mm: label, va: VA, size: SIZE, prot: RW }]);
    if (mapped && kinds.has('mprotect'))
      out.push([{ kind: 'mprotect', mm: label, va: VA, size: SIZE, prot: prot === PROT_READ ? RW : PROT_READ }]);
  }
  if (m.smmu.smmus.length > 0) deviceActions(m, kinds, b, out);
  return out;
}

/** The device side: a small alphabet over the first `b.devices` devices and `b.domains` domains. */
function deviceActions(m: SystemModel, kinds: ReadonlySet<EventKind>, b: AlphabetBounds, out: Action[]): void {
  const st = m.smmu;
  const devices = m.config.devices.slice(0, b.devices).map((d) => d.name);
  const domains = Array.from({ length: b.domains }, (_, i) => `D${i + 1}`);
  for (const dev of devices) {
    const master = st.masters.get(dev)!;
    if (kinds.has('attach')) for (const d of domains) if (master.rid !== d) out.push([{ kind: 'attach', device: dev, domain: d }]);
    if (kinds.has('detach') && master.rid !== null) out.push([{ kind: 'detach', device: dev }]);
    if (kinds.has('dma')) {
      if (master.rid !== null) out.push([{ kind: 'dma', device: dev, va: VA }]);
      // Through a PASID the device reads and writes (a DMA domain is mapped rw: a read is enough).
      for (const ssid of master.cds.keys())
        if (ssid !== 0) {
          out.push([{ kind: 'dma', device: dev, pasid: ssid, va: VA }]);
          out.push([{ kind: 'dma', device: dev, pasid: ssid, va: VA, prot: PROT_WRITE }]);
        }
    }
    for (const [label, key] of m.cpu.labels) {
      const sva = st.svaMms.get(key);
      if (sva?.busyWith) continue;
      const bound = (sva?.bonds.get(dev) ?? 0) > 0 || (sva?.failed.get(dev) ?? 0) > 0;
      if (kinds.has('unbind') && bound) out.push([{ kind: 'unbind', device: dev, mm: label }]);
      if (kinds.has('bind') && !bound) {
        out.push([{ kind: 'bind', device: dev, mm: label }]);
        if (kinds.has('resume')) out.push([{ kind: 'bind', device: dev, mm: label, op: `b${st.ops.size + 1}` }]);
      }
    }
  }
  for (const d of domains) {
    const dom = st.domains.get(d);
    if (!dom) continue;
    const mapped = (dom.ptes.get(PAGE)?.prot ?? 0) !== 0;
    if (mapped && kinds.has('unmap')) out.push([{ kind: 'unmap', domain: d, va: VA, size: SIZE }]);
    if (!mapped && kinds.has('map')) out.push([{ kind: 'map', domain: d, va: VA, size: SIZE }]);
  }
  if (kinds.has('resume')) for (const o of st.ops.values()) if (!o.done) out.push([{ kind: 'resume', op: o.label }]);
}

/** The ASID an mm holds (for tables), or '-'. */
export function asidOf(m: SystemModel, label: string): string {
  const k = m.cpu.labels.get(label) ?? m.cpu.zombies.get(label);
  const mm = k === undefined ? undefined : m.cpu.mms.get(k);
  return mm && mm.ctx !== 0 ? String(ctxAsid(mm.ctx)) : '-';
}
