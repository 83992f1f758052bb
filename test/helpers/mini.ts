/**
 * A terse notation for scenario traces in tests, one event per line:
 *   fork <task> [mm] | exec <task> [mm] | exit <task> | sched <cpu> <task> | pin <mm> | unpin <mm>
 *   access <cpu> <va> | map <mm> <va> <size> | unmap <mm> <va> <size>
 * `row` is the 1-based line number; blank lines and `#` lines are skipped but still counted.
 */
import type { TraceEvent } from '../../src/trace/events.js';
import { replayEvents } from '../../src/replay/engine.js';
import { type SystemInput, resolveSystem } from '../../src/trace/system.js';
import type { Report } from '../../src/report/report.js';

export function mini(text: string): TraceEvent[] {
  const out: TraceEvent[] = [];
  text.split('\n').forEach((raw, i) => {
    const l = raw.trim();
    if (!l || l.startsWith('#')) return;
    const [op, a, b, c] = l.split(/\s+/);
    const row = i + 1;
    const n = (v: string) => Number(v);
    switch (op) {
      case 'fork': case 'exec': out.push({ row, kind: op, task: n(a), mm: b }); break;
      case 'exit': out.push({ row, kind: 'exit', task: n(a) }); break;
      case 'sched': out.push({ row, kind: 'schedule', cpu: n(a), task: n(b) }); break;
      case 'pin': case 'unpin': out.push({ row, kind: op, mm: a }); break;
      case 'access': out.push({ row, kind: 'access', cpu: n(a), va: n(b) }); break;
      case 'map': case 'unmap': out.push({ row, kind: op, mm: a, va: n(b), size: n(c) }); break;
      default: throw new Error(`mini: unknown op ${op} on line ${row}`);
    }
  });
  return out;
}

/** Replay a mini trace on a system (what-if widths allowed). */
export function run(system: SystemInput, text: string): Report {
  return replayEvents(mini(text), resolveSystem({ whatIf: true, ...system }, {}));
}

/** `[row, kind]` of every violation. */
export const kinds = (r: Report) => r.violations.map((v) => [v.row, v.kind] as const);
