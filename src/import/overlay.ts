/**
 * Device overlay for imported recordings (docs/recordings.md): real
 * scheduling drives the SVA model. Chosen processes are bound to a device behind one SMMUv3 at their
 * first fork; every time one of their tasks is switched in, the device issues DMA into a small
 * working set of the process, and every few switches the process unmaps and remaps a page (munmap
 * then fault-in: the mmu-notifier path). When the process's last task exits, the mm-release path
 * runs (at the exit) and the device unbinds afterwards (the fd is closed after `exit_mm`).
 *
 * Deterministic: the same recording and options give the same events.
 */
import type { EventKind, TraceEvent } from '../trace/events.js';
import { PROT_READ, PROT_WRITE } from '../trace/events.js';
import { commLabel, mmKey, mmName } from './lifecycle.js';

export interface OverlayOptions {
  /**
   * What to bind: `top:N` for the N address spaces switched in most often, or comma-separated
   * process names, mm labels or their `p<tgid>` keys (see {@link chooseProcesses}).
   */
  processes: string;
  /** DMA accesses per switch-in (default 2). */
  dmaPerSwitch?: number;
  /** Unmap+remap a page every this many switch-ins of a process (default 8; 0 = never). */
  unmapEvery?: number;
  /** Declare the SMMU with BTM (default false). */
  btm?: boolean;
  /** Declare the device as ATS-capable (default false). */
  ats?: boolean;
}

export const OVERLAY_DEVICE = 'dev0';
export const OVERLAY_SMMU = 'smmu0';
const WORKING_SET_PAGES = 16;
const BASE_VA = 0x400000;

type Emit = (kind: EventKind, e: Omit<TraceEvent, 'row' | 'kind'>) => Promise<void>;

/** The `smmus`/`devices` part of the system preamble for an overlay. */
export function overlaySystem(o: OverlayOptions): object {
  return {
    smmus: [{ name: OVERLAY_SMMU, asidBits: 16, btm: o.btm ?? false }],
    devices: [{ name: OVERLAY_DEVICE, smmu: OVERLAY_SMMU, ats: o.ats ?? false }],
  };
}

/**
 * The dry run of an overlay import: how often the tasks of each mm are switched in (`schedule` of a
 * task in it), per mm label, every mm the import creates included (0 for one never switched in).
 */
export class SwitchCounter {
  /** Switch-ins per mm label, in the order the mms appear. */
  readonly switchIns = new Map<string, number>();
  private readonly taskMm = new Map<number, string>();

  /** Called for each event the import writes. */
  async after(kind: EventKind, e: Omit<TraceEvent, 'row' | 'kind'>): Promise<void> {
    if ((kind === 'fork' || kind === 'exec') && e.task !== undefined && e.mm !== undefined) {
      this.taskMm.set(e.task, e.mm);
      if (!this.switchIns.has(e.mm)) this.switchIns.set(e.mm, 0);
    } else if (kind === 'schedule' && e.task) {
      const mm = this.taskMm.get(e.task);
      if (mm !== undefined) this.switchIns.set(mm, this.switchIns.get(mm)! + 1);
    } else if (kind === 'exit' && e.task !== undefined) this.taskMm.delete(e.task);
  }
}

/** Labels ranked by switch-ins (most first), ties by key then label: the order of `top:N`. */
function ranked(switchIns: Map<string, number>): string[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...switchIns].sort((a, b) => b[1] - a[1] || cmp(mmKey(a[0]), mmKey(b[0])) || cmp(a[0], b[0])).map(([mm]) => mm);
}

/** Up to `n` labels for a message, with their switch-ins. */
function some(labels: readonly string[], switchIns: Map<string, number>, n = 8): string {
  const shown = labels.slice(0, n).map((l) => {
    const k = switchIns.get(l) ?? 0;
    return `${l} (${k} switch-in${k === 1 ? '' : 's'})`;
  });
  return shown.join(', ') + (labels.length > n ? `, ... (${labels.length - n} more)` : '');
}

/**
 * Resolve `--overlay` against the mm labels of the import (`p<tgid>:<comm>`, `p<pid>#<n>:<comm>`
 * after an exec) and their switch-ins. `spec` is `top:N` (the N mms switched in most often), or a
 * comma-separated list of: a whole label, a key (`p6837`, `p101#1`: the part before `:`), or a
 * process name (the part after `:`, as the label writes it).
 * @throws Error with a readable message for a bad `top:N`, a key or name that matches no mm (listing
 *   some that exist), or one that matches several (listing them all: name one by its label).
 */
export function chooseProcesses(spec: string, switchIns: Map<string, number>): Set<string> {
  const all = ranked(switchIns);
  const top = /^top:(\d+)$/.exec(spec.trim());
  if (top) {
    const n = Number(top[1]);
    if (n < 1) throw new Error('--overlay top:N needs N >= 1');
    return new Set(all.slice(0, n));
  }
  const items = spec
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  if (items.length === 0) throw new Error('--overlay needs top:N, or process names or mm labels (p<tgid>), comma-separated');
  const chosen = new Set<string>();
  for (const item of items) {
    let found = switchIns.has(item) ? [item] : all.filter((l) => mmKey(l) === item);
    const byName = found.length === 0;
    if (byName) found = all.filter((l) => mmName(l) === commLabel(item));
    if (found.length === 0) {
      throw new Error(
        `--overlay: no process ${JSON.stringify(item)} in the recording (give a name, an mm label or its p<tgid> key; most switched-in: ${some(all, switchIns)})`,
      );
    }
    if (found.length > 1) {
      throw new Error(
        `--overlay: ${found.length} address spaces match ${JSON.stringify(item)}: ${some(found, switchIns, 20)}; name one by its label or p<tgid> key`,
      );
    }
    chosen.add(found[0]!);
  }
  return chosen;
}

export class DeviceOverlay {
  private users = new Map<string, number>();
  private pasidOf = new Map<string, number>();
  private freePasids: number[] = [];
  private nextPasid = 1;
  private switches = new Map<string, number>();
  private taskMm = new Map<number, string>();
  private readonly dmaPerSwitch: number;
  private readonly unmapEvery: number;

  constructor(
    private readonly chosen: Set<string>,
    o: OverlayOptions,
    private readonly emit: Emit,
  ) {
    this.dmaPerSwitch = o.dmaPerSwitch ?? 2;
    this.unmapEvery = o.unmapEvery ?? 8;
  }

  /**
   * Called after the importer emitted an event; what the overlay adds carries the event's `src`.
   * A task joins an mm at its fork or exec and leaves it at its exit or next exec: the first task of
   * a chosen mm binds it, the last one unbinds it.
   */
  async after(kind: EventKind, e: Omit<TraceEvent, 'row' | 'kind'>): Promise<void> {
    const { time, src } = e;
    if ((kind === 'fork' || kind === 'exec') && e.task !== undefined && e.mm !== undefined) {
      if (kind === 'exec') await this.leave(e.task, time, src);
      this.taskMm.set(e.task, e.mm);
      if (!this.chosen.has(e.mm)) return;
      const n = (this.users.get(e.mm) ?? 0) + 1;
      this.users.set(e.mm, n);
      if (n > 1) return;
      const pasid = this.freePasids.length ? this.freePasids.shift()! : this.nextPasid++;
      this.pasidOf.set(e.mm, pasid);
      await this.emit('bind', { time, device: OVERLAY_DEVICE, mm: e.mm, pasid, src });
    } else if (kind === 'schedule' && e.task) {
      const mm = this.taskMm.get(e.task);
      const pasid = mm === undefined ? undefined : this.pasidOf.get(mm);
      if (mm === undefined || pasid === undefined) return;
      const k = (this.switches.get(mm) ?? 0) + 1;
      this.switches.set(mm, k);
      for (let i = 0; i < this.dmaPerSwitch; i++) {
        const page = (k * this.dmaPerSwitch + i) % WORKING_SET_PAGES;
        await this.emit('dma', {
          time,
          device: OVERLAY_DEVICE,
          pasid,
          va: BASE_VA + page * 4096,
          prot: i % 2 ? PROT_WRITE : PROT_READ,
          src,
        });
      }
      if (this.unmapEvery > 0 && k % this.unmapEvery === 0) {
        const va = BASE_VA + (k % WORKING_SET_PAGES) * 4096;
        await this.emit('unmap', { time, mm, va, size: 4096, src });
        await this.emit('map', { time, mm, va, size: 4096, src });
      }
    } else if (kind === 'exit' && e.task !== undefined) {
      await this.leave(e.task, time, src);
      this.taskMm.delete(e.task);
    }
  }

  /** `task` leaves its mm (exit, or exec into a new one): the last task of a bound mm unbinds it. */
  private async leave(task: number, time: number | undefined, src: string | undefined): Promise<void> {
    const mm = this.taskMm.get(task);
    if (mm === undefined || !this.pasidOf.has(mm)) return;
    const n = this.users.get(mm)! - 1;
    this.users.set(mm, n);
    if (n > 0) return;
    await this.emit('unbind', { time, device: OVERLAY_DEVICE, mm, src });
    // The PASID is freed at the final mmdrop (after the unbind); the model allocates lowest-free.
    this.freePasids.push(this.pasidOf.get(mm)!);
    this.freePasids.sort((a, b) => a - b);
    this.pasidOf.delete(mm);
    this.users.delete(mm);
  }
}
