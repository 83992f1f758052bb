/**
 * What the model's tables say of the system a report names, for people: the era's features and
 * sources (src/model/kernel/eras.ts, docs/kernel-eras.md) and the allocator version's provenance
 * (src/model/cpu/variants.ts). The report JSON (version 3) names the kernel, the era and the
 * allocator version but does not carry these, so that a feature added to the era table changes no
 * stored expectation; the text and HTML renderings look them up here, at render time.
 */
import type { SystemConfig } from '../model/config.js';
import { VARIANT_SOURCES } from '../model/cpu/variants.js';
import { type Era, type KernelFeatures, resolveKernel } from '../model/kernel/eras.js';
import type { ReportSystem } from './report.js';

/** The era table's facts of a report's system. */
export interface EraFacts {
  /** The era the kernel falls in (its `id` is the report's `system.era`). */
  readonly era: Era;
  /** What the era does where releases differ (the system's `features`). */
  readonly features: KernelFeatures;
  /** The commits that define the era (the system's `sources`). */
  readonly sources: readonly string[];
  /** The kernel source the allocator version follows (`VARIANT_SOURCES[allocator].source`). */
  readonly allocatorSource: string;
}

/**
 * Look up the era table's facts of `system` from the kernel and allocator version it names: the
 * same values the model ran with, since a system's features and sources are its kernel's era's
 * (trace/system.ts) and the allocator's provenance is its version's.
 * @throws Error when `system.kernel` is not a kernel the model knows (never for a report of this
 *   program: its kernel is one the model resolved).
 */
export function eraFacts(system: Pick<ReportSystem, 'kernel' | 'allocator'>): EraFacts {
  const { era } = resolveKernel(system.kernel);
  return { era, features: era.features, sources: era.sources, allocatorSource: VARIANT_SOURCES[system.allocator].source };
}

/**
 * The {@link SystemConfig} a report's system stands for: `system` with its era's features and
 * sources put back (for model checks on a report, such as which injected faults cannot apply).
 */
export function systemConfigOf(system: ReportSystem): SystemConfig {
  const { features, sources } = eraFacts(system);
  return { ...system, features, sources };
}
