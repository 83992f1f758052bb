/**
 * A structural encoding of plain data (numbers, strings, booleans, arrays, Maps, Sets, objects) as
 * a sequence of int32s, for the SMMU side of a search state: Maps and Sets in key order (their
 * insertion order is history, not state), object fields in their own order, trace rows left out
 * (fields named `row` or `...Row`: where something happened is reported, never acted on).
 *
 * Equal data gives equal sequences; the sequence is exact (strings by a number given to each
 * distinct string on first sight, numbers that are not int32 by their two 32-bit float halves), so
 * no two different states share one. The string numbers are only meaningful within one process,
 * as are the encodings. It replaces a JSON string with sorted Maps: no string building, several
 * times faster.
 */

const T_INT = 1;
const T_FLOAT = 2;
const T_STR = 3;
const T_BOOL = 4;
const T_NULL = 5;
const T_ARRAY = 6;
const T_MAP = 7;
const T_SET = 8;
const T_OBJECT = 9;

const f64 = new Float64Array(1);
const i32 = new Int32Array(f64.buffer);

const isRowKey = (k: string) => k === 'row' || k.endsWith('Row');

/** Distinct strings seen, numbered from 1 in order of first sight. */
const stringIds = new Map<string, number>();
const stringId = (s: string): number => {
  let id = stringIds.get(s);
  if (id === undefined) stringIds.set(s, (id = stringIds.size + 1));
  return id;
};

/** Keys in a canonical order: numbers numerically, strings by code units, numbers first. */
function sortKeys(keys: unknown[]): unknown[] {
  return keys.sort((a, b) => {
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    if (typeof a === 'number') return -1;
    if (typeof b === 'number') return 1;
    const x = String(a);
    const y = String(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/**
 * A renaming of numeric fields that depends on where they are: `scope` derives a number from an
 * object for everything below it (e.g. the address space an object belongs to), and `rename` maps
 * a numeric field of an object, given the scope it sits in.
 */
export interface FieldRenaming {
  scope(o: Record<string, unknown>, inherited: number): number;
  rename(key: string, value: number, scope: number): number;
}

const IDENTITY: FieldRenaming = { scope: (_o, s) => s, rename: (_k, v) => v };

/**
 * Push the encoding of `v` through `push`. Fields listed in `skip` (by name, at any depth) are left
 * out: constants of the configuration that every state shares. Numeric object fields go through
 * `renaming` first.
 */
export function pushStructure(
  v: unknown,
  push: (x: number) => void,
  skip: ReadonlySet<string>,
  renaming: FieldRenaming = IDENTITY,
  scope = NaN,
): void {
  switch (typeof v) {
    case 'number':
      if ((v | 0) === v) {
        push(T_INT);
        push(v);
      } else {
        f64[0] = v;
        push(T_FLOAT);
        push(i32[0]!);
        push(i32[1]!);
      }
      return;
    case 'string':
      push(T_STR);
      push(stringId(v));
      return;
    case 'boolean':
      push(T_BOOL);
      push(v ? 1 : 0);
      return;
    case 'undefined':
      push(T_NULL);
      push(0);
      return;
    case 'object':
      break;
    default:
      throw new TypeError(`cannot encode a ${typeof v}`);
  }
  if (v === null) {
    push(T_NULL);
    push(1);
  } else if (Array.isArray(v)) {
    push(T_ARRAY);
    push(v.length);
    for (const x of v) pushStructure(x, push, skip, renaming, scope);
  } else if (v instanceof Map) {
    push(T_MAP);
    push(v.size);
    for (const k of sortKeys([...v.keys()])) {
      pushStructure(k, push, skip, renaming, scope);
      pushStructure(v.get(k), push, skip, renaming, scope);
    }
  } else if (v instanceof Set) {
    push(T_SET);
    push(v.size);
    for (const k of sortKeys([...v])) pushStructure(k, push, skip, renaming, scope);
  } else {
    push(T_OBJECT);
    const o = v as Record<string, unknown>;
    const inner = renaming.scope(o, scope);
    for (const k in o) {
      const x = o[k];
      if (x === undefined || isRowKey(k) || skip.has(k)) continue;
      push(stringId(k));
      pushStructure(typeof x === 'number' ? renaming.rename(k, x, inner) : x, push, skip, renaming, inner);
    }
    push(0);
  }
}
