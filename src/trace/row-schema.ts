/**
 * zod schemas of trace v1 rows, one per event kind (README.md "Trace format v1").
 *
 * A row arrives as an object of its non-empty cells (strings). Each event kind has a strict schema:
 * required columns, optional columns, and nothing else; integer cells are decimal or `0x` hex and
 * become numbers (exact up to 2^53 - 1). The first issue zod reports names the offending column.
 */
import { z } from 'zod';
import { type Column, EVENT_COLUMNS, EVENT_KINDS, type EventKind, PROT_CELLS, SRC_RE, type TraceEvent } from './events.js';
import { NAME_RE } from './names.js';

const INT_RE = /^(?:0[xX][0-9a-fA-F]+|[0-9]+)$/;

/** A non-negative integer cell: decimal or 0x hex, at most 2^53 - 1. */
export const intCell = z
  .string()
  .regex(INT_RE, 'expected a non-negative integer (decimal or 0x hex)')
  .transform((s, ctx) => {
    const v = Number(s);
    if (!Number.isSafeInteger(v)) {
      ctx.addIssue({ code: 'custom', message: `integer ${s} is larger than 2^53 - 1` });
      return z.NEVER;
    }
    return v;
  });

export { NAME_RE } from './names.js';

/** An identifier cell (mm, device, domain, op). */
export const nameCell = z.string().regex(NAME_RE, 'expected an identifier (letters, digits, _.:-/@#)');

/** An access-rights cell: r, w or rw. */
export const protCell = z.enum(Object.keys(PROT_CELLS) as [string, ...string[]], 'expected r, w or rw').transform((s) => PROT_CELLS[s]);

/** A provenance cell ({@link SRC_RE}): `<seconds>@L<line>`, e.g. `2094.163981@L5173`. */
export const srcCell = z
  .string()
  .regex(SRC_RE, 'expected the source of the event as <seconds>@L<line> (e.g. 2094.163981@L5173: timestamp in the recording, line)');

const CELL: Record<Exclude<Column, 'event'>, z.ZodType> = {
  time: intCell,
  cpu: intCell,
  task: intCell,
  pasid: intCell,
  va: intCell,
  size: intCell,
  mm: nameCell,
  device: nameCell,
  domain: nameCell,
  prot: protCell,
  op: nameCell,
  src: srcCell,
};

function eventSchema(kind: EventKind) {
  const { required, optional } = EVENT_COLUMNS[kind];
  const shape: Record<string, z.ZodType> = { event: z.literal(kind), time: CELL.time.optional(), src: CELL.src.optional() };
  for (const c of required) shape[c] = CELL[c as Exclude<Column, 'event'>];
  for (const c of optional) shape[c] = CELL[c as Exclude<Column, 'event'>].optional();
  return z.strictObject(shape);
}

/** Row schema per event kind. */
export const ROW_SCHEMAS: Readonly<Record<EventKind, z.ZodType>> = Object.fromEntries(
  EVENT_KINDS.map((k) => [k, eventSchema(k)]),
) as unknown as Record<EventKind, z.ZodType>;

/** Result of validating one row: the event, or the column at fault and a message. */
export type RowResult = { ok: true; event: TraceEvent } | { ok: false; column: string; message: string };

/**
 * Validate one row given as `{column: cell}` of its non-empty cells.
 * Cross-field rules zod cannot see per column (map/unmap need exactly one of mm and domain) are checked here.
 */
export function validateRow(cells: Record<string, string>, row: number): RowResult {
  const kind = cells.event;
  if (kind === undefined) return { ok: false, column: 'event', message: `missing event; expected one of ${EVENT_KINDS.join(', ')}` };
  const schema = Object.hasOwn(ROW_SCHEMAS, kind) ? ROW_SCHEMAS[kind as EventKind] : undefined;
  if (!schema) return { ok: false, column: 'event', message: `unknown event "${kind}"; expected one of ${EVENT_KINDS.join(', ')}` };
  const r = schema.safeParse(cells);
  if (!r.success) {
    const issue = r.error.issues[0];
    const column = String(issue!.path[0] ?? 'event');
    let message = issue!.message;
    if (issue!.code === 'unrecognized_keys') {
      const key = issue.keys[0]!;
      return { ok: false, column: key, message: `column ${key} is not used by event ${kind} (uses: ${usage(kind as EventKind)})` };
    }
    if (issue!.code === 'invalid_type' && cells[column] === undefined) {
      message = `event ${kind} needs a value in column ${column} (uses: ${usage(kind as EventKind)})`;
    } else {
      message = `column ${column}: ${message}, got "${cells[column]}"`;
    }
    return { ok: false, column, message };
  }
  const d = r.data as Omit<TraceEvent, 'row' | 'kind'>;
  // One object shape for every event (no delete, no optional keys) keeps the replay loop monomorphic.
  const event: TraceEvent = {
    row,
    kind: kind as EventKind,
    time: d.time,
    cpu: d.cpu,
    task: d.task,
    mm: d.mm,
    device: d.device,
    domain: d.domain,
    pasid: d.pasid,
    va: d.va,
    size: d.size,
    prot: d.prot,
    op: d.op,
    src: d.src,
  };
  if ((kind === 'map' || kind === 'unmap') && (event.mm === undefined) === (event.domain === undefined)) {
    return {
      ok: false,
      column: event.mm === undefined ? 'mm' : 'domain',
      message: `event ${kind} needs exactly one of mm (a process) and domain (a DMA domain)`,
    };
  }
  return { ok: true, event };
}

/**
 * {@link validateRow} for a row as csv-parse gives it: `cells[i]` under column `header[i]`, '' = empty.
 */
export function validateCells(header: readonly string[], cells: readonly string[], row: number): RowResult {
  const obj: Record<string, string> = {};
  for (let i = 0; i < cells.length; i++) if (cells[i] !== '') obj[header[i]!] = cells[i]!;
  return validateRow(obj, row);
}

function usage(kind: EventKind): string {
  const { required, optional } = EVENT_COLUMNS[kind];
  return [...required, ...optional.map((o) => `[${o}]`)].join(' ') || 'nothing';
}
