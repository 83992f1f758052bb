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

/** A perf script sample line of a tracepoint (comm may contain spaces; the pid/tid, CPU, time and `sys:event:` follow). */
export const PERF_LINE_RE =
  /^\s*(.*?)\s+(?:(\d+)\/)?(\d+)\s+\[(\d+)\]\s+(\d+)\.(\d+):\s+(?:\d+\s+)?([A-Za-z_][\w-]*):([A-Za-z_]\w*):\s?(.*)$/;

/** The same without the CPU column (`perf script -F comm,tid,time,event,trace`): cannot be replayed. */
const PERF_NO_CPU_RE = /^\s*(.*?)\s+(?:(\d+)\/)?(\d+)\s+(\d+)\.(\d+):\s+(?:\d+\s+)?([A-Za-z_][\w-]*):([A-Za-z_]\w*):\s?(.*)$/;

/**
 * Rewrite one perf script line into the ftrace form; other lines (headers, blank, unknown) are
 * returned unchanged so the text importer counts them.
 * @throws InputError at the line when a sample has no CPU column.
 */
export function perfToFtrace(line: string, file: string, n: number): string {
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
