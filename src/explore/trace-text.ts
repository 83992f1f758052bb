/**
 * A small trace v1 file as text: comments, the `# system:` line, and only the columns the events use.
 */
import { COLUMNS, type TraceEvent, protName } from '../trace/events.js';

const cell = (e: Omit<TraceEvent, 'row'>, c: (typeof COLUMNS)[number]): string => {
  if (c === 'event') return e.kind;
  const v = e[c as keyof typeof e];
  if (v === undefined) return '';
  if (c === 'va' || c === 'size') return '0x' + (v as number).toString(16);
  if (c === 'prot') return protName(v as number);
  return String(v);
};

/** Trace v1 text of `events` on `system` (the preamble object), with `# ` comment lines first. */
export function traceText(system: object, events: readonly Omit<TraceEvent, 'row'>[], comments: readonly string[] = []): string {
  const used = COLUMNS.filter((c) => c === 'event' || events.some((e) => cell(e, c) !== ''));
  const lines = comments.map((c) => `# ${c}`);
  lines.push(`# system: ${JSON.stringify(system)}`, used.join(','));
  for (const e of events) lines.push(used.map((c) => cell(e, c)).join(','));
  return lines.join('\n') + '\n';
}
