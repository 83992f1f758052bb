/**
 * The byte-level fast path of the trace v1 reader: one data line, as bytes, straight into a packed
 * batch (packed.ts) as a validated event, with no cell strings (identifiers come from a cache), no
 * cell array, no object and no regular expression (but for `src` cells) on the way.
 *
 * It decides only *plain* lines: every byte printable ASCII (0x21-0x7e) other than `"`, cells cut
 * at `,`. On such a line csv-parse (the definition of the format, with the reader's options) gives
 * exactly `line.split(',')`: no quote, no record delimiter, nothing its `trim` removes, and a `#`
 * is a comment only at the start of the line (`comment_no_infix`), which the reader handles before
 * calling this. The rules are those of fast-row.ts `fastEvent` (and so of the zod schemas of
 * row-schema.ts): on any line it either appends the event `fastEvent(line.split(','))` would build,
 * or nothing ("not sure"), and the reader then takes the line through the slow path, which names
 * the error. test/fast-path.test.ts checks both statements on random lines.
 */
import { EVENT_KINDS, SRC_RE, type TraceEvent } from './events.js';
import { COL, type KindRule, RULES, headerIndex } from './fast-row.js';
import { PackedBatch, S_KIND, S_PROT, S_SRC } from './packed.js';

const COMMA = 0x2c;
// Column codes (indexes into COLUMNS) as constants, for the switch of the hot loop.
const TIME = COL.time;
const EVENT = COL.event;
const CPU = COL.cpu;
const TASK = COL.task;
const MM = COL.mm;
const DOMAIN = COL.domain;
const PASID = COL.pasid;
const VA = COL.va;
const SIZE = COL.size;
const PROT = COL.prot;
const SRC = COL.src;
const MM_BIT = 1 << MM;
const DOMAIN_BIT = 1 << DOMAIN;

/** Bytes of an identifier cell: the characters of NAME_RE (row-schema.ts), `[A-Za-z0-9_.:\-/@#]`. */
const NAME_BYTE = new Uint8Array(256);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:-/@#') NAME_BYTE[ch.charCodeAt(0)] = 1;

/** Hex digit value of a byte, or -1. */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/**
 * Event kinds by shape: the length (below 16), the first and the last byte (their low five bits:
 * a letter's place in the alphabet) identify each kind name (checked at load), so a table lookup
 * and a byte compare name the kind. Slots hold 1 + the index into {@link EVENT_KINDS}, 0 for none.
 */
const KIND_BY_SHAPE = new Int8Array(16 << 10);
const KIND_BYTES = EVENT_KINDS.map((k) => Buffer.from(k, 'latin1'));
const KIND_RULE: KindRule[] = EVENT_KINDS.map((k) => RULES.get(k)!);
const shape = (len: number, first: number, last: number) => ((len & 15) << 10) | ((first & 31) << 5) | (last & 31);
KIND_BYTES.forEach((b, i) => {
  const key = shape(b.length, b[0]!, b[b.length - 1]!);
  if (b.length > 15 || KIND_BY_SHAPE[key] !== 0)
    throw new Error(`internal error: event kind ${EVENT_KINDS[i]} does not have a shape of its own`);
  KIND_BY_SHAPE[key] = i + 1;
});

/** Where the cell read last by {@link intAt} or {@link RowTokenizer.nameAt} ends (its comma, or the line's end). */
let cellEnd = 0;

/**
 * The non-negative integer cell that starts at `p` and ends at the next comma (or `b`), as
 * fast-row.ts's `smallInt` reads it: decimal of at most 15 digits or `0x`/`0X` hex of at most 13
 * digits (both below 2^53, so exact); -1 otherwise (longer integers are valid but left to zod).
 * Sets {@link cellEnd}.
 */
function intAt(buf: Buffer, p: number, b: number): number {
  let q = p;
  let v = 0;
  if (buf[p] === 0x30 && p + 2 < b && (buf[p + 1]! | 0x20) === 0x78 && buf[p + 2] !== COMMA) {
    q = p + 2;
    for (; q < b; q++) {
      const c = buf[q]!;
      if (c === COMMA) break;
      const d = HEX[c]!;
      if (d < 0 || q - p === 15) return -1;
      v = v * 16 + d;
    }
  } else {
    for (; q < b; q++) {
      const c = buf[q]!;
      if (c === COMMA) break;
      const d = c - 0x30;
      if (d < 0 || d > 9 || q - p === 15) return -1;
      v = v * 10 + d;
    }
  }
  cellEnd = q;
  return v;
}

/** Index into {@link EVENT_KINDS} of the event cell `buf[a, b)`, or -1. */
function kindCell(buf: Buffer, a: number, b: number): number {
  const n = b - a;
  if (n > 15) return -1;
  const k = KIND_BY_SHAPE[shape(n, buf[a]!, buf[b - 1]!)]! - 1;
  if (k < 0) return -1;
  const want = KIND_BYTES[k]!;
  if (want.length !== n) return -1;
  for (let i = 0; i < n; i++) if (buf[a + i] !== want[i]) return -1;
  return k;
}

/** The prot cell `buf[a, b)` (`r`, `w`, `rw`) as PROT bits, or -1. */
function protCell(buf: Buffer, a: number, b: number): number {
  const n = b - a;
  const c = buf[a];
  if (n === 1) return c === 0x72 ? 1 : c === 0x77 ? 2 : -1;
  return n === 2 && c === 0x72 && buf[a + 1] === 0x77 ? 3 : -1;
}

/** Slots of the identifier cache (a power of two): enough for the live names of a big trace. */
const CACHE_SLOTS = 4096;

/**
 * Tokenizer and validator of the plain data lines of one trace (one header).
 *
 * Identifier cells (mm, device, domain, op) are interned in a small direct-mapped cache keyed by
 * their bytes, so a name the trace repeats costs no new string; the cache has a fixed size, so
 * memory stays flat however many distinct names a trace has.
 */
export class RowTokenizer {
  private readonly cols: Int8Array;
  private readonly names: (string | undefined)[] = new Array<string | undefined>(CACHE_SLOTS);
  private readonly hashes = new Int32Array(CACHE_SLOTS);

  /** @param header the checked header row (known column names, no duplicates). */
  constructor(header: readonly string[]) {
    this.cols = headerIndex(header);
  }

  /**
   * The identifier cell that starts at `p` and ends at the next comma (or `b`), as a string (from
   * the cache when it holds it), or undefined when a byte is not allowed in an identifier. Sets
   * {@link cellEnd}.
   */
  nameAt(buf: Buffer, p: number, b: number): string | undefined {
    let h = 0;
    let q = p;
    for (; q < b; q++) {
      const c = buf[q]!;
      if (c === COMMA) break;
      if (NAME_BYTE[c] === 0) return undefined;
      h = (Math.imul(h, 31) + c) | 0;
    }
    cellEnd = q;
    const n = q - p;
    const slot = (h ^ (h >>> 12)) & (CACHE_SLOTS - 1);
    const hit = this.names[slot];
    if (hit !== undefined && this.hashes[slot] === h && hit.length === n) {
      let i = 0;
      while (i < n && hit.charCodeAt(i) === buf[p + i]) i++;
      if (i === n) return hit;
    }
    const s = latin1(buf, p, q);
    this.names[slot] = s;
    this.hashes[slot] = h;
    return s;
  }

  /**
   * Validate one data line and append its event to `out`.
   * @param buf the bytes holding the line.
   * @param a   offset of the line's first byte.
   * @param b   offset just after its last byte (its `\n` excluded).
   * @param row the line's 1-based number in the file, copied into the event.
   * @returns true when the event was appended: exactly the event fast-row.ts `fastEvent` builds from
   *   `line.split(',')`; false (nothing appended) when the line is not plain, has another number
   *   of cells than the header, or is a row `fastEvent` would not decide (invalid, or an
   *   integer of 16 digits or more).
   */
  pack(buf: Buffer, a: number, b: number, row: number, out: PackedBatch): boolean {
    const cols = this.cols;
    const n = cols.length;
    const o = out.open(row);
    const d = out.data;
    const strings = out.strings;
    const nstrings = strings.length;
    let rule: KindRule | undefined;
    let seen = 0;
    let p = a;
    for (let i = 0; i < n; i++) {
      if (i > 0) {
        // a line with fewer cells than the header ends here
        if (p >= b) return this.reject(strings, nstrings);
        p++; // the comma
      }
      if (p === b || buf[p] === COMMA) continue; // an empty cell
      const c = cols[i]!;
      seen |= 1 << c;
      switch (c) {
        case TIME:
        case CPU:
        case TASK:
        case PASID:
        case VA:
        case SIZE: {
          const v = intAt(buf, p, b);
          if (v < 0) return this.reject(strings, nstrings);
          d[o + 1 + c] = v;
          p = cellEnd;
          break;
        }
        case EVENT: {
          let e = p;
          while (e < b && buf[e] !== COMMA) e++;
          const k = kindCell(buf, p, e);
          if (k < 0) return this.reject(strings, nstrings);
          rule = KIND_RULE[k];
          d[o + S_KIND] = k;
          p = e;
          break;
        }
        case PROT: {
          let e = p;
          while (e < b && buf[e] !== COMMA) e++;
          const v = protCell(buf, p, e);
          if (v < 0) return this.reject(strings, nstrings);
          d[o + S_PROT] = v;
          p = e;
          break;
        }
        case SRC: {
          let e = p;
          while (e < b && buf[e] !== COMMA) e++;
          const s = latin1(buf, p, e);
          if (!SRC_RE.test(s)) return this.reject(strings, nstrings);
          d[o + S_SRC] = strings.push(s) - 1;
          p = e;
          break;
        }
        default: {
          const s = this.nameAt(buf, p, b);
          if (s === undefined) return this.reject(strings, nstrings);
          d[o + 1 + c] = strings.push(s) - 1;
          p = cellEnd;
        }
      }
    }
    // more cells than the header
    if (p !== b) return this.reject(strings, nstrings);
    if (rule === undefined || (seen & rule.required) !== rule.required || (seen & ~rule.allowed) !== 0)
      return this.reject(strings, nstrings);
    // map/unmap: exactly one of mm and domain
    if (rule.needsOneOf !== 0 && ((seen & MM_BIT) === 0) === ((seen & DOMAIN_BIT) === 0)) return this.reject(strings, nstrings);
    out.commit();
    return true;
  }

  /** Forget the strings a rejected line appended; false. */
  private reject(strings: string[], n: number): false {
    strings.length = n;
    return false;
  }

  /**
   * {@link pack} for one line, as an event object (tests).
   * @returns the event, or undefined when {@link pack} rejects the line.
   */
  event(buf: Buffer, a: number, b: number, row: number): TraceEvent | undefined {
    const out = new PackedBatch(1);
    return this.pack(buf, a, b, row, out) ? out.event(0) : undefined;
  }
}

/** `buf[a, b)` as a string of one byte per character (the bytes are ASCII when this is called on a plain cell). */
export function latin1(buf: Buffer, a: number, b: number): string {
  return buf.toString('latin1', a, b);
}

/**
 * Whether `buf[a, b)` is a plain line: only bytes 0x21-0x7e other than `"` (no space, tab, control
 * character, quote, CR or non-ASCII byte), so that csv-parse's record is `line.split(',')`.
 */
export function isPlain(buf: Buffer, a: number, b: number): boolean {
  for (let i = a; i < b; i++) {
    const c = buf[i]!;
    if (c <= 0x20 || c >= 0x7f || c === 0x22) return false;
  }
  return true;
}
