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
import { datLines, parseTraceDat } from './tracedat/index.js';
import { LIFECYCLE_EVENTS, type RecordingFacts, Tasks, type TaskOptions } from './lifecycle.js';
import type { ProcessDump } from './process-dump.js';

export { IMPORT_KINDS, type ImportKind, type ImportSummary } from './kinds.js';

type Lines = () => AsyncIterable<[number, string]>;

/** The lines of a recording, and for a trace.dat where each lost-events line comes from in the file. */
interface Recording {
  lines: Lines;
  /** Line number of a `CPU:N [... EVENTS DROPPED]` line of a trace.dat -> where its page is (filled as the lines are read). */
  lostWhere?: Map<number, string>;
  /** Systrace: the trace-data blocks and the process dump. */
  systrace?: { blocks: SystraceBlock[]; dump?: ProcessDump };
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

async function* syncLines(lines: Iterable<[number, string]>): AsyncIterable<[number, string]> {
  yield* lines;
}

/**
 * The lines an importer reads from `src`: ftrace text, systrace HTML's ftrace block, perf script
 * samples rewritten into ftrace lines, or a trace.dat's events as ftrace lines.
 * @throws InputError when the content is another kind of recording than `kind` (what it looks
 *   like and which importer to use), or cannot be read.
 */
async function inputLines(kind: ImportKind, src: Input, input: string): Promise<Recording> {
  const look = await sniffInput(src);
  const compatible = look.kind === kind || (look.kind === undefined && kind !== 'trace-dat' && look.looksLike.startsWith('text'));
  if (!compatible) throw new InputError(mismatch(look, kind), input);
  if (kind === 'systrace') {
    const ex = extractSystrace((await contentOf(src)).toString('utf8'), input);
    return { lines: () => arrayLines(ex.lines), systrace: { blocks: ex.blocks, dump: ex.dump } };
  }
  if (kind === 'trace-dat') {
    const dat = parseTraceDat(await contentOf(src), input);
    const lostWhere = new Map<number, string>();
    return { lines: () => syncLines(datLines(dat, input, DAT_BODIES, lostWhere)), lostWhere };
  }
  const data = src.data;
  const text: Lines = data ? () => bufferLines(data) : () => fileLines(input);
  return { lines: kind === 'perf-script' ? () => perfLines(text(), input) : text };
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
function checkRanges(f: FtraceLine, sw: SchedSwitch | undefined, input: string, n: number, l: string): void {
  // The columns are found only when a check fails (a RegExp with indices per line is not free).
  type Col = keyof NonNullable<ReturnType<typeof ftraceColumns>>;
  const fail = (what: string, at: Col) => {
    throw new InputError(
      `${what} is out of range (trace v1 holds integers up to 2^53 - 1 and at most ${MAX_CPUS} CPUs)`,
      input,
      n,
      ftraceColumns(l)![at],
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
 * events were lost.
 */
async function prescan(lines: Lines, input: string, dump?: ProcessDump): Promise<Prescan> {
  let declared = 0;
  let max = -1;
  const tgids = new Map<number, number>();
  const comms = new Map<number, string>();
  const lost: LostAt[] = [];
  let execTraced = false;
  let forkTraced = false;
  const name = (pid: number, comm: string) => {
    if (pid !== 0 && comm !== '<...>' && !comms.has(pid)) comms.set(pid, comm);
  };
  for await (const [n, l] of lines()) {
    const d = /^cpus=(\d+)/.exec(l) ?? /#P:(\d+)/.exec(l);
    if (d) {
      const count = d[1] ?? '';
      if (Number(count) > MAX_CPUS)
        throw new InputError(`${count} CPUs: trace v1 holds at most ${MAX_CPUS}`, input, n, d.index + d[0].length - count.length + 1);
      declared = Math.max(declared, Number(count));
    } else if (isLostLine(l)) {
      const x = parseLostEvents(l)!;
      lost.push({ line: n, cpu: x.cpu, count: x.count, text: l.trim() });
    } else if (PERF_EXEC_HEADER.test(l)) {
      execTraced = true; // perf script --header: the exec tracepoint was recorded, whether or not it fired
    } else if (!isCommentLine(l.trim())) {
      const f = parseFtraceLine(l);
      if (!f) continue;
      const sw = f.event === 'sched_switch' ? parseSchedSwitch(f.body) : undefined;
      checkRanges(f, sw, input, n, l);
      if (f.cpu > max) max = f.cpu;
      if (f.tgid !== undefined && f.pid !== 0) tgids.set(f.pid, f.tgid);
      if (f.event === 'sched_process_exec' || f.event === PERF_TASK_EVENTS.commExec) execTraced = true;
      else if (f.event === 'sched_process_fork') forkTraced = true;
      if (f.event.startsWith('perf_')) {
        // perf task records: pid is the TGID of tid
        const p = /(?:^|\s)pid=(\d+) tid=(\d+)/.exec(f.body);
        if (p && p[2] !== '0') tgids.set(Number(p[2]), Number(p[1]));
      }
      if (sw) {
        name(sw.prevPid, sw.prevComm);
        name(sw.nextPid, sw.nextComm);
      }
    }
  }
  // the process dump fills in the TGIDs the lines do not say
  if (dump) for (const [tid, pid] of dump.tgids) if (tid !== 0 && !tgids.has(tid)) tgids.set(tid, pid);
  return { cpus: Math.max(declared, max + 1, 1), tgids, comms, lost, execTraced, forkTraced, dump };
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
  opts: { cpus?: number; overlay?: OverlayOptions; allowLostEvents?: boolean } & TaskOptions = {},
): Promise<ImportSummary> {
  let rec: Recording;
  let kind: ImportKind;
  /** The recording's name in the trace's comment: a file's base name; a stream as given (`-`, `/dev/fd/63`). */
  let named: string;
  try {
    const src = await loadInput(input);
    named = src.data ? input : basename(input);
    kind = asked === 'auto' ? await detectKind(src) : asked;
    rec = await inputLines(kind, src, input);
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read: ${(e as Error).message}`, input);
  }
  const lines = rec.lines;
  const pre = await prescan(lines, input, rec.systrace?.dump);
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
    await convert(lines, input, cpus, pre, (kind, e) => counter.after(kind, e), dry, opts);
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
    const write: Sink = async (kind, e) => {
      s.eventsByKind[kind] = (s.eventsByKind[kind] ?? 0) + 1;
      await w.write({ kind, ...e });
    };
    const dev = chosen && opts.overlay ? new DeviceOverlay(chosen, opts.overlay, write) : undefined;
    await convert(
      lines,
      input,
      cpus,
      pre,
      async (kind, e) => {
        await write(kind, e);
        await dev?.after(kind, e);
      },
      s,
      opts,
    );
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
  lines: Lines,
  input: string,
  cpus: number,
  pre: Prescan,
  sink: Sink,
  s: ImportSummary,
  taskOptions?: TaskOptions,
): Promise<void> {
  const cpuSeen = new Set<number>();
  let lastTime = -1;
  let lastLine = 0;
  /** The line being converted and its number: every event it gives carries its `src` (made once, when needed). */
  let line: FtraceLine | undefined;
  let lineNo = 0;
  let src: string | undefined;
  /** The time of the last event written and its line: lifecycle lines (a fork, an exec) write events too, and trace v1 times must not decrease. */
  let lastEmitted = -1;
  let lastEmittedLine = 0;
  const emit = (kind: EventKind, e: { time: number; cpu?: number; task?: number; mm?: string; src?: string }) => {
    if (e.time < lastEmitted)
      throw new InputError(
        `timestamp goes backwards (line ${lastEmittedLine} is later); the importer needs a time-sorted recording`,
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
    lastEmitted = e.time;
    lastEmittedLine = lineNo;
    src ??= sourceOf(line!.stamp, lineNo);
    e.src = src; // the caller's fresh object: no copy per event
    return sink(kind, e);
  };
  /** Tasks, their mm and kernel threads (first appearance, lifecycle events, names): see lifecycle.ts. */
  const tasks = new Tasks(pre, emit, s, taskOptions);
  /** Fork a user task on its first appearance; returns the task id to schedule (0 for kernel threads). */
  const ensure = (pid: number, comm: string, time: number): Promise<number> => tasks.ensure(pid, comm, time);
  for await (const [n, l] of lines()) {
    s.lines++;
    const t = l.trim();
    if (isCommentLine(t)) {
      s.commentLines++;
      continue;
    }
    if (isLostLine(t)) continue; // refused, or --allow-lost-events: in the summary (prescan)
    const f = parseFtraceLine(l);
    if (!f) {
      s.unparsedLines++;
      if (s.unparsedExamples.length < 5) s.unparsedExamples.push(n);
      if ((s.unparsedQuotes ??= []).length < 5) s.unparsedQuotes.push(t.slice(0, 120));
      continue;
    }
    line = f;
    lineNo = n;
    src = undefined;
    if (f.event !== 'sched_switch' && (await tasks.event(f))) continue;
    if (f.event !== 'sched_switch') {
      // Old systrace exports print atrace markers (B|pid|name, E, C|pid|counter|value, S, F, clock sync) with
      // the event's numeric type ("0:") instead of tracing_mark_write.
      const name = /^\d+$/.test(f.event) && /^([BCSF]\||E\b|trace_event_clock_sync)/.test(f.body) ? 'tracing_mark_write' : f.event;
      s.otherEvents[name] = (s.otherEvents[name] ?? 0) + 1;
      continue;
    }
    const sw = parseSchedSwitch(f.body);
    if (!sw) {
      s.unparsedLines++;
      if (s.unparsedExamples.length < 5) s.unparsedExamples.push(n);
      if ((s.unparsedQuotes ??= []).length < 5) s.unparsedQuotes.push(t.slice(0, 120));
      continue;
    }
    if (f.cpu >= cpus)
      throw new InputError(`CPU ${f.cpu} is outside the ${cpus} CPUs of the system (use --cpus)`, input, n, l.indexOf('[') + 1);
    if (f.time < lastTime)
      throw new InputError(`timestamp goes backwards (line ${lastLine} is later); the importer needs a time-sorted recording`, input, n, 1);
    lastTime = f.time;
    lastLine = n;
    s.sched_switch++;
    const prev = await ensure(sw.prevPid, sw.prevComm, f.time);
    if (!cpuSeen.has(f.cpu)) {
      cpuSeen.add(f.cpu);
      if (prev !== 0) await emit('schedule', { time: f.time, cpu: f.cpu, task: prev });
    }
    const next = await ensure(sw.nextPid, sw.nextComm, f.time);
    await emit('schedule', { time: f.time, cpu: f.cpu, task: next });
    await tasks.switchedOut(sw.prevPid, prev, sw.prevState, f.time);
  }
  tasks.finish();
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
