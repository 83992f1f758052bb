/**
 * The events of a `trace.dat`: each CPU's ring-buffer pages decoded as trace-cmd's
 * lib/traceevent kbuffer.c (`kbuffer_load_subbuffer`, `translate_data`, `update_pointers`) and the
 * kernel's include/linux/ring_buffer.h (`struct ring_buffer_event`: type_len:5, time_delta:27,
 * array[]) and kernel/trace/ring_buffer.c describe them, then the CPUs merged by timestamp as
 * trace-cmd's `tracecmd_read_next_data` does (the lowest CPU first on equal timestamps).
 *
 * Each event becomes one ftrace text line, the form the text importer reads
 * (`comm-pid [cpu] seconds.nanoseconds: event: body`), with the body as the kernel's print fmt gives
 * it for the scheduling and lifecycle events and `field=value` pairs for the others.
 */
import type { EventFormat, FieldFormat } from './format.js';
import { stateFlags } from './format.js';
import type { CpuBuffer, TraceDat } from './file.js';
import { InputError } from '../../trace/errors.js';

/** ring_buffer.h `enum ring_buffer_type`. */
const PADDING = 29;
const TIME_EXTEND = 30;
const TIME_STAMP = 31;
/** ring_buffer.c `TS_SHIFT`. */
const TS_SHIFT_MUL = 2 ** 27;
/**
 * ring_buffer.c: the flags `ring_buffer_read_page` adds to a page's commit field when events were
 * lost before the page (the writer overran the reader): `RB_MISSED_EVENTS` (bit 31), and
 * `RB_MISSED_STORED` (bit 30) when the count of lost events is stored as a `long` right after the
 * page's data (kbuffer.c `kbuffer_load_subbuffer`, `kbuffer_missed_events`).
 */
const RB_MISSED_EVENTS = 0x80000000;
const RB_MISSED_STORED = 0x40000000;
const COMMIT_MASK = 0x3fffffff;

/** Where a record's bytes are: `data[start, start + length)` (the event's fields, after the ring-buffer header). */
export interface RecordBytes {
  /** The CPU's data (decompressed for a compressed file). */
  data: Buffer;
  start: number;
  length: number;
}

/** One decoded event. */
export interface DatRecord extends RecordBytes {
  cpu: number;
  /** Timestamp in ns (the recording's trace clock). */
  time: number;
  /** Byte offset of the record in the file (its CPU data offset plus its place in the decompressed data). */
  offset: number;
  /**
   * Events the CPU lost just before this record (the first of a page whose commit field has
   * RB_MISSED_EVENTS): their count, or -1 when the page does not store it; absent when none.
   */
  missed?: number;
  /** Where the page that says so is, for messages ("the page at byte offset 1234 of the file"). */
  missedWhere?: string;
}

/**
 * Walks one CPU's pages; `next()` moves to the next data event, whose bytes are then
 * `data[start, start + length)` at `time` (the cursor is the record: nothing is allocated per event).
 */
export class CpuCursor implements RecordBytes {
  readonly data: Buffer;
  time = 0;
  start = 0;
  length = 0;
  done = false;
  /** Events lost before the current record (see {@link DatRecord.missed}); 0 when none. */
  missed = 0;
  missedWhere = '';
  /** Lost events a page announced, given to its first event (carried over empty pages). */
  private pendingMissed = 0;
  private pendingWhere = '';
  private page = -1;
  private p = 0;
  private end = 0;
  private readonly pages: number;

  constructor(
    private readonly dat: TraceDat,
    readonly buf: CpuBuffer,
    private readonly file: string,
  ) {
    this.data = buf.data;
    this.pages = buf.data.length / dat.pageSize;
  }

  private u32(at: number): number {
    return this.dat.littleEndian ? this.buf.data.readUInt32LE(at) : this.buf.data.readUInt32BE(at);
  }

  private fail(message: string, at: number): InputError {
    return new InputError(
      `${message}, CPU ${this.buf.cpu} (byte ${at} of the CPU's data at file offset ${this.buf.fileOffset}): the file is damaged`,
      this.file,
    );
  }

  private loadPage(): boolean {
    const { pageSize, pageHeader: h, littleEndian } = this.dat;
    for (;;) {
      this.page++;
      if (this.page >= this.pages) return false;
      const base = this.page * pageSize;
      const d = this.buf.data;
      const ts =
        h.timestampSize === 8
          ? littleEndian
            ? d.readBigUInt64LE(base + h.timestampOffset)
            : d.readBigUInt64BE(base + h.timestampOffset)
          : BigInt(this.u32(base + h.timestampOffset));
      // the flags are bits 31 and 30 of the commit field (a local_t: 4 or 8 bytes)
      const raw =
        h.commitSize === 8
          ? Number((littleEndian ? d.readBigUInt64LE(base + h.commitOffset) : d.readBigUInt64BE(base + h.commitOffset)) & 0xffffffffn)
          : this.u32(base + h.commitOffset);
      const commit = raw & COMMIT_MASK;
      if (h.dataOffset + commit > pageSize)
        throw this.fail(`a page says it holds ${commit} bytes of events, more than a ${pageSize}-byte page`, base + h.commitOffset);
      if ((raw & RB_MISSED_EVENTS) !== 0) this.announceMissed(raw, base, commit);
      const t = Number(ts);
      if (t < this.time) throw this.fail(`a page's timestamp (${t} ns) is before the previous page's events`, base + h.timestampOffset);
      this.time = t;
      this.p = base + h.dataOffset;
      this.end = this.p + commit;
      if (commit > 0) return true;
    }
  }

  /** A page whose commit field says events were lost before it: remember how many, for its first event. */
  private announceMissed(raw: number, base: number, commit: number): void {
    const { pageHeader: h, longSize, littleEndian } = this.dat;
    const d = this.buf.data;
    const at = base + h.dataOffset + commit;
    let count = -1;
    if ((raw & RB_MISSED_STORED) !== 0 && at + longSize <= base + this.dat.pageSize)
      count =
        longSize === 8
          ? Number(littleEndian ? d.readBigUInt64LE(at) : d.readBigUInt64BE(at))
          : littleEndian
            ? d.readUInt32LE(at)
            : d.readUInt32BE(at);
    if (count === 0) return;
    const where = this.buf.compressed
      ? `page ${this.page} of CPU ${this.buf.cpu}'s decompressed data (byte ${base}; its compressed data is at file offset ${this.buf.fileOffset})`
      : `the page at byte offset ${this.buf.fileOffset + base} of the file`;
    this.pendingWhere ||= where;
    this.pendingMissed = this.pendingMissed < 0 || count < 0 ? -1 : this.pendingMissed + count;
  }

  /** Advance to the next data event; false at the end of the CPU's data. */
  next(): boolean {
    const little = this.dat.littleEndian;
    for (;;) {
      if (this.page < 0 || this.p + 4 > this.end) {
        if (!this.loadPage()) {
          this.done = true;
          return false;
        }
        continue;
      }
      const at = this.p;
      const hdr = this.u32(at);
      const typeLen = little ? hdr & 0x1f : hdr >>> 27;
      const delta = little ? hdr >>> 5 : hdr & 0x7ffffff;
      let q = at + 4;
      if (typeLen === PADDING) {
        if (delta === 0) {
          this.p = this.end; // the rest of the page is empty
          continue;
        }
        if (q + 4 > this.end) throw this.fail('a padding event runs past its page', at);
        this.time += delta;
        this.p = q + this.u32(q);
        continue;
      }
      if (typeLen === TIME_EXTEND || typeLen === TIME_STAMP) {
        if (q + 4 > this.end) throw this.fail('a time extend runs past its page', at);
        const ext = this.u32(q) * TS_SHIFT_MUL + delta;
        this.time = typeLen === TIME_EXTEND ? this.time + ext : ext;
        this.p = q + 4;
        continue;
      }
      let len: number;
      if (typeLen === 0) {
        if (q + 4 > this.end) throw this.fail('an event length runs past its page', at);
        len = ((this.u32(q) - 4 + 3) & ~3) >>> 0;
        q += 4;
      } else len = typeLen * 4;
      if (q + len > this.end) throw this.fail(`an event of ${len} bytes runs past its page`, at);
      this.time += delta;
      this.start = q;
      this.length = len;
      this.p = q + len;
      this.missed = this.pendingMissed;
      this.missedWhere = this.pendingWhere;
      this.pendingMissed = 0;
      this.pendingWhere = '';
      return true;
    }
  }
}

/**
 * The per-CPU cursors merged by timestamp (the lowest CPU first on equal timestamps, as trace-cmd's
 * `tracecmd_read_next_data`), one record at a time and without allocating: `next()` returns the
 * cursor that holds the next record, valid until the following call.
 */
export class RecordMerge {
  private readonly cursors: CpuCursor[];
  private last: CpuCursor | undefined;

  /** @throws InputError for a damaged first page of a CPU (each CPU's first event is read here, in buffer order). */
  constructor(dat: TraceDat, file: string) {
    this.cursors = dat.buffers.map((b) => new CpuCursor(dat, b, file)).filter((c) => c.next());
  }

  /**
   * The cursor of the next record in time order; undefined after the last.
   * @throws InputError for a damaged page (a length past its page, timestamps going backwards),
   *   when the CPU that holds it moves on to it: at the same record as {@link mergedRecords}.
   */
  next(): CpuCursor | undefined {
    this.last?.next();
    let best: CpuCursor | undefined;
    for (const c of this.cursors)
      if (!c.done && (best === undefined || c.time < best.time || (c.time === best.time && c.buf.cpu < best.buf.cpu))) best = c;
    this.last = best;
    return best;
  }
}

/**
 * Every event of the recording in time order (per-CPU buffers merged by timestamp; the lowest CPU
 * first on equal timestamps, as trace-cmd's `tracecmd_read_next_data`).
 * @throws InputError for a damaged page (a length past its page, timestamps going backwards).
 */
export function* mergedRecords(dat: TraceDat, file: string): Generator<DatRecord> {
  const merge = new RecordMerge(dat, file);
  for (let best = merge.next(); best; best = merge.next()) yield recordOf(best);
}

/** A cursor's current record as a value of its own. */
function recordOf(c: CpuCursor): DatRecord {
  const r: DatRecord = {
    cpu: c.buf.cpu,
    time: c.time,
    data: c.data,
    start: c.start,
    length: c.length,
    offset: c.buf.fileOffset + c.start,
  };
  if (c.missed !== 0) {
    r.missed = c.missed;
    r.missedWhere = c.missedWhere;
  }
  return r;
}

/** Reads the fields of records of one event format. */
export class FieldReader {
  constructor(private readonly little: boolean) {}

  num(r: RecordBytes, f: FieldFormat | undefined): number {
    if (!f || f.offset + f.size > r.length) return 0;
    const d = r.data;
    const at = r.start + f.offset;
    switch (f.size) {
      case 1:
        return f.signed ? d.readInt8(at) : d.readUInt8(at);
      case 2:
        return f.signed ? (this.little ? d.readInt16LE(at) : d.readInt16BE(at)) : this.little ? d.readUInt16LE(at) : d.readUInt16BE(at);
      case 4:
        return f.signed ? (this.little ? d.readInt32LE(at) : d.readInt32BE(at)) : this.little ? d.readUInt32LE(at) : d.readUInt32BE(at);
      case 8: {
        // the two halves, not a BigInt: hi * 2^32 is exact and the sum rounds once, to the nearest
        // (ties to even) as Number(BigInt) does, so a value beyond 2^53 is the same number
        const lo = this.little ? d.readUInt32LE(at) : d.readUInt32BE(at + 4);
        const hi = f.signed
          ? this.little
            ? d.readInt32LE(at + 4)
            : d.readInt32BE(at)
          : this.little
            ? d.readUInt32LE(at + 4)
            : d.readUInt32BE(at);
        return hi * 4294967296 + lo;
      }
      default:
        return 0;
    }
  }

  /** A number field as text, exact for 64-bit values (addresses). */
  text(r: RecordBytes, f: FieldFormat): string {
    if (f.size !== 8 || f.offset + 8 > r.length) return String(this.num(r, f));
    const d = r.data;
    const at = r.start + f.offset;
    const v = f.signed
      ? this.little
        ? d.readBigInt64LE(at)
        : d.readBigInt64BE(at)
      : this.little
        ? d.readBigUInt64LE(at)
        : d.readBigUInt64BE(at);
    return f.signed ? String(v) : `0x${v.toString(16)}`;
  }

  /** The text of the last {@link span}: `data[from, to)`. */
  private from = 0;
  private to = 0;

  /**
   * Where a string field's text is in `r.data`: [from, to), up to its NUL. A fixed array is its
   * bytes; `__data_loc` / `__rel_loc` point into the record; an array of size 0 (`char buf[]` of
   * ftrace's `print` event) runs to the end of the record.
   */
  extent(r: RecordBytes, f: FieldFormat | undefined): [number, number] | undefined {
    return this.span(r, f) ? [this.from, this.to] : undefined;
  }

  /** {@link extent} into `from` and `to` (no array per string); false when there is none. */
  private span(r: RecordBytes, f: FieldFormat | undefined): boolean {
    if (!f || f.offset + f.size > r.length) return false;
    const d = r.data;
    let from = r.start + f.offset;
    let to = f.size === 0 && !f.loc ? r.start + r.length : from + f.size;
    if (f.loc) {
      // the u32 at the field (read as a 4-byte number even when the format declares another size)
      const v = f.offset + 4 > r.length ? 0 : this.little ? d.readUInt32LE(from) : d.readUInt32BE(from);
      const off = (v & 0xffff) + (f.loc === 'rel' ? f.offset + f.size : 0);
      from = r.start + off;
      to = Math.min(from + (v >>> 16), r.start + r.length);
      if (from > to) return false;
    }
    // up to the first NUL before `to` (a bounded scan: the CPU's data goes on for megabytes after the record)
    let nul = from;
    while (nul < to && d[nul] !== 0) nul++;
    this.from = from;
    this.to = nul;
    return true;
  }

  /** Whether a string field has a byte of `a` or `b` (false when it has no text). */
  has(r: RecordBytes, f: FieldFormat | undefined, a: number, b: number): boolean {
    if (!this.span(r, f)) return false;
    const d = r.data;
    for (let i = this.from; i < this.to; i++) if (d[i] === a || d[i] === b) return true;
    return false;
  }

  /**
   * The lines `trace-cmd report` adds for newlines in the event's strings: each newline it prints
   * starts a line, except one that ends the event's text (the trailing newline of a `print` event's
   * buffer, which trace_marker writes always have: the event keeps its one line).
   */
  extraLines(r: RecordBytes, strings: readonly FieldFormat[]): number {
    let n = 0;
    let endsWithNewline = false;
    const d = r.data;
    for (const f of strings) {
      if (!this.span(r, f)) continue;
      const [from, to] = [this.from, this.to];
      for (let i = from; i < to; i++) if (d[i] === 10) n++;
      endsWithNewline = to > from && d[to - 1] === 10;
    }
    return endsWithNewline ? n - 1 : n;
  }

  str(r: RecordBytes, f: FieldFormat | undefined): string {
    if (!this.span(r, f)) return '';
    const s = r.data.toString('latin1', this.from, this.to);
    // a control character (a newline in a comm) would break the line
    let i = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 32 || c === 127) break;
    }
    if (i === s.length) return s;
    let clean = s.slice(0, i);
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      clean += c < 32 || c === 127 ? '?' : s[i];
    }
    return clean;
  }
}

/** A formatter of one event's body (print fmt of the kernel's TRACE_EVENT). */
type Body = (r: RecordBytes) => string;

/**
 * Bodies of the events the importer reads, as include/trace/events/sched.h and task.h print them;
 * any other event is `field=value` for each of its own fields.
 */
function bodyOf(e: EventFormat, rd: FieldReader): Body {
  const f = (n: string) => e.fields.get(n);
  const num = (n: string) => {
    const x = f(n);
    return (r: RecordBytes) => rd.num(r, x);
  };
  const str = (n: string) => {
    const x = f(n);
    return (r: RecordBytes) => rd.str(r, x);
  };
  switch (e.name) {
    case 'sched_switch': {
      const [pc, pp, ppr, ps, nc, np, npr] = [
        str('prev_comm'),
        num('prev_pid'),
        num('prev_prio'),
        num('prev_state'),
        str('next_comm'),
        num('next_pid'),
        num('next_prio'),
      ];
      const state = stateFlags(e.printFmt) ?? ((s: number) => String(s));
      return (r) =>
        `prev_comm=${pc(r)} prev_pid=${pp(r)} prev_prio=${ppr(r)} prev_state=${state(ps(r))} ==> next_comm=${nc(r)} next_pid=${np(r)} next_prio=${npr(r)}`;
    }
    case 'sched_process_fork': {
      const [pc, pp, cc, cp] = [str('parent_comm'), num('parent_pid'), str('child_comm'), num('child_pid')];
      return (r) => `comm=${pc(r)} pid=${pp(r)} child_comm=${cc(r)} child_pid=${cp(r)}`;
    }
    case 'sched_process_exec': {
      const [fn, pid, old] = [str('filename'), num('pid'), num('old_pid')];
      return (r) => `filename=${fn(r)} pid=${pid(r)} old_pid=${old(r)}`;
    }
    case 'sched_process_exit':
    case 'sched_process_free':
    case 'sched_process_wait': {
      const [c, pid, prio] = [str('comm'), num('pid'), num('prio')];
      return (r) => `comm=${c(r)} pid=${pid(r)} prio=${prio(r)}`;
    }
    case 'task_newtask': {
      const [pid, c, flags, oom] = [num('pid'), str('comm'), num('clone_flags'), num('oom_score_adj')];
      return (r) => `pid=${pid(r)} comm=${c(r)} clone_flags=${flags(r).toString(16)} oom_score_adj=${oom(r)}`;
    }
    case 'task_rename': {
      const [pid, o, n, oom] = [num('pid'), str('oldcomm'), str('newcomm'), num('oom_score_adj')];
      return (r) => `pid=${pid(r)} oldcomm=${o(r)} newcomm=${n(r)} oom_score_adj=${oom(r)}`;
    }
    default: {
      const fields = [...e.fields.values()].filter((x) => !x.name.startsWith('common_'));
      return (r) => fields.map((x) => `${x.name}=${x.isString ? rd.str(r, x) : rd.text(r, x)}`).join(' ');
    }
  }
}

/** One event format as the lines print it. */
export interface EventPrinter {
  name: string;
  /** The body of the line (empty for an event whose body is not asked for). */
  body: Body;
  /** The strings the event prints (its own fields), whose newlines `trace-cmd report` prints as they are. */
  strings: FieldFormat[];
}

/**
 * Records as the ftrace text lines of {@link datLines}: `comm-pid [cpu] seconds.nanoseconds: event:
 * body`, the comm from the saved command lines (`<idle>` for pid 0, `<...>` when not saved). With
 * `only`, the bodies of other events are left empty.
 */
export class DatFormatter {
  readonly rd: FieldReader;
  /** `common_type` and `common_pid` as the first event format has them (the layout every event shares). */
  readonly typeField: FieldFormat;
  readonly pidField: FieldFormat;
  /** Event id -> how it prints. */
  readonly events = new Map<number, EventPrinter>();

  constructor(
    private readonly dat: TraceDat,
    only?: ReadonlySet<string>,
  ) {
    const rd = (this.rd = new FieldReader(dat.littleEndian));
    const any = dat.events.values().next().value as EventFormat | undefined;
    this.typeField = any?.fields.get('common_type') ?? { name: 'common_type', offset: 0, size: 2, signed: false, isString: false };
    this.pidField = any?.fields.get('common_pid') ?? { name: 'common_pid', offset: 4, size: 4, signed: true, isString: false };
    for (const [id, e] of dat.events)
      this.events.set(id, {
        name: e.name,
        body: !only || only.has(e.name) ? bodyOf(e, rd) : () => '',
        strings: [...e.fields.values()].filter((x) => x.isString && !x.name.startsWith('common_')),
      });
  }

  /** The comm a line prints for `pid`. */
  commOf(pid: number): string {
    return pid === 0 ? '<idle>' : (this.dat.comms.get(pid) ?? '<...>');
  }

  /** A record's event id. */
  id(r: RecordBytes): number {
    return this.rd.num(r, this.typeField);
  }

  /** A record's pid (`common_pid`). */
  pid(r: RecordBytes): number {
    return this.rd.num(r, this.pidField);
  }

  /** The line of a record on CPU `cpu` at `time` (ns); `offset`: its file offset (named for an event without a format). */
  line(r: RecordBytes, cpu: number, time: number, offset: number): string {
    const id = this.id(r);
    const pid = this.pid(r);
    const ev = this.events.get(id);
    const sec = Math.floor(time / 1e9);
    const ns = String(time - sec * 1e9).padStart(9, '0');
    const name = ev?.name ?? `unknown_event_id_${id}`;
    const body = ev ? ev.body(r) : `(no format for event id ${id} at byte offset ${offset})`;
    return `${this.commOf(pid)}-${pid} [${String(cpu).padStart(3, '0')}] ${sec}.${ns}: ${name}: ${body}`;
  }

  /**
   * The lines `trace-cmd report` prints after the record's line: a newline in the event's text (a
   * print event's buffer, a comm) is printed as it is, so the next event is that many lines further
   * down. (The line of {@link line} keeps one line: its control characters are replaced.)
   */
  extraLines(r: RecordBytes, ev: EventPrinter | undefined = this.events.get(this.id(r))): number {
    return ev && ev.strings.length > 0 ? this.rd.extraLines(r, ev.strings) : 0;
  }
}

/**
 * The recording as ftrace text lines: `cpus=N` first (as `trace-cmd report` prints it), then one
 * line per event in time order with nanosecond timestamps, so that line `n` is the event `trace-cmd
 * report` prints on its line `n` when it prints no other header. Events lost before a record (a
 * page with RB_MISSED_EVENTS) give the line `trace-cmd report` prints before it,
 * `CPU:<cpu> [<count> EVENTS DROPPED]` (`CPU:<cpu> [EVENTS DROPPED]` when the count is not stored),
 * and `lost`, when given, gets that line's number and where the page is in the file. With `only`,
 * the bodies of other events are left empty (their names are all an importer counts; formatting
 * them is most of the cost).
 */
export function* datLines(
  dat: TraceDat,
  file: string,
  only?: ReadonlySet<string>,
  lost?: Map<number, string>,
): Generator<[number, string]> {
  const fm = new DatFormatter(dat, only);
  let n = 1;
  yield [n, `cpus=${dat.cpus}`];
  // n: the line `trace-cmd report` prints the record on
  const merge = new RecordMerge(dat, file);
  for (let c = merge.next(); c; c = merge.next()) {
    if (c.missed !== 0) {
      n++;
      lost?.set(n, c.missedWhere);
      yield [n, lostLine(c)];
    }
    n++;
    yield [n, fm.line(c, c.buf.cpu, c.time, c.buf.fileOffset + c.start)];
    n += fm.extraLines(c);
  }
}

/** The line `trace-cmd report` prints for the events lost before a cursor's record. */
export function lostLine(c: CpuCursor): string {
  return c.missed > 0 ? `CPU:${c.buf.cpu} [${c.missed} EVENTS DROPPED]` : `CPU:${c.buf.cpu} [EVENTS DROPPED]`;
}
