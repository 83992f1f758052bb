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

export interface OverlayOptions {
  /** mm labels to bind (`p<tgid>`), or `top:N` for the N processes switched in most often. */
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
 * Resolve `processes` against the recording's switch counts per mm label.
 * @throws Error with a readable message for an unknown label or a bad `top:N`.
 */
export function chooseProcesses(spec: string, switchesByMm: Map<string, number>): Set<string> {
  const top = /^top:(\d+)$/.exec(spec);
  if (top) {
    const n = Number(top[1]);
    if (n < 1) throw new Error('--overlay top:N needs N >= 1');
    const ranked = [...switchesByMm].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return new Set(ranked.slice(0, n).map(([mm]) => mm));
  }
  const chosen = new Set(
    spec
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  for (const mm of chosen) {
    if (!switchesByMm.has(mm)) {
      const some = [...switchesByMm.keys()].slice(0, 8).join(', ');
      throw new Error(`--overlay: no process ${mm} in the recording (mm labels are p<tgid>, e.g. ${some})`);
    }
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

  /** Called after the importer emitted an event. */
  async after(kind: EventKind, e: Omit<TraceEvent, 'row' | 'kind'>): Promise<void> {
    const time = e.time;
    if (kind === 'fork' && e.mm !== undefined) {
      this.taskMm.set(e.task!, e.mm);
      if (!this.chosen.has(e.mm)) return;
      const n = (this.users.get(e.mm) ?? 0) + 1;
      this.users.set(e.mm, n);
      if (n > 1) return;
      const pasid = this.freePasids.length ? this.freePasids.shift()! : this.nextPasid++;
      this.pasidOf.set(e.mm, pasid);
      await this.emit('bind', { time, device: OVERLAY_DEVICE, mm: e.mm, pasid });
    } else if (kind === 'schedule' && e.task) {
      const mm = this.taskMm.get(e.task);
      const pasid = mm === undefined ? undefined : this.pasidOf.get(mm);
      if (mm === undefined || pasid === undefined) return;
      const k = (this.switches.get(mm) ?? 0) + 1;
      this.switches.set(mm, k);
      for (let i = 0; i < this.dmaPerSwitch; i++) {
        const page = (k * this.dmaPerSwitch + i) % WORKING_SET_PAGES;
        await this.emit('dma', { time, device: OVERLAY_DEVICE, pasid, va: BASE_VA + page * 4096, prot: i % 2 ? PROT_WRITE : PROT_READ });
      }
      if (this.unmapEvery > 0 && k % this.unmapEvery === 0) {
        const va = BASE_VA + (k % WORKING_SET_PAGES) * 4096;
        await this.emit('unmap', { time, mm, va, size: 4096 });
        await this.emit('map', { time, mm, va, size: 4096 });
      }
    } else if (kind === 'exit' && e.task !== undefined) {
      const mm = this.taskMm.get(e.task);
      this.taskMm.delete(e.task);
      if (mm === undefined || !this.pasidOf.has(mm)) return;
      const n = this.users.get(mm)! - 1;
      this.users.set(mm, n);
      if (n > 0) return;
      await this.emit('unbind', { time, device: OVERLAY_DEVICE, mm });
      // The PASID is freed at the final mmdrop (after the unbind); the model allocates lowest-free.
      this.freePasids.push(this.pasidOf.get(mm)!);
      this.freePasids.sort((a, b) => a - b);
      this.pasidOf.delete(mm);
      this.users.delete(mm);
    }
  }
}
