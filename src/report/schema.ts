/**
 * The report's JSON shape (`--json`, schema `asid-replay/report`, version 3) as zod schemas: what
 * `asid-replay schema` prints as JSON Schema (draft 2020-12, zod's own `z.toJSONSchema`), what
 * docs/report.md documents field by field, and what the test validates every corpus report against.
 *
 * The TypeScript {@link Report} (report.ts) is checked against {@link ReportSchema} at compile time
 * at the end of this file: both ways assignable, and no key in one that the other lacks at any depth
 * (optional ones included), so the type and the schema cannot drift apart.
 */
import { z } from 'zod';
import { ALLOCATOR_VARIANTS } from '../model/cpu/variants.js';
import { DRIVER_DESIGNS } from '../model/kernel/eras.js';
import { FAULTS, PASID_ALLOCATORS } from '../model/config.js';
import { CPU_VIOLATION_KINDS, STALE_KINDS } from '../model/findings.js';
import { CMD_OPCODES } from '../model/smmu/observer.js';
import { type Report, REPORT_SCHEMA, REPORT_VERSION } from './report.js';

/** A count of things or events (a non-negative integer). */
const count = (description: string) => z.int().min(0).describe(description);
/** A trace row: the 1-based line number in the trace file. */
const row = (description: string) => z.int().min(1).describe(description);
/** A trace time in ns (the trace's `time` column). */
const time = (description: string) => z.int().describe(description);
/** The recording's `<seconds>@L<line>` a trace row was imported from (the trace's `src` column). */
const src = (of: string) =>
  z.string().describe(`source of \`${of}\` in the recording (\`<seconds>@L<line>\`), when the trace has a src column`).optional();

/** An object whose keys are exactly `keys`, each holding a `value`. */
function exactRecord<K extends string, V extends z.ZodType>(keys: readonly K[], value: () => V) {
  return z.strictObject(Object.fromEntries(keys.map((k) => [k, value()])) as Record<K, V>);
}

const SmmuConfigSchema = z.strictObject({
  name: z.string().describe('SMMU name (as declared in the system)'),
  asidBits: z.union([z.literal(8), z.literal(16)]).describe('IDR0.ASID16: stage-1 ASID width, bits'),
  vmidBits: z.union([z.literal(8), z.literal(16)]).describe('VMID width, bits'),
  btm: z.boolean().describe('IDR0.BTM: the hardware can snoop CPU broadcast TLBIs'),
  ssidBits: z.int().min(0).max(20).describe('IDR1.SSIDSIZE: substream ID (PASID) width, bits'),
  rangeInvalidation: z.boolean().describe('IDR3.RIL: range invalidation'),
});

const DeviceConfigSchema = z.strictObject({
  name: z.string().describe('device name'),
  smmu: z.string().describe('the SMMU it sits behind'),
  pasidBits: z.int().min(0).max(20).describe('PASID width of the device, bits'),
  streamIds: z.array(z.int().min(0)).optional().describe('StreamIDs of the device (absent: one, chosen by the model)'),
  ats: z.boolean().describe('PCIe ATS: the device caches translations in its ATC'),
});

const SystemSchema = z
  .strictObject({
    cpus: z.int().min(1).max(4096).describe('number of CPUs (num_possible_cpus)'),
    asidBits: z.int().min(2).max(16).describe('CPU ASID width, bits'),
    kernel: z.string().describe('kernel version, normalised (`6.12`, `rfc-btm-2023`)'),
    era: z.string().describe('the era it falls in (`v6.11+`, `v5.13-v5.17`, ...)'),
    kpti: z.boolean().describe('KPTI in use at run time'),
    unmapKernelAtEl0: z.boolean().describe('CONFIG_UNMAP_KERNEL_AT_EL0 built in'),
    allocator: z.enum(ALLOCATOR_VARIANTS).describe('CPU ASID allocator version'),
    driver: z.enum(DRIVER_DESIGNS).describe('SMMUv3 SVA driver design'),
    smmus: z.array(SmmuConfigSchema).describe('SMMUv3 instances'),
    devices: z.array(DeviceConfigSchema).describe('devices (masters) behind the SMMUs'),
    whatIf: z.boolean().describe('ASID widths other than 8 and 16 allowed'),
    maxPinnedAsids: z.int().min(0).optional().describe('what-if override of max_pinned_asids'),
    pasidAllocator: z.enum(PASID_ALLOCATORS).describe('PASID allocator: lowest (ida) or cyclic'),
    multiSmmuDomains: z.boolean().describe('what-if: a DMA domain may span SMMUs'),
    faults: z.array(z.enum(FAULTS)).describe('injected driver bugs'),
  })
  .describe(
    "the system replayed: the trace's `# system:` line, flags and defaults; the kernel and its era by name (what the era does: docs/kernel-eras.md)",
  );

const ViolationSchema = z.strictObject({
  row: row('trace row of the event after which the violation was found'),
  src: src('row'),
  kind: z.enum(CPU_VIOLATION_KINDS).describe('invariant violated'),
  cpu: z.int().min(0).optional().describe('CPU, when the violation is about one'),
  asid: z.int().min(0).optional().describe('ASID involved'),
  mm: z.string().optional().describe('address space involved'),
  otherMm: z.string().optional().describe('the second address space (tlb-alias, duplicate-asid)'),
  fillRow: row('trace row of the event that filled the offending TLB entry').optional(),
  fillSrc: src('fillRow'),
  detail: z.string().describe('what was seen, in words'),
});

const SmmuReportSchema = z.strictObject({
  name: z.string().describe('SMMU name'),
  asidBits: z.int().describe('stage-1 ASID width, bits'),
  btm: z.boolean().describe('IDR0.BTM'),
  rangeInvalidation: z.boolean().describe('IDR3.RIL'),
  commands: exactRecord(CMD_OPCODES, () => count('commands of this opcode')).describe(
    'commands queued, by opcode (a per-page loop counts each page)',
  ),
  cmdlists: count('arm_smmu_cmdq_issue_cmdlist calls (a batch of N commands is ceil(N / 64) of them)'),
  asidsAllocated: count('stage-1 ASIDs allocated'),
  asidsFreed: count('stage-1 ASIDs freed'),
  asidsMoved: count('stage-1 ASIDs moved (arm_smmu_share_asid)'),
  attachFailures: count('failed attach calls'),
  bindFailures: count('failed SVA bind calls'),
  tlbiAsid: count('TLBI_NH_ASID commands'),
  tlbiVa: count('TLBI_NH_VA commands'),
  atcInv: count('ATC_INV commands'),
  cfgiCd: count('CFGI_CD commands'),
  syncs: count('CMD_SYNC commands'),
  btmSnoops: count('CPU broadcast TLBIs the SMMU snooped (BTM)'),
  fills: count('IOTLB fills (table walks)'),
  hits: count('DMA served by the IOTLB'),
  misses: count('DMA that missed the IOTLB'),
  atcHits: count("DMA served by the device's ATC"),
  faults: count('DMA that faulted'),
});

const SvaSchema = z.strictObject({
  binds: count('successful iommu_sva_bind_device calls'),
  rebinds: count('binds of an already-bound (device, mm)'),
  unbinds: count('unbinds'),
  unbindsOfFailedBinds: count('unbind rows matching a bind that had failed (no driver call)'),
  releases: count('mm releases while bound (arm_smmu_mm_release)'),
  pasidsAllocated: count('PASIDs allocated'),
  pasidsFreed: count('PASIDs freed'),
  opsStarted: count('driver operations started with an `op` label'),
  opSteps: count('steps run by `resume`'),
  idleResumes: count('resumes of an operation that had already completed'),
  pasidsInUse: count('PASIDs allocated at the end of the trace'),
});

const ERRNOS = ['ENOSPC', 'ENOMEM', 'ENODEV', 'EINVAL', 'EOVERFLOW', 'ESRCH', 'EOPNOTSUPP', 'EEXIST', 'EBUSY', 'ENXIO'] as const;

const DeviceFailureSchema = z.strictObject({
  row: row('trace row of the call'),
  src: src('row'),
  call: z.enum(['attach', 'bind', 'map']).describe('the driver call that failed'),
  errno: z.enum(ERRNOS).describe('errno it returned (negated in the kernel: -ENOSPC)'),
  device: z.string().nullable().describe('device, when the call has one'),
  smmu: z.string().nullable().describe('SMMU, when known'),
  detail: z.string().describe('why, in words'),
});

const OpInFlightSchema = z.strictObject({
  op: z.string().describe('the `op` label'),
  row: row('trace row that started it'),
  src: src('row'),
  what: z.string().describe('the operation (e.g. the ASID move of a bind)'),
  stepsLeft: count('steps not resumed'),
});

const StaleFindingSchema = z.strictObject({
  row: row('trace row after which it was found (the dma, or the unmap/unbind/free for latent ones)'),
  src: src('row'),
  kind: z.enum(STALE_KINDS).describe('S-UNMAP, S-ALIAS or S-PERM'),
  cache: z.enum(['iotlb', 'atc']).describe('the cache holding the entry'),
  latent: z.boolean().describe('true: found by a latent check, no access used it yet; false: a DMA used it'),
  smmu: z.string().describe('SMMU'),
  device: z.string().describe('device that made the access (hits) or filled the entry (latent)'),
  pasid: z.int().min(0).describe('SSID: the PASID, 0 for DMA without PASID'),
  asid: z.int().min(0).describe('ASID of the entry'),
  va: z.int().min(0).describe('virtual address (bytes)'),
  owner: z.string().describe('address space the entry was filled from (`mm P`, `domain D1`)'),
  current: z.string().nullable().describe('address space the current context reaches (hits), or null'),
  fillRow: row('trace row of the event that filled the entry'),
  fillSrc: src('fillRow'),
  shouldHaveRow: row('trace row of the event that should have removed it, when known').nullable(),
  shouldHaveSrc: src('shouldHaveRow'),
  detail: z.string().describe('what was seen, in words'),
});

/** The report, as `replay --json` prints it and `check` stores it. */
export const ReportSchema = z
  .strictObject({
    schema: z.literal(REPORT_SCHEMA).describe('always asid-replay/report'),
    version: z.literal(REPORT_VERSION).describe('schema version'),
    trace: z
      .strictObject({
        name: z.string().describe('trace file name (base name)'),
        events: count('events replayed'),
        firstTime: time('time of the first event, ns; null when the trace has no time column').nullable(),
        lastTime: time('time of the last event, ns; null when the trace has no time column').nullable(),
      })
      .describe('the trace replayed'),
    system: SystemSchema,
    design: z
      .strictObject({
        name: z.string().describe("the design's name"),
        base: z.string().describe('the kernel release it patches (also system.kernel)'),
        file: z.string().describe('the design file as given to --design'),
        sha256: z
          .string()
          .regex(/^[0-9a-f]{16}$/)
          .describe("first 16 hex digits of the SHA-256 of the file's bytes"),
        replaced: z.array(z.string()).describe('the kernel functions it replaces (docs/designs.md)'),
      })
      .optional()
      .describe('the design (--design) the replay ran, absent without one (docs/designs.md)'),
    allocator: z
      .strictObject({
        variant: z.string().describe('allocator version (the same as system.allocator)'),
        numAsids: count('allocatable index space: 2^asidBits, or 2^(asidBits-1) ASID pairs under KPTI'),
        finalGeneration: count('ASID generation at the end of the trace (1 + rollovers)'),
      })
      .describe('the CPU ASID allocator'),
    churn: z
      .strictObject({
        switches: count('switch_mm calls that reached check_and_switch_context (the mm changed)'),
        sameMmSwitches: count("schedule events that kept the CPU's mm"),
        idleSwitches: count('schedule of task 0 / kernel threads (lazy TLB)'),
        fastPath: count('switches served by the lock-free fast path'),
        slowPath: count('switches that took cpu_asid_lock'),
        allocations: count('fresh ASIDs from the bitmap search'),
        reused: z
          .strictObject({
            reserved: count('re-used as the reserved ASID of a CPU'),
            pinned: count('re-used because pinned'),
            free: count('re-used because still free in the new generation'),
          })
          .describe('ASIDs re-used across a rollover, by new_context path'),
        rollovers: count('generation rollovers'),
        localTlbFlushes: count('local TLB flushes after a rollover'),
        tlbi: z
          .strictObject({ asid: count('broadcast TLBI ASIDE1IS'), va: count('broadcast TLBI VAE1IS (per page)') })
          .describe('broadcast TLB invalidations'),
        accesses: count('access events'),
        faults: count('accesses that faulted (no mapping)'),
        mms: z
          .strictObject({
            created: count('address spaces created'),
            changedAsid: count('address spaces whose ASID changed at least once'),
            asidChanges: count('ASID changes, all address spaces'),
            top: z
              .array(z.strictObject({ mm: z.string().describe('address space'), asidChanges: count('its ASID changes') }))
              .describe('the 10 address spaces whose ASID changed most, most first'),
          })
          .describe('address spaces'),
        rolloverSeries: z
          .array(
            z.strictObject({
              row: row('trace row of the event that rolled over'),
              time: time('its time, ns; null when the trace has no time column').nullable(),
              generation: count('the new generation'),
            }),
          )
          .describe('each rollover (the first 10000)'),
        rolloverSeriesTruncated: z.boolean().describe('rolloverSeries holds only the first 10000'),
      })
      .describe('ASID churn on the CPU side'),
    pins: z
      .strictObject({
        limit: count('max_pinned_asids; null when the unsigned arithmetic underflows (no limit)').nullable(),
        limitFormula: z.string().describe('how the limit was computed'),
        limitReason: z.string().describe('why that formula'),
        requests: count('arm64_mm_context_get calls'),
        pinned: count('first pins of an mm (a new pinned ASID)'),
        repins: count('pins of an already-pinned mm (refcount)'),
        failures: count('refused pins'),
        firstFailureRow: row('trace row of the first refused pin, or null').nullable(),
        firstFailureSrc: src('firstFailureRow'),
        maxHeld: count('most pinned ASIDs held at once'),
        unpins: count('arm64_mm_context_put calls'),
      })
      .describe('ASID pinning (arm64_mm_context_get)'),
    violationCounts: exactRecord(CPU_VIOLATION_KINDS, () => count('violations of this kind')).describe('violations by kind'),
    violations: z.array(ViolationSchema).describe('the violations, in trace order (the first 10000)'),
    violationsTruncated: z.boolean().describe('violations holds only the first 10000'),
    devices: z
      .strictObject({
        driver: z.string().describe('SMMUv3 SVA driver design'),
        asidPools: z.enum(['global', 'per-smmu']).describe('one global stage-1 ASID space or one per SMMU'),
        smmus: z.array(SmmuReportSchema).describe('per-SMMU figures'),
        sva: SvaSchema.describe('SVA figures'),
        failureCounts: z
          .strictObject({ attach: count('failed attach'), bind: count('failed bind'), map: count('failed iommu_map') })
          .describe('failed driver calls, by call'),
        failures: z.array(DeviceFailureSchema).describe('failed driver calls, in trace order (the first 10000)'),
        failuresTruncated: z.boolean().describe('failures holds only the first 10000'),
        opsInFlight: z.array(OpInFlightSchema).describe('stepped driver operations still in flight when the trace ended'),
      })
      .describe('the SMMUv3/SVA side (empty lists when the system has no SMMU)'),
    stale: z
      .strictObject({
        counts: exactRecord(STALE_KINDS, () =>
          z.strictObject({ hit: count('found at a DMA hit'), latent: count('found by a latent check') }),
        ).describe('stale entries by kind'),
        total: count('stale entries, all kinds'),
        findings: z.array(StaleFindingSchema).describe('the stale entries, in trace order (the first 10000)'),
        truncated: z.boolean().describe('findings holds only the first 10000'),
      })
      .describe('stale IOTLB/ATC entries (docs/model.md)'),
  })
  .meta({ title: REPORT_SCHEMA, description: `asid-replay report (replay --json), version ${REPORT_VERSION}` });

/** The report's JSON Schema (draft 2020-12), as `asid-replay schema` prints it. */
export function reportJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(ReportSchema, { target: 'draft-2020-12', io: 'output' }) as Record<string, unknown>;
}

// ---- compile-time check: Report (report.ts) and ReportSchema describe the same object ----

type Inferred = z.infer<typeof ReportSchema>;

/** Paths (`.a.b`) of the keys that one of A, B has and the other lacks, at any depth; never when none. */
type KeyDrift<A, B, P extends string = ''> = A extends readonly (infer X)[]
  ? B extends readonly (infer Y)[]
    ? KeyDrift<X, Y, `${P}[]`>
    : never
  : A extends object
    ? B extends object
      ? | `${P}.${Exclude<keyof A, keyof B> & string}`
        | `${P}.${Exclude<keyof B, keyof A> & string}`
        | { [K in keyof A & keyof B & string]-?: KeyDrift<A[K], B[K], `${P}.${K}`> }[keyof A & keyof B & string]
      : never
    : never;

/** true when A and B are assignable to each other and have the same keys at every depth. */
type Same<A, B> = [A] extends [B]
  ? [B] extends [A]
    ? [KeyDrift<A, B>] extends [never]
      ? true
      : KeyDrift<A, B>
    : 'schema not assignable to Report'
  : 'Report not assignable to schema';

/** Fails to compile, naming the drift, when Report and ReportSchema disagree. */
export const REPORT_TYPE_MATCHES_SCHEMA: Same<Report, Inferred> = true;
