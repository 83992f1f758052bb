/**
 * The importers' vocabulary (kinds and the summary shape), apart from the importers themselves so
 * that the CLI can describe them without loading them.
 */
import type { EventKind } from '../trace/events.js';

export const IMPORT_KINDS = ['ftrace', 'systrace'] as const;
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
  eventsWritten: number;
  eventsByKind: Partial<Record<EventKind, number>>;
  tasks: number;
  kernelThreads: number;
  exits: number;
}

