/**
 * Trace v1 events (README.md, "Trace format v1"), after validation.
 */

/** Event names of trace v1. */
export const EVENT_KINDS = [
  'fork', 'exec', 'exit', 'schedule', 'pin', 'unpin',
  'attach', 'detach', 'bind', 'unbind', 'map', 'unmap', 'access', 'dma', 'resume',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** Columns of trace v1, in the order the writer emits them. */
export const COLUMNS = ['time', 'event', 'cpu', 'task', 'mm', 'device', 'domain', 'pasid', 'va', 'size', 'prot', 'op'] as const;
export type Column = (typeof COLUMNS)[number];

/**
 * One validated event. `row` is the 1-based line number in the trace file; every finding names it.
 * Integers are JS numbers (exact up to 2^53 - 1); `mm`, `device` and `domain` are identifiers.
 */
export interface TraceEvent {
  row: number;
  kind: EventKind;
  /** Nanoseconds; non-decreasing along the trace. */
  time?: number;
  cpu?: number;
  task?: number;
  mm?: string;
  device?: string;
  domain?: string;
  pasid?: number;
  va?: number;
  size?: number;
  /** Access rights: {@link PROT_READ} | {@link PROT_WRITE}. On `map` the mapping's, on `dma` the access's. */
  prot?: number;
  /**
   * Label of a driver operation replayed in steps (docs/trace-format.md "Interleaving"): on `bind`
   * it starts the operation, on `resume` it runs the operation's next step.
   */
  op?: string;
}

/** `prot` bits. */
export const PROT_READ = 1;
export const PROT_WRITE = 2;
/** `prot` cell spellings. */
export const PROT_CELLS: Readonly<Record<string, number>> = { r: PROT_READ, w: PROT_WRITE, rw: PROT_READ | PROT_WRITE };
export function protName(p: number): string {
  return (p & PROT_READ ? 'r' : '') + (p & PROT_WRITE ? 'w' : '') || 'none';
}

/** Which columns each event requires and which it may use (everything else must be empty). */
export const EVENT_COLUMNS: Readonly<Record<EventKind, { required: readonly Column[]; optional: readonly Column[] }>> = {
  fork: { required: ['task'], optional: ['mm'] },
  exec: { required: ['task'], optional: ['mm'] },
  exit: { required: ['task'], optional: [] },
  schedule: { required: ['cpu', 'task'], optional: [] },
  pin: { required: ['mm'], optional: [] },
  unpin: { required: ['mm'], optional: [] },
  attach: { required: ['device', 'domain'], optional: [] },
  detach: { required: ['device'], optional: [] },
  bind: { required: ['device', 'mm'], optional: ['pasid', 'op'] },
  unbind: { required: ['device', 'mm'], optional: [] },
  map: { required: ['va', 'size'], optional: ['mm', 'domain', 'prot'] },
  unmap: { required: ['va', 'size'], optional: ['mm', 'domain'] },
  access: { required: ['cpu', 'va'], optional: [] },
  dma: { required: ['device', 'va'], optional: ['pasid', 'prot'] },
  resume: { required: ['op'], optional: [] },
};
