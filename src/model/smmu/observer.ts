import type { CpuViolation } from '../findings.js';

/**
 * What the SMMU/SVA model reports while it runs: per-SMMU counters, stale-entry findings
 * (docs/model.md) and failed driver calls. Observations are not model state.
 */

export { STALE_KINDS, type StaleKind } from '../findings.js';
import type { StaleKind } from '../findings.js';

/** One stale IOTLB/ATC entry, found at a DMA hit or by a latent check after an invalidation point. */
export interface StaleFinding {
  /** Row of the event after which it was found (the `dma`, or the unmap/unbind/free for latent ones). */
  row: number;
  kind: StaleKind;
  cache: 'iotlb' | 'atc';
  /** false: a device access used it; true: found by the latent check, no access used it yet. */
  latent: boolean;
  smmu: string;
  /** Device that made the access (hits) or that filled the entry (latent). */
  device: string;
  /** SSID: the PASID, 0 for DMA without PASID. */
  pasid: number;
  asid: number;
  va: number;
  /** Address space the entry was filled from (`mm P` / `domain D1`). */
  owner: string;
  /** Address space the current context reaches (hits), or null. */
  current: string | null;
  fillRow: number;
  /** Row of the event that should have removed the entry (unmap, move, free, exit), when known. */
  shouldHaveRow: number | null;
  detail: string;
}

/** errno-style outcome of a failed driver call. */
export type Errno = 'ENOSPC' | 'ENOMEM' | 'ENODEV' | 'EINVAL' | 'EOVERFLOW' | 'ESRCH' | 'EOPNOTSUPP' | 'EEXIST' | 'EBUSY' | 'ENXIO';

/** A driver call that failed (reported, never a crash): attach, bind or iommu_map. */
export interface DeviceFailure {
  row: number;
  call: 'attach' | 'bind' | 'map';
  errno: Errno;
  device: string | null;
  smmu: string | null;
  detail: string;
}

/** Command-queue opcodes the model issues (arm-smmu-v3.h names, `CMDQ_OP_*`). */
export const CMD_OPCODES = ['CMD_CFGI_STE', 'CMD_CFGI_CD', 'CMD_TLBI_NH_ASID', 'CMD_TLBI_NH_VA', 'CMD_ATC_INV', 'CMD_SYNC'] as const;
export type CmdOpcode = (typeof CMD_OPCODES)[number];

/** Per-SMMU figures. TLBI counts are commands queued (a per-page loop counts each page). */
export interface SmmuCounters {
  /** Commands issued to the command queue, by opcode. */
  commands: Record<CmdOpcode, number>;
  /** `arm_smmu_cmdq_issue_cmdlist` calls (a batch of N commands is ceil(N / 64) of them). */
  cmdlists: number;
  asidsAllocated: number;
  asidsFreed: number;
  asidsMoved: number;
  attachFailures: number;
  bindFailures: number;
  tlbiAsid: number;
  tlbiVa: number;
  atcInv: number;
  cfgiCd: number;
  syncs: number;
  /** CPU broadcast TLBIs the SMMU snooped (BTM). */
  btmSnoops: number;
  fills: number;
  hits: number;
  misses: number;
  /** DMA served by the device's ATC (ATS masters), before the IOTLB. */
  atcHits: number;
  /** DMA that faulted (no CD, quiet CD, unmapped, no permission). */
  faults: number;
}

export function newSmmuCounters(): SmmuCounters {
  return {
    commands: Object.fromEntries(CMD_OPCODES.map((o) => [o, 0])) as Record<CmdOpcode, number>,
    cmdlists: 0,
    asidsAllocated: 0,
    asidsFreed: 0,
    asidsMoved: 0,
    attachFailures: 0,
    bindFailures: 0,
    tlbiAsid: 0,
    tlbiVa: 0,
    atcInv: 0,
    cfgiCd: 0,
    syncs: 0,
    btmSnoops: 0,
    fills: 0,
    hits: 0,
    misses: 0,
    atcHits: 0,
    faults: 0,
  };
}

export interface SvaCounters {
  binds: number;
  rebinds: number;
  unbinds: number;
  /** `unbind` rows matching a bind that had failed: no driver call (the caller holds no handle). */
  unbindsOfFailedBinds: number;
  releases: number;
  pasidsAllocated: number;
  pasidsFreed: number;
  /** Driver operations started with an `op` label, and the steps run by `resume`. */
  opsStarted: number;
  opSteps: number;
  /** `resume` of an operation that had already completed (it needed fewer steps in this design). */
  idleResumes: number;
}

export function newSvaCounters(): SvaCounters {
  return {
    binds: 0,
    rebinds: 0,
    unbinds: 0,
    unbindsOfFailedBinds: 0,
    releases: 0,
    pasidsAllocated: 0,
    pasidsFreed: 0,
    opsStarted: 0,
    opSteps: 0,
    idleResumes: 0,
  };
}

export interface SmmuObserver {
  /** A driver bug the kernel would WARN about or that breaks the CPU side (rfc-btm-2023's unchecked pin). */
  violation(v: CpuViolation): void;
  /** One per SMMU, in system order. */
  smmuCounters: SmmuCounters[];
  sva: SvaCounters;
  stale(f: StaleFinding): void;
  failure(f: DeviceFailure): void;
}
