/**
 * State-space search over the model: breadth-first (a shortest counterexample) with a visited set
 * of canonical-state fingerprints, or random walks (swarm). Deterministic for the same options.
 */
import { EventError } from '../model/errors.js';
import type { KernelParts } from '../model/kernel/parts.js';
import { type SystemModel, cloneSystem, createSystem, step } from '../model/system.js';
import { cloneCpuModel } from '../model/cpu/index.js';
import { EVENT_EFFECTS, type StateSide } from '../model/events.js';
import { type EventKind, type TraceEvent, newRefillEvent } from '../trace/events.js';
import type { SystemConfig } from '../trace/system.js';
import { Rng } from '../util/rng.js';
import { ALPHABET_KINDS, type Action, type AlphabetBounds, type ExploreEvent, PAGE, actions } from './alphabet.js';
import { Canonicalizer } from './canon.js';
import { FingerprintSet } from './fingerprint-set.js';
import { type Finding, FindingRecorder } from '../shrink/recorder.js';

/** What to search and how far. */
export interface SearchOptions {
  system: SystemConfig;
  /** The kernel functions to run (a design's, src/design/; the base ones when absent). */
  parts?: KernelParts;
  /** Event alphabet. */
  kinds: readonly EventKind[];
  bounds: AlphabetBounds;
  /** Most actions on a path (a fork folded into its first use is not counted). */
  depth: number;
  /** Prune states past this generation (TLC's state constraint in asidalloc.cfg), if set. */
  generations?: number;
  /** Finding kinds that make a counterexample. */
  find: readonly string[];
  /** Stop after this many distinct states. */
  maxStates: number;
  /** Stop after this many milliseconds, if set. */
  timeLimitMs?: number;
  strategy: 'bfs' | 'random';
  /** Random walks: the first seed, and the number of walks. */
  seed: number;
  walks: number;
  /** Shard `[i, n]` (1-based): BFS keeps every n-th node of the first level with at least 8n nodes; random walks take every n-th seed. */
  shard?: readonly [number, number];
  /** Symmetry reduction (default on; always off with SMMUs). */
  symmetry?: boolean;
  /** Mapping epochs encoded by rank (default on; off only to check the renaming). */
  epochRanks?: boolean;
  /** Called about twice a second. */
  onProgress?: (p: SearchProgress) => void;
}

/** Progress figures. */
export interface SearchProgress {
  states: number;
  edges: number;
  depth: number;
  queue: number;
  elapsedMs: number;
}

/** Why the search ended. */
export type StopReason = 'found' | 'exhausted' | 'depth' | 'max-states' | 'time-limit' | 'walks';

/** The outcome of a search. */
export interface SearchResult {
  stop: StopReason;
  /** The finding at the end of the counterexample. */
  finding?: Finding;
  /** The counterexample's events (forks included), names as the search made them. */
  events: ExploreEvent[];
  /** Its length in actions (what `--depth` counts). */
  steps: number;
  /** Distinct states seen (the visited set). */
  states: number;
  /** Transitions tried that led to a valid state. */
  edges: number;
  /** Deepest level completed (BFS) or longest walk. */
  depth: number;
  elapsedMs: number;
  /** Memory of the visited set and the node table, per stored state. */
  bytesPerState: number;
  /** Random walks run. */
  walks: number;
  /** Which shard of the frontier this run searched (BFS), when sharded. */
  shardLevel?: number;
}

/**
 * A copy of `m` for applying action `a` to: the SMMU side is shared, not copied, when there is no
 * SMMU or when no event of `a` may change it, as the event table declares (EVENT_EFFECTS in
 * model/events.ts); without `a`, a full copy.
 */
function fastClone(m: SystemModel, a?: Action): SystemModel {
  if (m.smmu.smmus.length === 0 || (a !== undefined && a.every((e) => !writesSmmu(e.kind))))
    return { config: m.config, params: m.params, parts: m.parts, cpu: cloneCpuModel(m.cpu), smmu: m.smmu };
  return cloneSystem(m);
}

const writesSmmu = (k: EventKind): boolean => (EVENT_EFFECTS[k].writes as readonly StateSide[]).includes('smmu');

/**
 * The event handed to `step`, rewritten for each event of an action (`newRefillEvent`). A spread
 * `{ ...e, row }` of the alphabet's events, whose shapes differ by kind, cost 14% of a search.
 */
const scratch = newRefillEvent();

/** `e` numbered `row`, in {@link scratch}. */
function asEvent(e: ExploreEvent, row: number): TraceEvent {
  const x = scratch;
  x.row = row;
  x.kind = e.kind;
  x.time = e.time;
  x.cpu = e.cpu;
  x.task = e.task;
  x.mm = e.mm;
  x.device = e.device;
  x.domain = e.domain;
  x.pasid = e.pasid;
  x.va = e.va;
  x.size = e.size;
  x.prot = e.prot;
  x.op = e.op;
  x.src = e.src;
  return x;
}

/** Apply an action (rows numbered from `row`); false if an event is impossible in the state. */
function apply(m: SystemModel, a: Action, row: number, obs: FindingRecorder): boolean {
  try {
    for (let i = 0; i < a.length; i++) step(m, asEvent(a[i]!, row + i), obs);
    return true;
  } catch (e) {
    if (e instanceof EventError) return false;
    throw e;
  }
}

/**
 * Whether the state after `a` is only checked, not expanded: without SMMUs, an event the table
 * declares `removesOnly` (EVENT_EFFECTS: an unmap of an mm removes TLB entries and a mapping) on an
 * mm, when the alphabet never maps again, leads only to states with fewer hazards than one reached
 * without it; it matters only for the check at the event itself.
 */
const isProbe = (a: Action, m: SystemModel, kinds: ReadonlySet<EventKind>): boolean =>
  removesOnly(a[0]!.kind) && a[0]!.mm !== undefined && m.smmu.smmus.length === 0 && !kinds.has('map');

const removesOnly = (k: EventKind): boolean => (EVENT_EFFECTS[k] as { removesOnly?: boolean }).removesOnly === true;

/** Growable Int32Array. */
class IntList {
  a = new Int32Array(1 << 16);
  n = 0;
  push(x: number): number {
    if (this.n === this.a.length) {
      const b = new Int32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n] = x;
    return this.n++;
  }
}

/**
 * Search for an event sequence that ends in a finding of `o.find`.
 * @returns the counterexample (shortest in actions for BFS) or the figures of a search that found none.
 */
export function search(o: SearchOptions): SearchResult {
  return o.strategy === 'random' ? randomWalks(o) : bfs(o);
}

function setup(o: SearchOptions) {
  const devices = o.system.smmus.length > 0;
  const canon = new Canonicalizer(o.system.cpus, {
    symmetry: (o.symmetry ?? true) && !devices,
    pages: [PAGE],
    absoluteGeneration: o.generations !== undefined,
    tlb: o.find.some((k) => k === 'tlb-alias' || k === 'stale-tlb'),
    owners: o.find.includes('duplicate-asid'),
    epochRanks: o.epochRanks ?? true,
  });
  const obs = new FindingRecorder(o.system.smmus.length, new Set(o.find));
  const kinds = new Set(o.kinds);
  const root = createSystem(o.system, o.parts);
  const t0 = Date.now();
  const overTime = () => o.timeLimitMs !== undefined && Date.now() - t0 >= o.timeLimitMs;
  const tooOld = (m: SystemModel) => o.generations !== undefined && m.cpu.alloc.generation > o.generations;
  return { canon, obs, kinds, root, t0, overTime, tooOld };
}

function bfs(o: SearchOptions): SearchResult {
  const { canon, obs, kinds, root, t0, overTime, tooOld } = setup(o);
  const visited = new FingerprintSet();
  const fp = new Uint32Array(2);
  canon.fingerprint(root, fp);
  visited.add(fp[0]!, fp[1]!);
  const parent = new IntList();
  const via = new IntList();
  const table: Action[] = [];
  const interned = new Map<string, number>();
  parent.push(-1);
  via.push(-1);
  const intern = (a: Action) => {
    const key = JSON.stringify(a);
    let id = interned.get(key);
    if (id === undefined) {
      id = table.length;
      table.push(a);
      interned.set(key, id);
    }
    return id;
  };
  const path = (node: number): Action[] => {
    const out: Action[] = [];
    for (let x = node; x > 0; x = parent.a[x]!) out.push(table[via.a[x]!]!);
    return out.reverse();
  };
  // The model of a node is rebuilt from its parent's, which is cached per depth: a level lists the
  // children of one parent together, so siblings cost one clone and one action each.
  const depthOf = new IntList();
  depthOf.push(0);
  const cacheNode: number[] = [0];
  const cacheModel: SystemModel[] = [root];
  const rebuild = (node: number): SystemModel => {
    const d = depthOf.a[node]!;
    if (cacheNode[d] === node) return cacheModel[d]!;
    const a = table[via.a[node]!]!;
    const m = fastClone(rebuild(parent.a[node]!), a);
    apply(m, a, 1, obs);
    obs.reset();
    cacheNode[d] = node;
    cacheModel[d] = m;
    return m;
  };
  let edges = 0;
  let level: number[] = [0];
  let depth = 0;
  let lastProgress = Date.now();
  let shardLevel: number | undefined;
  const result = (stop: StopReason, extra: Partial<SearchResult> = {}): SearchResult => ({
    stop,
    events: [],
    steps: 0,
    states: visited.size,
    edges,
    depth,
    elapsedMs: Date.now() - t0,
    bytesPerState: (visited.bytes + parent.a.byteLength + via.a.byteLength + depthOf.a.byteLength) / Math.max(1, visited.size),
    walks: 0,
    ...(shardLevel !== undefined ? { shardLevel } : {}),
    ...extra,
  });
  while (level.length > 0 && depth < o.depth) {
    if (o.shard && shardLevel === undefined && o.shard[1] > 1 && level.length >= 8 * o.shard[1]) {
      const [i, n] = o.shard;
      level = level.filter((_, j) => j % n === i - 1);
      shardLevel = depth;
    }
    const next: number[] = [];
    for (let li = 0; li < level.length; li++) {
      const node = level[li]!;
      const m = rebuild(node);
      const rowBase = 1;
      for (const a of actions(m, kinds, o.bounds)) {
        const c = fastClone(m, a);
        obs.reset();
        if (!apply(c, a, rowBase, obs)) continue;
        edges++;
        if (obs.found.length > 0) {
          const p = [...path(node), a];
          return result('found', { finding: obs.found[0], events: p.flat(), steps: p.length, depth: depth + 1 });
        }
        canon.fingerprint(c, fp);
        if (!visited.add(fp[0]!, fp[1]!)) continue;
        if (isProbe(a, c, kinds)) continue; // checked, not expanded
        const id = parent.push(node);
        via.push(intern(a));
        depthOf.push(depth + 1);
        if (!tooOld(c)) next.push(id);
        if (visited.size >= o.maxStates) return result('max-states');
      }
      if ((li & 63) === 0) {
        if (overTime()) return result('time-limit');
        if (o.onProgress && Date.now() - lastProgress >= 500) {
          lastProgress = Date.now();
          o.onProgress({ states: visited.size, edges, depth, queue: level.length - li + next.length, elapsedMs: lastProgress - t0 });
        }
      }
    }
    level = next;
    depth++;
  }
  return result(level.length === 0 ? 'exhausted' : 'depth');
}

/** Seed of walk `w` from `seed` (splitmix-like mixing, 31 bits). */
function walkSeed(seed: number, w: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(w + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x27d4eb2f);
  return (h ^ (h >>> 15)) & 0x7fffffff;
}

/** Class of an action for swarm weights: schedule on each CPU, then one class per first event kind. */
function actionClass(a: Action, m: SystemModel, ncpu: number): number {
  const sch = a.find((e) => e.kind === 'schedule');
  if (sch) {
    if (sch.task === 0) return ncpu * 3;
    if (a[0]!.kind !== 'fork') return sch.cpu! * 3;
    return sch.cpu! * 3 + (m.cpu.labels.has(a[0]!.mm!) ? 2 : 1);
  }
  return ncpu * 3 + 1 + ALPHABET_KINDS.indexOf(a[a.length - 1]!.kind as (typeof ALPHABET_KINDS)[number]);
}

/**
 * Swarm random walks: every walk draws its own weight for each action class (switching on each
 * CPU, new tasks, pins, unpins, exits, ...): a class is frequent or rare (1 or 1/20), so some walks
 * keep a CPU on one task for long stretches, the situation uniform random walks almost never
 * produce (Groce et al., "Swarm testing", ISSTA 2012).
 */
function randomWalks(o: SearchOptions): SearchResult {
  const { canon, obs, kinds, root, t0, overTime, tooOld } = setup(o);
  const visited = new FingerprintSet();
  const fp = new Uint32Array(2);
  canon.fingerprint(root, fp);
  visited.add(fp[0]!, fp[1]!);
  let edges = 0;
  let walks = 0;
  let longest = 0;
  let lastProgress = Date.now();
  const [si, sn] = o.shard ?? [1, 1];
  const ncpu = o.system.cpus;
  const classes = ncpu * 3 + 2 + ALPHABET_KINDS.length;
  const result = (stop: StopReason, extra: Partial<SearchResult> = {}): SearchResult => ({
    stop,
    events: [],
    steps: 0,
    states: visited.size,
    edges,
    depth: longest,
    elapsedMs: Date.now() - t0,
    bytesPerState: visited.bytes / Math.max(1, visited.size),
    walks,
    ...extra,
  });
  const weights = new Float64Array(classes);
  for (let w = 0; walks < o.walks; w++) {
    if (w % sn !== si - 1) continue;
    walks++;
    const rng = new Rng(walkSeed(o.seed, w));
    for (let k = 0; k < classes; k++) weights[k] = rng.chance(0.5) ? 1 : 0.05;
    let m = fastClone(root);
    const taken: Action[] = [];
    let row = 1;
    for (let d = 0; d < o.depth; d++) {
      const options = actions(m, kinds, o.bounds);
      const wts = options.map((a) => weights[actionClass(a, m, ncpu)]!);
      let moved = false;
      while (options.length > 0) {
        let total = 0;
        for (const x of wts) total += x;
        let r = (rng.int(0, 999_999) / 1_000_000) * total;
        let i = 0;
        while (i < options.length - 1 && r >= wts[i]!) r -= wts[i++]!;
        const a = options[i]!;
        const c = fastClone(m, a);
        obs.reset();
        if (!apply(c, a, row, obs)) {
          options.splice(i, 1);
          wts.splice(i, 1);
          continue;
        }
        edges++;
        taken.push(a);
        row += a.length;
        if (obs.found.length > 0)
          return result('found', { finding: obs.found[0], events: taken.flat(), steps: taken.length, depth: taken.length });
        canon.fingerprint(c, fp);
        visited.add(fp[0]!, fp[1]!);
        m = c;
        moved = true;
        break;
      }
      if (!moved || tooOld(m)) break;
      if (visited.size >= o.maxStates) return result('max-states');
    }
    longest = Math.max(longest, taken.length);
    if ((walks & 3) === 0) {
      if (overTime()) return result('time-limit');
      if (o.onProgress && Date.now() - lastProgress >= 500) {
        lastProgress = Date.now();
        o.onProgress({ states: visited.size, edges, depth: longest, queue: o.walks - walks, elapsedMs: lastProgress - t0 });
      }
    }
  }
  return result('walks');
}
