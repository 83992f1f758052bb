/**
 * A terse notation for scenario traces in tests, one event per line:
 *   fork <task> [mm] | exec <task> [mm] | exit <task> | sched <cpu> <task> | pin <mm> | unpin <mm>
 *   access <cpu> <va> | map <mm> <va> <size> [prot] | unmap <mm> <va> <size> | mprotect <mm> <va> <size> <prot>
 * and the device side:
 *   attach <dev> <domain> | detach <dev> | bind <dev> <mm> [pasid] [op] | unbind <dev> <mm> | resume <op>
 *   dmap <domain> <va> <size> [prot] | dunmap <domain> <va> <size> | dma <dev> <pasid|-> <va> [prot]
 * `row` is the 1-based line number; blank lines and `#` lines are skipped but still counted.
 */
import { PROT_CELLS, type TraceEvent } from '../../src/trace/events.js';
import { replayEvents } from '../../src/replay/engine.js';
import { type SystemInput, resolveSystem } from '../../src/trace/system.js';
import type { Report } from '../../src/report/report.js';

export function mini(text: string): TraceEvent[] {
  const out: TraceEvent[] = [];
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    if (!l || l.startsWith('#')) return;
    const [op, a, b, c, d] = l.split(/\s+/) as [string, string, string, string, string | undefined];
    const prot = (v: string | undefined) => (v === undefined ? undefined : PROT_CELLS[v]);
    const row = i + 1;
    const n = (v: string) => Number(v);
    switch (op) {
      case 'fork':
      case 'exec':
        out.push({ row, kind: op, task: n(a), mm: b });
        break;
      case 'exit':
        out.push({ row, kind: 'exit', task: n(a) });
        break;
      case 'sched':
        out.push({ row, kind: 'schedule', cpu: n(a), task: n(b) });
        break;
      case 'pin':
      case 'unpin':
        out.push({ row, kind: op, mm: a });
        break;
      case 'access':
        out.push({ row, kind: 'access', cpu: n(a), va: n(b) });
        break;
      case 'map':
      case 'unmap':
        out.push({ row, kind: op, mm: a, va: n(b), size: n(c), prot: prot(d) });
        break;
      case 'mprotect':
        out.push({ row, kind: 'mprotect', mm: a, va: n(b), size: n(c), prot: prot(d)! });
        break;
      case 'dmap':
        out.push({ row, kind: 'map', domain: a, va: n(b), size: n(c), prot: prot(d) });
        break;
      case 'dunmap':
        out.push({ row, kind: 'unmap', domain: a, va: n(b), size: n(c) });
        break;
      case 'attach':
        out.push({ row, kind: 'attach', device: a, domain: b });
        break;
      case 'detach':
        out.push({ row, kind: 'detach', device: a });
        break;
      case 'bind': // bind <dev> <mm> [pasid] [op]: a number is the PASID
        if (c !== undefined && /^(0x[0-9a-f]+|\d+)$/i.test(c)) out.push({ row, kind: 'bind', device: a, mm: b, pasid: n(c), op: d });
        else out.push({ row, kind: 'bind', device: a, mm: b, op: c });
        break;
      case 'unbind':
        out.push({ row, kind: 'unbind', device: a, mm: b });
        break;
      case 'resume':
        out.push({ row, kind: 'resume', op: a });
        break;
      case 'dma':
        out.push({ row, kind: 'dma', device: a, pasid: b === '-' ? undefined : n(b), va: n(c), prot: prot(d) });
        break;
      default:
        throw new Error(`mini: unknown op ${op} on line ${row}`);
    }
  });
  return out;
}

/**
 * Replay a mini trace on a system (what-if widths allowed). Scenarios are written for a kernel
 * built without CONFIG_UNMAP_KERNEL_AT_EL0 unless they ask for KPTI (so ASIDs count 1, 2, 3, ...
 * from boot); tests of the option set it themselves.
 */
export function run(system: SystemInput, text: string): Report {
  return replayEvents(mini(text), resolveSystem({ whatIf: true, unmapKernelAtEl0: system.kpti === true, ...system }, {}));
}

/** `[row, kind]` of every violation. */
export const kinds = (r: Report) => r.violations.map((v) => [v.row, v.kind] as const);

/** `[row, kind, latent]` of every stale finding. */
export const stale = (r: Report) => r.stale.findings.map((f) => [f.row, f.kind, f.latent] as const);
/** Stale findings found at a DMA hit: `[row, kind]`. */
export const staleHits = (r: Report) => r.stale.findings.filter((f) => !f.latent).map((f) => [f.row, f.kind] as const);
/** `[row, call, errno]` of every failed driver call. */
export const failures = (r: Report) => r.devices.failures.map((f) => [f.row, f.call, f.errno] as const);
