/**
 * The invariants' step log (src/model/cpu/invariants.ts) beyond what the model's own steps reach,
 * and the two places FreeAfterRollover is reported.
 *
 * - The log grows: the model's steps log at most a few touches between two checks, a design's parts
 *   may log more; every touch logged must still be checked, in order.
 * - `new_context` finding no free ASID after `flush_context` (arch/arm64/mm/context.c, v5.10; the
 *   WARN_ON in `asids_init` needs more ASIDs than CPUs) is reported by the switch that ran it, naming
 *   its CPU, and by a pin (`arm64_mm_context_get`), which runs on no particular CPU: no `cpu` field.
 */
import { describe, expect, it } from 'vitest';
import { createSystem, step } from '../src/model/system.js';
import { beginStep, checkTouched } from '../src/model/cpu/index.js';
import { touchInstall } from '../src/model/cpu/invariants.js';
import type { CpuViolation } from '../src/model/findings.js';
import { ReportCollector } from '../src/report/report.js';
import { resolveSystem } from '../src/trace/system.js';
import { mini } from './helpers/mini.js';

/** 1 CPU, 2-bit what-if ASIDs (1, 2, 3 allocatable), the pin limit raised to 4 so pins can take every number. */
function harness() {
  const m = createSystem(resolveSystem({ cpus: 1, asidBits: 2, whatIf: true, unmapKernelAtEl0: false, maxPinnedAsids: 4 }, {}));
  const violations: CpuViolation[] = [];
  // The collector's counters, with every violation kept as the model hands it over (no copy, no report shape).
  const col = new ReportCollector();
  const obs = Object.assign(Object.create(col) as ReportCollector, { violation: (v: CpuViolation) => violations.push(v) });
  const play = (text: string) => mini(text).forEach((e) => step(m, e, obs));
  return { m, obs, play, violations };
}

describe('the step log grows past its first 64 touches', () => {
  it('checks all 200 touches of one step, each once', () => {
    const h = harness();
    h.play('fork 1 a\nsched 0 1');
    const mm = h.m.cpu.mms.get(h.m.cpu.labels.get('a')!)!;
    // CPU0's TTBR says ASID 3 while a's context holds 1: SameASIDActiveTask breaks at every install.
    // Written directly, not by a kernel path, so the mark of such a move is set by hand too.
    h.m.cpu.ttbrAsid[0] = 3;
    h.m.cpu.ttbrAsidMoved = true;
    const seen = h.violations;
    seen.length = 0;
    beginStep(h.m.params, 7);
    for (let i = 0; i < 200; i++) touchInstall(h.m.cpu, mm);
    checkTouched(h.m.cpu, h.obs);
    expect(seen).toHaveLength(200);
    expect(seen.every((v) => v.kind === 'active-asid-mismatch' && v.row === 7 && v.cpu === 0 && v.asid === 3)).toBe(true);
    // The log is drained: a second check reports nothing.
    checkTouched(h.m.cpu, h.obs);
    expect(seen).toHaveLength(200);
  });
});

describe('FreeAfterRollover names the CPU of a switch, and none for a pin', () => {
  it('a switch that finds no free ASID after the rollover reports its CPU', () => {
    const h = harness();
    // a, b, c pinned (1, 2, 3, in pinned_asid_map); d's switch rolls over and finds every index set.
    h.play('fork 1 a\nfork 2 b\nfork 3 c\nfork 4 d\npin a\npin b\npin c\nsched 0 4');
    const v = h.violations;
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ row: 8, kind: 'no-free-asid', mm: 'd', cpu: 0 });
    expect(Object.keys(v[0]!)).toContain('cpu');
  });

  it('a pin that finds no free ASID after the rollover reports no CPU (the field is absent)', () => {
    const h = harness();
    h.play('fork 1 a\nfork 2 b\nfork 3 c\nfork 4 d\npin a\npin b\npin c\npin d');
    const v = h.violations;
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ row: 8, kind: 'no-free-asid', mm: 'd' });
    expect(Object.keys(v[0]!)).not.toContain('cpu');
  });
});

describe('the mark of an ASID moved under a TTBR (CpuModelState.ttbrAsidMoved)', () => {
  /** 2 CPUs, 2-bit ASIDs (1, 2, 3), no pin limit to speak of. */
  const two = () => {
    const m = createSystem(resolveSystem({ cpus: 2, asidBits: 2, whatIf: true, unmapKernelAtEl0: false }, {}));
    const col = new ReportCollector();
    return { m, play: (text: string) => mini(text).forEach((e) => step(m, e, col)) };
  };

  it('stays clear through rollovers that move only the ASIDs of mms no CPU holds (v5.10 keeps running ones)', () => {
    const h = two();
    // a, b, c take 1, 2, 3 on CPU0; d rolls over (CPU0 reserves c's 3) and takes 1; a, not running
    // anywhere, comes back on a fresh number: its ASID moved, but no TTBR held it.
    h.play('fork 1 a\nfork 2 b\nfork 3 c\nfork 4 d\nsched 0 1\nsched 0 2\nsched 0 3\nsched 1 4\nsched 1 1');
    expect(h.m.cpu.mms.get(h.m.cpu.labels.get('a')!)!.asidChanges).toBe(1);
    expect(h.m.cpu.ttbrAsidMoved).toBe(false);
  });

  it('is set when a context moves while the TTBR of another CPU holds the mm', () => {
    const h = two();
    h.play('fork 1 a\nfork 2 a\nsched 0 1');
    const a = h.m.cpu.mms.get(h.m.cpu.labels.get('a')!)!;
    // A context of an old generation no CPU reserves: the switch on CPU1 gives a a fresh number
    // while CPU0 still runs it under the old one (what the 2018 v1 pinning patch let happen).
    a.ctx = a.ctx % 2 ** 16;
    h.m.cpu.alloc.reserved.fill(0);
    h.m.cpu.alloc.active.fill(0);
    h.play('\n\n\nsched 1 2');
    expect(h.m.cpu.ttbrAsidMoved).toBe(true);
  });
});
