/**
 * `explore` as a library: pick the strategy, run the search, and turn a counterexample into a
 * short trace (random-walk counterexamples are shrunk with ddmin; names are made dense).
 */
import type { TraceEvent } from '../trace/events.js';
import { createSystem, step } from '../model/system.js';
import { FindingRecorder } from '../shrink/recorder.js';
import { rename, shrink } from '../shrink/ddmin.js';
import { type SearchOptions, type SearchProgress, type SearchResult, search } from './search.js';

/** Search strategies: `auto` is breadth-first up to `bfsStates` states, then swarm random walks. */
export const STRATEGIES = ['auto', 'bfs', 'random'] as const;
export type Strategy = (typeof STRATEGIES)[number];

/** Options of {@link explore}. */
export interface ExploreOptions extends Omit<SearchOptions, 'strategy' | 'onProgress'> {
  strategy: Strategy;
  /** `auto`: distinct states the breadth-first phase may visit before the random walks start. */
  bfsStates: number;
  onProgress?: (p: SearchProgress & { phase: 'bfs' | 'random' | 'shrink' }) => void;
}

/** What {@link explore} found. */
export interface ExploreOutcome {
  /** The phases run, in order, with their figures. */
  phases: { strategy: 'bfs' | 'random'; result: SearchResult }[];
  /** The counterexample (rows 1..n), shrunk when it came from a random walk; empty if none. */
  events: TraceEvent[];
  /** Events of the counterexample before shrinking. */
  rawEvents: number;
  /** The finding (of the shrunk trace's kind). */
  finding?: SearchResult['finding'];
  /** Whether the bounds were exhausted (no counterexample exists within them). */
  exhausted: boolean;
}

/** Run the search `o` describes. */
export function explore(o: ExploreOptions): ExploreOutcome {
  const phases: ExploreOutcome['phases'] = [];
  const t0 = Date.now();
  const run = (strategy: 'bfs' | 'random', extra: Partial<SearchOptions> = {}) => {
    const r = search({ ...o, strategy, onProgress: o.onProgress && ((p) => o.onProgress!({ ...p, phase: strategy })), ...extra });
    phases.push({ strategy, result: r });
    return r;
  };
  let r: SearchResult;
  if (o.strategy === 'bfs') r = run('bfs');
  else if (o.strategy === 'random') r = run('random');
  else {
    r = run('bfs', { maxStates: Math.min(o.maxStates, o.bfsStates) });
    const left = o.timeLimitMs === undefined ? undefined : o.timeLimitMs - (Date.now() - t0);
    if (r.stop !== 'found' && r.stop !== 'exhausted' && (left === undefined || left > 0)) r = run('random', { timeLimitMs: left });
  }
  const exhausted = phases.some((p) => p.strategy === 'bfs' && p.result.stop === 'exhausted');
  if (r.stop !== 'found' || !r.finding) return { phases, events: [], rawEvents: 0, exhausted };
  const kind = r.finding.kind;
  let events: TraceEvent[] = r.events.map((e, i) => ({ ...e, row: i + 1 }));
  const raw = events.length;
  if (phases[phases.length - 1]!.strategy === 'random') {
    events = shrink(o.system, events, kind, {
      parts: o.parts,
      onProgress:
        o.onProgress &&
        ((p) => o.onProgress!({ states: p.tests, edges: p.tests, depth: p.events, queue: 0, elapsedMs: Date.now() - t0, phase: 'shrink' })),
    });
  } else {
    events = rename(events).map((e, i) => ({ ...e, row: i + 1 }));
  }
  // The finding as the final trace shows it (its names and rows).
  const obs = new FindingRecorder(o.system.smmus.length, new Set([kind]));
  const m = createSystem(o.system, o.parts);
  for (const e of events) if (obs.found.length === 0) step(m, e, obs);
  return { phases, events, rawEvents: raw, finding: obs.found[0] ?? r.finding, exhausted };
}
