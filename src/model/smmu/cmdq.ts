/**
 * The SMMU command queue as data: the driver's parts build commands (opcode and the fields
 * `arm_smmu_cmdq_build_cmd` encodes) into a batch as `arm_smmu_cmdq_batch_add` does and send them to
 * one SMMU as `arm_smmu_cmdq_batch_submit` / `arm_smmu_cmdq_issue_cmdlist` do
 * (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c, v5.9 to v6.6 and on: batches of
 * `CMDQ_BATCH_ENTRIES` = BITS_PER_LONG). A CMD_SYNC makes the consumer (cmdq-consume.ts) decode
 * every command sent before it by opcode and apply it; the counters of `SmmuCounters` come from here
 * (commands and cmdlists as they are issued) and from the consumer (TLBI, ATC_INV, CFGI_CD and syncs
 * as they are decoded).
 *
 * Commands are records of {@link CMD_STRIDE} numbers in a flat array: in the batch (the kernel's
 * stack buffer, not state) while it is built, in the SMMU's queue (`SmmuInstance.cmdq`, state: it
 * clones with `slice` and hashes as plain data) once a cmdlist went out without a sync. A record is
 * one command, or a run of `count` identical-but-for-the-address per-page TLBI_NH_VA commands
 * (`__arm_smmu_tlb_inv_range` without RANGE_INV: one command per 4 KiB granule, `addr` stepping by a
 * page): an `iommu_unmap` of 2^32 pages is one record, issued in O(1), and its decode walks the
 * cached entries, not the pages. Every modelled issuer submits with a CMD_SYNC in the same step, so
 * the queue is empty between events; a part that issues without one ({@link cmdqIssueCmd}, or a
 * batch's full cmdlists before its submit) leaves its commands queued, unapplied, until the next
 * sync on that SMMU.
 *
 * Not modelled: `ARM_SMMU_OPT_CMDQ_FORCE_SYNC` (an erratum option that syncs every 63 commands), the
 * EL2 opcodes of `ARM_SMMU_FEAT_E2H` (CMDQ_OP_TLBI_EL2_ASID/_VA), queue space and wrap.
 */
import type { Ctx } from './port.js';
import { cmdqConsume } from './cmdq-consume.js';
import {
  CMDQ_OP_ATC_INV,
  CMDQ_OP_CFGI_CD,
  CMDQ_OP_CFGI_STE,
  CMDQ_OP_TLBI_NH_ASID,
  CMDQ_OP_TLBI_NH_VA,
  CMD_STRIDE,
  opcodeName,
} from './cmdq-ent.js';
import type { SmmuCounters } from './observer.js';

export * from './cmdq-ent.js';

/** `CMDQ_BATCH_ENTRIES` (BITS_PER_LONG): commands per `arm_smmu_cmdq_issue_cmdlist` of a batch. */
export const CMDQ_BATCH_ENTRIES = 64;

/**
 * `struct arm_smmu_cmdq_batch`: the commands gathered by one issuing call, on the kernel stack (not
 * model state): `cmds` holds `len` numbers of records ({@link CMD_STRIDE} each) not yet handed to the
 * SMMU's queue, `num` counts the commands since the last cmdlist (for the cmdlist boundaries).
 */
export interface CmdqBatch {
  readonly smmu: number;
  num: number;
  readonly cmds: number[];
  len: number;
}

/** An empty batch for SMMU `smmu` (`cmds.num = 0`). */
export const cmdqBatch = (smmu: number): CmdqBatch => ({ smmu, num: 0, cmds: [], len: 0 });

const scratch: { smmu: number; num: number; cmds: number[]; len: number } = { smmu: 0, num: 0, cmds: [], len: 0 };

/**
 * The one batch the model's issuers use, emptied for SMMU `smmu`: an issuer fills and submits it
 * before it returns and none calls another meanwhile, so one object and one buffer serve them all
 * (no allocation on the hot path). Use {@link cmdqBatch} for a batch that must outlive the call.
 */
export function cmdqScratchBatch(smmu: number): CmdqBatch {
  scratch.smmu = smmu;
  scratch.num = 0;
  scratch.len = 0;
  return scratch;
}

/** Count `count` commands of opcode `op` (a switch of named stores: this is on every issue). */
function countCommands(k: SmmuCounters['commands'], op: number, count: number): void {
  switch (op) {
    case CMDQ_OP_TLBI_NH_VA:
      k.CMD_TLBI_NH_VA += count;
      break;
    case CMDQ_OP_TLBI_NH_ASID:
      k.CMD_TLBI_NH_ASID += count;
      break;
    case CMDQ_OP_CFGI_CD:
      k.CMD_CFGI_CD += count;
      break;
    case CMDQ_OP_CFGI_STE:
      k.CMD_CFGI_STE += count;
      break;
    case CMDQ_OP_ATC_INV:
      k.CMD_ATC_INV += count;
      break;
    default:
      k[opcodeName(op)] += count;
  }
}

/** Hand the batch's records to the SMMU's queue (state): a cmdlist went out without a sync. */
function toQueue(c: Ctx, b: CmdqBatch): void {
  const q = c.st.smmus[b.smmu]!.cmdq;
  for (let k = 0; k < b.len; k++) q.push(b.cmds[k]!);
  b.len = 0;
}

/**
 * `arm_smmu_cmdq_batch_add`, `count` times for a run: the command (opcode `op`, fields f0..f7 as
 * {@link CMD_STRIDE} lays them out) is added to the batch, counted by opcode; each add that finds the
 * batch full (`cmds->num == CMDQ_BATCH_ENTRIES`) first issues it as a cmdlist without a sync (the
 * batch's records go to the SMMU's queue). For a run of k adds onto `num`: floor((num + k - 1) / 64)
 * such cmdlists, in O(1).
 */
export function cmdqBatchAdd(
  c: Ctx,
  b: CmdqBatch,
  op: number,
  count: number,
  f0 = 0,
  f1 = 0,
  f2 = 0,
  f3 = 0,
  f4 = 0,
  f5 = 0,
  f6 = 0,
  f7 = 0,
): void {
  if (count <= 0) return;
  const n = c.obs.smmuCounters[b.smmu]!;
  countCommands(n.commands, op, count);
  const total = b.num + count;
  const full = total > CMDQ_BATCH_ENTRIES ? Math.floor((total - 1) / CMDQ_BATCH_ENTRIES) : 0;
  if (full > 0) {
    // The commands before this add went out; a run's own record stays with the batch until its
    // submit even where part of it went out too (nothing is consumed before the sync either way).
    n.cmdlists += full;
    toQueue(c, b);
  }
  b.num = total - full * CMDQ_BATCH_ENTRIES;
  const x = b.cmds;
  const k = b.len;
  x[k] = op;
  x[k + 1] = count;
  x[k + 2] = f0;
  x[k + 3] = f1;
  x[k + 4] = f2;
  x[k + 5] = f3;
  x[k + 6] = f4;
  x[k + 7] = f5;
  x[k + 8] = f6;
  x[k + 9] = f7;
  b.len = k + CMD_STRIDE;
}

/**
 * `arm_smmu_cmdq_issue_cmdlist(smmu, cmds, n, sync)` for the batch's last `b.num` commands: one
 * cmdlist; with `sync`, a CMD_SYNC after them, at which the SMMU completes every command queued
 * before it (the consumer applies those of the queue, then the batch's) and the caller's wait ends.
 * The CMD_SYNC is counted but not stored: it is consumed as it is issued. Without `sync` the
 * batch's records stay in the SMMU's queue (state), unapplied.
 */
export function cmdqIssueCmdlist(c: Ctx, b: CmdqBatch, sync: boolean): void {
  const n = c.obs.smmuCounters[b.smmu]!;
  n.cmdlists++;
  b.num = 0;
  if (!sync) {
    toQueue(c, b);
    return;
  }
  n.commands.CMD_SYNC++;
  const q = c.st.smmus[b.smmu]!.cmdq;
  if (q.length > 0) {
    toQueue(c, b);
    cmdqConsume(c, b.smmu, q, q.length);
    q.length = 0;
  } else cmdqConsume(c, b.smmu, b.cmds, b.len);
  b.len = 0;
}

/** `arm_smmu_cmdq_batch_submit`: the rest of the batch (none: a lone CMD_SYNC) with a CMD_SYNC. */
export const cmdqBatchSubmit = (c: Ctx, b: CmdqBatch): void => cmdqIssueCmdlist(c, b, true);

/**
 * `arm_smmu_cmdq_issue_cmd` (no sync: as `arm_smmu_page_response` sends CMD_RESUME): one command as
 * its own cmdlist. It stays queued, unapplied, until a later CMD_SYNC on the same SMMU.
 */
export function cmdqIssueCmd(c: Ctx, smmu: number, op: number, f0 = 0, f1 = 0, f2 = 0, f3 = 0, f4 = 0, f5 = 0, f6 = 0, f7 = 0): void {
  const b = cmdqBatch(smmu);
  cmdqBatchAdd(c, b, op, 1, f0, f1, f2, f3, f4, f5, f6, f7);
  cmdqIssueCmdlist(c, b, false);
}
