/**
 * Importers: real recordings → trace v1 (docs/recordings.md).
 *
 * Rules: threads share their thread group's mm when the TGID is known (`p<tgid>`), otherwise every
 * pid is its own process (`p<pid>`); a pid's first appearance is its fork; a `prev_state` that says
 * the task is dead is its exit (a later appearance of the pid is a new task, as pids are reused);
 * pid 0 and kernel threads are scheduled as task 0 (lazy TLB, no switch of the user mm). The first
 * switch seen on a CPU also schedules its outgoing task, so the CPU starts in the state the recording
 * shows. Lines that are not `sched_switch` are counted by event name, never silently dropped.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { InputError } from '../trace/errors.js';
import { type EventKind, SRC_RE, type TraceEvent, srcCell } from '../trace/events.js';
import { type ImportKind, type ImportSummary, lostCount, lostEventsText, lostTotal } from './kinds.js';
import { TraceWriter } from '../trace/writer.js';
import { openOutput } from '../util/output.js';
import { type FtraceLine, type SchedSwitch, ftraceColumns, parseFtraceLine, parseLostEvents, parseSchedSwitch } from './ftrace-line.js';
import { type SystraceBlock, extractSystrace } from './systrace.js';
import { DeviceOverlay, OVERLAY_DEVICE, type OverlayOptions, SwitchCounter, chooseProcesses, overlaySystem } from './overlay.js';
import { type Input, contentOf, detectKind, loadInput, mismatch, sniffInput } from './auto.js';
import { PERF_TASK_EVENTS, perfLines } from './perf-script.js';
import { type RecordBytes, RecordMerge, type TraceDat, datLines, lostLine, parseTraceDat } from './tracedat/index.js';
import { DatEvents, LIFECYCLE, OTHER, SWITCH, TEXT } from './tracedat/fast.js';
import { LIFECYCLE_EVENTS, type RecordingFacts, Tasks, type TaskOptions } from './lifecycle.js';
import type { ProcessDump } from './process-dump.js';

export { IMPORT_KINDS, type ImportKind, type ImportSummary } from './kinds.js';

type Lines = () => AsyncIterable<[number, string]>;

/**
 * A recording ready to import: its first pass, then its conversions (one, or two with `--overlay`:
 * a dry run first).
 */
interface Recording {
  /** The first pass: what the whole recording says before any event is converted (called once, first). */
  prescan(): Promise<Prescan>;
  /** Hand the recording to a conversion, line by line or event by event, in line order (after `prescan`). */
  feed(c: Converter): Promise<void>;
  /** Line number of a `CPU:N [... EVENTS DROPPED]` line of a trace.dat -> where its page is (filled by `prescan`). */
  lostWhere?: Map<number, string>;
  /** Systrace: the trace-data blocks and the process dump. */
  systrace?: { blocks: SystraceBlock[]; dump?: ProcessDump };
}

/** A recording read as text lines: each pass reads the lines again. */
function textRecording(lines: Lines, input: string, extra: Pick<Recording, 'lostWhere' | 'systrace'> = {}): Recording {
  return {
    ...extra,
    prescan: async () => {
      const p = new Prescanner(input);
      for await (const [n, l] of lines()) p.line(n, l);
      return p.result(extra.systrace?.dump);
    },
    feed: async (c) => {
      for await (const [n, l] of lines()) await c.line(n, l);
    },
  };
}

async function* fileLines(file: string): AsyncIterable<[number, string]> {
  const input = createReadStream(file, { encoding: 'utf8' });
  const rl = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const l of rl) yield [++n, l];
  } finally {
    rl.close();
    input.destroy(); // the caller may stop early (a bad line): do not keep the file open
  }
}

async function* arrayLines(lines: [number, string][]): AsyncIterable<[number, string]> {
  yield* lines;
}

/** The lines of an input read into memory (standard input, a pipe). */
async function* bufferLines(data: Buffer): AsyncIterable<[number, string]> {
  const text = data.toString('utf8');
  let n = 0;
  let at = 0;
  while (at < text.length) {
    const nl = text.indexOf('\n', at);
    const end = nl < 0 ? text.length : nl;
    yield [++n, text.slice(at, end > at && text[end - 1] === '\r' ? end - 1 : end)];
    at = end + 1;
  }
}

/** The trace.dat events whose bodies the importer reads (the others are counted by name). */
const DAT_BODIES: ReadonlySet<string> = new Set(['sched_switch', ...LIFECYCLE_EVENTS]);
const DAT_LIFECYCLE: ReadonlySet<string> = new Set(LIFECYCLE_EVENTS);

async function* syncLines(lines: Iterable<[number, string]>): AsyncIterable<[number, string]> {
  yield* lines;
}

/**
 * A trace.dat read in one pass: the first pass decodes each page once, in time order, and keeps an
 * index of what the conversions need (the place of each sched_switch and lifecycle record, runs of
 * other events by name, and the lines read as text); a conversion reads the records it needs again
 * from the index, not the pages. A record whose ftrace line is plain is read directly
 * (tracedat/fast.ts); any other, the `cpus=` line and the lost-events lines are printed and read as
 * the text importer reads them, so that the import is the import of {@link datLines}' text: the
 * same events, summary and errors at the same line (test/tracedat-fast.test.ts).
 */
function datRecording(dat: TraceDat, input: string): Recording {
  const lostWhere = new Map<number, string>();
  // The index, entry by entry (`kind`): RUN (events of one name in a row, only counted: `a` the
  // name, `b` how many), RECORD (a sched_switch or lifecycle record: `a` its CPU buffer, `b` where
  // it starts, `len`, `time`), TEXT_RECORD (the same, a record read through its line, printed again
  // when converted rather than kept), LINE (the `cpus=` line or a lost-events line: `a` its place in
  // `texts`); `line` the line number.
  const [RUN, RECORD, TEXT_RECORD, LINE] = [0, 1, 2, 3];
  const ix = new DatIndex();
  const texts: string[] = [];
  let events: DatEvents | undefined;
  return {
    lostWhere,
    prescan: async () => {
      const p = new Prescanner(input);
      const ev = (events = new DatEvents(dat, DAT_BODIES, DAT_LIFECYCLE));
      const fm = ev.fm;
      const bufferIndex = new Map(dat.buffers.map((b, i) => [b, i]));
      let n = 1;
      const text = (l: string) => {
        p.line(n, l);
        ix.push(LINE, n, texts.length, 0, 0, 0);
        texts.push(l);
      };
      text(`cpus=${dat.cpus}`);
      // n: the line `trace-cmd report` prints the record on (as datLines numbers it)
      const merge = new RecordMerge(dat, input);
      let lastName = -1;
      for (let r = merge.next(); r; r = merge.next()) {
        if (r.missed !== 0) {
          n++;
          lostWhere.set(n, r.missedWhere);
          text(lostLine(r));
        }
        n++;
        const cpu = r.buf.cpu;
        const as = ev.read(r, cpu, r.time, false);
        if (as === OTHER) {
          p.cpu(cpu);
          const name = ev.ev!.nameIndex;
          if (ix.length > 0 && ix.kind[ix.length - 1] === RUN && lastName === name) ix.b[ix.length - 1]!++;
          else ix.push(RUN, n, (lastName = name), 1, 0, 0);
        } else if (as === TEXT) {
          p.line(n, fm.line(r, cpu, r.time, r.buf.fileOffset + r.start));
          ix.push(TEXT_RECORD, n, bufferIndex.get(r.buf)!, r.start, r.length, r.time);
        } else {
          if (as === SWITCH) p.switched(cpu, ev.prevPid, ev.nextPid, (next) => ev.switchComm(r, next));
          else p.event(n, ev.line, undefined, () => fm.line(r, cpu, r.time, r.buf.fileOffset + r.start));
          ix.push(RECORD, n, bufferIndex.get(r.buf)!, r.start, r.length, r.time);
        }
        n += fm.extraLines(r, ev.ev);
      }
      return p.result(undefined);
    },
    feed: async (c) => {
      const ev = events!;
      const { kind, line, a, b, len, time } = ix;
      // the record being converted (one object, and one closure making its line: the loop moves on
      // only once its conversion is done)
      const rec: RecordBytes = { data: dat.buffers[0]?.data ?? Buffer.alloc(0), start: 0, length: 0 };
      let cpu = 0;
      let t = 0;
      let fileOffset = 0;
      const text = () => ev.fm.line(rec, cpu, t, fileOffset + rec.start);
      for (let i = 0; i < ix.length; i++) {
        const k = kind[i];
        if (k === RUN) c.other(ev.names[a[i]!]!, b[i]!);
        else if (k === LINE) await c.line(line[i]!, texts[a[i]!]!);
        else {
          const buf = dat.buffers[a[i]!]!;
          rec.data = buf.data;
          rec.start = b[i]!;
          rec.length = len[i]!;
          cpu = buf.cpu;
          t = time[i]!;
          fileOffset = buf.fileOffset;
          if (k === TEXT_RECORD) {
            await c.line(line[i]!, text());
            continue;
          }
          const as = ev.read(rec, cpu, t);
          if (as !== SWITCH && as !== LIFECYCLE) throw new Error(`internal: the record of line ${line[i]} reads otherwise the second time`);
          await c.event(line[i]!, ev.line, as === SWITCH ? ev.sw : undefined, text);
        }
      }
    },
  };
}

/**
 * The index of a trace.dat's first pass, a row per entry in line order: its kind, line number,
 * time and three numbers below 2^32 (`a`, `b`, `len`: what they hold depends on the kind). Typed
 * arrays, nothing for the garbage collector to walk, grown by doubling from room for 2^16 rows.
 */
class DatIndex {
  kind = new Uint8Array(1 << 16);
  line = new Float64Array(1 << 16);
  time = new Float64Array(1 << 16);
  a = new Uint32Array(1 << 16);
  b = new Uint32Array(1 << 16);
  len = new Uint32Array(1 << 16);
  length = 0;

  push(kind: number, line: number, a: number, b: number, len: number, time: number): void {
    const i = this.length;
    if (i === this.kind.length) this.grow();
    this.kind[i] = kind;
    this.line[i] = line;
    this.a[i] = a;
    this.b[i] = b;
    this.len[i] = len;
    this.time[i] = time;
    this.length++;
  }

  private grow(): void {
    const twice = <T extends Uint8Array | Uint32Array | Float64Array>(x: T, make: (n: number) => T): T => {
      const y = make(x.length * 2);
      y.set(x);
      return y;
    };
    this.kind = twice(this.kind, (n) => new Uint8Array(n));
    for (const k of ['line', 'time'] as const) this[k] = twice(this[k], (n) => new Float64Array(n));
    for (const k of ['a', 'b', 'len'] as const) this[k] = twice(this[k], (n) => new Uint32Array(n));
  }
}

/**
 * The recording an importer reads from `src`: ftrace text, systrace HTML's ftrace block, perf script
 * samples rewritten into ftrace lines, or a trace.dat's events (read from its records; with
 * `datText`, as the ftrace lines of {@link datLines}, the definition the records are read by).
 * @throws InputError when the content is another kind of recording than `kind` (what it looks
 *   like and which importer to use), or cannot be read.
 */
async function inputRecording(kind: ImportKind, src: Input, input: string, datText = false): Promise<Recording> {
  const look = await sniffInput(src);
  const compatible = look.kind === kind || (look.kind === undefined && kind !== 'trace-dat' && look.looksLike.startsWith('text'));
  if (!compatible) throw new InputError(mismatch(look, kind), input);
  if (kind === 'systrace') {
    const ex = extractSystrace((await contentOf(src)).toString('utf8'), input);
    return textRecording(() => arrayLines(ex.lines), input, { systrace: { blocks: ex.blocks, dump: ex.dump } });
  }
  if (kind === 'trace-dat') {
    const dat = parseTraceDat(await contentOf(src), input);
    if (!datText) return datRecording(dat, input);
    const lostWhere = new Map<number, string>();
    return textRecording(() => syncLines(datLines(dat, input, DAT_BODIES, lostWhere)), input, { lostWhere });
  }
  const data = src.data;
  const text: Lines = data ? () => bufferLines(data) : () => fileLines(input);
  return textRecording(kind === 'perf-script' ? () => perfLines(text(), input) : text, input);
}

/** CPUs a trace v1 system may have (`# system:` cpus). */
const MAX_CPUS = 4096;

/** Lines that are comments or headers of ftrace / trace-cmd output, not events. */
const isCommentLine = (t: string): boolean => t === '' || t.startsWith('#') || /^(version = \d+|cpus=\d+|CPU \d+ is empty|TRACE:)/.test(t);

/**
 * @throws InputError at a number of an ftrace line that would reach the trace and that trace v1
 *   cannot hold: a CPU of {@link MAX_CPUS} or more or a TGID of 2^53 or more (any line: they feed
 *   the CPU count and the mm labels), a timestamp (ns) or pid of 2^53 or more (sched_switch lines).
 */
function checkRanges(f: FtraceLine, sw: SchedSwitch | undefined, input: string, n: number, l: string | (() => string)): void {
  // The columns are found only when a check fails (a RegExp with indices per line is not free).
  type Col = keyof NonNullable<ReturnType<typeof ftraceColumns>>;
  const fail = (what: string, at: Col) => {
    throw new InputError(
      `${what} is out of range (trace v1 holds integers up to 2^53 - 1 and at most ${MAX_CPUS} CPUs)`,
      input,
      n,
      ftraceColumns(typeof l === 'string' ? l : l())![at],
    );
  };
  if (f.cpu >= MAX_CPUS) fail(`CPU ${f.cpu}`, 'cpu');
  if (f.tgid !== undefined && !Number.isSafeInteger(f.tgid)) fail('the TGID', 'tgid');
  if (!sw) return;
  if (!Number.isSafeInteger(f.time)) fail('the timestamp', 'time');
  if (!Number.isSafeInteger(f.pid)) fail('the pid', 'pid');
  if (!(Number.isSafeInteger(sw.prevPid) && Number.isSafeInteger(sw.nextPid))) fail('a pid of the sched_switch', 'body');
}

/** What the first pass finds. */
interface Prescan extends RecordingFacts {
  cpus: number;
  /** Where the recording says it lost events (ring-buffer overruns), in line order. */
  lost: LostAt[];
}

/** One `CPU:N [LOST n EVENTS]` / `[n EVENTS DROPPED]` line. */
interface LostAt {
  line: number;
  cpu: number;
  /** undefined: the recording does not know how many. */
  count?: number;
  /** The line as the recording prints it. */
  text: string;
}

/**
 * First pass: the CPU count declared by the recording (`cpus=N`, `#P:N`, else 1 + the highest CPU
 * seen), every pid's TGID (known only on lines the pid itself emitted, which may come after
 * its first appearance as `next_pid`), its first name in a sched_switch, and the lines that say
 * events were lost. Fed line by line ({@link line}), or event by event for a trace.dat's records
 * ({@link event}, {@link cpu}); then {@link result}.
 */
class Prescanner {
  private declared = 0;
  private max = -1;
  private readonly tgids = new Map<number, number>();
  private readonly comms = new Map<number, string>();
  private readonly lost: LostAt[] = [];
  private execTraced = false;
  private forkTraced = false;

  constructor(private readonly input: string) {}

  /**
   * A line of the recording (number `n`).
   * @throws InputError for a CPU count beyond trace v1's, or a number out of range ({@link checkRanges}).
   */
  line(n: number, l: string): void {
    const d = /^cpus=(\d+)/.exec(l) ?? /#P:(\d+)/.exec(l);
    if (d) {
      const count = d[1] ?? '';
      if (Number(count) > MAX_CPUS)
        throw new InputError(`${count} CPUs: trace v1 holds at most ${MAX_CPUS}`, this.input, n, d.index + d[0].length - count.length + 1);
      this.declared = Math.max(this.declared, Number(count));
    } else if (isLostLine(l)) {
      const x = parseLostEvents(l)!;
      this.lost.push({ line: n, cpu: x.cpu, count: x.count, text: l.trim() });
    } else if (PERF_EXEC_HEADER.test(l)) {
      this.execTraced = true; // perf script --header: the exec tracepoint was recorded, whether or not it fired
    } else if (!isCommentLine(l.trim())) {
      const f = parseFtraceLine(l);
      if (!f) return;
      this.event(n, f, f.event === 'sched_switch' ? parseSchedSwitch(f.body) : undefined, l);
    }
  }

  /**
   * An event line (not a header, comment or lost-events line) as parsed: `sw` its sched_switch body
   * (undefined for other events, or a body in no known form); `l` the line, made when a check fails.
   * @throws InputError for a number out of range ({@link checkRanges}).
   */
  event(n: number, f: FtraceLine, sw: SchedSwitch | undefined, l: string | (() => string)): void {
    checkRanges(f, sw, this.input, n, l);
    if (f.cpu > this.max) this.max = f.cpu;
    if (f.tgid !== undefined && f.pid !== 0) this.tgids.set(f.pid, f.tgid);
    if (f.event === 'sched_process_exec' || f.event === PERF_TASK_EVENTS.commExec) this.execTraced = true;
    else if (f.event === 'sched_process_fork') this.forkTraced = true;
    if (f.event.startsWith('perf_')) {
      // perf task records: pid is the TGID of tid
      const p = /(?:^|\s)pid=(\d+) tid=(\d+)/.exec(f.body);
      if (p && p[2] !== '0') this.tgids.set(Number(p[2]), Number(p[1]));
    }
    if (sw) {
      this.name(sw.prevPid, sw.prevComm);
      this.name(sw.nextPid, sw.nextComm);
    }
  }

  /**
   * An event on CPU `cpu` that is neither sched_switch, a lifecycle event nor a perf task record,
   * with no TGID column, whose numbers are in range: all {@link event} does with it is note the CPU.
   */
  cpu(cpu: number): void {
    if (cpu > this.max) this.max = cpu;
  }

  /**
   * A sched_switch on CPU `cpu` with its numbers in range and no TGID column, whose comms are made
   * only when {@link event} would keep them (`comm(next)`: the previous task's, or the next one's).
   */
  switched(cpu: number, prevPid: number, nextPid: number, comm: (next: boolean) => string): void {
    if (cpu > this.max) this.max = cpu;
    if (this.unnamed(prevPid)) this.name(prevPid, comm(false));
    if (this.unnamed(nextPid)) this.name(nextPid, comm(true));
  }

  private unnamed(pid: number): boolean {
    return pid !== 0 && !this.comms.has(pid);
  }

  private name(pid: number, comm: string): void {
    if (pid !== 0 && comm !== '<...>' && !this.comms.has(pid)) this.comms.set(pid, comm);
  }

  /** What the pass found; the process dump fills in the TGIDs the lines do not say. */
  result(dump: ProcessDump | undefined): Prescan {
    const { tgids, comms, lost, execTraced, forkTraced } = this;
    if (dump) for (const [tid, pid] of dump.tgids) if (tid !== 0 && !tgids.has(tid)) tgids.set(tid, pid);
    return { cpus: Math.max(this.declared, this.max + 1, 1), tgids, comms, lost, execTraced, forkTraced, dump };
  }
}

/** `perf script --header`'s line for the exec tracepoint (`# event : name = sched:sched_process_exec, ...`). */
const PERF_EXEC_HEADER = /^# event : name = (sched:)?sched_process_exec\b/;

/** Whether a line says events were lost (`CPU:N [LOST n EVENTS]`, `CPU:N [n EVENTS DROPPED]`, ...). */
const isLostLine = (l: string): boolean => l.includes('CPU:') && parseLostEvents(l) !== undefined;

/**
 * Import `input` as `kind` into the trace v1 file `output` (written to a temporary file, then renamed).
 * `auto` recognises the kind from the content; `-` reads standard input (once).
 * Every event written has a `src` cell: the timestamp and line of the recording's line it comes from.
 * A recording that lost events (ring-buffer overruns) is refused unless `allowLostEvents`; then the
 * summary (`lostEvents`) and a comment of the trace say so.
 * @throws InputError for an unreadable input, a file of another kind than asked (naming what it looks
 *   like and the importer to use), lost events, no scheduling event, timestamps that go backwards,
 *   or an `--overlay` choice that names no process or several.
 */
export async function importFile(
  asked: ImportKind | 'auto',
  input: string,
  output: string,
  opts: {
    cpus?: number;
    overlay?: OverlayOptions;
    allowLostEvents?: boolean;
    /**
     * A trace.dat is imported as the ftrace text of its records ({@link datLines}) instead of from
     * the records: slower, the same result; the definition the records are read by (for tests).
     */
    datText?: boolean;
  } & TaskOptions = {},
): Promise<ImportSummary> {
  let rec: Recording;
  let kind: ImportKind;
  /** The recording's name in the trace's comment: a file's base name; a stream as given (`-`, `/dev/fd/63`). */
  let named: string;
  try {
    const src = await loadInput(input);
    named = src.data ? input : basename(input);
    kind = asked === 'auto' ? await detectKind(src) : asked;
    rec = await inputRecording(kind, src, input, opts.datText);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read: ${(e as Error).message}`, input);
  }
  const pre = await rec.prescan();
  const lostEvents = pre.lost.length === 0 ? undefined : lostSummary(pre.lost, rec.lostWhere);
  if (lostEvents && !opts.allowLostEvents) {
    const first = pre.lost[0]!;
    throw new InputError(lostEventsRefusal(lostEvents, first), input, first.line, kind === 'trace-dat' ? undefined : 1);
  }
  const cpus = opts.cpus ?? pre.cpus;
  const summary = (): ImportSummary => ({
    input,
    output,
    kind,
    cpus,
    lines: 0,
    commentLines: 0,
    sched_switch: 0,
    otherEvents: {},
    unparsedLines: 0,
    unparsedExamples: [],
    eventsWritten: 0,
    eventsByKind: {},
    tasks: 0,
    kernelThreads: 0,
    exits: 0,
    ...(lostEvents ? { lostEvents } : {}),
    ...(rec.systrace ? { systrace: systraceSummary(rec.systrace.blocks, rec.systrace.dump) } : {}),
  });
  let chosen: Set<string> | undefined;
  if (opts.overlay) {
    // A dry run names the mms exactly as the import will (process names, execs) and counts their switch-ins.
    const counter = new SwitchCounter();
    const dry = summary();
    await convert(rec, input, cpus, pre, (kind, e) => counter.after(kind, e), dry, opts);
    if (dry.sched_switch === 0) throw new InputError(noSchedulingEvents(dry, kind), input);
    try {
      chosen = chooseProcesses(opts.overlay.processes, counter.switchIns);
    } catch (e) {
      throw new InputError((e as Error).message, input);
    }
  }
  const out = await openOutput(output);
  const w = new TraceWriter(out.stream, { src: true });
  const s = summary();
  try {
    const comments = [`imported by asid-replay from ${named} (${kind})`];
    if (lostEvents) comments.push(`WARNING: ${lostEventsText(lostEvents)}`);
    if (chosen) comments.push(`device overlay: ${[...chosen].join(', ')} bound to ${OVERLAY_DEVICE} (DMA at every switch-in)`);
    await w.begin(opts.overlay ? { cpus, ...overlaySystem(opts.overlay) } : { cpus }, comments);
    const write: Sink = (kind, e) => {
      s.eventsByKind[kind] = (s.eventsByKind[kind] ?? 0) + 1;
      return w.write({ kind, ...e });
    };
    const dev = chosen && opts.overlay ? new DeviceOverlay(chosen, opts.overlay, write) : undefined;
    const sink: Sink = dev
      ? async (kind, e) => {
          await write(kind, e);
          await dev.after(kind, e);
        }
      : write; // no wrapper per event
    await convert(rec, input, cpus, pre, sink, s, opts);
    if (s.sched_switch === 0) throw new InputError(noSchedulingEvents(s, kind), input);
    await w.flush();
  } catch (e) {
    await out.discard();
    throw e;
  }
  await out.commit();
  s.eventsWritten = w.count;
  return s;
}

/** Where the events of a conversion go (the writer, or a dry run's counter). */
type Sink = (kind: EventKind, e: Omit<TraceEvent, 'row' | 'kind'>) => Promise<void>;

/**
 * Convert the recording's lines into trace v1 events, each with the `src` of its line
 * (`<timestamp as printed>@L<line>`), handed to `sink`.
 */
async function convert(
  rec: Recording,
  input: string,
  cpus: number,
  pre: Prescan,
  sink: Sink,
  s: ImportSummary,
  taskOptions?: TaskOptions,
): Promise<void> {
  const c = new Converter(input, cpus, pre, sink, s, taskOptions);
  await rec.feed(c);
  c.finish();
}

/**
 * One conversion of a recording, fed line by line ({@link line}) or, for a trace.dat's records,
 * event by event ({@link event}, {@link other}) in line order; then {@link finish}.
 */
class Converter {
  private readonly cpuSeen = new Set<number>();
  private lastTime = -1;
  private lastLine = 0;
  /** The line being converted and its number: every event it gives carries its `src` (made once, when needed). */
  private current: FtraceLine | undefined;
  private lineNo = 0;
  private src: string | undefined;
  /** The time of the last event written and its line: lifecycle lines (a fork, an exec) write events too, and trace v1 times must not decrease. */
  private lastEmitted = -1;
  private lastEmittedLine = 0;
  /** Tasks, their mm and kernel threads (first appearance, lifecycle events, names): see lifecycle.ts. */
  private readonly tasks: Tasks;

  constructor(
    private readonly input: string,
    private readonly cpus: number,
    pre: Prescan,
    private readonly sink: Sink,
    private readonly s: ImportSummary,
    taskOptions?: TaskOptions,
  ) {
    this.tasks = new Tasks(pre, this.emit, s, taskOptions);
  }

  private readonly emit = (kind: EventKind, e: { time: number; cpu?: number; task?: number; mm?: string; src?: string }): Promise<void> => {
    const { input, lineNo } = this;
    if (e.time < this.lastEmitted)
      throw new InputError(
        `timestamp goes backwards (line ${this.lastEmittedLine} is later); the importer needs a time-sorted recording`,
        input,
        lineNo,
        1,
      );
    if (!Number.isSafeInteger(e.time))
      // a lifecycle line's timestamp (a sched_switch's is checked in the prescan)
      throw new InputError('the timestamp is out of range (trace v1 holds integers up to 2^53 - 1 ns)', input, lineNo, 1);
    if (e.task !== undefined && !Number.isSafeInteger(e.task))
      // a lifecycle event's own pid field (child_pid=, PERF_RECORD_FORK(pid:tid)): the line's columns are checked in the prescan
      throw new InputError(`the pid ${e.task} is out of range (trace v1 holds integers up to 2^53 - 1)`, input, lineNo, 1);
    if (e.task === 0 && (kind === 'fork' || kind === 'exec' || kind === 'exit'))
      // a lifecycle event naming pid 0 (task_newtask pid=0, sched_process_exec pid=0): trace v1 task 0 is the idle task
      throw new InputError(
        `pid 0 is the idle task: it cannot ${kind === 'fork' ? 'be forked' : kind} (the line's pid field is damaged)`,
        input,
        lineNo,
        1,
      );
    this.lastEmitted = e.time;
    this.lastEmittedLine = lineNo;
    this.src ??= sourceOf(this.current!.stamp, lineNo);
    e.src = this.src; // the caller's fresh object: no copy per event
    return this.sink(kind, e);
  };

  /** A line of the recording (number `n`). */
  async line(n: number, l: string): Promise<void> {
    const s = this.s;
    s.lines++;
    const t = l.trim();
    if (isCommentLine(t)) {
      s.commentLines++;
      return;
    }
    if (isLostLine(t)) return; // refused, or --allow-lost-events: in the summary (prescan)
    const f = parseFtraceLine(l);
    if (!f) {
      this.unparsed(n, t);
      return;
    }
    await this.handle(n, f, undefined, t, l);
  }

  /**
   * An event line (not a header, comment or lost-events line) as parsed, `sw` its sched_switch body
   * as parsed; `l` makes its text (for a message).
   */
  event(n: number, f: FtraceLine, sw: SchedSwitch | undefined, l: () => string): Promise<void> {
    this.s.lines++;
    return this.handle(n, f, sw, undefined, l);
  }

  /**
   * `count` lines of event `name`, which is neither sched_switch, a lifecycle event nor a perf task
   * record, and has an empty body: all {@link line} does with them is count them.
   */
  other(name: string, count: number): void {
    const s = this.s;
    s.lines += count;
    s.otherEvents[name] = (s.otherEvents[name] ?? 0) + count;
  }

  /** Count the renames still waiting (the end of the recording). */
  finish(): void {
    this.tasks.finish();
  }

  private unparsed(n: number, t: string): void {
    const s = this.s;
    s.unparsedLines++;
    if (s.unparsedExamples.length < 5) s.unparsedExamples.push(n);
    if ((s.unparsedQuotes ??= []).length < 5) s.unparsedQuotes.push(t.slice(0, 120));
  }

  /** An event line: `given` its sched_switch body when already parsed; `t` the line trimmed, or `l` to make the line. */
  private async handle(
    n: number,
    f: FtraceLine,
    given: SchedSwitch | undefined,
    t: string | undefined,
    l: string | (() => string),
  ): Promise<void> {
    const { s, tasks, input, cpus } = this;
    this.current = f;
    this.lineNo = n;
    this.src = undefined;
    if (f.event !== 'sched_switch' && (await tasks.event(f))) return;
    if (f.event !== 'sched_switch') {
      // Old systrace exports print atrace markers (B|pid|name, E, C|pid|counter|value, S, F, clock sync) with
      // the event's numeric type ("0:") instead of tracing_mark_write.
      const name = /^\d+$/.test(f.event) && /^([BCSF]\||E\b|trace_event_clock_sync)/.test(f.body) ? 'tracing_mark_write' : f.event;
      s.otherEvents[name] = (s.otherEvents[name] ?? 0) + 1;
      return;
    }
    const sw = given ?? parseSchedSwitch(f.body);
    if (!sw) {
      this.unparsed(n, t ?? (typeof l === 'string' ? l : l()).trim());
      return;
    }
    if (f.cpu >= cpus)
      throw new InputError(
        `CPU ${f.cpu} is outside the ${cpus} CPUs of the system (use --cpus)`,
        input,
        n,
        (typeof l === 'string' ? l : l()).indexOf('[') + 1,
      );
    if (f.time < this.lastTime)
      throw new InputError(
        `timestamp goes backwards (line ${this.lastLine} is later); the importer needs a time-sorted recording`,
        input,
        n,
        1,
      );
    this.lastTime = f.time;
    this.lastLine = n;
    s.sched_switch++;
    // ensure and switchedOut give a promise only when they write events (a fork, an exit)
    let prev = tasks.ensure(sw.prevPid, sw.prevComm, f.time);
    if (typeof prev !== 'number') prev = await prev;
    if (!this.cpuSeen.has(f.cpu)) {
      this.cpuSeen.add(f.cpu);
      if (prev !== 0) await this.emit('schedule', { time: f.time, cpu: f.cpu, task: prev });
    }
    let next = tasks.ensure(sw.nextPid, sw.nextComm, f.time);
    if (typeof next !== 'number') next = await next;
    await this.emit('schedule', { time: f.time, cpu: f.cpu, task: next });
    const out = tasks.switchedOut(sw.prevPid, prev, sw.prevState, f.time);
    if (out) await out;
  }
}

/** The summary's view of a systrace file's blocks and process dump. */
function systraceSummary(blocks: SystraceBlock[], dump: ProcessDump | undefined): ImportSummary['systrace'] {
  if (!dump) return { blocks };
  const threads = [...dump.tgids].filter(([tid, pid]) => tid !== pid).length;
  const kernelThreads = [...dump.processes.values()].filter((p) => p.kernel).length;
  return { blocks, processDump: { line: dump.line, snapshots: dump.snapshots, processes: dump.processes.size, threads, kernelThreads } };
}

/**
 * The `src` cell of a recording line: its timestamp as printed (the fraction cut at 12 digits) and
 * its number; none when the seconds are too long for one (trace v1 would refuse it).
 */
function sourceOf([seconds, fraction]: [string, string], line: number): string | undefined {
  const cell = srcCell(`${seconds}.${fraction.slice(0, 12)}`, line);
  return SRC_RE.test(cell) ? cell : undefined;
}

/** Why an import wrote nothing, and what to do (the file is refused: exit 2). */
function noSchedulingEvents(s: ImportSummary, kind: ImportKind): string {
  const events = Object.entries(s.otherEvents).sort((a, b) => b[1] - a[1]);
  const record =
    kind === 'perf-script'
      ? '`perf record -e sched:sched_switch -e "sched:sched_process_*" -a`'
      : '`trace-cmd record -e sched_switch -e sched_process_fork -e sched_process_exec -e sched_process_exit`';
  let what: string;
  if (s.lines === 0) what = 'the recording has no lines';
  else if (events.length > 0)
    what = `the recording has ${events.reduce((a, [, n]) => a + n, 0)} events, none of them sched_switch (${events
      .slice(0, 6)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')})`;
  else if (s.unparsedLines > 0)
    what = `${s.unparsedLines} of its ${s.lines} lines are in no known form (line ${s.unparsedExamples[0]}: ${JSON.stringify(s.unparsedQuotes?.[0] ?? '')})`;
  else what = `its ${s.lines} lines are all comments or headers`;
  return `no scheduling events (sched_switch): ${what}; record them with ${record}`;
}

type LostSummary = NonNullable<ImportSummary['lostEvents']>;

function lostSummary(lost: LostAt[], where: Map<number, string> | undefined): LostSummary {
  return {
    overruns: lost.length,
    total: lost.reduce((a, x) => a + (x.count ?? 0), 0),
    unknown: lost.filter((x) => x.count === undefined).length,
    cpus: [...new Set(lost.map((x) => x.cpu))].sort((a, b) => a - b),
    at: lost.slice(0, 20).map((x) => ({
      line: x.line,
      cpu: x.cpu,
      ...(x.count !== undefined ? { count: x.count } : {}),
      text: x.text,
      ...(where?.get(x.line) ? { where: where.get(x.line) } : {}),
    })),
  };
}

/** Why a recording that lost events is refused, and what to do. */
function lostEventsRefusal(l: LostSummary, first: LostAt): string {
  const where = l.at[0]!.where;
  const what = where
    ? `CPU ${first.cpu} lost ${lostCount(first.count)}: ${where} has RB_MISSED_EVENTS in its commit field` +
      `${first.count === undefined ? ' (RB_MISSED_STORED not set: no count)' : ''}; \`trace-cmd report\` prints ${JSON.stringify(first.text)} on this line, before the page's first event`
    : `CPU ${first.cpu} lost ${lostCount(first.count)} here (${JSON.stringify(first.text)})`;
  const rest = l.overruns > 1 ? `; ${l.overruns} overruns in all, ${lostTotal(l)}` : '';
  return (
    `the recording lost events: ${what}${rest}. The ring buffer overran, so the recording is not whole and a replay would miss ` +
    'the switches, forks and exits that were lost. Record again with larger buffers (`trace-cmd record -b <KiB per CPU>`, ' +
    '/sys/kernel/tracing/buffer_size_kb) or fewer events, or import it anyway with --allow-lost-events (the summary and the trace then say so)'
  );
}
