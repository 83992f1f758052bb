/**
 * Batches of trace events packed in typed arrays: the fast path of the reader and the parallel
 * reader's workers write validated rows here, with no object per row; the replay engine steps the
 * model from them through one reused event object ({@link PackedBatch.fill}), and the readers that
 * hand out {@link TraceEvent} objects unpack them ({@link PackedBatch.event}).
 *
 * Event i occupies `data[i * STRIDE, (i + 1) * STRIDE)`: its row (line number), then one slot per
 * column of {@link COLUMNS} (slot `1 + COLUMNS.indexOf(c)`): the integer; for `event` the index
 * into {@link EVENT_KINDS}; the prot bits; for identifiers and `src` an index into `strings`;
 * {@link ABSENT} for an empty cell. Integers are below 2^53, so a Float64Array holds them exactly.
 */
import { COLUMNS, EVENT_KINDS, type EventKind, type TraceEvent } from './events.js';

/** Slots per event: the row, then one per {@link COLUMNS} entry. */
export const STRIDE = 1 + COLUMNS.length;
/** Code of an empty cell. */
export const ABSENT = -1;

// Slot offsets within an event (1 + the column's index in COLUMNS).
export const S_ROW = 0;
export const S_TIME = 1;
export const S_KIND = 2;
export const S_CPU = 3;
export const S_TASK = 4;
export const S_MM = 5;
export const S_DEVICE = 6;
export const S_DOMAIN = 7;
export const S_PASID = 8;
export const S_VA = 9;
export const S_SIZE = 10;
export const S_PROT = 11;
export const S_OP = 12;
export const S_SRC = 13;

const KIND_CODE = new Map<string, number>(EVENT_KINDS.map((k, i) => [k, i]));

/** A growable batch of packed events (see the module comment). */
export class PackedBatch {
  /** Events in the batch. */
  n = 0;
  data: Float64Array;
  strings: string[];

  /** @param capacity events to make room for at first (the batch grows as needed). */
  constructor(capacity = 4096, data?: Float64Array, strings?: string[], n?: number) {
    this.data = data ?? new Float64Array(capacity * STRIDE);
    this.strings = strings ?? [];
    this.n = n ?? 0;
  }

  /** A batch over arrays received from elsewhere (a worker): `n` events. */
  static of(data: Float64Array, strings: string[], n: number): PackedBatch {
    return new PackedBatch(0, data, strings, n);
  }

  /** Empty the batch, keeping its memory. */
  clear(): void {
    this.n = 0;
    this.strings.length = 0;
  }

  /**
   * Offset in `data` of a new event at the end, its slots all {@link ABSENT} but the row. The
   * event counts only once {@link commit}ted, so a row found invalid half-way leaves nothing.
   */
  open(row: number): number {
    const o = this.n * STRIDE;
    if (o + STRIDE > this.data.length) {
      const bigger = new Float64Array(Math.max(this.data.length * 2, 64 * STRIDE));
      bigger.set(this.data);
      this.data = bigger;
    }
    const d = this.data;
    d[o] = row;
    for (let k = 1; k < STRIDE; k++) d[o + k] = ABSENT;
    return o;
  }

  /** Count the event {@link open}ed last. */
  commit(): void {
    this.n++;
  }

  /** Index of `s` in `strings` (appended), or {@link ABSENT} for undefined. */
  str(s: string | undefined): number {
    if (s === undefined) return ABSENT;
    return this.strings.push(s) - 1;
  }

  /** Append an event object. */
  add(e: TraceEvent): void {
    const d = this.data;
    const o = this.open(e.row);
    d[o + S_TIME] = e.time ?? ABSENT;
    d[o + S_KIND] = KIND_CODE.get(e.kind)!;
    d[o + S_CPU] = e.cpu ?? ABSENT;
    d[o + S_TASK] = e.task ?? ABSENT;
    d[o + S_MM] = this.str(e.mm);
    d[o + S_DEVICE] = this.str(e.device);
    d[o + S_DOMAIN] = this.str(e.domain);
    d[o + S_PASID] = e.pasid ?? ABSENT;
    d[o + S_VA] = e.va ?? ABSENT;
    d[o + S_SIZE] = e.size ?? ABSENT;
    d[o + S_PROT] = e.prot ?? ABSENT;
    d[o + S_OP] = this.str(e.op);
    d[o + S_SRC] = this.str(e.src);
    this.commit();
  }

  /** Row (line number) of event `i`. */
  row(i: number): number {
    return this.data[i * STRIDE]!;
  }

  /** Time of event `i`, or {@link ABSENT}. */
  time(i: number): number {
    return this.data[i * STRIDE + S_TIME]!;
  }

  /** Event `i` as a new object (the shape row-schema.ts `validateRow` builds: every key, in its order). */
  event(i: number): TraceEvent {
    const d = this.data;
    const s = this.strings;
    const o = i * STRIDE;
    const num = (v: number) => (v === ABSENT ? undefined : v);
    const str = (v: number) => (v === ABSENT ? undefined : s[v]);
    return {
      row: d[o]!,
      kind: EVENT_KINDS[d[o + S_KIND]!] as EventKind,
      time: num(d[o + S_TIME]!),
      cpu: num(d[o + S_CPU]!),
      task: num(d[o + S_TASK]!),
      mm: str(d[o + S_MM]!),
      device: str(d[o + S_DEVICE]!),
      domain: str(d[o + S_DOMAIN]!),
      pasid: num(d[o + S_PASID]!),
      va: num(d[o + S_VA]!),
      size: num(d[o + S_SIZE]!),
      prot: num(d[o + S_PROT]!),
      op: str(d[o + S_OP]!),
      src: str(d[o + S_SRC]!),
    };
  }

  /** Every event, as new objects. */
  events(): TraceEvent[] {
    const out = new Array<TraceEvent>(this.n);
    for (let i = 0; i < this.n; i++) out[i] = this.event(i);
    return out;
  }

  /**
   * Write event `i` into `e` (every key, empty cells as undefined) and return it: the replay
   * steps the model through one object this way, allocating nothing per event.
   * @param withTime false: `e.time` is left undefined (the replay reads {@link time} instead: a
   *   time stored in a field that also holds undefined is a new heap number each time).
   */
  fill(e: TraceEvent, i: number, withTime = true): TraceEvent {
    const d = this.data;
    const s = this.strings;
    const o = i * STRIDE;
    let v: number;
    e.row = d[o]!;
    e.kind = EVENT_KINDS[d[o + S_KIND]!] as EventKind;
    e.time = withTime && (v = d[o + S_TIME]!) !== ABSENT ? v : undefined;
    e.cpu = (v = d[o + S_CPU]!) === ABSENT ? undefined : v;
    e.task = (v = d[o + S_TASK]!) === ABSENT ? undefined : v;
    e.mm = (v = d[o + S_MM]!) === ABSENT ? undefined : s[v];
    e.device = (v = d[o + S_DEVICE]!) === ABSENT ? undefined : s[v];
    e.domain = (v = d[o + S_DOMAIN]!) === ABSENT ? undefined : s[v];
    e.pasid = (v = d[o + S_PASID]!) === ABSENT ? undefined : v;
    e.va = (v = d[o + S_VA]!) === ABSENT ? undefined : v;
    e.size = (v = d[o + S_SIZE]!) === ABSENT ? undefined : v;
    e.prot = (v = d[o + S_PROT]!) === ABSENT ? undefined : v;
    e.op = (v = d[o + S_OP]!) === ABSENT ? undefined : s[v];
    e.src = (v = d[o + S_SRC]!) === ABSENT ? undefined : s[v];
    return e;
  }
}
