/**
 * Tasks and their address spaces (src/model/cpu/tasks.ts), on both sides of each condition:
 *
 * - fork (kernel/fork.c `copy_process` -> `copy_mm`): CLONE_VM shares the mm (`mmget`), otherwise a
 *   fresh mm whose context id is 0 (`init_new_context`, arch/arm64/include/asm/mmu_context.h); an mm
 *   the trace does not name is labelled `<task>@<row>` (src/model/cpu/state.ts, MmState.label).
 * - exec (fs/exec.c `exec_mmap`): a fresh mm, installed at once by `activate_mm` on the CPU the task
 *   runs on; the old mm loses a user (`mmput`).
 * - exit (kernel/exit.c `exit_mm`): the task leaves its CPU (that CPU only); `mmput` ends the address
 *   space with its last user; a driver's pin keeps it (its bind holds an `mmgrab`), so does a refused
 *   pin whose `unpin` is still to come (docs/model.md: that unpin is matched, not issued).
 * - schedule (`check_and_switch_context`, arch/arm64/mm/context.c, v5.10): a rollover only from
 *   `new_context`; `local_flush_tlb_all()` only `if (cpumask_test_and_clear_cpu(cpu,
 *   &tlb_flush_pending))`, so a switch within a generation keeps every ASID-tagged TLB entry.
 */
import { describe, expect, it } from 'vitest';
import { createSystem, step, summarize } from '../src/model/system.js';
import { tlbCanonical } from '../src/model/cpu/tlb.js';
import { EventError } from '../src/model/errors.js';
import { TASK_INDEX_SIZE, cloneCpuModel, mmOfTask } from '../src/model/cpu/state.js';
import { ReportCollector } from '../src/report/report.js';
import { type SystemInput, resolveSystem } from '../src/trace/system.js';
import { mini } from './helpers/mini.js';

function harness(extra: SystemInput = {}) {
  const m = createSystem(resolveSystem({ cpus: 2, asidBits: 8, whatIf: true, unmapKernelAtEl0: false, ...extra }, {}));
  const col = new ReportCollector();
  let rows = 0;
  const play = (...lines: string[]) => {
    const at = rows;
    rows += lines.length;
    mini('\n'.repeat(at) + lines.join('\n')).forEach((e) => step(m, e, col));
  };
  const report = () => col.finish('t', summarize(m));
  const kinds = () => report().violations.map((v) => [v.row, v.kind] as const);
  const labels = () => summarize(m).mms.map((x) => x.label);
  const refused = (line: string) => {
    try {
      play(line);
      return null;
    } catch (e) {
      if (!(e instanceof EventError)) throw e;
      return [e.row, e.field] as const;
    }
  };
  /** CPU `c`'s TLB as [asid, mm labels with entries under it]. */
  const tlb = (c: number) =>
    (tlbCanonical(m.cpu.tlb, c) as [number, [number, unknown][]][]).map(([a, sets]) => [a, sets.map(([k]) => labelOf(k))]);
  const keys = new Map<number, string>();
  const labelOf = (k: number) => keys.get(k) ?? String(k);
  const note = () => m.cpu.mms.forEach((x) => keys.set(x.key, x.label));
  return { m, play, report, kinds, labels, refused, tlb, note };
}

describe('exit: the exiting task leaves its own CPU only', () => {
  it('another CPU running another task keeps it', () => {
    const h = harness();
    h.play('fork 1 A', 'fork 2 B', 'sched 0 1', 'sched 1 2', 'exit 1');
    expect([...h.m.cpu.curTask]).toEqual([0, 2]);
    h.play('access 1 0x1000'); // row 6: B on CPU1 touches its memory
    expect(h.report().churn.accesses).toBe(1);
    expect(h.refused('access 0 0x1000')).toEqual([7, 'cpu']); // CPU0 runs no user task
  });
});

describe('a task switched to must be alive (the switch reads the task index fork, exec and exit keep)', () => {
  it('an exited task cannot be switched to; its id forked again runs the new mm', () => {
    const h = harness();
    h.play('fork 1 A', 'sched 0 1', 'exit 1');
    expect(h.refused('sched 1 1')).toEqual([4, 'task']);
    h.play('fork 1 B', 'sched 1 1');
    expect(h.m.cpu.ttbrMm[1]).toBe(h.m.cpu.labels.get('B'));
  });

  it('after an exec the task runs its new mm', () => {
    const h = harness();
    h.play('fork 1 A', 'fork 2 A', 'exec 1 C', 'sched 0 1', 'sched 1 2');
    expect(h.m.cpu.ttbrMm[0]).toBe(h.m.cpu.labels.get('C'));
    expect(h.m.cpu.ttbrMm[1]).toBe(h.m.cpu.labels.get('A'));
  });
});

describe('a task switched to must be alive (the switch reads the task index fork, exec and exit keep)', () => {
  // task ids on both sides of the dense index's end (TASK_INDEX_SIZE, 2^17) and far beyond it
  it.each([1, TASK_INDEX_SIZE - 1, TASK_INDEX_SIZE, 4_194_303])(
    'task %i: an exited task cannot be switched to; its id forked again runs the new mm',
    (t) => {
      const h = harness();
      h.play(`fork ${t} A`, `sched 0 ${t}`, `exit ${t}`);
      expect(h.refused(`sched 1 ${t}`)).toEqual([4, 'task']);
      h.play(`fork ${t} B`, `sched 1 ${t}`);
      expect(h.m.cpu.ttbrMm[1]).toBe(h.m.cpu.labels.get('B'));
    },
  );

  it.each([2, TASK_INDEX_SIZE + 2])('task %i: after an exec the task runs its new mm, and a clone runs its own copy', (t) => {
    const h = harness();
    h.play(`fork ${t} A`, `fork 1 A`, `exec ${t} C`, `sched 0 ${t}`, 'sched 1 1');
    expect(h.m.cpu.ttbrMm[0]).toBe(h.m.cpu.labels.get('C'));
    expect(h.m.cpu.ttbrMm[1]).toBe(h.m.cpu.labels.get('A'));
    const c = cloneCpuModel(h.m.cpu);
    expect(mmOfTask(c, t)).toBe(c.mms.get(c.labels.get('C')!));
    expect(mmOfTask(c, t)).not.toBe(mmOfTask(h.m.cpu, t));
  });
});

describe('the end of an address space (mmput)', () => {
  it('the last task of an unpinned mm ends it: no longer known, no unpin reaches it', () => {
    const h = harness();
    h.play('fork 1 A', 'fork 2 A', 'fork 3 B', 'exit 1');
    expect(h.labels()).toEqual(['A', 'B']); // A still has task 2
    h.play('exit 2');
    expect(h.labels()).toEqual(['B']);
    expect(h.m.cpu.zombies.size).toBe(0);
    expect(h.refused('unpin A')).toEqual([6, 'mm']);
    // Counted once in the report's mm figures, whether it ended during the trace or not.
    expect(h.report().churn.mms.created).toBe(2);
  });

  it('a pinned mm outlives its last task until the unpin', () => {
    const h = harness();
    h.play('fork 1 A', 'pin A', 'exit 1');
    expect(h.labels()).toEqual(['A']);
    h.play('unpin A');
    expect(h.labels()).toEqual([]);
    expect(h.report().violations).toEqual([]);
  });

  it('a refused pin keeps it too, until the unpin that matches it', () => {
    const h = harness({ cpus: 1, asidBits: 2 }); // max_pinned_asids = 4 - 1 - 2 = 1
    h.play('fork 1 A', 'fork 2 B', 'pin B', 'pin A', 'exit 1');
    expect(h.labels()).toEqual(['A', 'B']);
    h.play('unpin A');
    expect(h.labels()).toEqual(['B']);
    expect(h.report().violations).toEqual([]);
  });

  it('exec: the old mm loses its user and ends; the new one is switched in on the task CPU', () => {
    const h = harness();
    h.play('fork 1 A', 'sched 1 1', 'exec 1 E'); // row 3
    expect(h.labels()).toEqual(['E']);
    const e = h.m.cpu.labels.get('E')!;
    expect(h.m.cpu.ttbrMm[1]).toBe(e);
    expect(h.m.cpu.ttbrMm[0]).toBe(-1);
    expect(h.report().churn.switches).toBe(2);
  });
});

describe('labels of address spaces the trace does not name: <task>@<row>', () => {
  it('fork without mm', () => {
    const h = harness();
    h.play('fork 7', '', 'fork 8 N');
    expect(h.labels()).toEqual(['7@1', 'N']);
  });

  it('exec without mm, and an exec that names one', () => {
    const h = harness();
    h.play('fork 7 A', 'fork 8 B', 'exec 7', 'exec 8 C');
    expect(h.labels()).toEqual(['7@3', 'C']);
  });

  it('two anonymous mms are two address spaces', () => {
    const h = harness();
    h.play('fork 1', 'fork 2', 'sched 0 1', 'sched 1 2');
    expect(h.labels()).toEqual(['1@1', '2@2']);
    expect(h.report().churn.allocations).toBe(2);
  });
});

describe('check_and_switch_context: rollovers, local flushes and new contexts where the kernel has them', () => {
  // 1 CPU, 2-bit ASIDs: a, b, c = 1, 2, 3; d rolls over to generation 2 (CPU0 reserves c's 3), d = 1.
  const story = ['fork 1 a', 'fork 2 b', 'fork 3 c', 'fork 4 d', 'sched 0 1', 'sched 0 2', 'sched 0 3'];

  it('the rollover series has the switch that rolled over, and only it', () => {
    const h = harness({ cpus: 1, asidBits: 2 });
    h.play(...story, 'sched 0 4', 'sched 0 3', 'sched 0 4'); // rows 8, 9, 10
    const r = h.report();
    expect(r.churn.rollovers).toBe(1);
    expect(r.churn.rolloverSeries.map((x) => [x.row, x.generation])).toEqual([[8, 2]]);
  });

  it('within a generation no local flush: every switched-out mm keeps its entries', () => {
    const h = harness({ cpus: 1, asidBits: 2 });
    h.play(...story);
    h.note();
    expect(h.tlb(0)).toEqual([
      [1, ['a']],
      [2, ['b']],
      [3, ['c']],
    ]);
    expect(h.report().churn.localTlbFlushes).toBe(0);
  });

  it('after a rollover, the pending local_flush_tlb_all: only the outgoing mm (still in TTBR0) stays', () => {
    const h = harness({ cpus: 1, asidBits: 2 });
    h.play(...story, 'sched 0 4');
    h.note();
    expect(h.tlb(0)).toEqual([
      [1, ['d']],
      [3, ['c']],
    ]);
    // a: generation 1, not reserved, bit 1 taken by d: 2; no flush pending any more.
    h.play('sched 0 1');
    expect(h.tlb(0)).toEqual([
      [1, ['d']],
      [2, ['a']],
      [3, ['c']],
    ]);
    expect(h.report().churn.localTlbFlushes).toBe(1);
  });

  it('a switch to an mm whose context is current checks UniqueCtxInGeneration no more: a duplicate is reported once', () => {
    // The duplicate of test/model-invariants (A's bit "lost": C gets A's ASID 1 at row 7), then a
    // switch of CPU1 to A on the fast path (the generation is current): no new context, no new finding.
    const h = harness({ cpus: 3 });
    h.play('fork 1 A', 'fork 2 B', 'fork 3 C', 'sched 0 1', 'sched 1 2', 'sched 2 1');
    h.m.cpu.alloc.asidMap[1] = 0;
    h.m.cpu.alloc.curIdx = 1;
    h.play('sched 2 3', 'sched 1 1'); // rows 7, 8
    expect(h.kinds()).toEqual([
      [7, 'duplicate-asid'],
      [7, 'tlb-alias'],
    ]);
  });
});
