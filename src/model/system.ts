/**
 * The whole-system model: one state object and one step function over trace v1 events.
 *
 * The CPU side (tasks, mms, ASID allocator, TLBs) lives in `model/cpu`. Device events (attach,
 * detach, bind, unbind, dma, map/unmap of a DMA domain) belong to the SMMUv3/SVA model, which this
 * version does not contain yet: they are rejected with a clear error rather than skipped.
 */
import { type AllocatorParams, resolveParams } from './cpu/allocator.js';
import {
  type CpuModelState,
  type CpuObserver,
  access,
  cloneCpuModel,
  createCpuModel,
  exec,
  exit,
  fork,
  mapMm,
  pin,
  schedule,
  unmapMm,
  unpin,
} from './cpu/cpu-model.js';
import type { TraceEvent } from '../trace/events.js';
import { EventError } from '../trace/errors.js';
import type { SystemConfig } from '../trace/system.js';

export interface SystemModel {
  readonly config: SystemConfig;
  readonly params: AllocatorParams;
  cpu: CpuModelState;
}

export type SystemObserver = CpuObserver;

export function createSystem(config: SystemConfig): SystemModel {
  const params = resolveParams({
    cpus: config.cpus,
    asidBits: config.asidBits,
    kpti: config.kpti,
    variant: config.allocator,
    maxPinnedOverride: config.maxPinnedAsids,
  });
  return { config, params, cpu: createCpuModel(params) };
}

/** A deep copy sharing nothing mutable with `m` (for state-space search). */
export function cloneSystem(m: SystemModel): SystemModel {
  return { config: m.config, params: m.params, cpu: cloneCpuModel(m.cpu) };
}

/**
 * Apply one event. Deterministic in (state, event).
 * @throws EventError when the event is impossible in the current state (names the column at fault).
 */
export function step(m: SystemModel, e: TraceEvent, obs: SystemObserver): void {
  const s = m.cpu;
  const p = m.params;
  switch (e.kind) {
    case 'schedule':
      return schedule(p, s, e.cpu!, e.task!, e.row, obs);
    case 'fork':
      return fork(s, e.task!, e.mm, e.row);
    case 'exec':
      return exec(p, s, e.task!, e.mm, e.row, obs);
    case 'exit':
      return exit(s, e.task!, e.row, obs);
    case 'pin':
      return pin(p, s, e.mm!, e.row, obs);
    case 'unpin':
      return unpin(p, s, e.mm!, e.row, obs);
    case 'access':
      return access(p, s, e.cpu!, e.va!, e.row, obs);
    case 'map':
      if (e.mm !== undefined) return mapMm(s, e.mm, e.va!, e.size!, e.row);
      break;
    case 'unmap':
      if (e.mm !== undefined) return unmapMm(s, e.mm, e.va!, e.size!, e.row, obs);
      break;
  }
  throw new EventError(
    `event ${e.kind}${e.domain !== undefined ? ' on a DMA domain' : ''} needs the SMMUv3/SVA model, which this version of asid-replay does not implement yet`,
    e.row,
    'event',
  );
}
