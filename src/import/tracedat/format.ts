/**
 * The event format descriptions a `trace.dat` carries (copies of the kernel's
 * `events/<system>/<event>/format` and `events/header_page` files), parsed as libtraceevent's
 * `event_read_format` / `tep_parse_header_page` do (libtraceevent src/event-parse.c). Field offsets
 * and sizes come from the file, never from a built-in table, so any kernel's layout is read.
 */

/** One field of an event record. */
export interface FieldFormat {
  name: string;
  offset: number;
  size: number;
  signed: boolean;
  /** `char name[N]`: a NUL-padded string in place. */
  isString: boolean;
  /** `__data_loc` (u32: offset in the low 16 bits, length in the high 16) or `__rel_loc` (offset from the field's end). */
  loc?: 'data' | 'rel';
}

/** One event's format. */
export interface EventFormat {
  system: string;
  name: string;
  id: number;
  fields: Map<string, FieldFormat>;
  printFmt: string;
}

const FIELD_RE = /^\s*field:(.*?);\s*offset:(\d+);\s*size:(\d+);(?:\s*signed:(\d+);)?/;

/** Parse one `format` file; undefined when it has no `name:` and `ID:` (not an event format). */
export function parseEventFormat(text: string, system: string): EventFormat | undefined {
  const name = /^name:\s*(\S+)/m.exec(text)?.[1];
  const id = /^ID:\s*(\d+)/m.exec(text)?.[1];
  if (name === undefined || id === undefined) return undefined;
  const fields = new Map<string, FieldFormat>();
  for (const line of text.split('\n')) {
    const m = FIELD_RE.exec(line);
    if (!m) continue;
    const decl = m[1]!.trim();
    const fname = /([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[[^\]]*\])?\s*$/.exec(decl)?.[1];
    if (!fname) continue;
    const loc = decl.startsWith('__data_loc') ? 'data' : decl.startsWith('__rel_loc') ? 'rel' : undefined;
    fields.set(fname, {
      name: fname,
      offset: Number(m[2]),
      size: Number(m[3]),
      signed: m[4] === '1',
      isString: loc !== undefined || /\bchar\b.*\[/.test(decl),
      loc,
    });
  }
  const printFmt = /^print fmt:\s*(.*)$/m.exec(text)?.[1] ?? '';
  return { system, name, id: Number(id), fields, printFmt };
}

/** The ring-buffer page header (`events/header_page`): where the page timestamp, commit and data are. */
export interface PageHeader {
  timestampOffset: number;
  timestampSize: number;
  commitOffset: number;
  /** The kernel's `local_t` size (4 or 8). */
  commitSize: number;
  dataOffset: number;
}

/**
 * Parse `header_page` (kernel/trace/ring_buffer.c `ring_buffer_print_page_header`); the kernel's
 * defaults for a 64-bit kernel when a field is missing.
 */
export function parsePageHeader(text: string): PageHeader {
  const f = parseEventFormat(`name: header_page\nID: 0\n${text}`, 'header')?.fields;
  const ts = f?.get('timestamp');
  const commit = f?.get('commit');
  const data = f?.get('data');
  return {
    timestampOffset: ts?.offset ?? 0,
    timestampSize: ts?.size ?? 8,
    commitOffset: commit?.offset ?? 8,
    commitSize: commit?.size ?? 8,
    dataOffset: data?.offset ?? 16,
  };
}

/**
 * The `prev_state` letters of `sched_switch` as its print fmt gives them:
 * `__print_flags(prev_state & MASK, "|", { 0x01, "S" }, ...)`, `"R"` when no flag is set, and `"+"`
 * (preempted) for the bit just above the highest flag (TASK_REPORT_MAX / TASK_STATE_MAX,
 * include/trace/events/sched.h). Undefined when the print fmt has no such table.
 */
export function stateFlags(printFmt: string): ((state: number) => string) | undefined {
  const at = printFmt.indexOf('__print_flags');
  if (at < 0) return undefined;
  const pairs: [number, string][] = [];
  const re = /\{\s*(0x[0-9a-fA-F]+|\d+)\s*,\s*"([^"]*)"\s*\}/g;
  re.lastIndex = at;
  for (let m = re.exec(printFmt); m; m = re.exec(printFmt)) pairs.push([Number(m[1]), m[2]!]);
  if (pairs.length === 0) return undefined;
  const top = Math.max(...pairs.map(([v]) => v));
  const preempt = top * 2;
  const mask = preempt - 1;
  return (state: number) => {
    const s = state & mask;
    const letters = s
      ? pairs
          .filter(([v]) => (s & v) !== 0)
          .map(([, l]) => l)
          .join('|')
      : 'R';
    return (letters || String(s)) + ((state & preempt) !== 0 && preempt <= 0x40000000 ? '+' : '');
  };
}
