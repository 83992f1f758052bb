/**
 * The known-bugs atlas (docs/kernel-bugs.md): for every historical bug whose effect is a finding,
 * `explore` finds it from nothing under the releases it affected and finds none under the release
 * before it and the first fixed one (bounded searches, the alphabets of the atlas's commands); the
 * counterexample replays under the affected release only. Bugs that are device failures or counts
 * (no finding) are checked on their trace pairs. And the atlas lists every shipped trace.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { search } from '../src/explore/search.js';
import { FindingRecorder } from '../src/shrink/recorder.js';
import { createSystem, step } from '../src/model/system.js';
import { resolveSystem } from '../src/trace/system.js';
import type { EventKind } from '../src/trace/events.js';
import { CPU_VIOLATION_KINDS, STALE_KINDS } from '../src/model/findings.js';
import { replayFile } from '../src/replay/engine.js';

const DIR = 'traces/kernel-bugs';
const ALL = [...CPU_VIOLATION_KINDS, ...STALE_KINDS];

/** The system `explore --system <file> --kernel <k>` resolves (explore's defaults: 2 CPUs, 3-bit ASIDs, no KPTI option). */
function system(file: string, extra: Record<string, unknown>) {
  const base = JSON.parse(readFileSync(join(DIR, 'systems', file), 'utf8')) as Record<string, unknown>;
  return resolveSystem({ cpus: 2, asidBits: 3, ...base, ...extra, unmapKernelAtEl0: false, whatIf: true }, {});
}

const SVA_KINDS: EventKind[] = ['fork', 'schedule', 'map', 'unmap', 'mprotect', 'bind', 'dma'];
const ONE = { tasks: 1, mms: 1, pins: 0, devices: 2, domains: 1 };

function bfs(sys: ReturnType<typeof system>, kinds: EventKind[], find: readonly string[], depth: number, bounds = ONE) {
  return search({ system: sys, kinds, bounds, find, depth, maxStates: 1e6, strategy: 'bfs', seed: 1, walks: 1 });
}

/** Findings of `kind` when the search's events are replayed on `sys`. */
function replayKinds(sys: ReturnType<typeof system>, events: ReturnType<typeof search>['events'], kind: string): string[] {
  const obs = new FindingRecorder(sys.smmus.length, new Set([kind]));
  const m = createSystem(sys);
  events.forEach((e, i) => step(m, { ...e, row: i + 1 }, obs));
  return obs.found.map((f) => f.kind);
}

describe.each([
  // [bug, system file, finding kind, releases before, affected releases (first, last), first fixed]
  ['the permission-upgrade livelock (v5.12-v6.5)', 'sva.json', 'S-PERM', '5.11', ['5.12', '6.5'], '6.6'],
  ['the notifier size bug with RANGE_INV (v5.12-v5.17)', 'sva-range.json', 'inv-range-hang', '5.11', ['5.12', '5.17'], '5.18'],
  ['the SVA range TG bug (v6.11-v6.14)', 'sva-range.json', 'S-UNMAP', '6.10', ['6.11', '6.14'], '6.15'],
] as const)('%s', (_name, file, kind, before, affected, fixed) => {
  it.each(affected)(`%s: found from nothing (${kind}), and the counterexample is clean on the first fixed release`, (k) => {
    const r = bfs(system(file, { kernel: k }), SVA_KINDS, [kind], 12);
    expect(r.stop).toBe('found');
    expect(r.finding!.kind).toBe(kind);
    expect(replayKinds(system(file, { kernel: k }), r.events, kind)).toEqual([kind]);
    expect(replayKinds(system(file, { kernel: fixed }), r.events, kind)).toEqual([]);
  });
  it(`${fixed} (first fixed) and ${before} (before): the bounds are exhausted without ${kind}`, () => {
    for (const k of [fixed, before]) {
      const r = bfs(system(file, { kernel: k }), SVA_KINDS, [kind], 1000);
      expect(r.stop, k).toBe('exhausted');
      expect(r.states, k).toBeGreaterThan(20);
    }
  });
});

describe('the permission-upgrade livelock: what the search needs', () => {
  it('6.6: the same alphabet has no finding of any kind (every kind searched, bounds exhausted)', () => {
    const r = bfs(system('sva.json', { kernel: '6.6' }), SVA_KINDS, ALL, 1000);
    expect(r.stop).toBe('exhausted');
  });
  it('6.5: the counterexample caches a read-only entry, raises the rights by a fault and writes', () => {
    const r = bfs(system('sva.json', { kernel: '6.5' }), SVA_KINDS, ['S-PERM'], 12);
    const upgrade = r.events.findIndex((e) => e.kind === 'map' && e.prot === 3);
    expect(upgrade).toBeGreaterThan(0);
    expect(r.events[r.events.length - 1]).toMatchObject({ kind: 'dma', prot: 2 });
    // mprotect raises rights through change_protection, which notifies in every era: without the
    // fault (map) in the alphabet there is nothing to find.
    const noFault = bfs(
      system('sva.json', { kernel: '6.5' }),
      SVA_KINDS.filter((k) => k !== 'map'),
      ['S-PERM'],
      1000,
    );
    expect(noFault.stop).toBe('exhausted');
  });
});

describe('the ASID-move race of arm_smmu_share_asid (v5.12-v6.10)', () => {
  const kinds: EventKind[] = ['fork', 'schedule', 'attach', 'map', 'unmap', 'dma', 'bind', 'resume'];
  it.each(['5.12', '6.10'])('%s: S-UNMAP found from nothing in 6 actions, with a stepped bind; clean on 6.11', (k) => {
    const r = bfs(system('race.json', { kernel: k }), kinds, ['S-UNMAP'], 8);
    expect(r.stop).toBe('found');
    expect(r.steps).toBe(6);
    expect(r.events.find((e) => e.kind === 'bind')!.op).toBeDefined();
    expect(replayKinds(system('race.json', { kernel: '6.11' }), r.events, 'S-UNMAP')).toEqual([]);
  });
  it.each(['6.11', '5.11'])('%s: no S-UNMAP in any sequence of up to 7 actions', (k) => {
    const r = bfs(system('race.json', { kernel: k }), kinds, ['S-UNMAP'], 7);
    expect(['depth', 'exhausted'], k).toContain(r.stop);
  });
});

// The 2018 pin ordering bug (pin-v1), found from nothing breadth-first: test/slow/kernel-bugs.test.ts
// (7 s); its trace pair is checked below.

describe('trace pairs of the bugs that are no finding', () => {
  const replay = (name: string) => replayFile(join(DIR, name));
  it('notifier size without RANGE_INV: 5.17 one TLBI_NH_VA too many per call (6 against 4), and the next page goes too', async () => {
    const [bad, good] = [await replay('notifier-size.5.17.csv'), await replay('notifier-size.5.18.csv')];
    expect(bad.devices.smmus[0]!.commands.CMD_TLBI_NH_VA).toBe(6);
    expect(good.devices.smmus[0]!.commands.CMD_TLBI_NH_VA).toBe(4);
    expect([bad.devices.smmus[0]!.hits, good.devices.smmus[0]!.hits]).toEqual([0, 1]);
    expect([bad.violations, bad.stale.total, good.violations, good.stale.total]).toEqual([[], 0, [], 0]);
  });
  it('PASID off-by-one: 6.3 refuses the bind of an mm whose PASID is the device highest (-EOVERFLOW), 6.4 accepts it', async () => {
    const f = async (n: string) => (await replay(n)).devices.failures.map((x) => [x.call, x.errno]);
    expect(await f('pasid-top.6.3.csv')).toEqual([['bind', 'EOVERFLOW']]);
    expect(await f('pasid-top.6.4.csv')).toEqual([]);
  });
  it('foreign attach: 6.15 returns 0 and attaches nothing (the DMA into D faults), 6.16 fails it -EINVAL', async () => {
    const [bad, good] = [await replay('foreign-attach.6.15.csv'), await replay('foreign-attach.6.16.csv')];
    expect(bad.devices.failures).toEqual([]);
    expect(good.devices.failures.map((x) => [x.call, x.errno])).toEqual([['attach', 'EINVAL']]);
    // d1 still translates through E on both: its DMA to D's page faults, its DMA to E's page fills.
    for (const r of [bad, good]) expect([r.devices.smmus[1]!.fills, r.devices.smmus[1]!.faults]).toEqual([1, 1]);
  });
  it('every pair: the affected release shows its bug, the fixed one does not', async () => {
    const findings = async (n: string) => {
      const r = await replay(n);
      return r.violations.length + r.stale.total + r.devices.failures.length;
    };
    for (const [bad, good] of [
      ['pin-ordering.pin-v1.csv', 'pin-ordering.pin-v2.csv'],
      ['asid-move-race.6.10.csv', 'asid-move-race.6.11.csv'],
      ['perm-upgrade.6.5.csv', 'perm-upgrade.6.6.csv'],
      ['notifier-size-range.5.17.csv', 'notifier-size-range.5.18.csv'],
      ['tg-bug.6.14.csv', 'tg-bug.6.15.csv'],
      ['pasid-top.6.3.csv', 'pasid-top.6.4.csv'],
    ]) {
      expect(await findings(bad!), bad).toBeGreaterThan(0);
      expect(await findings(good!), good).toBe(0);
    }
  });
});

describe('docs/kernel-bugs.md', () => {
  it('lists every trace of traces/kernel-bugs and every system file', () => {
    const doc = readFileSync('docs/kernel-bugs.md', 'utf8');
    const traces = readdirSync(DIR).filter((f) => f.endsWith('.csv'));
    expect(traces.length).toBeGreaterThanOrEqual(16);
    for (const f of traces) expect(doc, f).toContain(f);
    for (const f of readdirSync(join(DIR, 'systems'))) expect(doc, f).toContain(`systems/${f}`);
  });
  it('each trace pair names its kernel (or allocator) in its file name and in its # system: line', () => {
    for (const f of readdirSync(DIR).filter((x) => x.endsWith('.csv'))) {
      const version = /\.([^.]+(?:\.\d+)?)\.csv$/.exec(f.replace(/^[a-z-]+\./, '.'))![1]!;
      const line = readFileSync(join(DIR, f), 'utf8').match(/^# system: (.*)$/m)![1]!;
      const sys = JSON.parse(line) as { kernel?: string; allocator?: string };
      expect(sys.kernel ?? sys.allocator, f).toBe(version);
    }
  });
});
