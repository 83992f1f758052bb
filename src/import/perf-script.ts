/**
 * `perf script` text of `perf record -e 'sched:*'` or `perf sched record`, read as ftrace lines.
 *
 * perf prints a tracepoint sample (tools/perf/builtin-script.c `perf_sample__fprintf_start`, then
 * the event name and the tracepoint's print fmt through libtraceevent) as
 * `comm tid [cpu] seconds.micros: sys:event: body`, with `pid/tid` instead of `tid` under
 * `-F +pid`, nanoseconds under `--ns`, and an optional period before the event name. The body is the
 * kernel's print fmt, the same as in ftrace text, so each line is rewritten into the ftrace form
 * `comm-tid (pid) [cpu] seconds.frac: event: body` and read by the text importer.
 */
import { InputError } from '../trace/errors.js';

/**
 * A perf script sample line of a tracepoint (comm may contain spaces; the pid/tid, CPU, time and
 * `sys:event:` follow; the `sys:` part may be missing, `sched_switch:` for `sched:sched_switch:`).
 */
export const PERF_LINE_RE =
  /^\s*(.*?)\s+(?:(\d+)\/)?(\d+)\s+\[(\d+)\]\s+(\d+)\.(\d+):\s+(?:\d+\s+)?(?:([A-Za-z_][\w-]*):)?([A-Za-z_]\w*):\s?(.*)$/;

/** The same without the CPU column (`perf script -F comm,tid,time,event,trace`): cannot be replayed. */
const PERF_NO_CPU_RE = /^\s*(.*?)\s+(?:(\d+)\/)?(\d+)\s+(\d+)\.(\d+):\s+(?:\d+\s+)?(?:([A-Za-z_][\w-]*):)?([A-Za-z_]\w*):\s?(.*)$/;

/**
 * A task event of `perf script --show-task-events` (builtin-script.c process_comm_event /
 * process_fork_event / process_exit_event: perf_sample__fprintf_start, then tools/perf/util/event.c
 * perf_event__fprintf): `comm tid [cpu] secs.frac: PERF_RECORD_COMM exec: ls:1234/1234`
 * (perf_event__fprintf_comm: "%s: %s:%d/%d", " exec" when the record has
 * PERF_RECORD_MISC_COMM_EXEC), `PERF_RECORD_FORK(1235:1235):(1234:1234)` and
 * `PERF_RECORD_EXIT(1235:1235):(1234:1234)` (perf_event__fprintf_task: "(%d:%d):(%d:%d)", pid:tid
 * of the task, then ppid:ptid of its parent).
 */
export const PERF_TASK_RE = /^\s*(.*?)\s+(?:(\d+)\/)?(\d+)\s+(?:\[(\d+)\]\s+)?(\d+)\.(\d+):\s+PERF_RECORD_(COMM|FORK|EXIT)(.*)$/;

/** The events a task record becomes, read by lifecycle.ts (the summary names them as perf prints them). */
export const PERF_TASK_EVENTS = {
  comm: 'perf_comm',
  commExec: 'perf_comm_exec',
  fork: 'perf_fork',
  exit: 'perf_exit',
} as const;

const COMM_BODY_RE = /^( exec)?: (.*):(\d+)\/(\d+)\s*$/;
const TASK_BODY_RE = /^\((\d+):(\d+)\):\((\d+):(\d+)\)\s*$/;

/** A task record as an ftrace line, or undefined when its body is in no known form. */
function taskToFtrace(m: RegExpExecArray): string | undefined {
  const [, comm, , tid, cpu, sec, frac, kind, rest] = m;
  const who = `${comm === '' ? '<...>' : comm}-${tid} [${(cpu ?? '0').padStart(3, '0')}] ${sec}.${frac}`;
  if (kind === 'COMM') {
    const c = COMM_BODY_RE.exec(rest!);
    if (!c) return undefined;
    const event = c[1] ? PERF_TASK_EVENTS.commExec : PERF_TASK_EVENTS.comm;
    return `${who}: ${event}: pid=${c[3]} tid=${c[4]} comm=${c[2]}`;
  }
  const t = TASK_BODY_RE.exec(rest!);
  if (!t) return undefined;
  const event = kind === 'FORK' ? PERF_TASK_EVENTS.fork : PERF_TASK_EVENTS.exit;
  return `${who}: ${event}: pid=${t[1]} tid=${t[2]} ppid=${t[3]} ptid=${t[4]}`;
}

/**
 * Rewrite one perf script line into the ftrace form; other lines (headers, blank, unknown) are
 * returned unchanged so the text importer counts them.
 * @throws InputError at the line when a sample has no CPU column.
 */
export function perfToFtrace(line: string, file: string, n: number): string {
  if (line.includes('PERF_RECORD_')) {
    const t = PERF_TASK_RE.exec(line);
    if (t) return taskToFtrace(t) ?? line;
  }
  const m = PERF_LINE_RE.exec(line);
  if (m) {
    const [, comm, pid, tid, cpu, sec, frac, , event, body] = m;
    const who = `${comm === '' ? '<...>' : comm}-${tid}${pid !== undefined ? ` (${pid})` : ''}`;
    return `${who} [${cpu!.padStart(3, '0')}] ${sec}.${frac}: ${event}: ${body}`;
  }
  if (PERF_NO_CPU_RE.test(line)) {
    throw new InputError(
      'a perf script sample without the CPU column: the replay needs the CPU of every switch; run `perf script -F comm,pid,tid,cpu,time,event,trace`',
      file,
      n,
      1,
    );
  }
  return line;
}

/** The lines of a perf script text as ftrace lines (numbers unchanged). */
export async function* perfLines(lines: AsyncIterable<[number, string]>, file: string): AsyncIterable<[number, string]> {
  for await (const [n, l] of lines) yield [n, perfToFtrace(l, file, n)];
}
