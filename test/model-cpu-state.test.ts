/**
 * The CPU side's state (src/model/cpu/state.ts) as explore uses it: `cloneSystem` / `cloneCpuModel`
 * give a copy equal to the original (the same digest) and independent of it both ways (page tables,
 * the exited-but-pinned mms, TLBs, tasks), and the lookups of mms by label and by key.
 *
 * Kernel side: an mm whose last task exited stays while a driver pins it (`arm64_mm_context_get`
 * holds it until `arm64_mm_context_put`, arch/arm64/mm/context.c v5.10), so only `unpin` (and the
 * page-table events of its teardown) can name it; a pin, like a bind, needs a live mm.
 */
import { describe, expect, it } from 'vitest';
import { type SystemModel, cloneSystem, createSystem, digestSystem, step } from '../src/model/system.js';
import { labelOf, lookupMm, walkMm } from '../src/model/cpu/state.js';
import { ReportCollector } from '../src/report/report.js';
import { resolveSystem } from '../src/trace/system.js';
import { mini } from './helpers/mini.js';

const play = (m: SystemModel, ...lines: string[]) => mini(lines.join('\n')).forEach((e) => step(m, e, new ReportCollector()));

/** P (touched page table, ran on CPU0), Q (untouched, ran on CPU1), Z exited while pinned. */
function sample(): SystemModel {
  const m = createSystem(resolveSystem({ cpus: 2, asidBits: 8, whatIf: true, unmapKernelAtEl0: false }, {}));
  play(
    m,
    'fork 1 P',
    'fork 2 Q',
    'fork 3 Z',
    'sched 0 3',
    'pin Z',
    'sched 0 1',
    'exit 3',
    'sched 1 2',
    'map P 0x10000 0x2000 r',
    'access 0 0x10000',
    'access 1 0x40000',
  );
  return m;
}
const key = (m: SystemModel, label: string) => m.cpu.labels.get(label) ?? m.cpu.zombies.get(label)!;
const pte = (m: SystemModel, label: string, va: number) => walkMm(m.cpu.mms.get(key(m, label))!, va / 4096);

describe('cloneSystem (explore branches on copies of the state)', () => {
  it('a clone has the digest of its original', () => {
    const m = sample();
    expect(m.cpu.zombies.size).toBe(1);
    expect(digestSystem(cloneSystem(m))).toBe(digestSystem(m));
  });

  it('events on the clone leave the original as it was, and the other way round', () => {
    const m = sample();
    const d = digestSystem(m);
    const c = cloneSystem(m);
    play(c, 'unmap P 0x10000 0x1000', 'map Q 0x40000 0x1000 r', 'unpin Z', 'exit 2', 'access 0 0x11000', 'fork 4 R', 'sched 1 4');
    expect(digestSystem(m)).toBe(d);
    expect(pte(m, 'P', 0x10000).prot).toBe(1);
    expect(pte(m, 'Q', 0x40000).prot).toBe(3);
    expect(lookupMm(m.cpu, 'Z', 1, true).label).toBe('Z');
    // The original goes on by itself: Z can still be unpinned there, once.
    const c2 = cloneSystem(m);
    const d2 = digestSystem(c2);
    play(m, 'unpin Z', 'unmap P 0x11000 0x1000', 'map Q 0x40000 0x1000 r');
    expect(digestSystem(c2)).toBe(d2);
    expect(pte(c2, 'P', 0x11000).prot).toBe(1);
    expect(pte(c2, 'Q', 0x40000).prot).toBe(3);
    expect(c2.cpu.zombies.has('Z')).toBe(true);
  });
});

describe('lookups', () => {
  it('lookupMm finds an exited pinned mm only when asked to (unpin and page-table events, never pin)', () => {
    const m = sample();
    expect(lookupMm(m.cpu, 'Z', 20, true).key).toBe(key(m, 'Z'));
    expect(() => lookupMm(m.cpu, 'Z', 20)).toThrow(/mm Z is not a live address space/);
    expect(() => lookupMm(m.cpu, 'nobody', 20, true)).toThrow(/mm nobody is not a live address space/);
    expect(lookupMm(m.cpu, 'P', 20).label).toBe('P');
  });

  it('labelOf names a live or pinned mm by its label, and an mm whose record is gone by its key', () => {
    const m = sample();
    expect(labelOf(m.cpu, key(m, 'P'))).toBe('P');
    expect(labelOf(m.cpu, key(m, 'Z'))).toBe('Z');
    const z = key(m, 'Z');
    play(m, 'unpin Z');
    expect(m.cpu.mms.has(z)).toBe(false);
    expect(labelOf(m.cpu, z)).toBe(`#${z}`);
    expect(labelOf(m.cpu, 99)).toBe('#99');
  });
});
