/**
 * The SMMU command queue (src/model/smmu/cmdq.ts, cmdq-consume.ts, the issuers of iotlb.ts), against
 * drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c and arm-smmu-v3.h (v6.6):
 *
 * - `arm_smmu_cmdq_batch_add()`: `if (cmds->num == CMDQ_BATCH_ENTRIES) { arm_smmu_cmdq_issue_cmdlist(
 *   smmu, cmds->cmds, cmds->num, false); cmds->num = 0; }` before each add; `arm_smmu_cmdq_batch_submit()`
 *   issues the rest with `sync = true`. CMDQ_BATCH_ENTRIES = BITS_PER_LONG = 64.
 * - `__arm_smmu_tlb_inv_range()` with ARM_SMMU_FEAT_RANGE_INV: `tg = __ffs(pgsize_bitmap)`,
 *   `cmd->tlbi.tg = (tg - 10) / 2`, leaf: `ttl = 4 - ((ilog2(granule) - 3) / (tg - 3))`, non-leaf
 *   (eb6c97647be2, v6.6): `else if ((num_pages & CMDQ_TLBI_RANGE_NUM_MAX) == 1) num_pages++;`; per
 *   command `scale = __ffs(num_pages); num = (num_pages >> scale) & CMDQ_TLBI_RANGE_NUM_MAX;
 *   cmd->tlbi.num = num - 1; inv_range = num << (scale + tg); num_pages -= num << scale;` with
 *   `cmd->tlbi.addr = iova` while `iova < end`. CMDQ_TLBI_0_NUM GENMASK(16, 12), SCALE GENMASK(24, 20),
 *   CMDQ_TLBI_1_TTL GENMASK(9, 8), TG GENMASK(11, 10).
 * - `arm_smmu_atc_inv_to_cmd()`: `substream_valid = (ssid != IOMMU_NO_PASID)`; size 0 ->
 *   `ATC_INV_SIZE_ALL` (52); else `log2_span = fls_long(page_start ^ page_end)`, `page_start &=
 *   ~span_mask`: "To invalidate pages [7; 10], we need to invalidate [0; 15]".
 * - `arm_smmu_sync_cd()` / `arm_smmu_sync_ste_for_sid()`: one CFGI per StreamID, leaf.
 * - SMMUv3 architecture (IHI 0070): a range TLBI invalidates (NUM + 1) * 2^SCALE pages of the
 *   granule TG from the address (QEMU `smmuv3_range_inval`); invalidations complete at the CMD_SYNC
 *   after them. PCIe ATS: an invalidation without PASID prefix hits every PASID's entries in range.
 */
import { describe, expect, it } from 'vitest';
import { createSystem } from '../src/model/system.js';
import { ReportCollector } from '../src/report/report.js';
import { resolveSystem } from '../src/trace/system.js';
import type { CpuPort, Ctx } from '../src/model/smmu/port.js';
import {
  CMDQ_OP_CFGI_STE,
  CMDQ_OP_TLBI_NH_ASID,
  CMDQ_OP_TLBI_NH_VA,
  type CmdqEnt,
  cmdqBatch,
  cmdqBatchAdd,
  cmdqBatchSubmit,
  cmdqEntries,
  cmdqIssueCmd,
  ffs,
  flsXor,
} from '../src/model/smmu/cmdq.js';
import {
  atcInv,
  atcInvCmds,
  cfgiCd,
  cfgiSte,
  iotlbFill,
  iotlbLookup,
  rangeCommands,
  tlbiNhAsid,
  tlbiNhVa,
  tlbiNhVaCmds,
} from '../src/model/smmu/iotlb.js';
import { atcFill, atcLookup } from '../src/model/smmu/atc.js';
import { cloneSmmuModel, type TlbEntry } from '../src/model/smmu/state.js';

const entry = (asid: number, ssid = 0): TlbEntry => ({ as: -1, epoch: 1, prot: 3, asid, shared: false, fillRow: 1, device: 'd', ssid });

/** A model with one SMMU `s` (RANGE_INV or not) and its devices; a Ctx over it for the issuers. */
function setup(rangeInvalidation = false, devices: object[] = [{ name: 'd', smmu: 's', ats: true }]) {
  const cfg = resolveSystem({ smmus: [{ name: 's', asidBits: 16, rangeInvalidation }], devices } as never, {});
  const m = createSystem(cfg);
  const obs = new ReportCollector(1);
  const c: Ctx = { st: m.smmu, cpu: {} as CpuPort, obs, row: 1, parts: m.parts };
  const s = m.smmu.smmus[0]!;
  return { c, s, n: obs.smmuCounters[0]!, dev: (name = 'd') => m.smmu.masters.get(name)! };
}

/** The TLBI_NH_VA commands `tlbiNhVaCmds` queues for `pages` pages from page 0x100, unsubmitted. */
function rangeCmds(pages: number, how = {}): CmdqEnt[] {
  const { c } = setup(true);
  const b = cmdqBatch(0);
  tlbiNhVaCmds(c, b, 1, 0x100, 0x100 + pages - 1, how);
  return cmdqEntries(b.cmds.slice(0, b.len));
}

describe('__arm_smmu_tlb_inv_range with RANGE_INV: NUM and SCALE as the kernel encodes them', () => {
  // [pages, [addr offset, NUM, SCALE] per command]
  it.each([
    [1, [[0, 0, 0]]],
    [2, [[0, 0, 1]]],
    [31, [[0, 30, 0]]],
    [32, [[0, 0, 5]]],
    [
      33,
      [
        [0, 0, 0],
        [1, 0, 5],
      ],
    ],
    [
      63,
      [
        [0, 30, 0],
        [31, 0, 5],
      ],
    ],
    [64, [[0, 0, 6]]],
    [
      65,
      [
        [0, 0, 0],
        [1, 0, 6],
      ],
    ],
    [
      1056,
      [
        [0, 0, 5],
        [32, 0, 10],
      ],
    ],
    [
      1057,
      [
        [0, 0, 0],
        [1, 0, 5],
        [33, 0, 10],
      ],
    ],
  ] as const)('%i pages, leaf: %j (TG 1 = 4 KiB, TTL 3)', (pages, want) => {
    const cmds = rangeCmds(pages);
    expect(cmds.map((x) => [(x.fields.addr! as number) - 0x100, x.fields.num, x.fields.scale])).toEqual(want);
    for (const x of cmds)
      expect(x).toMatchObject({ opcode: 'CMD_TLBI_NH_VA', count: 1, fields: { asid: 1, vmid: 0, tg: 1, ttl: 3, leaf: true } });
    expect(cmds).toHaveLength(rangeCommands(pages));
    // The commands cover exactly the range.
    expect(cmds.reduce((a, x) => a + ((x.fields.num as number) + 1) * 2 ** (x.fields.scale as number), 0)).toBe(pages);
  });

  it.each([
    // eb6c97647be2: a non-leaf count of 1 mod 32 is bumped: 1 -> 2 (SCALE 1), 33 -> 34 (NUM 16, SCALE 1), 65 -> 66
    [1, [[0, 0, 1]]],
    [33, [[0, 16, 1]]],
    [
      65,
      [
        [0, 0, 1],
        [2, 0, 6],
      ],
    ],
    // not 1 mod 32: as for leaf
    [32, [[0, 0, 5]]],
    [34, [[0, 16, 1]]],
  ] as const)('%i pages, non-leaf with the v6.6 bump: %j (TTL 0)', (pages, want) => {
    const cmds = rangeCmds(pages, { leaf: false, nonLeafBump: true });
    expect(cmds.map((x) => [(x.fields.addr! as number) - 0x100, x.fields.num, x.fields.scale])).toEqual(want);
    for (const x of cmds) expect(x.fields).toMatchObject({ tg: 1, ttl: 0, leaf: false });
  });

  it('non-leaf before v6.6 (no bump): 1 page is NUM 0, SCALE 0, TTL 0', () => {
    expect(rangeCmds(1, { leaf: false }).map((x) => x.fields)).toEqual([
      { asid: 1, vmid: 0, addr: 0x100, num: 0, scale: 0, tg: 1, ttl: 0, leaf: false },
    ]);
  });

  it('pgsize_bitmap 0 (v6.11-v6.14 SVA domains): TG 3 (64 KiB), byte-count SCALE, as many commands as the page count has chunks, no bump', () => {
    for (const pages of [1, 33, 1057]) {
      const cmds = rangeCmds(pages, { leaf: false, nonLeafBump: true, tgBug: true });
      expect(cmds).toHaveLength(rangeCommands(pages));
      for (const x of cmds) expect(x.fields).toMatchObject({ tg: 3, ttl: 0 });
      // num_pages is the byte count: scale = __ffs(pages) + 12, NUM as for pages
      expect(cmds.map((x) => [x.fields.num, x.fields.scale])).toEqual(
        rangeCmds(pages).map((x) => [x.fields.num, ((x.fields.scale as number) + 12) & 31]),
      );
    }
  });

  it('without RANGE_INV: one run record of per-page commands (TG 0), whatever the size', () => {
    const { c, s } = setup(false);
    const b = cmdqBatch(0);
    tlbiNhVaCmds(c, b, 7, 0x10, 0x10 + 2 ** 32 - 1);
    expect(s.cmdq).toEqual([]);
    expect(cmdqEntries(b.cmds.slice(0, b.len))).toEqual([
      { opcode: 'CMD_TLBI_NH_VA', count: 2 ** 32, fields: { asid: 7, vmid: 0, addr: 0x10, num: 0, scale: 0, tg: 0, ttl: 0, leaf: true } },
    ]);
  });
});

describe('the consumer decodes CMD_TLBI_NH_VA at the CMD_SYNC', () => {
  const cached = (s: ReturnType<typeof setup>['s'], asid: number, pages: number[]) =>
    pages.filter((p) => iotlbLookup(s, asid, p) !== undefined);

  it.each([1, 31, 32, 33, 64, 65, 1057])('RANGE_INV, %i pages: the range goes, the pages either side and the other ASID stay', (pages) => {
    const { c, s, n } = setup(true);
    const first = 0x100;
    const last = first + pages - 1;
    const probe = [...new Set([first - 1, first, first + 1, last - 1, last, last + 1])];
    for (const p of probe) {
      iotlbFill(s, p, entry(1));
      iotlbFill(s, p, entry(2));
    }
    expect(tlbiNhVa(c, 0, 1, first, last)).toBe(true);
    expect(cached(s, 1, probe)).toEqual([first - 1, last + 1]);
    expect(cached(s, 2, probe)).toEqual(probe);
    expect(n.tlbiVa).toBe(rangeCommands(pages));
    expect(s.cmdq).toEqual([]);
    expect(s.entries).toBe(probe.length + 2);
  });

  it('non-leaf with the bump: 33 pages remove the 34th page too', () => {
    const { c, s } = setup(true);
    for (const p of [0x100, 0x120, 0x121, 0x122]) iotlbFill(s, p, entry(1));
    tlbiNhVa(c, 0, 1, 0x100, 0x120, { leaf: false, nonLeafBump: true });
    expect(cached(s, 1, [0x100, 0x120, 0x121, 0x122])).toEqual([0x122]);
  });

  it('a TG that is not the 4 KiB granule of the entries removes nothing (tgBug falls out of the decode)', () => {
    const { c, s, n } = setup(true);
    for (const p of [0x100, 0x101]) iotlbFill(s, p, entry(1));
    expect(tlbiNhVa(c, 0, 1, 0x100, 0x101, { leaf: false, tgBug: true })).toBe(false);
    expect(cached(s, 1, [0x100, 0x101])).toEqual([0x100, 0x101]);
    expect(n.tlbiVa).toBe(1);
    // Hand-built commands: the same range with TG 2 (16 KiB) and 3 (64 KiB) stays, with TG 1 goes.
    for (const [tg, left] of [
      [2, [0x100, 0x101]],
      [3, [0x100, 0x101]],
      [1, []],
    ] as const) {
      const b = cmdqBatch(0);
      cmdqBatchAdd(c, b, CMDQ_OP_TLBI_NH_VA, 1, 1, 0, 0x100, 1, 0, tg, 3, 1);
      cmdqBatchSubmit(c, b);
      expect(cached(s, 1, [0x100, 0x101])).toEqual(left);
    }
  });

  it('per-page run: 2^32 pages with two cached in it and one after it, O(entries)', () => {
    const { c, s, n } = setup(false);
    for (const p of [0x10, 0x10 + 2 ** 31, 0x10 + 2 ** 32]) iotlbFill(s, p, entry(3));
    const t = performance.now();
    tlbiNhVa(c, 0, 3, 0x10, 0x10 + 2 ** 32 - 1);
    expect(performance.now() - t).toBeLessThan(1000);
    expect(cached(s, 3, [0x10, 0x10 + 2 ** 31, 0x10 + 2 ** 32])).toEqual([0x10 + 2 ** 32]);
    expect({ va: n.tlbiVa, cmd: n.commands.CMD_TLBI_NH_VA, cmdlists: n.cmdlists, syncs: n.syncs }).toEqual({
      va: 2 ** 32,
      cmd: 2 ** 32,
      cmdlists: 2 ** 32 / 64,
      syncs: 1,
    });
  });

  it('one batch of several ranges: each range of each ASID goes, whatever comes between (another ASID, a gap, another opcode)', () => {
    // The consumer merges contiguous TLBI_NH_VA of one ASID (cmdq-consume.ts); every command still takes effect.
    const { c, s } = setup();
    const pages = [0x10, 0x11, 0x18, 0x20, 0x21, 0x30, 0x40]; // 0x18: in the gap between two ranges
    for (const a of [1, 2, 3]) for (const p of pages) iotlbFill(s, p, entry(a));
    const b = cmdqBatch(0);
    tlbiNhVaCmds(c, b, 1, 0x10, 0x11); // ASID 1, a range ...
    tlbiNhVaCmds(c, b, 1, 0x20, 0x20); // ... then a gap: its own range
    tlbiNhVaCmds(c, b, 2, 0x21, 0x21); // another ASID
    tlbiNhVaCmds(c, b, 2, 0x10, 0x10); // back below the pending range of ASID 2
    tlbiNhVaCmds(c, b, 1, 0x30, 0x30); // ASID 1 again, then an opcode that is not a VA TLBI
    cmdqBatchAdd(c, b, CMDQ_OP_TLBI_NH_ASID, 1, 3, 0);
    cmdqBatchSubmit(c, b);
    expect(cached(s, 1, pages)).toEqual([0x18, 0x21, 0x40]);
    expect(cached(s, 2, pages)).toEqual([0x11, 0x18, 0x20, 0x30, 0x40]);
    expect(cached(s, 3, pages)).toEqual([]);
  });

  it('CMD_TLBI_NH_ASID drops every entry of its ASID only', () => {
    const { c, s, n } = setup();
    for (const a of [1, 2]) for (const p of [0, 5, 2 ** 40]) iotlbFill(s, p, entry(a));
    tlbiNhAsid(c, 0, 1);
    expect(cached(s, 1, [0, 5, 2 ** 40])).toEqual([]);
    expect(cached(s, 2, [0, 5, 2 ** 40])).toEqual([0, 5, 2 ** 40]);
    expect({ asid: n.tlbiAsid, cmd: n.commands.CMD_TLBI_NH_ASID, cmdlists: n.cmdlists, syncs: n.syncs, sync: n.commands.CMD_SYNC }).toEqual(
      {
        asid: 1,
        cmd: 1,
        cmdlists: 1,
        syncs: 1,
        sync: 1,
      },
    );
  });
});

describe('CMD_ATC_INV as arm_smmu_atc_inv_to_cmd encodes it, and its decode', () => {
  const atcCmds = (ssid: number, first: number, last: number) => {
    const { c, dev } = setup(false, [{ name: 'd', smmu: 's', ats: true, streamIds: [4, 9] }]);
    const b = cmdqBatch(0);
    atcInvCmds(c, b, dev(), ssid, first, last);
    return cmdqEntries(b.cmds.slice(0, b.len));
  };
  it.each([
    // [ssid, first, last] -> [addr, size, SSV]
    [0, 8, 11, 8, 2, false],
    [0, 7, 10, 0, 4, false],
    [0, 5, 5, 5, 0, false],
    [0, 6, 7, 6, 1, false],
    [0, 7, 8, 0, 4, false],
    [3, 0x100, 0x11f, 0x100, 5, true],
    [3, 0x100, 0x120, 0x100, 6, true],
    [0, 2 ** 32, 2 ** 32 + 1, 2 ** 32, 1, false],
    [0, 2 ** 32 - 1, 2 ** 32, 0, 33, false],
    [5, 0, -1, 0, 52, true],
    [0, 0, -1, 0, 52, false],
  ])('ssid %i, pages [%i, %i]: addr %i, size %i, SSV %s, one per StreamID', (ssid, first, last, addr, size, ssv) => {
    const cmds = atcCmds(ssid, first, last);
    expect(cmds).toEqual(
      [4, 9].map((sid) => ({
        opcode: 'CMD_ATC_INV',
        count: 1,
        fields: { sid, ssid: ssv ? ssid : 0, substreamValid: ssv, global: false, addr, size },
      })),
    );
  });

  it('decode: the aligned span goes ([7, 10] removes pages 0 and 15, not 16); SSV 0 hits every SSID, SSV 1 its own', () => {
    const { c, dev, n } = setup(false, [{ name: 'd', smmu: 's', ats: true }]);
    const m = dev();
    for (const ssid of [0, 2]) for (const p of [0, 7, 15, 16]) atcFill(m, ssid, p, entry(1, ssid));
    atcInv(c, m, 2, 7, 10);
    const left = (ssid: number) => [0, 7, 15, 16].filter((p) => atcLookup(m, ssid, p));
    expect([left(0), left(2)]).toEqual([[0, 7, 15, 16], [16]]);
    atcInv(c, m, 0, 16, 16);
    expect([left(0), left(2)]).toEqual([[0, 7, 15], []]);
    atcInv(c, m, 0, 0, -1);
    expect(left(0)).toEqual([]);
    expect({ atc: n.atcInv, cmd: n.commands.CMD_ATC_INV, syncs: n.syncs }).toEqual({ atc: 3, cmd: 3, syncs: 3 });
  });

  it('a master without ATS gets no ATC_INV; a master without StreamIDs gets the lowest SID no device of its SMMU declares', () => {
    const { c, s, n, dev } = setup(false, [
      { name: 'a', smmu: 's', ats: true, streamIds: [0, 2] },
      { name: 'b', smmu: 's', ats: true },
      { name: 'x', smmu: 's', ats: true },
      { name: 'p', smmu: 's' },
    ]);
    expect(['a', 'b', 'x', 'p'].map((d) => dev(d).streamIds)).toEqual([[0, 2], [1], [3], [4]]);
    atcInv(c, dev('p'), 0, 0, -1);
    expect(n.commands.CMD_ATC_INV).toBe(0);
    // ATC_INV of b's SID leaves x's ATC alone.
    atcFill(dev('b'), 0, 1, entry(1));
    atcFill(dev('x'), 0, 1, entry(1));
    atcInv(c, dev('b'), 0, 1, 1);
    expect([atcLookup(dev('b'), 0, 1), atcLookup(dev('x'), 0, 1)].map(Boolean)).toEqual([false, true]);
    expect(s.cmdq).toEqual([]);
  });
});

describe('CMD_CFGI_CD / CMD_CFGI_STE: one per StreamID, counted when consumed', () => {
  it('fields and counters', () => {
    const { c, s, n, dev } = setup(false, [{ name: 'd', smmu: 's', streamIds: [3, 8] }]);
    const b = cmdqBatch(0);
    cfgiCd(c, dev(), 5);
    cfgiSte(c, dev());
    expect(n).toMatchObject({ cfgiCd: 2, commands: { CMD_CFGI_CD: 2, CMD_CFGI_STE: 2, CMD_SYNC: 2 }, syncs: 2, cmdlists: 2 });
    // The encoding, read before a sync.
    cmdqBatchAdd(c, b, CMDQ_OP_CFGI_STE, 1, 8, 0, 1);
    expect(cmdqEntries(b.cmds.slice(0, b.len))).toEqual([{ opcode: 'CMD_CFGI_STE', count: 1, fields: { sid: 8, leaf: true } }]);
    expect(s.cmdq).toEqual([]);
  });
});

describe('arm_smmu_cmdq_batch: 64 commands per cmdlist, one CMD_SYNC at the submit', () => {
  it.each([
    [0, 1],
    [1, 1],
    [63, 1],
    [64, 1],
    [65, 2],
    [128, 2],
    [129, 3],
  ])('%i commands added one by one: %i cmdlists', (k, cmdlists) => {
    const { c, n } = setup();
    const b = cmdqBatch(0);
    for (let j = 0; j < k; j++) cmdqBatchAdd(c, b, CMDQ_OP_TLBI_NH_ASID, 1, j);
    cmdqBatchSubmit(c, b);
    expect({
      cmdlists: n.cmdlists,
      asid: n.commands.CMD_TLBI_NH_ASID,
      sync: n.commands.CMD_SYNC,
      syncs: n.syncs,
      tlbi: n.tlbiAsid,
    }).toEqual({
      cmdlists,
      asid: k,
      sync: 1,
      syncs: 1,
      tlbi: k,
    });
  });

  it('a run added onto a part-full batch crosses cmdlist boundaries as single adds do', () => {
    for (const [before, run] of [
      [0, 64],
      [0, 65],
      [1, 63],
      [1, 64],
      [63, 2],
      [64, 1],
      [30, 200],
    ] as const) {
      const one = setup();
      const b1 = cmdqBatch(0);
      for (let j = 0; j < before + run; j++) cmdqBatchAdd(one.c, b1, CMDQ_OP_TLBI_NH_VA, 1, 1, 0, j);
      cmdqBatchSubmit(one.c, b1);
      const runs = setup();
      const b2 = cmdqBatch(0);
      for (let j = 0; j < before; j++) cmdqBatchAdd(runs.c, b2, CMDQ_OP_TLBI_NH_VA, 1, 1, 0, j);
      cmdqBatchAdd(runs.c, b2, CMDQ_OP_TLBI_NH_VA, run, 1, 0, before);
      cmdqBatchSubmit(runs.c, b2);
      expect(runs.n.cmdlists, `${before} + ${run}`).toBe(one.n.cmdlists);
      expect(one.n.cmdlists).toBe(Math.ceil((before + run) / 64));
    }
  });
});

describe('a command issued without CMD_SYNC waits in the queue', () => {
  it('arm_smmu_cmdq_issue_cmd: the IOTLB is untouched until the next sync; clones carry the queue', () => {
    const { c, s, n } = setup();
    iotlbFill(s, 9, entry(4));
    cmdqIssueCmd(c, 0, CMDQ_OP_TLBI_NH_ASID, 4);
    expect(iotlbLookup(s, 4, 9)).toBeDefined();
    expect(cmdqEntries(s.cmdq)).toEqual([{ opcode: 'CMD_TLBI_NH_ASID', count: 1, fields: { asid: 4, vmid: 0 } }]);
    expect({ cmd: n.commands.CMD_TLBI_NH_ASID, cmdlists: n.cmdlists, tlbi: n.tlbiAsid, syncs: n.syncs }).toEqual({
      cmd: 1,
      cmdlists: 1,
      tlbi: 0,
      syncs: 0,
    });
    const copy = cloneSmmuModel(c.st);
    expect(copy.smmus[0]!.cmdq).toEqual(s.cmdq);
    expect(copy.smmus[0]!.cmdq).not.toBe(s.cmdq);
    // Any later sync on the SMMU completes it: here an unrelated CFGI_STE's.
    cfgiSte(c, c.st.masters.get('d')!);
    expect(iotlbLookup(s, 4, 9)).toBeUndefined();
    expect({ tlbi: n.tlbiAsid, syncs: n.syncs }).toEqual({ tlbi: 1, syncs: 1 });
    expect(s.cmdq).toEqual([]);
    expect(copy.smmus[0]!.cmdq).toHaveLength(10);
  });

  it('a batch of 65 per-page TLBIs: the first 64 go out without a sync and remove nothing before the submit', () => {
    const { c, s, n } = setup();
    for (let p = 0; p < 65; p++) iotlbFill(s, p, entry(1));
    const b = cmdqBatch(0);
    for (let p = 0; p < 64; p++) cmdqBatchAdd(c, b, CMDQ_OP_TLBI_NH_VA, 1, 1, 0, p);
    expect({ cmdlists: n.cmdlists, queued: s.cmdq.length, batch: b.len / 10 }).toEqual({ cmdlists: 0, queued: 0, batch: 64 });
    cmdqBatchAdd(c, b, CMDQ_OP_TLBI_NH_VA, 1, 1, 0, 64);
    // The 65th add found the batch full: 64 commands went to the queue as a cmdlist without a sync.
    expect({ cmdlists: n.cmdlists, queued: s.cmdq.length / 10, batch: b.len / 10 }).toEqual({ cmdlists: 1, queued: 64, batch: 1 });
    expect(cmdqEntries(s.cmdq).map((x) => x.fields.addr)).toEqual([...Array(64).keys()]);
    expect(s.entries).toBe(65);
    cmdqBatchSubmit(c, b);
    expect({ cmdlists: n.cmdlists, entries: s.entries, va: n.tlbiVa, queued: s.cmdq.length }).toEqual({
      cmdlists: 2,
      entries: 0,
      va: 65,
      queued: 0,
    });
  });
});

describe('bit helpers', () => {
  it('__ffs and fls_long(a ^ b) past 32 bits', () => {
    expect([1, 2, 96, 2 ** 31, 2 ** 32, 3 * 2 ** 40, 2 ** 52].map(ffs)).toEqual([0, 1, 5, 31, 32, 40, 52]);
    expect(
      [
        [8, 11],
        [7, 10],
        [5, 5],
        [0, 2 ** 31],
        [2 ** 32, 2 ** 32 + 1],
        [2 ** 32 - 1, 2 ** 32],
        [0, 2 ** 52],
      ].map(([a, b]) => flsXor(a!, b!)),
    ).toEqual([2, 4, 0, 32, 1, 33, 53]);
  });
});
