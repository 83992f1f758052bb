/**
 * Whether an injected fault (`--fault`) can change anything on a system. A fault removes one step
 * the kernel performs; on a system where that step never runs (no SMMU uses BTM, no bind can
 * succeed, no design moves an ASID), the fault is inert, and a run that silently ignored it would
 * read as "the fault leaves nothing stale". The CLI prints these reasons on stderr.
 */
import type { Fault, SystemConfig } from './config.js';

/** SMMUs whose BTM the driver uses (IDR0.BTM and a design that sets ARM_SMMU_FEAT_BTM). */
const btmSmmus = (s: SystemConfig): string[] =>
  // Stryker disable next-line ArrowFunction: equivalent, .map(() => undefined): only the length of the list is read
  s.smmus.filter((m) => m.btm && (s.features.btm || s.driver === 'btm-2023')).map((m) => m.name);

/** Why `f` cannot apply to `s`, or null when it can. */
export function whyFaultInert(s: SystemConfig, f: Fault): string | null {
  const kernel = `kernel ${s.kernel} (${s.era})`;
  // v5.11 binds only on an SMMU whose BTM the driver uses (arm_smmu_sva_supported needs FEAT_BTM).
  const binds = s.features.sva === 'yes' || (s.features.sva === 'needs-btm' && btmSmmus(s).length > 0);
  if (s.smmus.length === 0) return 'the system has no SMMU';
  switch (f) {
    case 'no-dvm':
    case 'local-tlbi':
      if (btmSmmus(s).length === 0) {
        const hw = s.smmus.some((m) => m.btm)
          ? `mainline never sets ARM_SMMU_FEAT_BTM (${kernel}); only rfc-btm-2023 or --driver btm-2023 uses it`
          : 'no SMMU is declared with "btm": true';
        return `no SMMU uses BTM, so CPU broadcast TLBIs never reach one: ${hw}`;
      }
      return null;
    case 'skip-pin':
      if (!binds) return `no SVA bind can happen on ${kernel}`;
      if (s.driver === 'private-asid') return `the ${s.driver} design (${kernel}) gives SVA contexts private ASIDs and pins nothing`;
      return null;
    case 'no-old-asid-purge':
      if (!binds) return `no SVA bind can happen on ${kernel}`;
      if (s.driver !== 'shared-asid')
        return `only the shared-asid design moves a DMA domain's ASID (arm_smmu_share_asid); this system runs ${s.driver}`;
      return null;
    case 'no-release-tlbi':
      if (!binds) return `no SVA bind can happen on ${kernel}, so no mm release reaches an SMMU`;
      return null;
    case 'no-purge-on-free':
      return null;
  }
}

/** Every fault of `s` that cannot apply, with why. */
export function inertFaults(s: SystemConfig): { fault: Fault; why: string }[] {
  return s.faults.flatMap((fault) => {
    const why = whyFaultInert(s, fault);
    return why === null ? [] : [{ fault, why }];
  });
}
