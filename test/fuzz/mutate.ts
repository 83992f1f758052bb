/**
 * Seeded mutators for the fuzz targets (see targets.ts): edits of text files by line, cell,
 * character and byte, and edits of JSON values. Every edit is plain data drawn by fast-check, with
 * positions taken modulo the size of what it edits, so that a failing case shrinks to few edits
 * near the start of the file.
 */
import fc from 'fast-check';

/** Cell and JSON strings that have broken parsers before: numbers at the edges, names of Object members, quotes, comment marks, odd Unicode. */
export const TOKENS = [
  '',
  ' ',
  '0',
  '00',
  '-0',
  '-1',
  '1',
  '2',
  '7',
  '8',
  '16',
  '255',
  '256',
  '4095',
  '4096',
  '4097',
  '65535',
  '65536',
  '9007199254740991',
  '9007199254740992',
  '99999999999999999999',
  '1e3',
  '1.5',
  '.5',
  '+1',
  'NaN',
  'Infinity',
  '0x',
  '0x0',
  '0X1f',
  '0x1g',
  '0xFFFFFFFFFFFFF',
  '0x1fffffffffffff',
  '0x20000000000000',
  '0xffffffffffffffff',
  '0x-1',
  'r',
  'w',
  'rw',
  'wr',
  'x',
  'R',
  'P',
  'Q',
  'ghost',
  'devA',
  'devB',
  'gpu',
  'dev0',
  'smmu0',
  'D1',
  'b1',
  'p1',
  'p0',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '"',
  '""',
  '"a,b"',
  '"x""y"',
  "'",
  ',',
  ',,',
  '#',
  '# system: {}',
  '#system:{"cpus":1}',
  '\\',
  '\\n',
  '\t',
  '\r',
  '\n',
  'é',
  'Ω',
  '😀',
  '\u0000',
  '\u00a0',
  '\u2028',
  '\ufeff',
  '\ud800',
  '%s',
  '${x}',
  '<script>',
  '</script>',
  '==>',
  ':',
  '[000]',
] as const;

/** A cell: a dictionary token, a short random string, or a number in some spelling (decimal, hex, negative, huge). */
export const cellToken: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...TOKENS) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), fc.constantFrom(10, 16))
      .map(([n, radix]) => (radix === 16 ? `${n < 0n ? '-' : ''}0x${(n < 0n ? -n : n).toString(16)}` : n.toString())),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom('9', 'A', ',', '"', '0x1', '#'), fc.integer({ min: 50, max: 5000 })).map(([c, n]) => c.repeat(n)),
  },
);

/** One edit of a text file. Line and cell edits run first, then character edits, then byte edits (which may leave invalid UTF-8). */
export type Edit =
  | { op: 'delLine' | 'dupLine'; at: number }
  | { op: 'swapLines'; at: number; to: number }
  | { op: 'insLine'; at: number; text: string }
  | { op: 'setCell' | 'insCell'; at: number; cell: number; text: string }
  | { op: 'delCell'; at: number; cell: number }
  | { op: 'insText'; at: number; text: string }
  | { op: 'delText'; at: number; len: number }
  | { op: 'truncate'; at: number }
  | { op: 'flipByte'; at: number; mask: number }
  | { op: 'insBytes'; at: number; bytes: number[] }
  | { op: 'crlf' | 'cr' | 'bom' | 'quoteAll' | 'padCells' | 'noFinalNewline' | 'blankLines' };

/**
 * An edit. `line` draws inserted lines (a target passes lines of its own format: trace rows,
 * ftrace events), so that inserted lines are near-valid and reach past the first parser check.
 */
export function editArb(line: fc.Arbitrary<string>): fc.Arbitrary<Edit> {
  const at = fc.nat();
  return fc.oneof(
    fc.record({ op: fc.constantFrom('delLine' as const, 'dupLine' as const), at }),
    fc.record({ op: fc.constant('swapLines' as const), at, to: fc.nat() }),
    fc.record({ op: fc.constant('insLine' as const), at, text: fc.oneof(line, cellToken) }),
    fc.record({ op: fc.constantFrom('setCell' as const, 'insCell' as const), at, cell: fc.nat(16), text: cellToken }),
    fc.record({ op: fc.constant('delCell' as const), at, cell: fc.nat(16) }),
    fc.record({ op: fc.constant('insText' as const), at, text: cellToken }),
    fc.record({ op: fc.constant('delText' as const), at, len: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ op: fc.constant('truncate' as const), at }),
    fc.record({ op: fc.constant('flipByte' as const), at, mask: fc.integer({ min: 1, max: 255 }) }),
    fc.record({
      op: fc.constant('insBytes' as const),
      at,
      bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 }),
    }),
    fc.record({
      op: fc.constantFrom(
        'crlf' as const,
        'cr' as const,
        'bom' as const,
        'quoteAll' as const,
        'padCells' as const,
        'noFinalNewline' as const,
        'blankLines' as const,
      ),
    }),
  );
}

const quote = (c: string) => `"${c.replace(/"/g, '""')}"`;

/** Apply `edits` to `text`; returns the bytes of the file. */
export function applyEdits(text: string, edits: readonly Edit[]): Buffer {
  let lines = text.split('\n');
  const li = (at: number) => at % Math.max(1, lines.length);
  for (const e of edits) {
    switch (e.op) {
      case 'delLine':
        lines.splice(li(e.at), 1);
        break;
      case 'dupLine':
        lines.splice(li(e.at), 0, lines[li(e.at)] ?? '');
        break;
      case 'swapLines': {
        const a = li(e.at),
          b = li(e.to);
        [lines[a], lines[b]] = [lines[b] ?? '', lines[a] ?? ''];
        break;
      }
      case 'insLine':
        lines.splice(li(e.at), 0, e.text);
        break;
      case 'setCell':
      case 'insCell':
      case 'delCell': {
        const i = li(e.at);
        const cells = (lines[i] ?? '').split(',');
        const c = e.cell % cells.length;
        if (e.op === 'setCell') cells[c] = e.text;
        else if (e.op === 'insCell') cells.splice(c, 0, e.text);
        else cells.splice(c, 1);
        lines[i] = cells.join(',');
        break;
      }
      case 'quoteAll':
        lines = lines.map((l) => (l.startsWith('#') ? l : l.split(',').map(quote).join(',')));
        break;
      case 'padCells':
        lines = lines.map((l) => l.split(',').join(' ,\t '));
        break;
      case 'blankLines':
        lines = lines.flatMap((l) => [l, '   ']);
        break;
      default:
        break; // character, byte and whole-file edits below
    }
  }
  let s = lines.join('\n');
  const ci = (at: number) => at % (s.length + 1);
  for (const e of edits) {
    if (e.op === 'insText') s = s.slice(0, ci(e.at)) + e.text + s.slice(ci(e.at));
    else if (e.op === 'delText') s = s.slice(0, ci(e.at)) + s.slice(ci(e.at) + e.len);
    else if (e.op === 'truncate') s = s.slice(0, ci(e.at));
    else if (e.op === 'crlf') s = s.replace(/\r?\n/g, '\r\n');
    else if (e.op === 'cr') s = s.replace(/\r?\n/g, '\r');
    else if (e.op === 'bom') s = '\ufeff' + s;
    else if (e.op === 'noFinalNewline') s = s.replace(/\s+$/, '');
  }
  let b = Buffer.from(s, 'utf8');
  for (const e of edits) {
    if (e.op === 'flipByte' && b.length > 0) b[e.at % b.length]! ^= e.mask;
    else if (e.op === 'insBytes') {
      const at = e.at % (b.length + 1);
      b = Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes), b.subarray(at)]);
    }
  }
  return b;
}

/** A JSON value that is wrong in type or range for any field of ours (and sometimes right). */
export const junkJson: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom<unknown>(
      null,
      true,
      false,
      0,
      -1,
      1.5,
      1e308,
      -1e308,
      2 ** 53,
      4096,
      4097,
      16,
      8,
      2,
      65536,
      '',
      '8',
      'x',
      'v5.10',
      'shared-asid',
      'smmu0',
      [],
      {},
      [1, 2],
      { name: 'x' },
    ),
  },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
);

/** One edit of a JSON value; `at` picks a node (pre-order) modulo the node count. */
export type JsonEdit =
  | { op: 'set'; at: number; value: unknown }
  | { op: 'del'; at: number }
  | { op: 'add'; at: number; key: string; value: unknown }
  | { op: 'wrap'; at: number }
  | { op: 'nest'; at: number; depth: number };

export const jsonEditArb: fc.Arbitrary<JsonEdit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: junkJson }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('del' as const), at: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant('add' as const),
      at: fc.nat(),
      key: fc.oneof(
        fc.constantFrom('__proto__', 'constructor', 'toString', 'unknownField', 'cpu', 'asidbits', 'name', 'smmu', ''),
        fc.string({ maxLength: 6 }),
      ),
      value: junkJson,
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('wrap' as const), at: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('nest' as const),
      at: fc.nat(),
      depth: fc.oneof(fc.integer({ min: 2, max: 50 }), fc.constant(20_000)),
    }),
  },
);

/** Placeholder of a deeply nested array ({@link stringifyJson} expands it: JSON.stringify would overflow the stack). */
const NEST = '\u0000nest:';

/** JSON text of an edited value, with nested-array placeholders expanded. */
export function stringifyJson(value: unknown, indent?: number): string {
  return (JSON.stringify(value, null, indent) ?? '').replace(
    /"\\u0000nest:(\d+)"/g,
    (_, d) => '['.repeat(Number(d)) + '0' + ']'.repeat(Number(d)),
  );
}

type Slot = { parent: Record<string, unknown> | unknown[]; key: string | number };

/** The editable places of `root` (its children, recursively), pre-order, at most 2000. */
function slots(root: unknown): Slot[] {
  const out: Slot[] = [];
  const walk = (v: unknown) => {
    if (out.length >= 2000 || typeof v !== 'object' || v === null) return;
    for (const k of Object.keys(v)) {
      const parent = v as Record<string, unknown>;
      out.push({ parent, key: Array.isArray(v) ? Number(k) : k });
      walk(parent[k]);
    }
  };
  walk(root);
  return out;
}

/** Own data property, also for `__proto__` (an assignment would set the prototype, JSON.stringify would drop it). */
const put = (o: object, k: string | number, v: unknown) =>
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });

/** Apply `edits` to a deep copy of `value` (edits of the root replace or wrap the whole value). */
export function applyJsonEdits(value: unknown, edits: readonly JsonEdit[]): unknown {
  const box: unknown[] = [structuredClone(value)];
  for (const e of edits) {
    const all: Slot[] = [{ parent: box, key: 0 }, ...slots(box[0])];
    const { parent, key } = all[e.at % all.length]!;
    const cur = (parent as Record<string | number, unknown>)[key];
    if (e.op === 'set') put(parent, key, structuredClone(e.value));
    else if (e.op === 'wrap') put(parent, key, [cur]);
    else if (e.op === 'nest') put(parent, key, `${NEST}${e.depth}`);
    else if (e.op === 'del') {
      if (parent === box) box[0] = undefined;
      else if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
    } else if (typeof cur === 'object' && cur !== null && !Array.isArray(cur)) put(cur, e.key, structuredClone(e.value));
    else if (Array.isArray(cur)) cur.push(structuredClone(e.value));
  }
  return box[0];
}
