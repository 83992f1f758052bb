/**
 * Finding classes a CI job can fail on (`--fail-on` of `replay` and `check`), and the test of a
 * report against them.
 */
// The kinds' own table, not the model that re-exports it: `--fail-on` is parsed before any replay.
import { CPU_VIOLATION_KINDS, STALE_KINDS } from '../model/findings.js';
import type { Report } from './report.js';

/** Finding classes `--fail-on` accepts: the groups, then every violation and stale kind. */
export const FAIL_ON_KINDS = ['violations', 'pin-failures', 'stale', 'device-failures', ...CPU_VIOLATION_KINDS, ...STALE_KINDS] as const;
export type FailOnKind = (typeof FAIL_ON_KINDS)[number];
/** The finding classes (each kind belongs to one): what `check` counts without `--fail-on`. */
export const FINDING_CLASSES = ['violations', 'pin-failures', 'stale', 'device-failures'] as const satisfies readonly FailOnKind[];
export type FindingClass = (typeof FINDING_CLASSES)[number];

/** The class a `--fail-on` kind belongs to (`S-UNMAP` -> `stale`, `tlb-alias` -> `violations`). */
export function classOf(kind: FailOnKind): FindingClass {
  if ((STALE_KINDS as readonly string[]).includes(kind)) return 'stale';
  if ((CPU_VIOLATION_KINDS as readonly string[]).includes(kind)) return 'violations';
  return kind as FindingClass;
}

/**
 * Parse a comma-separated `--fail-on` list.
 * @throws Error naming the unknown kind and listing the known ones.
 */
export function parseFailOn(v: string): FailOnKind[] {
  const kinds = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const k of kinds) {
    if (!(FAIL_ON_KINDS as readonly string[]).includes(k)) {
      throw new Error(`unknown kind "${k}"; expected a comma-separated list of: ${FAIL_ON_KINDS.join(', ')}`);
    }
  }
  return kinds as FailOnKind[];
}

/** How many findings of `kind` the report has. */
export function findingCount(r: Report, kind: FailOnKind): number {
  const f = r.devices.failureCounts;
  const stale = r.stale.counts as Record<string, { hit: number; latent: number }>;
  if (kind === 'violations') return Object.values(r.violationCounts).reduce((a, b) => a + b, 0);
  if (kind === 'pin-failures') return r.pins.failures;
  if (kind === 'stale') return r.stale.total;
  if (kind === 'device-failures') return f.attach + f.bind + f.map;
  const s = stale[kind];
  if (s) return s.hit + s.latent;
  return (r.violationCounts as Record<string, number>)[kind] ?? 0;
}

/** The kinds among `kinds` that the report has findings of (what makes `--fail-on` exit 1). */
export function failingKinds(r: Report, kinds: readonly FailOnKind[]): FailOnKind[] {
  return kinds.filter((k) => findingCount(r, k) > 0);
}

/** Whether the report has a finding of one of `kinds`. */
export const failsOn = (r: Report, kinds: readonly FailOnKind[]): boolean => failingKinds(r, kinds).length > 0;
