/**
 * The system a trace is replayed on: the `# system: {json}` preamble of trace v1, overridden by
 * command-line flags, falling back to {@link DEFAULT_SYSTEM}. Validated with zod, the definition;
 * every problem is reported with its JSON path. A plain valid object is decided without loading zod
 * (system-fast.ts, proven equal to the schema), because zod's load time is most of a short replay's. The kernel version resolves to an era (model/kernel/eras.ts) that
 * fixes the allocator and the driver design unless `allocator` / `driver` override them.
 */
import { createRequire } from 'node:module';
import type { z as Z } from 'zod';
import { ALLOCATOR_VARIANTS } from '../model/cpu/variants.js';
import { FAULTS, PASID_ALLOCATORS, type SystemConfig } from '../model/config.js';
import { DEFAULT_KERNEL, DRIVER_DESIGNS, resolveKernel } from '../model/kernel/eras.js';
import { type ParsedSystemFields, parseSystemFast } from './system-fast.js';

export { DRIVER_DESIGNS, type DriverDesign } from '../model/kernel/eras.js';

export { FAULTS, type Fault, PASID_ALLOCATORS, type SystemConfig } from '../model/config.js';

/** The schemas, built from zod (`z`) on first use. */
function buildSchemas(z: typeof Z) {
  const name = z.string().regex(/^[A-Za-z0-9_.:\-/]+$/, 'a name of letters, digits and _.:-/');

  const SmmuSchema = z.strictObject({
    name,
    asidBits: z.union([z.literal(8), z.literal(16)]).default(16),
    vmidBits: z.union([z.literal(8), z.literal(16)]).default(16),
    btm: z.boolean().default(false),
    ssidBits: z.int().min(0).max(20).default(20),
    rangeInvalidation: z.boolean().default(false),
  });

  const DeviceSchema = z.strictObject({
    name,
    smmu: name,
    pasidBits: z.int().min(0).max(20).default(20),
    streamIds: z.array(z.int().min(0)).optional(),
    ats: z.boolean().default(false),
  });

  const SystemSchema = z
    .strictObject({
      cpus: z.int().min(1).max(4096).default(4),
      asidBits: z.int().min(2).max(16).default(16),
      /** Kernel version (era); the newest mainline when absent. */
      kernel: z.string().default(DEFAULT_KERNEL),
      /** KPTI in use at run time (the CPU needs it, or `kpti=on`). */
      kpti: z.boolean().default(false),
      /** CONFIG_UNMAP_KERNEL_AT_EL0 built in (arm64 defconfig: yes). */
      unmapKernelAtEl0: z.boolean().default(true),
      /** Expert override of the era's allocator. */
      allocator: z.enum(ALLOCATOR_VARIANTS).optional(),
      /** Expert override of the era's SMMU driver design. */
      driver: z.enum(DRIVER_DESIGNS).optional(),
      smmus: z.array(SmmuSchema).default([]),
      devices: z.array(DeviceSchema).default([]),
      /** Allows ASID widths other than 8 and 16 (small widths make rollovers easy to study). */
      whatIf: z.boolean().default(false),
      /** What-if override of max_pinned_asids. */
      maxPinnedAsids: z.int().min(0).optional(),
      /** PASID allocator of the IOMMU core. */
      pasidAllocator: z.enum(PASID_ALLOCATORS).default('lowest'),
      /**
       * What-if (M. Shavit's 2023 RFC): a DMA domain may be attached to masters behind several
       * SMMUs when its ASID fits each one. Mainline binds a domain to one SMMU (attach fails -EINVAL).
       */
      multiSmmuDomains: z.boolean().default(false),
      /** Injected driver bugs / hypothetical kernels, see {@link FAULTS}. */
      faults: z.array(z.enum(FAULTS)).default([]),
    })
    .superRefine((s, ctx) => {
      if (s.asidBits !== 8 && s.asidBits !== 16 && !s.whatIf) {
        ctx.addIssue({
          code: 'custom',
          path: ['asidBits'],
          message: `arm64 CPUs implement 8 or 16 ASID bits; ${s.asidBits} needs "whatIf": true (or --what-if)`,
        });
      }
      if (s.kpti && s.asidBits < 3) {
        ctx.addIssue({ code: 'custom', path: ['asidBits'], message: 'KPTI needs at least 3 ASID bits (ASID pairs)' });
      }
      if (s.kpti && !s.unmapKernelAtEl0) {
        ctx.addIssue({
          code: 'custom',
          path: ['kpti'],
          message: 'KPTI needs a kernel built with CONFIG_UNMAP_KERNEL_AT_EL0 ("unmapKernelAtEl0": true)',
        });
      }
      try {
        resolveKernel(s.kernel);
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['kernel'], message: (e as Error).message });
      }
      const smmus = new Set(s.smmus.map((m) => m.name));
      if (smmus.size !== s.smmus.length) ctx.addIssue({ code: 'custom', path: ['smmus'], message: 'SMMU names must be unique' });
      const devs = new Set<string>();
      const sids = new Map<string, string>();
      s.devices.forEach((d, i) => {
        if (!smmus.has(d.smmu)) {
          ctx.addIssue({ code: 'custom', path: ['devices', i, 'smmu'], message: `no SMMU named "${d.smmu}" in smmus` });
        }
        for (const sid of d.streamIds ?? []) {
          const k = `${d.smmu}/${sid}`;
          if (sids.has(k))
            ctx.addIssue({
              code: 'custom',
              path: ['devices', i, 'streamIds'],
              message: `StreamID ${sid} is already used by device "${sids.get(k)}" behind SMMU ${d.smmu}`,
            });
          sids.set(k, d.name);
        }
        if (devs.has(d.name)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'name'], message: `duplicate device "${d.name}"` });
        devs.add(d.name);
      });
    });
  return { SmmuSchema, DeviceSchema, SystemSchema };
}

type Schemas = ReturnType<typeof buildSchemas>;
let schemas: Schemas | undefined;
/**
 * The zod schemas of the system object (`SmmuSchema`, `DeviceSchema`, `SystemSchema`), loading zod
 * (synchronously, its CommonJS build) the first time.
 */
export function systemSchemas(): Schemas {
  return (schemas ??= buildSchemas((createRequire(import.meta.url)('zod') as { z: typeof Z }).z));
}

/** A validated system object, before its kernel is resolved to an era. */
export type ParsedSystem = Z.output<Schemas['SystemSchema']>;

/** What a preamble or the command line may give (everything optional). */
export type SystemInput = Z.input<Schemas['SystemSchema']>;

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compile-time check: the fast path's output type is the schema's (an error here means they drifted). */
export const FAST_SYSTEM_TYPE_MATCHES: Same<ParsedSystem, ParsedSystemFields> = true;

/** Resolve the kernel of a parsed system to its era and fill in what the era implies. */
function withEra(p: ParsedSystem): SystemConfig {
  const k = resolveKernel(p.kernel);
  // One key order whatever the input gave, so reports are byte-identical for the same system.
  return {
    cpus: p.cpus,
    asidBits: p.asidBits,
    kernel: k.version,
    era: k.era.id,
    kpti: p.kpti,
    unmapKernelAtEl0: p.unmapKernelAtEl0,
    allocator: p.allocator ?? k.era.allocator,
    driver: p.driver ?? k.era.driver,
    features: k.era.features,
    sources: k.era.sources,
    smmus: p.smmus,
    devices: p.devices,
    whatIf: p.whatIf,
    ...(p.maxPinnedAsids !== undefined ? { maxPinnedAsids: p.maxPinnedAsids } : {}),
    pasidAllocator: p.pasidAllocator,
    multiSmmuDomains: p.multiSmmuDomains,
    faults: p.faults,
  };
}

/** The documented default: 4 CPUs, 16-bit ASIDs, no KPTI, the newest mainline kernel (defconfig), no SMMU. */
export const DEFAULT_SYSTEM: SystemConfig = withEra(parseSystemFast({})!);

/** zod issues as one readable line each: `asidBits: expected ...`; fields in `fromFlags` are marked "(set on the command line)". */
export function formatZodIssues(err: Z.ZodError, fromFlags: ReadonlySet<string> = new Set()): string {
  const where = (i: Z.core.$ZodIssue) =>
    (i.path.length ? i.path.join('.') : '(system)') + (fromFlags.has(String(i.path[0])) ? ' (set on the command line)' : '');
  return err.issues.map((i) => `${where(i)}: ${i.message}`).join('; ');
}

/**
 * Merge a preamble object with command-line overrides and validate.
 * @throws Error with a readable message listing every problem.
 */
export function resolveSystem(preamble: unknown, overrides: Partial<SystemInput>): SystemConfig {
  const base = preamble === undefined ? {} : preamble;
  if (typeof base !== 'object' || base === null || Array.isArray(base)) {
    throw new Error('the system preamble must be a JSON object');
  }
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) merged[k] = v;
  const fast = parseSystemFast(merged);
  if (fast) return withEra(fast);
  const r = systemSchemas().SystemSchema.safeParse(merged);
  if (!r.success)
    throw new Error(
      `invalid system: ${formatZodIssues(r.error, new Set(Object.keys(overrides).filter((k) => overrides[k as keyof SystemInput] !== undefined)))}`,
    );
  return withEra(r.data);
}
