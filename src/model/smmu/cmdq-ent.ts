/**
 * Commands of the SMMU command queue as the model stores them (cmdq.ts): the `CMDQ_OP_*` opcodes,
 * the record layout with the fields `arm_smmu_cmdq_build_cmd` encodes
 * (drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c; field widths from arm-smmu-v3.h), a decoder for
 * reading, and the bit helpers the encoders need.
 */
import type { CmdOpcode } from './observer.js';

/** `CMDQ_OP_*` (arm-smmu-v3.h): the opcodes the model issues. */
export const CMDQ_OP_CFGI_STE = 0x3;
export const CMDQ_OP_CFGI_CD = 0x5;
export const CMDQ_OP_TLBI_NH_ASID = 0x11;
export const CMDQ_OP_TLBI_NH_VA = 0x12;
export const CMDQ_OP_ATC_INV = 0x40;
export const CMDQ_OP_CMD_SYNC = 0x46;

/** `ATC_INV_SIZE_ALL`: the ATC_INV size (log2 of 4 KiB pages) that covers the whole address space. */
export const ATC_INV_SIZE_ALL = 52;
/** `CMDQ_TLBI_RANGE_NUM_MAX`: NUM is 5 bits (NUM + 1 = 1 .. 32 chunks of 2^SCALE pages). */
export const CMDQ_TLBI_RANGE_NUM_MAX = 31;

/**
 * Layout of a queue record: `[opcode, count, f0 .. f7]`. `count` is 1 but for a run of per-page
 * TLBI_NH_VA commands. Fields by opcode (names of `struct arm_smmu_cmdq_ent`; addresses as 4 KiB
 * page numbers, i.e. `addr >> 12`, what `CMDQ_TLBI_1_VA_MASK` / `CMDQ_ATC_1_ADDR_MASK` keep):
 *
 * | opcode | f0 | f1 | f2 | f3 | f4 | f5 | f6 | f7 |
 * |---|---|---|---|---|---|---|---|---|
 * | TLBI_NH_ASID | asid | vmid | | | | | | |
 * | TLBI_NH_VA | asid | vmid | addr | NUM | SCALE | TG | TTL | leaf |
 * | ATC_INV | sid | ssid | SSV | global | addr | size | | |
 * | CFGI_CD | sid | ssid | leaf | | | | | |
 * | CFGI_STE | sid | | leaf | | | | | |
 * | CMD_SYNC | | | | | | | | |
 */
export const CMD_STRIDE = 10;

const NAMES = new Map<number, CmdOpcode>([
  [CMDQ_OP_CFGI_STE, 'CMD_CFGI_STE'],
  [CMDQ_OP_CFGI_CD, 'CMD_CFGI_CD'],
  [CMDQ_OP_TLBI_NH_ASID, 'CMD_TLBI_NH_ASID'],
  [CMDQ_OP_TLBI_NH_VA, 'CMD_TLBI_NH_VA'],
  [CMDQ_OP_ATC_INV, 'CMD_ATC_INV'],
  [CMDQ_OP_CMD_SYNC, 'CMD_SYNC'],
]);

/** The name (`CMD_*`, as the counters use) of a `CMDQ_OP_*` opcode. */
export const opcodeName = (op: number): CmdOpcode => NAMES.get(op)!;

/** A queued command, decoded for reading (tests, debugging): the fields its opcode has. */
export interface CmdqEnt {
  readonly opcode: CmdOpcode;
  /** Commands this record stands for (a run of per-page TLBI_NH_VA; otherwise 1). */
  readonly count: number;
  readonly fields: Readonly<Record<string, number | boolean>>;
}

/** The commands queued on an SMMU (`q` is `SmmuInstance.cmdq`), oldest first. */
export function cmdqEntries(q: readonly number[]): CmdqEnt[] {
  const out: CmdqEnt[] = [];
  for (let k = 0; k < q.length; k += CMD_STRIDE) {
    const f = (j: number) => q[k + 2 + j]!;
    const op = q[k]!;
    const fields: Record<string, number | boolean> =
      op === CMDQ_OP_TLBI_NH_ASID
        ? { asid: f(0), vmid: f(1) }
        : op === CMDQ_OP_TLBI_NH_VA
          ? { asid: f(0), vmid: f(1), addr: f(2), num: f(3), scale: f(4), tg: f(5), ttl: f(6), leaf: f(7) === 1 }
          : op === CMDQ_OP_ATC_INV
            ? { sid: f(0), ssid: f(1), substreamValid: f(2) === 1, global: f(3) === 1, addr: f(4), size: f(5) }
            : op === CMDQ_OP_CFGI_CD
              ? { sid: f(0), ssid: f(1), leaf: f(2) === 1 }
              : op === CMDQ_OP_CFGI_STE
                ? { sid: f(0), leaf: f(2) === 1 }
                : {};
    out.push({ opcode: opcodeName(op), count: q[k + 1]!, fields });
  }
  return out;
}

const TWO32 = 2 ** 32;

/** `__ffs(x)`: the index of the lowest set bit of an integer 0 < x < 2^53. */
export function ffs(x: number): number {
  if (x <= 0x7fffffff) return 31 - Math.clz32(x & -x);
  const lo = x % TWO32;
  if (lo !== 0) return 31 - Math.clz32(lo & -lo);
  const hi = Math.floor(x / TWO32);
  return 32 + 31 - Math.clz32(hi & -hi);
}

/** `fls_long(a ^ b)` for integers 0 <= a, b < 2^53: one more than the index of the highest differing bit, 0 when equal. */
export function flsXor(a: number, b: number): number {
  if (a <= 0x7fffffff && b <= 0x7fffffff) return 32 - Math.clz32(a ^ b);
  const hi = (Math.floor(a / TWO32) ^ Math.floor(b / TWO32)) >>> 0;
  if (hi !== 0) return 32 + 32 - Math.clz32(hi);
  const lo = ((a % TWO32) ^ (b % TWO32)) >>> 0;
  return 32 - Math.clz32(lo);
}

/** 2^n for an integer 0 <= n < 1024 (a shift below 31: V8's `2 ** n` calls pow, this is on the hot path). */
export const pow2 = (n: number): number => (n < 31 ? 1 << n : 2 ** n);

/** `x & ~(2^bits - 1)` for integers 0 <= x < 2^53 and 0 <= bits <= 53. */
export function alignDown(x: number, bits: number): number {
  if (x <= 0x7fffffff && bits < 31) return x & ~((1 << bits) - 1);
  const unit = pow2(bits);
  return Math.floor(x / unit) * unit;
}
