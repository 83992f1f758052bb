/**
 * The whole-system model: one state object and one step function over trace v1 events.
 *
 * The CPU side (tasks, mms, ASID allocator, TLBs) lives in `model/cpu`. Device events (attach,
 * detach, bind, unbind, dma, map/unmap of a DMA domain) belong to the SMMUv3/SVA model, which this
 * version does not contain yet: they are rejected with a clear error rather than skipped.
 */
import { createHash } from 'node:crypto';
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
 * A digest of the model state (SHA-1, hex): equal states give equal digests, whatever order Maps
 * were filled in. For state-space search (visited sets) and for comparing runs.
 */
export function digestSystem(m: SystemModel): string {
  const h = createHash('sha1');
  const s = m.cpu;
  const a = s.alloc;
  h.update(JSON.stringify([a.generation, a.nrPinned, a.curIdx, s.nextKey]));
  for (const arr of [a.asidMap, a.pinnedMap ?? new Uint8Array(0), a.active, a.reserved, a.flushPending, s.curTask, s.ttbrMm, s.ttbrAsid, s.ownerKey, s.ownerGen]) {
    h.update(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
  }
  const sorted = <K, V>(mp: Map<K, V>) => [...mp].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
  h.update(JSON.stringify([sorted(s.tasks), sorted(s.labels), sorted(s.zombies)]));
  for (const [k, mm] of sorted(s.mms)) {
    h.update(JSON.stringify([k, mm.label, mm.ctx, mm.pinned, mm.users, mm.pinnedAsid, mm.refusedPins, mm.asidChanges, [...mm.unmapped].sort((x, y) => x - y)]));
  }
  s.tlb.cpus.forEach((tlb, c) => {
    for (const [asid, byMm] of sorted(tlb)) for (const [mm, pages] of sorted(byMm)) h.update(JSON.stringify([c, asid, mm, sorted(pages)]));
  });
  return h.digest('hex');
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
