/**
 * Trace v1 events (shared/DESIGN.md, "Trace format v1"), after validation.
 */

/** Event names of trace v1. */
export const EVENT_KINDS = [
  'fork', 'exec', 'exit', 'schedule', 'pin', 'unpin',
  'attach', 'detach', 'bind', 'unbind', 'map', 'unmap', 'access', 'dma',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** Columns of trace v1, in the order the writer emits them. */
export const COLUMNS = ['time', 'event', 'cpu', 'task', 'mm', 'device', 'domain', 'pasid', 'va', 'size'] as const;
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
  bind: { required: ['device', 'mm'], optional: ['pasid'] },
  unbind: { required: ['device', 'mm'], optional: [] },
  map: { required: ['va', 'size'], optional: ['mm', 'domain'] },
  unmap: { required: ['va', 'size'], optional: ['mm', 'domain'] },
  access: { required: ['cpu', 'va'], optional: [] },
  dma: { required: ['device', 'va'], optional: ['pasid'] },
};
