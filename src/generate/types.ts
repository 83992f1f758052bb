/** What every workload generator shares: the options and the event it emits. */
import type { TraceEvent } from '../trace/events.js';

export type GenEvent = Omit<TraceEvent, 'row'>;

export interface GenOptions {
  /** Number of events to emit. */
  events: number;
  seed: number;
  cpus: number;
  asidBits: number;
  kpti: boolean;
  /** Live user tasks the workload keeps around (default: 4 per CPU). */
  tasks?: number;
  /** Probability (0..1) that a step forks a new short-lived process (kernel-build), default per profile. */
  forkRate?: number;
}
