/**
 * Importers: real recordings → trace v1 (DESIGN.md "Importers").
 *
 * Rules: threads share their thread group's mm when the TGID is known (`p<tgid>`), otherwise every
 * pid is its own process (`p<pid>`); a pid's first appearance is its fork; a `prev_state` that says
 * the task is dead is its exit (a later appearance of the pid is a new task, as pids are reused);
 * pid 0 and kernel threads are scheduled as task 0 (lazy TLB, no switch of the user mm). The first
 * switch seen on a CPU also schedules its outgoing task, so the CPU starts in the state the recording
 * shows. Lines that are not `sched_switch` are counted by event name, never silently dropped.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { InputError } from '../trace/errors.js';
import { assertReadable } from '../trace/reader.js';
import type { EventKind, TraceEvent } from '../trace/events.js';
import type { ImportKind, ImportSummary } from './kinds.js';
import { TraceWriter } from '../trace/writer.js';
import { openOutput } from '../util/output.js';
import { isExitState, isKernelThread, parseFtraceLine, parseSchedSwitch } from './ftrace-line.js';
import { extractSystrace } from './systrace.js';
import { DeviceOverlay, OVERLAY_DEVICE, type OverlayOptions, chooseProcesses, overlaySystem } from './overlay.js';

export { IMPORT_KINDS, type ImportKind, type ImportSummary } from './kinds.js';

type Lines = () => AsyncIterable<[number, string]>;

async function* fileLines(file: string): AsyncIterable<[number, string]> {
  const rl = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const l of rl) yield [++n, l];
}

async function* arrayLines(lines: string[], first: number): AsyncIterable<[number, string]> {
  for (let i = 0; i < lines.length; i++) yield [first + i, lines[i]];
}

/**
 * First pass: the CPU count declared by the recording (`cpus=N`, `#P:N`, else 1 + the highest CPU
 * seen) and every pid's TGID (known only on lines the pid itself emitted, which may come after
 * its first appearance as `next_pid`).
 */
async function prescan(lines: Lines): Promise<{ cpus: number; tgids: Map<number, number>; switchesByMm: Map<string, number> }> {
  let declared = 0;
  let max = -1;
  const tgids = new Map<number, number>();
  const switchesByPid = new Map<number, number>();
  for await (const [, l] of lines()) {
    const d = /^cpus=(\d+)/.exec(l) ?? /#P:(\d+)/.exec(l);
    if (d) declared = Math.max(declared, Number(d[1]));
    else if (!l.startsWith('#')) {
      const f = parseFtraceLine(l);
      if (!f) continue;
      if (f.cpu > max) max = f.cpu;
      if (f.tgid !== undefined && f.pid !== 0) tgids.set(f.pid, f.tgid);
      if (f.event === 'sched_switch') {
        const sw = parseSchedSwitch(f.body);
        if (sw && !isKernelThread(sw.nextPid, sw.nextComm)) switchesByPid.set(sw.nextPid, (switchesByPid.get(sw.nextPid) ?? 0) + 1);
      }
    }
  }
  const switchesByMm = new Map<string, number>();
  for (const [pid, n] of switchesByPid) {
    const mm = `p${tgids.get(pid) ?? pid}`;
    switchesByMm.set(mm, (switchesByMm.get(mm) ?? 0) + n);
  }
  return { cpus: Math.max(declared, max + 1, 1), tgids, switchesByMm };
}

/**
 * Import `input` as `kind` into the trace v1 file `output` (written to a temporary file, then renamed).
 * @throws InputError for an unreadable input, no ftrace text, or timestamps that go backwards.
 */
export async function importFile(kind: ImportKind, input: string, output: string, opts: { cpus?: number; overlay?: OverlayOptions } = {}): Promise<ImportSummary> {
  let lines: Lines;
  try {
    if (kind === 'systrace') {
      const ex = extractSystrace(await readFile(input, 'utf8'), input);
      lines = () => arrayLines(ex.lines, ex.firstLine);
    } else {
      await assertReadable(input);
      lines = () => fileLines(input);
    }
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read: ${(e as Error).message}`, input);
  }
  const pre = await prescan(lines);
  const cpus = opts.cpus ?? pre.cpus;
  let chosen: Set<string> | undefined;
  if (opts.overlay) {
    try {
      chosen = chooseProcesses(opts.overlay.processes, pre.switchesByMm);
    } catch (e) {
      throw new InputError((e as Error).message, input);
    }
  }
  const out = await openOutput(output);
  const w = new TraceWriter(out.stream);
  const s: ImportSummary = {
    input: basename(input),
    output: basename(output),
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
  };
  try {
    const comments = [`imported by asid-replay from ${basename(input)} (${kind})`];
    if (chosen) comments.push(`device overlay: ${[...chosen].join(', ')} bound to ${OVERLAY_DEVICE} (DMA at every switch-in)`);
    await w.begin(opts.overlay ? { cpus, ...overlaySystem(opts.overlay) } : { cpus }, comments);
    await convert(lines, input, cpus, pre.tgids, w, s, chosen && opts.overlay ? { chosen, options: opts.overlay } : undefined);
    await w.flush();
  } catch (e) {
    await out.discard();
    throw e;
  }
  await out.commit();
  s.eventsWritten = w.count;
  return s;
}

async function convert(
  lines: Lines,
  input: string,
  cpus: number,
  tgids: Map<number, number>,
  w: TraceWriter,
  s: ImportSummary,
  overlay?: { chosen: Set<string>; options: OverlayOptions },
): Promise<void> {
  /** Live user tasks: pid -> true. */
  const alive = new Set<number>();
  const kthreads = new Set<number>();
  const cpuSeen = new Set<number>();
  let lastTime = -1;
  let lastLine = 0;
  const write = async (kind: EventKind, e: Omit<TraceEvent, 'row' | 'kind'>) => {
    s.eventsByKind[kind] = (s.eventsByKind[kind] ?? 0) + 1;
    await w.write({ kind, ...e });
  };
  const dev = overlay ? new DeviceOverlay(overlay.chosen, overlay.options, write) : undefined;
  const emit = async (kind: EventKind, e: { time: number; cpu?: number; task?: number; mm?: string }) => {
    await write(kind, e);
    await dev?.after(kind, e);
  };
  /** Fork a user task on its first appearance; returns the task id to schedule (0 for kernel threads). */
  const ensure = async (pid: number, comm: string, time: number): Promise<number> => {
    if (isKernelThread(pid, comm)) {
      if (pid !== 0 && !kthreads.has(pid)) {
        kthreads.add(pid);
        s.kernelThreads++;
      }
      return 0;
    }
    if (!alive.has(pid)) {
      alive.add(pid);
      s.tasks++;
      await emit('fork', { time, task: pid, mm: `p${tgids.get(pid) ?? pid}` });
    }
    return pid;
  };
  for await (const [n, l] of lines()) {
    s.lines++;
    const t = l.trim();
    if (t === '' || t.startsWith('#') || /^(version = \d+|cpus=\d+|CPU \d+ is empty|TRACE:)/.test(t)) {
      s.commentLines++;
      continue;
    }
    const f = parseFtraceLine(l);
    if (!f) {
      s.unparsedLines++;
      if (s.unparsedExamples.length < 5) s.unparsedExamples.push(n);
      continue;
    }
    if (f.event !== 'sched_switch') {
      s.otherEvents[f.event] = (s.otherEvents[f.event] ?? 0) + 1;
      continue;
    }
    const sw = parseSchedSwitch(f.body);
    if (!sw) {
      s.unparsedLines++;
      if (s.unparsedExamples.length < 5) s.unparsedExamples.push(n);
      continue;
    }
    if (f.cpu >= cpus) throw new InputError(`CPU ${f.cpu} is outside the ${cpus} CPUs of the system (use --cpus)`, input, n, l.indexOf('[') + 1);
    if (f.time < lastTime) throw new InputError(`timestamp goes backwards (line ${lastLine} is later); the importer needs a time-sorted recording`, input, n, 1);
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
    if (isExitState(sw.prevState)) {
      if (prev !== 0 && alive.delete(prev)) {
        s.exits++;
        await emit('exit', { time: f.time, task: prev });
      } else if (prev === 0 && kthreads.delete(sw.prevPid)) {
        s.exits++;
      }
    }
  }
}
