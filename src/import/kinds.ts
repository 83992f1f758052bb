/**
 * The importers' vocabulary (kinds and the summary shape), apart from the importers themselves so
 * that the CLI can describe them without loading them.
 */
import type { EventKind } from '../trace/events.js';

export const IMPORT_KINDS = ['ftrace', 'systrace', 'trace-dat', 'perf-script'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

/** What a comm change without an exec event is taken for, when `--comm-change` says (lifecycle.ts). */
export const COMM_CHANGES = ['exec', 'rename'] as const;
export type CommChange = (typeof COMM_CHANGES)[number];

export interface ImportSummary {
  input: string;
  output: string;
  kind: ImportKind;
  cpus: number;
  lines: number;
  commentLines: number;
  sched_switch: number;
  /** Other ftrace events by name (not replayed). */
  otherEvents: Record<string, number>;
  /** Lines in no known form (neither comment, header nor event). */
  unparsedLines: number;
  /** Line numbers of the first unparsed lines. */
  unparsedExamples: number[];
  /** The first unparsed lines themselves (at most 5, each cut at 120 characters). */
  unparsedQuotes?: string[];
  eventsWritten: number;
  eventsByKind: Partial<Record<EventKind, number>>;
  tasks: number;
  kernelThreads: number;
  exits: number;
  /**
   * Lifecycle events used (sched_process_fork / exec / exit / free, task_newtask, task_rename; perf's
   * PERF_RECORD_COMM, PERF_RECORD_COMM exec, PERF_RECORD_FORK, PERF_RECORD_EXIT) by name.
   */
  lifecycle?: Record<string, number>;
  /**
   * What they decided: forks of threads and processes written, execs, exits, and kernel threads
   * (forked by kthreadd or another kernel thread: nothing written, they run as task 0).
   */
  lifecycleWritten?: { threads: number; processes: number; execs: number; exits: number; kernelThreads?: number };
  /**
   * Comm changes (a task's name changes in its events) that no exec event explained, by what they
   * were taken for and the rule that decided (lifecycle.ts COMM_RULES); the first ones as
   * `<pid> <old> -> <new> (exec|rename)`, and how many more.
   */
  commChanges?: { execs: Record<string, number>; renames: Record<string, number>; shown: string[]; more: number };
  /** Systrace HTML: its trace-data blocks (line, kind, lines), and what its process dump holds. */
  systrace?: {
    blocks: { line: number; kind: string; lines: number }[];
    processDump?: { line: number; snapshots: number; processes: number; threads: number; kernelThreads: number };
  };
  /** Which rule decided that a task is a kernel thread or a user task, with the number of tasks it decided. */
  taskRules?: { kernel: Record<string, number>; user: Record<string, number> };
  /**
   * The names of the tasks decided by their name alone (no lifecycle event for them), first
   * distinct ones of each side (at most 12): kernel threads by a kernel thread name, user tasks by
   * default; `more`: how many other distinct names each side has.
   */
  decidedByName?: { kernel: string[]; user: string[]; more?: { kernel: number; user: number } };
  /**
   * Events the recording says it lost (ring-buffer overruns: `CPU:N [LOST n EVENTS]`, `[n EVENTS
   * DROPPED]`, a trace.dat page with RB_MISSED_EVENTS), present only when imported with
   * --allow-lost-events (otherwise the import is refused).
   */
  lostEvents?: {
    /** Lines that say so. */
    overruns: number;
    /** The sum of the counts given. */
    total: number;
    /** Overruns whose count the recording does not know. */
    unknown: number;
    cpus: number[];
    /** The first 20: line, CPU, count (absent when unknown), the line as printed, and for a trace.dat the page. */
    at: { line: number; cpu: number; count?: number; text: string; where?: string }[];
  };
}

/** At most this many overruns are listed in the summary and the messages. */
const LOST_SHOWN = 5;

/** "123 events", or "events (how many is not recorded)". */
export const lostCount = (count: number | undefined): string =>
  count === undefined ? 'events (how many is not recorded)' : `${count} event${count === 1 ? '' : 's'}`;

/** "123 events lost on CPU 2", "at least 123 events (2 overruns without a count) lost on CPUs 2, 3". */
export function lostTotal(l: NonNullable<ImportSummary['lostEvents']>): string {
  const cpus = `CPU${l.cpus.length === 1 ? '' : 's'} ${l.cpus.join(', ')}`;
  if (l.unknown === 0) return `${lostCount(l.total)} lost on ${cpus}`;
  const without = `${l.unknown} overrun${l.unknown === 1 ? '' : 's'} without a count`;
  return `${l.total === 0 ? 'events' : `at least ${lostCount(l.total)}`} (${without}) lost on ${cpus}`;
}

/** The lost events of an import in one sentence (the summary's warning and the trace's comment). */
export function lostEventsText(l: NonNullable<ImportSummary['lostEvents']>): string {
  const each = l.at
    .slice(0, LOST_SHOWN)
    .map(
      (x) =>
        `CPU ${x.cpu} ${x.count === undefined ? 'lost events' : `lost ${lostCount(x.count)}`} at line ${x.line}${x.where ? ` (${x.where})` : ''}`,
    )
    .join(', ');
  const more = l.overruns > LOST_SHOWN ? `, and ${l.overruns - LOST_SHOWN} more overruns` : '';
  return (
    `the recording lost events (ring-buffer overruns): ${each}${more}; ${lostTotal(l)}. ` +
    'Imported anyway (--allow-lost-events): the trace misses them, and the tasks, address spaces and findings after them may be wrong'
  );
}
