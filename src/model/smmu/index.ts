/**
 * The SMMUv3 / SVA model: its state, its steps and what it reports.
 * The rest of the system uses only what this file exports.
 */
export { type SmmuModelState, cloneSmmuModel, createSmmuModel } from './state.js';
export type { CpuPort, Ctx, SharedCdAsid, SmmuParts, TlbInvRangeHow } from './port.js';
export { SMMU_PARTS } from './parts.js';
export { attach, detach, iommuMap, iommuUnmap } from './domains.js';
export { bind, unbind } from './sva.js';
export { resume } from './share-asid.js';
export { type CpuFlush, type NotifierCall, invalidateSecondaryTlbs, mmRelease } from './notifier.js';
export { dma } from './dma.js';
export {
  type DeviceFailure,
  type Errno,
  type SmmuCounters,
  type SmmuObserver,
  type StaleFinding,
  type StaleKind,
  type SvaCounters,
  STALE_KINDS,
  newSmmuCounters,
  newSvaCounters,
} from './observer.js';
export { type SmmuSummary, bindInFlight, iotlbOccupancy, summarizeSmmu } from './summary.js';
