/**
 * The fast path of row validation: the same rules as the zod schemas of row-schema.ts, written as
 * a loop over the cells so that a valid row costs no intermediate object and no zod call.
 *
 * It only ever says "valid" or "not sure": on anything unusual (a bad cell, an integer above 15
 * digits, a missing column) it returns `undefined` and the caller asks {@link validateRow}, which
 * stays the one source of error messages. test/fast-row.test.ts checks on random rows that both
 * agree.
 */
import { COLUMNS, type Column, EVENT_COLUMNS, EVENT_KINDS, type EventKind, PROT_CELLS, SRC_RE, type TraceEvent } from './events.js';
import { NAME_RE } from './names.js';

/** Index of each column in {@link COLUMNS}. */
export const COL = Object.fromEntries(COLUMNS.map((c, i) => [c, i])) as Record<Column, number>;
const bit = (c: Column) => 1 << COL[c];
const INT_COLS = bit('time') | bit('cpu') | bit('task') | bit('pasid') | bit('va') | bit('size');
const NAME_COLS = bit('mm') | bit('device') | bit('domain') | bit('op');
const SRC_COL = COL.src;
const PROT_COL = COL.prot;

/** The columns an event kind requires and allows, as bit masks over {@link COLUMNS}. */
export interface KindRule {
  kind: EventKind;
  /** Columns that must have a value (bit i = COLUMNS[i]). */
  required: number;
  /** Columns that may have a value. */
  allowed: number;
  /** Non-zero for map and unmap, which need exactly one of mm and domain. */
  needsOneOf: number;
}

/** {@link KindRule} of each event kind, by its name. */
export const RULES = new Map<string, KindRule>(
  EVENT_KINDS.map((kind) => {
    const { required, optional } = EVENT_COLUMNS[kind];
    const req = required.reduce((m, c) => m | bit(c), bit('event'));
    const allowed = optional.reduce((m, c) => m | bit(c), req | bit('time') | bit('src'));
    return [kind, { kind, required: req, allowed, needsOneOf: kind === 'map' || kind === 'unmap' ? 1 : 0 }];
  }),
);

const PROT = new Map(Object.entries(PROT_CELLS));

/** A decimal or 0x-hex cell of at most 15 digits / 13 hex digits (always below 2^53), else -1. */
function smallInt(s: string): number {
  const n = s.length;
  if (n === 0) return -1;
  let v = 0;
  if (n > 2 && s.charCodeAt(0) === 48 && (s.charCodeAt(1) | 32) === 120) {
    if (n > 15) return -1;
    for (let i = 2; i < n; i++) {
      const c = s.charCodeAt(i);
      let d: number;
      if (c >= 48 && c <= 57) d = c - 48;
      else if ((c | 32) >= 97 && (c | 32) <= 102) d = (c | 32) - 87;
      else return -1;
      v = v * 16 + d;
    }
    return v;
  }
  if (n > 15) return -1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Column indexes (into {@link COLUMNS}) of a checked header row.
 * @param header column names, already checked by the reader (known, no duplicates).
 */
export function headerIndex(header: readonly string[]): Int8Array {
  return Int8Array.from(header, (h) => COL[h as Column]);
}

/**
 * Validate one row of cells on the fast path.
 * @param cells the row's cells as csv-parse gives them (trimmed; '' = empty).
 * @param cols  {@link headerIndex} of the header; `cells.length` must equal `cols.length`.
 * @param row   the row's 1-based line number, copied into the event.
 * @returns the event exactly as {@link validateRow} would build it, or `undefined` when the row
 *   must go to {@link validateRow} (it is invalid, or outside what the fast path decides).
 */
export function fastEvent(cells: readonly string[], cols: Int8Array, row: number): TraceEvent | undefined {
  if (cells.length !== cols.length) return undefined;
  let rule: KindRule | undefined;
  let seen = 0;
  let time: number | undefined, cpu: number | undefined, task: number | undefined, pasid: number | undefined;
  let va: number | undefined, size: number | undefined, prot: number | undefined;
  let mm: string | undefined, device: string | undefined, domain: string | undefined, op: string | undefined;
  let src: string | undefined;
  for (let i = 0; i < cells.length; i++) {
    const s = cells[i]!;
    if (s === '') continue;
    const c = cols[i];
    const b = 1 << c!;
    seen |= b;
    if (b & INT_COLS) {
      const v = smallInt(s);
      if (v < 0) return undefined;
      switch (c) {
        case 0:
          time = v;
          break;
        case 2:
          cpu = v;
          break;
        case 3:
          task = v;
          break;
        case 7:
          pasid = v;
          break;
        case 8:
          va = v;
          break;
        default:
          size = v;
      }
    } else if (b & NAME_COLS) {
      if (!NAME_RE.test(s)) return undefined;
      switch (c) {
        case 4:
          mm = s;
          break;
        case 5:
          device = s;
          break;
        case 6:
          domain = s;
          break;
        default:
          op = s;
      }
    } else if (c === 1) {
      rule = RULES.get(s);
      if (rule === undefined) return undefined;
    } else if (c === PROT_COL) {
      prot = PROT.get(s);
      if (prot === undefined) return undefined;
    } else if (c === SRC_COL) {
      if (!SRC_RE.test(s)) return undefined;
      src = s;
    }
  }
  if (rule === undefined || (seen & rule.required) !== rule.required || (seen & ~rule.allowed) !== 0) return undefined;
  const kind = rule.kind;
  if ((kind === 'map' || kind === 'unmap') && (mm === undefined) === (domain === undefined)) return undefined;
  return { row, kind, time, cpu, task, mm, device, domain, pasid, va, size, prot, op, src };
}
