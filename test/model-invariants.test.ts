/**
 * The CPU-side checkers (src/model/cpu/invariants.ts) on both sides: they fire on a state that
 * breaks the property (made by corrupting the allocator, as no correct context.c variant does it)
 * and name the right mms, the first mm of a trace included (its key is 0); and the per-mm ASID
 * change count the report prints, worked out from new_context (arch/arm64/mm/context.c, v5.10).
 */
import { describe, expect, it } from 'vitest';
import { makeCtx } from '../src/model/cpu/allocator.js';
import { createSystem, step, summarize } from '../src/model/system.js';
import { ReportCollector } from '../src/report/report.js';
import { resolveSystem } from '../src/trace/system.js';
import { mini, run } from './helpers/mini.js';

function harness(cpus: number, asidBits: number) {
  const m = createSystem(resolveSystem({ cpus, asidBits, whatIf: true, unmapKernelAtEl0: false }, {}));
  const col = new ReportCollector();
  let rows = 0;
  // Rows continue across calls, so that a finding's row is the line of the whole story.
  const play = (...lines: string[]) => {
    mini('\n'.repeat(rows) + lines.join('\n')).forEach((e) => step(m, e, col));
    rows += lines.length;
  };
  const report = () => col.finish('t', summarize(m));
  const mm = (label: string) => m.cpu.mms.get(m.cpu.labels.get(label)!)!;
  return { m, play, report, mm };
}

describe('UniqueCtxInGeneration (duplicate-asid) and UniqueASIDPerCPU (tlb-alias)', () => {
  it('an asid_map that forgot the first mm: its ASID handed out again, its TLB entries aliased', () => {
    const h = harness(3, 8);
    h.play('fork 1 A', 'fork 2 B', 'fork 3 C', 'sched 0 1', 'sched 1 2', 'sched 2 1'); // A = 1 (CPU0, CPU2), B = 2
    expect(h.mm('A').key).toBe(0);
    h.m.cpu.alloc.asidMap[1] = 0; // A's ASID 1 "lost"
    h.m.cpu.alloc.curIdx = 1;
    h.play('sched 2 3'); // row 7: C gets 1 on CPU2, whose TLB holds A's walk under ASID 1 (row 6)
    const r = h.report();
    expect(r.violations.map((v) => [v.row, v.kind])).toEqual([
      [7, 'duplicate-asid'],
      [7, 'tlb-alias'],
    ]);
    expect(r.violations[0]).toMatchObject({ asid: 1, mm: 'C', otherMm: 'A' });
    expect(r.violations[1]).toMatchObject({ cpu: 2, asid: 1, mm: 'C', otherMm: 'A', fillRow: 6 });
  });

  it('after a rollover too: a duplicate in generation 2 is found', () => {
    const h = harness(2, 3); // ASIDs 1..7
    const forks = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I'].map((m, i) => `fork ${i + 1} ${m}`);
    // A..G = 1..7 on CPU0; H: rollover to generation 2 (CPU0 reserves G's 7, CPU1 never ran: 0), H = 1;
    // A on CPU1: bit 1 taken by H, fresh from cur_idx 1: A = 2.
    h.play(...forks, ...[1, 2, 3, 4, 5, 6, 7, 8].map((t) => `sched 0 ${t}`), 'sched 1 1');
    expect(h.m.cpu.alloc.generation).toBe(2);
    h.m.cpu.alloc.asidMap[2] = 0; // A's ASID 2 "lost"
    h.m.cpu.alloc.curIdx = 1;
    h.play('sched 0 9'); // row 19: I gets 2 as well
    const r = h.report();
    expect(r.violations.map((v) => [v.row, v.kind])).toEqual([[19, 'duplicate-asid']]);
    expect(r.violations[0]).toMatchObject({ asid: 2, mm: 'I', otherMm: 'A' });
  });

  it('a number re-used in a later generation is no duplicate', () => {
    // 2-bit ASIDs, 1 CPU: a, b, c = 1, 2, 3; d rolls over and takes 1, which a held in generation 1.
    const r = run({ cpus: 1, asidBits: 2 }, 'fork 1 a\nsched 0 1\nfork 2 b\nsched 0 2\nfork 3 c\nsched 0 3\nfork 4 d\nsched 0 4');
    expect(r.churn.rollovers).toBe(1);
    expect(r.violations).toEqual([]);
  });
});

describe('pinned-asid-changed and active-asid-mismatch', () => {
  it('a pinned mm whose context lost its number', () => {
    const h = harness(1, 8);
    h.play('fork 1 A', 'pin A'); // A = 1, pinned
    h.mm('A').ctx = makeCtx(0, 9); // an old generation and another number
    h.play('sched 0 1'); // row 3: new_context; A is not reserved, pinned: keeps 9 in generation 1
    const r = h.report();
    expect(r.violations.map((v) => [v.row, v.kind])).toEqual([[3, 'pinned-asid-changed']]);
    expect(r.violations[0]).toMatchObject({ asid: 9, mm: 'A' });
  });

  it('a CPU left running the first mm after its ASID moved', () => {
    const h = harness(2, 8);
    h.play('fork 1 A', 'fork 2 A', 'sched 0 1'); // A = 1 on CPU0
    h.mm('A').ctx = makeCtx(0, 1); // force new_context at the next switch to A
    h.m.cpu.alloc.reserved.fill(0);
    h.play('sched 1 2'); // row 4: bit 1 is set, so A gets 2; CPU0 still runs A with 1
    const r = h.report();
    expect(r.violations.map((v) => [v.row, v.kind])).toEqual([[4, 'active-asid-mismatch']]);
    expect(r.violations[0]).toMatchObject({ cpu: 0, asid: 1, mm: 'A' });
  });
});

describe('ASID changes per mm (new_context, v5.10)', () => {
  it('counts a new number, not a first allocation nor a number kept across a rollover', () => {
    // 2-bit ASIDs, 1 CPU. a, b, c = 1, 2, 3; d: rollover to generation 2, CPU0 reserves c (3), d = 1.
    // a: not reserved, not pinned, bit 1 taken by d: fresh from cur_idx 1 -> 2 (1 -> 2: a change).
    // b: bit 2 taken, nothing free from cur_idx 2 (3 reserved) -> rollover to generation 3, CPU0
    // reserves a (2); b = 1 (2 -> 1: a change). c: 3 is free in generation 3 -> keeps 3 (no change).
    const r = run(
      { cpus: 1, asidBits: 2 },
      'fork 1 a\nsched 0 1\nfork 2 b\nsched 0 2\nfork 3 c\nsched 0 3\nfork 4 d\nsched 0 4\nsched 0 1\nsched 0 2\nsched 0 3',
    );
    expect(r.churn.rollovers).toBe(2);
    expect(r.churn.reused.free).toBe(1);
    expect(r.churn.mms).toMatchObject({ created: 4, changedAsid: 2, asidChanges: 2 });
    expect(r.churn.mms.top).toEqual([
      { mm: 'a', asidChanges: 1 },
      { mm: 'b', asidChanges: 1 },
    ]);
  });
});
