/**
 * `pin` / `unpin` as a device driver issues them (src/model/cpu/pins.ts), on both sides of each
 * condition. The kernel facts (arch/arm64/mm/context.c, v5.10, 48118151d8cc "arm64: mm: Pin down
 * ASIDs for sharing mm with devices"):
 *
 * - `arm64_mm_context_get()`: `refcount_inc_not_zero(&mm->context.pinned)` first (a re-pin);
 *   else `if (nr_pinned_asids >= max_pinned_asids) { asid = 0; goto out_unlock; }`; else
 *   `if (!asid_gen_match(asid)) { asid = new_context(mm); atomic64_set(&mm->context.id, asid); }`
 *   (new_context may roll the generation over: flush_context), then `nr_pinned_asids++`,
 *   `__set_bit(asid2idx(asid), pinned_asid_map)`, `refcount_set(&mm->context.pinned, 1)`.
 * - `arm64_mm_context_put()`: `if (refcount_dec_and_test(&mm->context.pinned)) { __clear_bit(...);
 *   nr_pinned_asids--; }`: it acts on the mm's refcount, whoever calls it; a put with no pin held is
 *   a refcount_t underflow (WARN "refcount_t: underflow; use-after-free"): `unbalanced-unpin`.
 * - A driver whose get returned 0 holds nothing and does not put (the trace's `unpin` then matches
 *   the refused `pin`: docs/model.md, "An `unpin` that matches a refused `pin` is not a violation").
 *
 * 1 CPU and 2-bit what-if ASIDs (1, 2, 3 allocatable): max_pinned_asids = 4 - 1 - 2 = 1.
 */
import { describe, expect, it } from 'vitest';
import { makeCtx } from '../src/model/cpu/allocator.js';
import { createSystem, step, summarize } from '../src/model/system.js';
import { EventError } from '../src/model/errors.js';
import { ReportCollector } from '../src/report/report.js';
import { type SystemInput, resolveSystem } from '../src/trace/system.js';
import { mini } from './helpers/mini.js';

function harness(extra: SystemInput = {}) {
  const m = createSystem(resolveSystem({ cpus: 1, asidBits: 2, whatIf: true, unmapKernelAtEl0: false, ...extra }, {}));
  const col = new ReportCollector();
  let rows = 0;
  // Rows continue across calls: a finding's row is the line of the whole story.
  const play = (...lines: string[]) => {
    const at = rows;
    rows += lines.length;
    mini('\n'.repeat(at) + lines.join('\n')).forEach((e) => step(m, e, col));
  };
  const report = () => col.finish('t', summarize(m));
  const mm = (label: string) => m.cpu.mms.get(m.cpu.labels.get(label) ?? m.cpu.zombies.get(label)!)!;
  const kinds = () => report().violations.map((v) => [v.row, v.kind] as const);
  /** The EventError (row, column) an event throws, or null. */
  const refused = (line: string) => {
    try {
      play(line);
      return null;
    } catch (e) {
      if (!(e instanceof EventError)) throw e;
      return [e.row, e.field] as const;
    }
  };
  return { m, col, play, report, mm, kinds, refused };
}

describe('a pin that rolls the generation over (arm64_mm_context_get -> new_context)', () => {
  it('is a rollover at the pin row, and a pin that allocates without one adds none', () => {
    const h = harness({ maxPinnedAsids: 3 });
    // a, b, c = 1, 2, 3 on CPU0 (generation 1). d never ran: its pin calls new_context, which finds
    // no free ASID: generation 2 (flush_context: CPU0 reserves c's 3), d = 1.
    h.play('fork 1 a', 'fork 2 b', 'fork 3 c', 'fork 4 d', 'sched 0 1', 'sched 0 2', 'sched 0 3');
    h.play('pin d'); // row 8
    h.play('pin b'); // row 9: b's generation 1 ASID 2 is free in generation 2: kept, no rollover
    h.play('pin d'); // row 10: a re-pin, nothing allocated
    const r = h.report();
    expect(r.churn.rollovers).toBe(1);
    expect(r.churn.rolloverSeries.map((x) => [x.row, x.generation])).toEqual([[8, 2]]);
    expect(r.churn.reused.free).toBe(1);
    expect(r.pins).toMatchObject({ requests: 3, pinned: 2, repins: 1, failures: 0 });
  });
});

describe('a pin that moves the mm to a new ASID counts as an ASID change (new_context)', () => {
  it('old generation, number taken: a fresh ASID, one change; number still free: kept, none', () => {
    const h = harness({ maxPinnedAsids: 3 });
    // a, b, c = 1, 2, 3; d: rollover to generation 2, CPU0 reserves c (3), d = 1.
    h.play('fork 1 a', 'fork 2 b', 'fork 3 c', 'fork 4 d', 'sched 0 1', 'sched 0 2', 'sched 0 3', 'sched 0 4');
    // pin a: not reserved, not pinned, bit 1 taken by d: the next free from cur_idx 1 is 2 (1 -> 2).
    h.play('pin a');
    expect(h.mm('a').ctx).toBe(makeCtx(2, 2));
    // pin c: reserved by CPU0 (check_update_reserved_asid): keeps 3, no change.
    h.play('pin c');
    expect(h.mm('c').ctx).toBe(makeCtx(2, 3));
    const r = h.report();
    expect(r.churn.mms.top).toEqual([{ mm: 'a', asidChanges: 1 }]);
    expect(r.churn.mms).toMatchObject({ changedAsid: 1, asidChanges: 1 });
    expect(r.violations).toEqual([]);
  });

  it('a pin of an mm whose context is current checks nothing again: a duplicate is reported once', () => {
    // The duplicate of model-invariants (A's bit "lost": C gets A's ASID 1), then a pin of A, whose
    // context is of the current generation: no new_context, so UniqueCtxInGeneration is not
    // checked again for it (the duplicate was reported where the second context was handed out).
    const h = harness({ cpus: 3, asidBits: 8 });
    h.play('fork 1 A', 'fork 2 B', 'fork 3 C', 'sched 0 1', 'sched 1 2', 'sched 2 1');
    h.m.cpu.alloc.asidMap[1] = 0;
    h.m.cpu.alloc.curIdx = 1;
    h.play('sched 2 3'); // row 7: duplicate-asid (and tlb-alias on CPU2)
    h.play('pin A', 'pin C'); // rows 8, 9
    expect(h.kinds()).toEqual([
      [7, 'duplicate-asid'],
      [7, 'tlb-alias'],
    ]);
  });
});

describe('pins.refused and unpins: which unpin is a put', () => {
  it('a refused pin (limit 1 reached) is matched by its unpin: no put, no violation', () => {
    const h = harness();
    h.play('fork 1 A', 'fork 2 B', 'pin A', 'pin B'); // row 4: nr_pinned_asids 1 >= 1: refused
    h.play('unpin B', 'unpin A'); // row 5 matches the refused pin; row 6 puts A's pin
    const r = h.report();
    expect(r.pins).toMatchObject({ requests: 2, pinned: 1, failures: 1, firstFailureRow: 4, unpins: 1 });
    expect(r.violations).toEqual([]);
    expect(h.m.cpu.alloc.nrPinned).toBe(0);
  });

  it('a pin that succeeded is not refused: its unpin puts, a second unpin underflows the refcount', () => {
    const h = harness();
    h.play('fork 1 A', 'pin A', 'unpin A', 'unpin A'); // row 4: refcount_t underflow
    expect(h.kinds()).toEqual([[4, 'unbalanced-unpin']]);
    expect(h.report().pins).toMatchObject({ pinned: 1, failures: 0, unpins: 1 });
  });

  it('an mm that holds a pin and has a refused one outstanding: the put drops the held pin', () => {
    const h = harness();
    // B holds the one pin the limit allows; A's pin is refused; B lets go; A's next pin succeeds.
    h.play('fork 1 A', 'fork 2 B', 'fork 3 C', 'pin B', 'pin A', 'unpin B', 'pin A');
    expect(h.mm('A')).toMatchObject({ pinned: 1, refusedPins: 1 });
    // arm64_mm_context_put acts on the refcount: A's pin is dropped, nr_pinned_asids 0 ...
    h.play('unpin A'); // row 8
    expect(h.mm('A').pinned).toBe(0);
    expect(h.m.cpu.alloc.nrPinned).toBe(0);
    // ... so C can pin (row 9); the next unpin of A matches the refused pin (row 10): no violation.
    h.play('pin C', 'unpin A');
    const r = h.report();
    expect(r.pins).toMatchObject({ requests: 4, pinned: 3, failures: 1, unpins: 2 });
    expect(r.violations).toEqual([]);
  });

  it('an unpin with neither a pin nor a refused one is an unbalanced put', () => {
    const h = harness();
    h.play('fork 1 A', 'unpin A');
    expect(h.kinds()).toEqual([[2, 'unbalanced-unpin']]);
  });
});

describe('no free ASID after a rollover in a pin (what-if limit above max_pinned_asids)', () => {
  it('every number pinned: the fourth pin rolls over, finds nothing: no-free-asid, counted refused', () => {
    // Limit 4 where the kernel computes 1: 1, 2, 3 pinned; d's new_context rolls over and the
    // post-rollover search finds every index set (pinned 1-3; CPU0 never ran: reserved 0, bit 0).
    const h = harness({ maxPinnedAsids: 4 });
    h.play('fork 1 a', 'fork 2 b', 'fork 3 c', 'fork 4 d', 'pin a', 'pin b', 'pin c', 'pin d'); // row 8
    const r = h.report();
    expect(r.violations.map((v) => [v.row, v.kind, v.mm])).toEqual([[8, 'no-free-asid', 'd']]);
    expect(r.pins).toMatchObject({ requests: 4, pinned: 3, failures: 1, firstFailureRow: 8 });
    expect(h.mm('d').ctx).toBe(0);
    // The driver got 0 and holds nothing: its unpin is matched, not a put.
    h.play('unpin d');
    expect(h.report().violations.map((v) => v.kind)).toEqual(['no-free-asid']);
    expect(h.report().pins.unpins).toBe(0);
  });
});

describe('pinned ASID stability across partial unpins', () => {
  it('two pins, one unpin: the mm is still pinned, so its ASID must not change', () => {
    const h = harness({ asidBits: 8 });
    h.play('fork 1 A', 'pin A', 'pin A', 'unpin A'); // refcount 2 -> 1: still pinned
    expect(h.m.cpu.alloc.nrPinned).toBe(1);
    h.mm('A').ctx = makeCtx(0, 9); // corrupt: an old generation and another number
    h.play('sched 0 1'); // row 5: new_context keeps the pinned 9 in generation 1, not A's pinned 1
    expect(h.kinds()).toEqual([[5, 'pinned-asid-changed']]);
  });

  it('the last unpin ends the pin: the ASID may then change without a violation', () => {
    const h = harness({ asidBits: 8 });
    h.play('fork 1 A', 'pin A', 'unpin A');
    h.mm('A').ctx = makeCtx(0, 9);
    h.play('sched 0 1');
    expect(h.kinds()).toEqual([]);
  });
});

describe('an exited mm lives on while a pin (held or refused) keeps it', () => {
  it('held and refused pins: each unpin drops one; the mm goes with the last', () => {
    const h = harness();
    h.play('fork 1 A', 'fork 2 B', 'pin B', 'pin A', 'unpin B', 'pin A', 'exit 1'); // A: 1 held, 1 refused
    expect(h.m.cpu.zombies.has('A')).toBe(true);
    h.play('unpin A'); // row 8: the held pin: A stays (its refused pin's unpin is still to come)
    expect(h.m.cpu.zombies.has('A')).toBe(true);
    expect(summarize(h.m).mms.map((x) => x.label)).toEqual(['A', 'B']);
    h.play('unpin A'); // row 9: matched with the refused pin: A is gone
    expect(h.m.cpu.zombies.has('A')).toBe(false);
    expect(summarize(h.m).mms.map((x) => x.label)).toEqual(['B']);
    expect(h.refused('unpin A')).toEqual([10, 'mm']);
    expect(h.report().violations).toEqual([]);
  });

  it('two refused pins: the first unpin keeps the mm, the second ends it', () => {
    const h = harness();
    h.play('fork 1 A', 'fork 2 B', 'pin B', 'pin A', 'pin A', 'exit 1', 'unpin A');
    expect(h.m.cpu.zombies.has('A')).toBe(true);
    h.play('unpin A');
    expect(h.m.cpu.zombies.has('A')).toBe(false);
    expect(h.refused('unpin A')).toEqual([9, 'mm']);
  });

  it('a held pin alone: the exited mm goes with its last put', () => {
    const h = harness();
    h.play('fork 1 A', 'pin A', 'pin A', 'exit 1', 'unpin A');
    expect(h.m.cpu.zombies.has('A')).toBe(true);
    h.play('unpin A');
    expect(h.m.cpu.zombies.has('A')).toBe(false);
    expect(h.report().churn.mms.created).toBe(1);
  });
});
