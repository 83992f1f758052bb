/**
 * The fast row validator agrees with the zod schemas: on random rows (valid and invalid, any
 * header order) it never accepts a row zod rejects, builds the same event when both accept, and
 * only leaves undecided valid rows whose integers are too long for it.
 */
import { describe, expect, it } from 'vitest';
import { COLUMNS, EVENT_COLUMNS, EVENT_KINDS } from '../src/trace/events.js';
import { fastEvent, headerIndex } from '../src/trace/fast-row.js';
import { validateRow } from '../src/trace/row-schema.js';
import { Rng } from '../src/util/rng.js';

const INTS = [
  '0',
  '7',
  '4096',
  '0x1000',
  '0XfF',
  '000012',
  '9007199254740991',
  '9007199254740992',
  '0x1fffffffffffff',
  '0x20000000000000',
  '123456789012345',
  '1234567890123456',
  '0x',
  '-1',
  '1.5',
  '1e3',
  'abc',
  '12a',
  '0x1g',
  '٣',
];
const NAMES = ['P', 'dev0', 'a.b:c-d/e@f#1', 'has space', 'q"x', 'line\nbreak', 'é', '_'];
const PROTS = ['r', 'w', 'rw', 'wr', 'R', 'x', 'constructor'];
const INT_COLUMNS = new Set(['time', 'cpu', 'task', 'pasid', 'va', 'size']);
/** Provenance cells: valid ones, then near misses (no line, line 0, no fraction digits, too many digits, spaces, signs). */
const SRCS = [
  '2094.163981@L5173',
  '1@L1',
  '76211.513000000@L2',
  '123456789012345.123456789012@L999999999999999',
  '1234567890123456@L1',
  '1.1234567890123@L1',
  '1@L1234567890123456',
  '1.5@L0',
  '1.@L2',
  '.5@L2',
  '@L3',
  '1.5',
  '1.5@3',
  '1.5@l3',
  '1.5 @L3',
  '-1.5@L3',
  '1.5@L-3',
  '1,5@L3',
  '1.5@L3x',
];
function cellFor(rng: Rng, column: string, kind: string): string {
  if (column === 'event') return rng.chance(0.95) ? kind : rng.pick(['nope', 'Fork', 'toString', '__proto__']);
  const uses = EVENT_COLUMNS[kind as keyof typeof EVENT_COLUMNS];
  // time and src: every event may have them
  const used = column === 'src' || (uses !== undefined && ([...uses.required, ...uses.optional] as string[]).includes(column));
  if (!rng.chance(used ? 0.9 : 0.04)) return '';
  if (column === 'src') {
    if (!rng.chance(0.3)) return '';
    return rng.chance(0.85) ? `${rng.int(0, 1 << 20)}.${rng.int(0, 999999)}@L${rng.int(1, 1 << 20)}` : rng.pick(SRCS);
  }
  if (INT_COLUMNS.has(column)) return rng.chance(0.8) ? String(rng.int(0, 1 << 20)) : rng.pick(INTS);
  if (column === 'prot') return rng.pick(PROTS);
  return rng.chance(0.8) ? rng.pick(['P', 'dev0', 'dom1', 'op7']) : rng.pick(NAMES);
}

describe('fast row validation', () => {
  it('agrees with the zod schemas on 30000 random rows', () => {
    const rng = new Rng(20261121);
    let accepted = 0;
    let undecidedValid = 0;
    let withSrc = 0;
    let badSrcRejected = 0;
    for (let n = 0; n < 30000; n++) {
      const header = [...COLUMNS].filter((c) => c === 'event' || rng.chance(0.85));
      for (let i = header.length - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [header[i], header[j]] = [header[j]!, header[i]!];
      }
      const kind = rng.pick(EVENT_KINDS);
      const cells = header.map((c) => cellFor(rng, c, kind));
      const obj: Record<string, string> = {};
      cells.forEach((s, i) => s !== '' && (obj[header[i]!] = s));
      const slow = validateRow(obj, n + 1);
      const fast = fastEvent(cells, headerIndex(header), n + 1);
      if (fast !== undefined) {
        expect(slow, JSON.stringify(obj)).toMatchObject({ ok: true });
        expect(fast).toStrictEqual((slow as { event: unknown }).event);
        accepted++;
        if (fast.src !== undefined) withSrc++;
      } else if (slow.ok) {
        // The only valid rows the fast path may leave to zod: an integer cell longer than it reads.
        expect(
          Object.entries(obj).some(([c, s]) => INT_COLUMNS.has(c) && s.length > 15),
          JSON.stringify(obj),
        ).toBe(true);
        undecidedValid++;
      } else if (!slow.ok && slow.column === 'src') {
        expect(slow.message).toContain('<seconds>@L<line>');
        badSrcRejected++;
      }
    }
    expect(accepted).toBeGreaterThan(9000);
    expect(withSrc).toBeGreaterThan(1500);
    expect(badSrcRejected).toBeGreaterThan(100);
    expect(undecidedValid).toBeLessThan(accepted / 10);
  });

  it('src: the cell is kept as written, on any event kind; a bad one is left to zod, which names the column', () => {
    const cols = headerIndex(['event', 'task', 'src']);
    expect(fastEvent(['exit', '3', '2094.163981@L5173'], cols, 9)?.src).toBe('2094.163981@L5173');
    expect(fastEvent(['exit', '3', '2094.163981@L0'], cols, 9)).toBeUndefined();
    const bad = validateRow({ event: 'exit', task: '3', src: '2094.163981' }, 9);
    expect(bad).toMatchObject({ ok: false, column: 'src' });
  });

  it('a row with fewer cells than the header goes to zod', () => {
    expect(fastEvent(['fork'], headerIndex(['event', 'task']), 1)).toBeUndefined();
  });
});
