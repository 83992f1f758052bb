/**
 * Trace v1 events (README.md, "Trace format v1"), after validation.
 */

export { EVENT_KINDS, type EventKind, PROT_READ, PROT_WRITE, protName } from '../model/events.js';
import { EVENT_TABLE, type EventKind, PROT_READ, PROT_WRITE } from '../model/events.js';

/**
 * Columns of trace v1, in the order the writer emits them. `src` (provenance, {@link SRC_RE}) is
 * last: the writer emits it only for traces that have it (imported ones).
 */
export const COLUMNS = ['time', 'event', 'cpu', 'task', 'mm', 'device', 'domain', 'pasid', 'va', 'size', 'prot', 'op', 'src'] as const;
export type Column = (typeof COLUMNS)[number];

/**
 * A `src` cell (docs/trace-format.md "Provenance"): where the event came from in the original
 * recording, `<seconds>@L<line>`: the recording's own timestamp as it prints it (decimal seconds,
 * up to 15 digits, then an optional fraction of up to 12 digits) and the 1-based line number in
 * the recording (up to 15 digits, never 0), e.g. `2094.163981@L5173`. Report metadata only: the
 * model never reads it.
 */
export const SRC_RE = /^[0-9]{1,15}(?:\.[0-9]{1,12})?@L[1-9][0-9]{0,14}$/;

/** The `src` cell of a recording's timestamp (as printed) and line. */
export const srcCell = (stamp: string, line: number): string => `${stamp}@L${line}`;

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
  /**
   * Provenance ({@link SRC_RE}): the recording's timestamp and line this event was imported from.
   * The replay reports it beside every finding's row; the model never reads it.
   */
  src?: string;
}

/** `prot` cell spellings. */
export const PROT_CELLS: Readonly<Record<string, number>> = { r: PROT_READ, w: PROT_WRITE, rw: PROT_READ | PROT_WRITE };

/** Which columns each event requires and which it may use (the model's event table). */
export const EVENT_COLUMNS: Readonly<Record<EventKind, { required: readonly Column[]; optional: readonly Column[] }>> = EVENT_TABLE;

/**
 * An event object to refill for each event stepped (the replay's reader and explore's actions: the
 * model keeps no event), every key present, so that its shape never changes). Each field has
 * held a small integer, a double, a string and undefined once, so that its representation is the
 * general one from the start: a field that first held only small integers (or only undefined)
 * changes representation when another kind of value comes, and each change threw the optimized
 * code of `PackedBatch.fill` (trace/packed.ts) away (a deoptimization loop seen on pin-exhaustion traces).
 */
export function newRefillEvent(): TraceEvent {
  const e: TraceEvent = {
    row: 0,
    kind: 'fork',
    time: undefined,
    cpu: undefined,
    task: undefined,
    mm: undefined,
    device: undefined,
    domain: undefined,
    pasid: undefined,
    va: undefined,
    size: undefined,
    prot: undefined,
    op: undefined,
    src: undefined,
  };
  const fields = e as unknown as Record<string, unknown>;
  for (const k of Object.keys(e)) {
    if (k === 'row' || k === 'kind') continue;
    for (const v of [1, 0.5, 'x', undefined]) fields[k] = v;
  }
  return e;
}
