/**
 * The allocator scenarios of shared/spec/allocator.md §5 and seed 001, replayed end to end.
 */
import { describe, expect, it } from 'vitest';
import { replayFile } from '../src/replay/engine.js';
import { kinds, run } from './helpers/mini.js';

const ALL = ['v4.19', 'pin-v1', 'pin-v2', 'v5.10'] as const;

describe('seed 001: the v1 pinning-order bug', () => {
  it('is caught under pin-v1 and not under pin-v2 or v5.10 (traces/scenarios/pin-v1-ordering-bug.csv)', async () => {
    const file = 'traces/scenarios/pin-v1-ordering-bug.csv';
    const v1 = await replayFile(file);
    expect(v1.churn.rollovers).toBe(2);
    // Line 35 is the second "schedule,1,11" (the thread gets ASID 7 while CPU0 runs P with 1); line 36 the unmap.
    expect(kinds(v1)).toEqual([
      [35, 'active-asid-mismatch'],
      [36, 'stale-tlb'],
    ]);
    expect(v1.violations[0]).toMatchObject({ cpu: 0, asid: 1, mm: 'P' });
    expect(v1.violations[1]).toMatchObject({ cpu: 0, asid: 1, mm: 'P', fillRow: 26 });
    for (const allocator of ['pin-v2', 'v5.10'] as const) {
      const r = await replayFile(file, { overrides: { allocator } });
      expect(r.churn.rollovers, allocator).toBe(2);
      expect(r.violations, allocator).toEqual([]);
      expect(r.churn.reused.reserved, allocator).toBeGreaterThan(0);
    }
  });

  it('spec §5.1 (B): 2-bit ASIDs with a limit override of 1 needs four generations', () => {
    const trace = `
      fork 1 P
      fork 11 P
      fork 2 Q2
      fork 3 Q3
      fork 4 Q4
      sched 0 1
      sched 1 2
      sched 1 3
      pin P
      sched 1 4
      sched 1 11
      sched 1 3
      sched 1 2
      unpin P
      sched 1 11`;
    const v1 = run({ cpus: 2, asidBits: 2, allocator: 'pin-v1', maxPinnedAsids: 1 }, trace);
    expect(v1.allocator.finalGeneration).toBe(4);
    expect(kinds(v1)).toEqual([[16, 'active-asid-mismatch']]);
    for (const allocator of ['pin-v2', 'v5.10'] as const) {
      const r = run({ cpus: 2, asidBits: 2, allocator, maxPinnedAsids: 1 }, trace);
      expect(r.violations, allocator).toEqual([]);
    }
  });
});

describe('spec §5.3: the max_pinned_asids bound is tight', () => {
  const trace = (pins: number) => {
    const lines: string[] = [];
    for (let i = 1; i <= 17; i++) lines.push(`fork ${i} m${i}`);
    for (let i = 1; i <= pins; i++) lines.push(`pin m${i}`);
    lines.push('sched 0 12', 'sched 1 13', 'sched 2 14', 'sched 3 15', 'sched 0 16', 'sched 0 17');
    return lines.join('\n');
  };
  it('with the kernel limit (10) exactly one slot is free after the rollover', () => {
    const r = run({ cpus: 4, asidBits: 4 }, trace(10));
    expect(r.pins.limit).toBe(10);
    expect(r.churn.rollovers).toBe(1);
    expect(r.violations).toEqual([]);
    expect(r.pins.maxHeld).toBe(10);
  });
  it('one more pinned ASID (the commit message read with NR_ASIDS = 16) leaves none: no-free-asid', () => {
    const r = run({ cpus: 4, asidBits: 4, maxPinnedAsids: 11 }, trace(11));
    // CPUs hold 12..15 and 1..11 are pinned: the switch to t16 (line 33) already rolls over into a
    // full map, and so does the one to t17.
    expect(kinds(r)).toEqual([
      [33, 'no-free-asid'],
      [34, 'no-free-asid'],
    ]);
  });
  it('after a failed switch the CPU keeps its old TTBR: the new task cannot touch memory (a fault), nothing is filled under the old mm', () => {
    // t17 gets no ASID on CPU0 (row 34); its access must not fill a TLB entry under t16's or
    // t12's ASID, and must not stop the replay as if the trace were wrong.
    const r = run({ cpus: 4, asidBits: 4, maxPinnedAsids: 11 }, `${trace(11)}\naccess 0 0x1000`);
    expect(kinds(r)).toEqual([
      [33, 'no-free-asid'],
      [34, 'no-free-asid'],
    ]);
    expect(r.churn.faults).toBe(1);
  });
});

describe('spec §5.2 replayed: pin failure exactly at the limit', () => {
  it('the 11th pin fails and the first failure row is reported', () => {
    const lines = [];
    for (let i = 1; i <= 11; i++) lines.push(`fork ${i} t${i}`);
    for (let i = 1; i <= 11; i++) lines.push(`pin t${i}`);
    lines.push('pin t1', 'unpin t1', 'unpin t1', 'pin t11');
    const r = run({ cpus: 4, asidBits: 4 }, lines.join('\n'));
    expect(r.pins).toMatchObject({
      limit: 10,
      requests: 13,
      pinned: 11,
      repins: 1,
      failures: 1,
      firstFailureRow: 22,
      maxHeld: 10,
      unpins: 2,
    });
    expect(r.pins.limitFormula).toContain('16 available - 4 CPUs - 2 = 10');
    expect(r.violations).toEqual([]);
  });
  it('an unpin matching a refused pin is not a violation; one with no pin at all is', () => {
    const r = run({ cpus: 2, asidBits: 8, allocator: 'v4.19' }, 'fork 1 a\npin a\nunpin a\nunpin a');
    expect(r.pins.failures).toBe(1);
    expect(kinds(r)).toEqual([[4, 'unbalanced-unpin']]);
  });
});

describe('lazy TLB and threads', () => {
  it('task 0 and threads of the running mm do not call switch_mm', () => {
    const r = run({ cpus: 1, asidBits: 8 }, 'fork 1 P\nfork 2 P\nsched 0 1\nsched 0 0\nsched 0 2\nsched 0 1');
    expect(r.churn).toMatchObject({ switches: 1, idleSwitches: 1, sameMmSwitches: 2, allocations: 1 });
  });
  it('exec gives the task a fresh mm; fork without mm after exit is a fresh mm even for a reused task id', () => {
    const r = run({ cpus: 1, asidBits: 8 }, 'fork 1\nsched 0 1\nexec 1\nsched 0 1\nexit 1\nfork 1\nsched 0 1');
    expect(r.churn.allocations).toBe(3);
    expect(r.churn.mms.created).toBe(3);
  });
});

describe('invariant checkers fire on corrupted states', () => {
  it('ASID 0 semantics: with 2 CPUs and 2-bit ASIDs the kernel formula allows no pin at all', () => {
    const r = run({ cpus: 2, asidBits: 2 }, 'fork 1 a\npin a');
    expect(r.pins).toMatchObject({ limit: 0, failures: 1 });
  });
  it('stale-tlb does not fire when the unmap TLBI reaches the entry (correct allocator)', () => {
    const r = run(
      { cpus: 2, asidBits: 8 },
      'fork 1 P\nfork 2 P\nsched 0 1\nsched 1 2\naccess 0 0x5000\naccess 1 0x5000\nunmap P 0x5000 0x1000\naccess 0 0x5000',
    );
    expect(r.violations).toEqual([]);
    expect(r.churn.faults).toBe(1);
    expect(r.churn.tlbi.va).toBe(1);
  });
});

describe('every variant replays the scenario file without input errors', () => {
  it.each(ALL)('%s', async (allocator) => {
    const r = await replayFile('traces/scenarios/pin-v1-ordering-bug.csv', { overrides: { allocator } });
    expect(r.trace.events).toBe(27);
  });
});

describe('the scenario files of the corpus hold the spec figures (independent of their stored expectations)', () => {
  it('pin-limit-4bit.csv: limit 10, the 11th pin (line 28) fails', async () => {
    const r = await replayFile('traces/scenarios/pin-limit-4bit.csv');
    expect(r.pins).toMatchObject({ limit: 10, failures: 1, firstFailureRow: 28, repins: 1, unpins: 2, maxHeld: 10 });
  });
  it('pin-bound-tight.csv: one rollover, no violation at the kernel limit; no-free-asid with one more pin', async () => {
    const r = await replayFile('traces/scenarios/pin-bound-tight.csv');
    expect([r.churn.rollovers, r.violations.length]).toEqual([1, 0]);
  });
});

describe('a pin that a kernel without pinning refuses still meets its unpin after the exit', () => {
  // A trace recorded on a pinning kernel (a driver pins P, P's last task exits, the driver unpins)
  // replayed on one whose allocator cannot pin: the pin is refused, the driver holds nothing, and
  // the unpin after the exit is matched, not an error.
  for (const allocator of ['v4.19', 'v5.6'] as const) {
    it(`${allocator}: refused, then matched after the exit`, () => {
      const r = run({ cpus: 2, asidBits: 8, allocator }, 'fork 1 P\nsched 0 1\npin P\nsched 0 0\nexit 1\nunpin P');
      expect(r.violations).toEqual([]);
      expect(r.pins.failures).toBe(1);
      expect(r.pins.unpins).toBe(0);
    });
  }
  it('v5.10: granted, the exited mm stays until the unpin puts it', () => {
    const r = run({ cpus: 2, asidBits: 8, allocator: 'v5.10' }, 'fork 1 P\nsched 0 1\npin P\nsched 0 0\nexit 1\nunpin P');
    expect(r.violations).toEqual([]);
    expect(r.pins.unpins).toBe(1);
  });
  it('after the matched unpin the mm is gone: a second unpin names a dead mm', () => {
    expect(() => run({ cpus: 2, asidBits: 8, allocator: 'v4.19' }, 'fork 1 P\npin P\nexit 1\nunpin P\nunpin P')).toThrow(
      /not a live address space/,
    );
  });
});
