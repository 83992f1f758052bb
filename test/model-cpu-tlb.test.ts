/**
 * CPU TLB maintenance and task switches, as the kernel does them, checked through what the model
 * reports (NoUsableStaleEntry, the stale-tlb check, runs after every unmap):
 *
 * - arch/arm64/include/asm/tlbflush.h: `flush_tlb_mm` is TLBI ASIDE1IS and `__flush_tlb_range`
 *   TLBI VAE1IS per page, both broadcast (inner shareable): every CPU drops the entries, not only
 *   the one that unmapped; from 512 pages `__flush_tlb_range` calls `flush_tlb_mm`.
 * - fs/exec.c `exec_mmap` -> `activate_mm` -> `switch_mm`: a task that execs while it runs switches
 *   to the new mm at once (check_and_switch_context: a new ASID for the fresh mm).
 */
import { describe, expect, it } from 'vitest';
import { run } from './helpers/mini.js';

const L = (...lines: string[]) => lines.join('\n');
const size = (pages: number) => `0x${(pages * 4096).toString(16)}`;

describe('broadcast TLB invalidation after munmap', () => {
  // Two threads of P on CPU0 and CPU1 both touched 0x100000 (a TLB entry under P's ASID on each).
  const head = L('fork 1 P', 'fork 2 P', 'sched 0 1', 'sched 1 2', 'access 0 0x100000', 'access 1 0x100000');
  it.each([1, 2, 511, 512, 1024])('%i pages: no CPU keeps the entry', (pages) => {
    const r = run({ cpus: 2, asidBits: 8 }, L(head, `unmap P 0x100000 ${size(pages)}`));
    expect(r.violations).toEqual([]);
  });

  it('an unmap elsewhere leaves the entries (and no finding)', () => {
    const r = run({ cpus: 2, asidBits: 8 }, L(head, 'unmap P 0x200000 0x1000', 'access 0 0x100000'));
    expect(r.violations).toEqual([]);
    expect(r.churn.tlbi.va).toBe(1);
  });
});

describe('exec and exit of a running task', () => {
  it('exec while running: the CPU switches to the fresh mm at once (a second ASID)', () => {
    const r = run({ cpus: 2, asidBits: 8 }, L('fork 1 A', 'sched 0 1', 'exec 1 B'));
    expect([r.churn.switches, r.churn.allocations]).toEqual([2, 2]);
  });

  it('exec of a task that runs nowhere switches nothing', () => {
    const r = run({ cpus: 2, asidBits: 8 }, L('fork 1 A', 'fork 2 C', 'sched 0 1', 'sched 0 2', 'exec 1 B'));
    expect([r.churn.switches, r.churn.allocations]).toEqual([2, 2]);
  });

  it('exec of one thread of A: only its CPU switches; the other thread keeps running A', () => {
    const r = run({ cpus: 2, asidBits: 8 }, L('fork 1 A', 'fork 2 A', 'sched 0 1', 'sched 1 2', 'exec 1 B', 'access 1 0x1000'));
    expect([r.churn.switches, r.churn.allocations]).toEqual([3, 2]);
    expect(r.violations).toEqual([]);
  });

  it('exit of a running task: its CPU runs no user task any more', () => {
    expect(() => run({ cpus: 1, asidBits: 8 }, L('fork 1 A', 'sched 0 1', 'exit 1', 'access 0 0x1000'))).toThrow(/runs no user task/);
  });

  it('a thread of a live mm shares its ASID: no second allocation, a same-mm switch', () => {
    const r = run({ cpus: 1, asidBits: 8 }, L('fork 1 A', 'fork 2 A', 'sched 0 1', 'sched 0 2'));
    expect([r.churn.allocations, r.churn.switches, r.churn.sameMmSwitches]).toEqual([1, 1, 1]);
  });
});
