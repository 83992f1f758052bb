/**
 * The importers' vocabulary (kinds and the summary shape), apart from the importers themselves so
 * that the CLI can describe them without loading them.
 */
import type { EventKind } from '../trace/events.js';

export const IMPORT_KINDS = ['ftrace', 'systrace', 'trace-dat', 'perf-script'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

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
  /** Lifecycle events used (sched_process_fork / exec / exit / free, task_newtask, task_rename) by name. */
  lifecycle?: Record<string, number>;
  /** Events written from them: forks of threads and processes, execs, exits. */
  lifecycleWritten?: { threads: number; processes: number; execs: number; exits: number };
  /** Which rule decided that a task is a kernel thread or a user task, with the number of tasks it decided. */
  taskRules?: { kernel: Record<string, number>; user: Record<string, number> };
}
