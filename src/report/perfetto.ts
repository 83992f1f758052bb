/**
 * `replay --perfetto trace.json`: the Chrome Trace Event Format (JSON object form) that
 * ui.perfetto.dev and chrome://tracing open.
 *
 * - process 1 "CPUs": a thread per CPU (tid = CPU + 1) with a complete slice (`ph: "X"`) for each
 *   stretch an mm runs, named `<mm> gen <generation>`, args: mm, task, row (the schedule that
 *   switched it in), endRow, generation;
 * - process 2 "ASID allocator": instant events (`ph: "i"`) for rollovers, pin failures, violations,
 *   stale entries and device failures, one thread each, args with the trace row (and fill row,
 *   should-have row); counter tracks (`ph: "C"`) for the generation, ASIDs in use and free, pinned
 *   ASIDs (end of bucket, most in it) against the limit, pins / pin failures / unpins, allocations and
 *   switches per bucket;
 * - process 3 + i: counters of SMMU i (IOTLB occupancy, hits / misses / fills, SMMU ASIDs
 *   allocated / freed / moved, commands by opcode).
 *
 * Every count comes from the series (the observer's events): the instants of a class are the
 * series' findings of it, as many as the report counts (`otherData.findings`).
 *
 * `ts` and `dur` are microseconds: trace time (ns) / 1000, or the trace row when the trace has no
 * time. Slices and instants are streamed as the replay goes (memory flat in trace length); at most
 * {@link MAX_SLICES} slices and {@link MAX_INSTANTS} instants of each class are written; counters
 * are the bucketed series.
 */
import type { ByteSink } from './gzip.js';
import type { FindingPoint, Series, TimelineSink } from './series.js';

/** Most instant events written per class (rollover, violation, ...); the counters cover all. */
export const MAX_INSTANTS = 100_000;
/**
 * Most slices written (about 180 bytes each on kernel-build: the file stays under about 370 MB);
 * later slices are counted in `otherData.slicesDropped`.
 */
export const MAX_SLICES = 2_000_000;

const CLASSES: FindingPoint['class'][] = ['rollover', 'pin-failure', 'violation', 'stale', 'device-failure'];
const CLASS_NAMES: Record<FindingPoint['class'], string> = {
  rollover: 'rollovers',
  'pin-failure': 'pin failures',
  violation: 'violations',
  stale: 'stale IOTLB/ATC entries',
  'device-failure': 'device failures',
};

/** Bytes gathered before a write to the stream (the last chunk may be larger: a line is never split). */
const CHUNK = 1 << 16;
/** The fixed parts of a slice's line, as bytes. */
const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');
const SLICE_HEAD = bytes(',\n{"ph":"X","pid":1,"tid":');
const TS = bytes(',"ts":');
const DUR = bytes(',"dur":');
const ASID = bytes(' ASID ');
const NO_ASID = bytes(' no ASID');
const GEN = bytes(' gen ');
const NAME = bytes(',"name":"');
const ARGS_MM = bytes('","args":{"mm":"');
const ARGS_ASID = bytes('","asid":');
const TASK = bytes(',"task":');
const ROW = bytes(',"row":');
const END_ROW = bytes(',"endRow":');
const GENERATION = bytes(',"generation":');
const CLOSE = bytes('}}');
/** Labels needing escapes whose JSON text is kept ({@link escapedLabel}); then the cache starts afresh. */
const MM_CACHE = 4096;

/** Trace Event JSON writer; a {@link TimelineSink} for the series collector. */
export class PerfettoWriter implements TimelineSink {
  /** The chunk being filled, and how much of it is. */
  private buf = Buffer.allocUnsafe(CHUNK);
  private pos = 0;
  private first = true;
  private axis: 'time' | 'row' | null = null;
  private readonly instants = new Map<string, number>();
  private dropped = 0;
  private slices = 0;
  private slicesDropped = 0;
  /** mm label needing escapes -> its JSON string's body as UTF-8 ({@link escapedLabel}). */
  private readonly mmJson = new Map<string, Uint8Array>();
  /** Per CPU, a slice line's bytes up to its `ts` value: `,\n{"ph":"X","pid":1,"tid":<cpu + 1>,"ts":`. */
  private readonly heads: Uint8Array[];

  /**
   * @param out where the JSON goes (a Writable, or {@link GzipSegments}): Buffers of about {@link CHUNK} bytes
   * @param cpus number of CPUs (one thread each)
   * @param smmus SMMU names (one process each)
   * @param axis the collector's axis (read when the first event is written)
   * @param maxSlices slices written at most (default {@link MAX_SLICES}; tests set fewer)
   */
  constructor(
    private readonly out: ByteSink,
    cpus: number,
    private readonly smmus: readonly string[],
    private readonly axisOf: () => 'time' | 'row',
    private readonly maxSlices = MAX_SLICES,
  ) {
    this.heads = Array.from({ length: cpus }, (_, c) => bytes(`,\n{"ph":"X","pid":1,"tid":${c + 1},"ts":`));
    this.text('{"traceEvents":[\n');
    this.meta(1, 0, 'process_name', { name: 'CPUs' });
    this.meta(1, 0, 'process_sort_index', { sort_index: 1 });
    for (let c = 0; c < cpus; c++) {
      this.meta(1, c + 1, 'thread_name', { name: `CPU ${c}` });
      this.meta(1, c + 1, 'thread_sort_index', { sort_index: c });
    }
    this.meta(2, 0, 'process_name', { name: 'ASID allocator' });
    this.meta(2, 0, 'process_sort_index', { sort_index: 2 });
    CLASSES.forEach((k, i) => this.meta(2, i + 1, 'thread_name', { name: CLASS_NAMES[k] }));
    smmus.forEach((name, i) => {
      this.meta(3 + i, 0, 'process_name', { name: `SMMU ${name}` });
      this.meta(3 + i, 0, 'process_sort_index', { sort_index: 3 + i });
    });
  }

  private meta(pid: number, tid: number, name: string, args: object): void {
    this.push({ ph: 'M', pid, tid, name, args });
  }

  private push(ev: object): void {
    this.line(JSON.stringify(ev));
  }

  private line(json: string): void {
    if (!this.first) this.text(',\n');
    this.first = false;
    this.text(json);
  }

  /** Room for `n` more bytes in the chunk: the full chunk goes to the stream first. */
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  /**
   * Hand the bytes gathered to the stream: a fresh chunk follows, as a stream keeps the old one until
   * written, unless the sink {@link ByteSink.consumes} them at once.
   */
  private flush(): void {
    if (this.pos === 0) return;
    this.out.write(this.buf.subarray(0, this.pos));
    if (!this.out.consumes) this.buf = Buffer.allocUnsafe(CHUNK);
    this.pos = 0;
  }

  /** `s` as UTF-8 (at most 3 bytes per UTF-16 unit). */
  private text(s: string): void {
    this.room(3 * s.length);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** x (ns or row) as microseconds. */
  private ts(x: number): number {
    this.axis ??= this.axisOf();
    return this.axis === 'time' ? x / 1000 : x;
  }

  /**
   * One complete slice: CPU `cpu` ran `mm` from x = `start` to `end` (ns of trace time, or rows).
   * Its bytes are those of
   * `JSON.stringify({ ph: 'X', pid: 1, tid, ts, dur, name, args: { mm, asid, task, row, endRow, generation } })`
   * with `ts` = start / 1000 and `dur` = max(0, end - start) / 1000 on the time axis (start and
   * max(0, end - start) on the row axis): test/perfetto.test.ts compares them over generated traces
   * and odd values. They are written piece by piece into the chunk: this runs once per switch of
   * the whole trace, and building the line as a string cost more than the replay itself (numbers to
   * strings, the string to bytes).
   *
   * `dur` is the length in ns made µs, not `end / 1000 - start / 1000`: that difference of two
   * rounded doubles read `61.14599999999999` where the trace said 61146 ns, and its `String` was
   * 40% of the writer's time. The Perfetto UI reads both as the same nanoseconds (its JSON importer
   * rounds µs * 1000 to the nearest ns).
   */
  slice(
    cpu: number,
    start: number,
    end: number,
    mm: string,
    task: number,
    row: number,
    endRow: number,
    generation: number,
    asid: number,
  ): void {
    if (this.slices >= this.maxSlices) {
      this.slicesDropped++;
      return;
    }
    this.slices++;
    this.axis ??= this.axisOf();
    const time = this.axis === 'time';
    // dur: the stretch's length, end - start, as ts's are written: in µs, exact (not the difference
    // of two µs values rounded to doubles, whose text can end in ...99999999)
    const length = Math.max(0, end - start);
    // One check of the room for the whole line, then every piece written at a local position:
    // a check and a store of the position per piece were a third of this function's time. The
    // label's two copies take at most 6 bytes per UTF-16 unit each (`\u001f`).
    this.room(12 * mm.length + SLICE_FIXED_MAX);
    const b = this.buf;
    let p = this.pos;
    // The head starts with the separator: the metadata lines always come first (constructor).
    const head = this.heads[cpu];
    if (head !== undefined) p = put(b, p, head);
    else p = put(b, putNum(b, put(b, p, SLICE_HEAD), cpu + 1), TS);
    p = time ? putMicros(b, p, start) : putNum(b, p, start);
    p = put(b, p, DUR);
    p = time ? putMicros(b, p, length) : putNum(b, p, length);
    // name: JSON.stringify(`${mm} ASID ${asid} gen ${generation}`) is mm's JSON string's body, then
    // ASCII (an escape never spans the join: what follows mm is a space, not a low surrogate).
    // A label of printable ASCII without `"` or `\` (nearly every label) is its own body: its
    // characters are written as they are, with no bytes made for it (a cache of each label's
    // bytes cost a sixth of the writer's time: most labels are new, the mms of short-lived processes).
    p = put(b, p, NAME);
    const label = p;
    p = putPlain(b, p, mm);
    // Stryker disable next-line EqualityOperator: equivalent, p is never 0 here (the line's head came first)
    if (p < 0) p = put(b, label, this.escapedLabel(mm));
    const labelEnd = p;
    p = asid >= 0 ? putNum(b, put(b, p, ASID), asid) : put(b, p, NO_ASID);
    p = putNum(b, put(b, p, GEN), generation);
    p = put(b, p, ARGS_MM);
    for (let i = label; i < labelEnd; i++) b[p++] = b[i]!; // the label again
    p = putNum(b, put(b, p, ARGS_ASID), asid);
    p = putNum(b, put(b, p, TASK), task);
    p = putNum(b, put(b, p, ROW), row);
    p = putNum(b, put(b, p, END_ROW), endRow);
    p = putNum(b, put(b, p, GENERATION), generation);
    this.pos = put(b, p, CLOSE);
  }

  /** The body of `mm`'s JSON string (between its quotes) as UTF-8, kept for the next slices of it. */
  private escapedLabel(mm: string): Uint8Array {
    let body = this.mmJson.get(mm);
    // Stryker disable next-line ConditionalExpression: equivalent, -> true makes the same bytes again
    if (body === undefined) {
      // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, memory only: the cache's bound
      if (this.mmJson.size >= MM_CACHE) this.mmJson.clear();
      // Stryker disable next-line StringLiteral: equivalent, Buffer.from's encoding defaults to utf8
      body = Buffer.from(JSON.stringify(mm).slice(1, -1), 'utf8');
      this.mmJson.set(mm, body);
    }
    return body;
  }

  instant(x: number, p: FindingPoint): void {
    const n = this.instants.get(p.class) ?? 0;
    if (n >= MAX_INSTANTS) {
      this.dropped++;
      return;
    }
    this.instants.set(p.class, n + 1);
    const args: Record<string, unknown> = { row: p.row, kind: p.kind, detail: p.detail };
    if (p.fillRow !== undefined) args.fillRow = p.fillRow;
    if (p.shouldHaveRow !== undefined) args.shouldHaveRow = p.shouldHaveRow;
    this.push({ ph: 'i', s: 't', pid: 2, tid: CLASSES.indexOf(p.class) + 1, ts: this.ts(x), name: p.kind, cat: p.class, args });
  }

  /**
   * Write the counter tracks from the series and close the JSON; then end nothing (the caller commits the output).
   * @param droppedBefore slices dropped before they reached this writer (perfetto-thread.ts stops
   *   sending them past the cap), counted in `otherData.slicesDropped` with its own
   */
  finish(s: Series, droppedBefore = 0): void {
    this.slicesDropped += droppedBefore;
    this.axis ??= s.axis;
    const col = (name: string) => s.values[s.columns.findIndex((c) => c.name === name)]!;
    const counter = (pid: number, name: string, series: Record<string, number[]>) => {
      const keys = Object.keys(series);
      for (let j = 0; j < s.x.length; j++) {
        const args: Record<string, number> = {};
        for (const k of keys) args[k] = series[k]![j]!;
        this.push({ ph: 'C', pid, tid: 0, ts: this.ts(s.x[j]!), name, args });
      }
    };
    const per = s.axis === 'time' ? `per ${s.width} ns` : `per ${s.width} rows`;
    counter(2, 'generation', { generation: col('generation') });
    const pinned = col('pinned');
    counter(2, 'pinned ASIDs', {
      pinned,
      most: col('pinned_max'),
      ...(s.limits.pinLimit !== null ? { limit: pinned.map(() => s.limits.pinLimit!) } : {}),
    });
    counter(2, `pins (${per})`, { requests: col('pin_requests'), failures: col('pin_failures'), unpins: col('unpins') });
    counter(2, 'ASIDs in use', { inUse: col('asids_in_use') });
    counter(2, 'free ASIDs', { free: col('free_asids') });
    counter(2, `ASID allocations (${per})`, {
      fresh: col('allocations'),
      reserved: col('reused_reserved'),
      pinned: col('reused_pinned'),
      free: col('reused_free'),
    });
    counter(2, `switch_mm (${per})`, { switches: col('switches'), slowPath: col('slow_path') });
    this.smmus.forEach((name, i) => {
      counter(3 + i, 'IOTLB occupancy', { entries: col(`${name}.iotlb_entries`) });
      counter(3 + i, `SMMU ASIDs (${per})`, {
        allocated: col(`${name}.asids_allocated`),
        freed: col(`${name}.asids_freed`),
        moved: col(`${name}.asids_moved`),
      });
      counter(3 + i, `IOTLB (${per})`, {
        hits: col(`${name}.iotlb_hits`),
        misses: col(`${name}.iotlb_misses`),
        fills: col(`${name}.iotlb_fills`),
        atcHits: col(`${name}.atc_hits`),
      });
      const ops: Record<string, number[]> = {};
      for (const c of s.columns) if (c.smmu === name && c.name.startsWith(`${name}.CMD_`)) ops[c.name.slice(name.length + 1)] = col(c.name);
      counter(3 + i, `commands (${per})`, ops);
    });
    this.text(
      `\n],"displayTimeUnit":"ns","otherData":${JSON.stringify({ generator: 'asid-replay', axis: s.axis === 'time' ? 'trace time' : 'trace row as microseconds', instantsDropped: this.dropped, slicesDropped: this.slicesDropped, findings: s.findingCounts })}}\n`,
    );
    this.flush();
  }
}

/** Number of decimal digits of an integer from 0 to 2^31 - 1. */
function digits(w: number): number {
  return w < 10
    ? 1
    : w < 100
      ? 2
      : w < 1000
        ? 3
        : w < 10_000
          ? 4
          : w < 100_000
            ? 5
            : w < 1e6
              ? 6
              : w < 1e7
                ? 7
                : w < 1e8
                  ? 8
                  : w < 1e9
                    ? 9
                    : 10;
}

/**
 * Most bytes of a slice line besides its label's two copies: the fixed text (under 200 bytes) and
 * nine numbers of at most 25 characters each (`String` of any double).
 */
const SLICE_FIXED_MAX = 512;

/** Copy `a` into `b` at `p` (a short loop: cheaper than `set` for a few bytes); the position after it. */
function put(b: Uint8Array, p: number, a: Uint8Array): number {
  for (let i = 0; i < a.length; i++) b[p++] = a[i]!;
  return p;
}

/**
 * `s` into `b` at `p` when it is its own JSON string's body: every character printable ASCII
 * (0x20 to 0x7e) other than `"` and `\`, which JSON.stringify writes as they are, each one byte in
 * UTF-8. The position after it; -1 for any other string (what was written is to be overwritten).
 */
function putPlain(b: Uint8Array, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Stryker disable next-line EqualityOperator: equivalent, a space or a ~ sent to the escaping path (JSON.stringify) comes out the same: only the speed differs
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return -1;
    b[p++] = c;
  }
  return p;
}

/** `s`, known to be ASCII (a number's text), into `b` at `p`; the position after it. */
function putAscii(b: Uint8Array, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
  return p;
}

/**
 * `v` as `String(v)` writes it, into `b` at `p`; the position after it. An integer from 0 to
 * 2^31 - 1 (rows, tasks, ASIDs, generations, CPUs: nearly every number of a slice) is written
 * digit by digit in small-integer arithmetic, the same text without a string made for it; any
 * other number goes through `String` (a digit loop in doubles would be wrong near 2^53, where
 * v / 10 is rounded).
 */
function putNum(b: Uint8Array, p: number, v: number): number {
  if (!(v >= 0 && v < 2 ** 31 && Number.isInteger(v))) return putAscii(b, p, String(v));
  let w = v | 0;
  const after = p + digits(w);
  let q = after;
  do {
    const t = (w / 10) | 0;
    b[--q] = 48 + w - 10 * t;
    w = t;
  } while (w > 0);
  return after;
}

/**
 * `x / 1000` (a time in ns as microseconds) as `String(x / 1000)` writes it, into `b` at `p`; the
 * position after it. For x a non-negative integer below 2^52 its shortest round-trip text is x's
 * digits with a decimal point before the last three and the trailing zeros dropped: x / 1000 is
 * the double nearest to that decimal, and no other decimal with as few digits or fewer rounds to
 * it, as each is at least 0.001 away from it while the value, below 2^43, has an ulp of at most
 * 2^-10. Any other x goes through `String`.
 */
function putMicros(b: Uint8Array, p: number, x: number): number {
  if (!(x >= 0 && x < 2 ** 52 && Number.isInteger(x))) return putAscii(b, p, String(x / 1000));
  const whole = Math.floor(x / 1000);
  let frac = x - whole * 1000;
  p = putNum(b, p, whole);
  if (frac === 0) return p;
  b[p++] = 46; // '.'
  const d0 = Math.floor(frac / 100);
  frac -= d0 * 100;
  const d1 = Math.floor(frac / 10);
  const d2 = frac - d1 * 10;
  b[p++] = 48 + d0;
  if (d1 !== 0 || d2 !== 0) b[p++] = 48 + d1;
  if (d2 !== 0) b[p++] = 48 + d2;
  return p;
}
