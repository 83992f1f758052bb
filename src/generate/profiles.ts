/**
 * Synthetic workloads: seeded, deterministic event streams (pure-rand) for what real traces rarely
 * contain. Each profile is a generator of trace v1 events that only ever emits events valid in the
 * model (tasks are forked before they run, pins are balanced, exits end live tasks), so a generated
 * trace always replays; its size is only bounded by `events`, and memory stays flat.
 */
import type { SystemInput } from '../trace/system.js';
import { World } from './world.js';
import { DEVICE_MIXES, deviceWorkload } from './device-profiles.js';

export type { GenEvent, GenOptions } from './types.js';
import type { GenEvent, GenOptions } from './types.js';

export interface Profile {
  name: string;
  description: string;
  /** System preamble the profile is meant for (the options' CPUs, ASID bits and KPTI are merged in). */
  system: Partial<SystemInput>;
  events(o: GenOptions): Generator<GenEvent>;
}

/**
 * kernel-build: `make -jN` style churn. Thousands of short-lived processes (fork, exec, a few time
 * slices, exit) plus a few long-lived multi-threaded ones; at 8-bit ASIDs it rolls over constantly.
 */
function* kernelBuild(o: GenOptions): Generator<GenEvent> {
  const w = new World(o);
  const target = o.tasks ?? o.cpus * 4;
  const forkRate = o.forkRate ?? 0.12;
  // A long-lived make and a multi-threaded jobserver.
  yield w.fork('make');
  for (let i = 0; i < 3; i++) yield w.fork('jobserver');
  let n = 4;
  while (n < o.events) {
    const r = w.rng.int(0, 999) / 1000;
    let e: GenEvent;
    if (w.live.length < target && r < forkRate) {
      // One fork in five is a thread (CLONE_VM) of a running compiler job.
      e = w.live.length > 4 && w.rng.chance(0.2) ? w.fork(w.mmOf.get(w.live[w.rng.int(4, w.live.length - 1)]!)) : w.fork();
    } else if (r < forkRate + 0.06 && w.live.length > 4) {
      const i = w.rng.int(4, w.live.length - 1);
      e = w.rng.chance(0.4) ? w.exec(w.live[i]!) : w.exit(i);
    } else {
      e = w.randomSchedule(0.15);
    }
    yield e;
    n++;
  }
}

/**
 * pin-exhaustion: a device driver pins more and more long-lived processes (arm64_mm_context_get)
 * while the CPUs keep switching; pins run into max_pinned_asids, some are released and re-taken.
 */
function* pinExhaustion(o: GenOptions): Generator<GenEvent> {
  const w = new World(o);
  /** mms this driver holds a pin on (refused pins included: the driver still calls put for them). */
  const pinned = new Set<string>();
  /** The same mms in pin order (a FIFO: pinned[head..] are the pins held, oldest first). */
  let order: string[] = [];
  let head = 0;
  let n = 0;
  while (n < o.events) {
    let e: GenEvent;
    const r = w.rng.int(0, 99);
    if (w.live.length < 8 || r < 10) {
      e = w.fork();
    } else if (r < 40) {
      const mm = w.mmOf.get(w.rng.pick(w.live))!;
      if (pinned.has(mm)) {
        e = w.randomSchedule();
      } else {
        pinned.add(mm);
        order.push(mm);
        e = { time: w.tick(), kind: 'pin', mm };
      }
    } else if (r < 45 && pinned.size > 0) {
      // Release the oldest pin. (Not the Set's first value: V8 skips the holes deletions leave at
      // the front of a Set, which made that O(pins).)
      const mm = order[head++]!;
      pinned.delete(mm);
      if (head > 4096 && head * 2 > order.length) {
        order = order.slice(head);
        head = 0;
      }
      e = { time: w.tick(), kind: 'unpin', mm };
    } else {
      e = w.randomSchedule();
    }
    yield e;
    n++;
  }
}

/**
 * mixed: everything the CPU side models at once — processes and threads, exec and exit, pins,
 * CPU accesses, map/unmap with both per-page and whole-ASID TLBIs, idle periods.
 */
function* mixed(o: GenOptions): Generator<GenEvent> {
  const w = new World(o);
  const target = o.tasks ?? o.cpus * 4;
  const pins = new Map<string, number>();
  let n = 0;
  const emit = (e: GenEvent | undefined) => e;
  while (n < o.events) {
    const r = w.rng.int(0, 99);
    let e: GenEvent | undefined;
    if (w.live.length < 2 || (r < 8 && w.live.length < target)) {
      const thread = w.live.length > 0 && w.rng.chance(0.3);
      e = w.fork(thread ? w.mmOf.get(w.rng.pick(w.live)) : undefined);
    } else if (r < 55) {
      e = w.randomSchedule();
    } else if (r < 62) {
      const mm = w.mmOf.get(w.rng.pick(w.live))!;
      pins.set(mm, (pins.get(mm) ?? 0) + 1);
      e = { time: w.tick(), kind: 'pin', mm };
    } else if (r < 68) {
      const held = [...pins.keys()].filter((m) => w.usersOf.has(m));
      if (held.length) {
        const mm = held[w.rng.int(0, held.length - 1)]!;
        const k = pins.get(mm)! - 1;
        if (k === 0) pins.delete(mm);
        else pins.set(mm, k);
        e = { time: w.tick(), kind: 'unpin', mm };
      }
    } else if (r < 80) {
      const cpu = w.rng.int(0, o.cpus - 1);
      const t = w.running[cpu];
      if (t !== 0) e = { time: w.tick(), kind: 'access', cpu, va: 0x400000 + w.rng.int(0, 63) * 4096 };
    } else if (r < 90) {
      const mm = w.mmOf.get(w.rng.pick(w.live))!;
      const pages = w.rng.chance(0.1) ? 1024 : w.rng.int(1, 4);
      const va = 0x400000 + w.rng.int(0, 63) * 4096;
      // A rights change of present pages is an mprotect (change_protection); a `map` over a page
      // that lost its write right raises it again as a fault would (ptep_set_access_flags).
      const k = w.rng.int(0, 5);
      if (k < 4) e = { time: w.tick(), kind: k < 2 ? 'unmap' : 'map', mm, va, size: pages * 4096 };
      else e = { time: w.tick(), kind: 'mprotect', mm, va, size: pages * 4096, prot: k === 4 ? 1 : 3 };
    } else if (r < 94 && w.live.length > 2) {
      const i = w.rng.int(0, w.live.length - 1);
      const mm = w.mmOf.get(w.live[i]!)!;
      // A pinned mm stays alive until its driver unpins it.
      if (!(pins.has(mm) && w.usersOf.get(mm) === 1)) e = w.exit(i);
    } else if (w.live.length > 0) {
      const t = w.rng.pick(w.live);
      const mm = w.mmOf.get(t)!;
      if (!pins.has(mm) && w.usersOf.get(mm) === 1) e = w.exec(t);
    }
    if (emit(e)) {
      yield e!;
      n++;
    }
  }
}

export const PROFILES: Readonly<Record<string, Profile>> = {
  'kernel-build': {
    name: 'kernel-build',
    description: 'make -jN: thousands of short-lived processes and threads, exec and exit (ASID churn, rollovers)',
    system: {},
    events: kernelBuild,
  },
  'pin-exhaustion': {
    name: 'pin-exhaustion',
    description: 'a driver pins ever more processes (arm64_mm_context_get) until max_pinned_asids is hit',
    system: {},
    events: pinExhaustion,
  },
  mixed: {
    name: 'mixed',
    description: 'random mix of every CPU-side event: threads, exec, exit, pins, accesses, map/unmap/mprotect',
    system: {},
    events: mixed,
  },
  ...Object.fromEntries(
    Object.entries(DEVICE_MIXES).map(([name, d]) => [
      name,
      { name, description: d.description, system: { ...d.mix.system }, events: (o: GenOptions) => deviceWorkload(o, d.mix) },
    ]),
  ),
};

export const PROFILE_NAMES = Object.keys(PROFILES);
