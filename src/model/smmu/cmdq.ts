/**
 * The SMMU command queue as data: the driver's parts issue commands (opcode and the fields
 * `arm_smmu_cmdq_build_cmd` encodes) to the queue of one SMMU, in batches as
 * `arm_smmu_cmdq_batch_add` / `arm_smmu_cmdq_batch_submit` build them, each sent with
 * `arm_smmu_cmdq_issue_cmdlist` (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c, v5.9 to v6.6 and on:
 * batches of `CMDQ_BATCH_ENTRIES` = BITS_PER_LONG). A CMD_SYNC makes the consumer
 * (cmdq-consume.ts) decode every command queued before it by opcode and apply it; the counters of
 * `SmmuCounters` come from here (commands and cmdlists as they are issued) and from the consumer
 * (TLBI, ATC_INV, CFGI_CD and syncs as they are decoded).
 *
 * The queue is state (`SmmuInstance.cmdq`): a flat array of numbers, {@link CMD_STRIDE} per
 * record, so it clones with `slice` and hashes as plain data. A record is one command, or a run of
 * `count` identical-but-for-the-address per-page TLBI_NH_VA commands (`__arm_smmu_tlb_inv_range`
 * without RANGE_INV: one command per 4 KiB granule, `addr` stepping by a page): an `iommu_unmap` of
 * 2^32 pages queues one record, and its decode walks the cached entries, not the pages. Every
 * modelled issuer ends with a CMD_SYNC in the same step, so the queue is empty between events; a
 * part that issues without one ({@link cmdqIssueCmd}) leaves its commands queued, unapplied, until
 * the next sync on that SMMU.
 *
 * Not modelled: `ARM_SMMU_OPT_CMDQ_FORCE_SYNC` (an erratum option that syncs every 63 commands), the
 * EL2 opcodes of `ARM_SMMU_FEAT_E2H` (CMDQ_OP_TLBI_EL2_ASID/_VA), queue space and wrap.
 */
import type { Ctx } from './port.js';
import { cmdqConsume } from './cmdq-consume.js';
import { CMDQ_OP_CMD_SYNC, opcodeName } from './cmdq-ent.js';

export * from './cmdq-ent.js';

/** `CMDQ_BATCH_ENTRIES` (BITS_PER_LONG): commands per `arm_smmu_cmdq_issue_cmdlist` of a batch. */
export const CMDQ_BATCH_ENTRIES = 64;

/**
 * `struct arm_smmu_cmdq_batch`: the commands gathered by one issuing call, on the kernel stack (not
 * model state). Its commands are in the SMMU's queue as soon as they are added (nothing consumes
 * them before a CMD_SYNC, so that is the same as the kernel's copy at each cmdlist); `num` counts
 * them since the last cmdlist, for the cmdlist boundaries.
 */
export interface CmdqBatch {
  readonly smmu: number;
  num: number;
}

/** An empty batch for SMMU `smmu` (`cmds.num = 0`). */
export const cmdqBatch = (smmu: number): CmdqBatch => ({ smmu, num: 0 });

/**
 * `arm_smmu_cmdq_batch_add`, `count` times for a run: the command (opcode `op`, fields f0..f7 as
 * {@link CMD_STRIDE} lays them out) goes to the queue, counted by opcode; each add that finds the
 * batch full (`cmds->num == CMDQ_BATCH_ENTRIES`) first issues it as a cmdlist without a sync. For a
 * run of k adds onto `num` queued: floor((num + k - 1) / 64) such cmdlists, in O(1).
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
  c.st.smmus[b.smmu]!.cmdq.push(op, count, f0, f1, f2, f3, f4, f5, f6, f7);
  const n = c.obs.smmuCounters[b.smmu]!;
  n.commands[opcodeName(op)] += count;
  const total = b.num + count;
  const full = Math.floor((total - 1) / CMDQ_BATCH_ENTRIES);
  n.cmdlists += full;
  b.num = total - full * CMDQ_BATCH_ENTRIES;
}

/**
 * `arm_smmu_cmdq_issue_cmdlist(smmu, cmds, n, sync)` for the batch's last `b.num` commands (already
 * queued): one cmdlist; with `sync`, a CMD_SYNC after them, at which the SMMU completes every
 * command before it (the consumer applies them) and the caller's wait ends.
 */
export function cmdqIssueCmdlist(c: Ctx, b: CmdqBatch, sync: boolean): void {
  c.obs.smmuCounters[b.smmu]!.cmdlists++;
  b.num = 0;
  if (!sync) return;
  c.st.smmus[b.smmu]!.cmdq.push(CMDQ_OP_CMD_SYNC, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  c.obs.smmuCounters[b.smmu]!.commands.CMD_SYNC++;
  cmdqConsume(c, b.smmu);
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
