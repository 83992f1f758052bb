/**
 * State of the SMMUv3 / SVA side of the system: SMMU instances with
 * their IOTLBs, ASID pools, masters with their CD tables and ATCs, DMA (stage-1) domains, SVA
 * contexts, the PASID allocator and the driver operations replayed in steps.
 *
 * Plain data only (Maps, arrays, numbers, strings): {@link cloneSmmuModel} copies it and a sorted
 * JSON dump digests it, so a search can branch from any state.
 */
import { copyMap } from '../copy-map.js';
import type { Pte } from '../cpu/index.js';
import type { SystemConfig } from '../config.js';
import type { KernelFeatures } from '../kernel/eras.js';
import { domainAs } from './keys.js';

/**
 * One IOTLB (or ATC) entry. QEMU keys the IOTLB on {iova, asid, vmid, tg, level} (`SMMUIOTLBKey`);
 * no stage 2 is modelled, so the VMID is constant, and all entries are 4 KiB leaf pages. The extra
 * fields are what the stale checks need: which address space filled it, from which
 * mapping (epoch), with which rights, and whether the CD had ASET=0 (visible to CPU broadcast TLBI).
 */
export interface TlbEntry {
  /** Address-space id of the filler: an mm key (>= 0) or a DMA domain (< 0, see {@link domainAsId}). */
  readonly as: number;
  readonly epoch: number;
  readonly prot: number;
  /** ASID of the fill (the CD's at the time). */
  readonly asid: number;
  /** true when the CD had ASET=0 (shared ASID set: CPU broadcast TLBIs match it under BTM). */
  readonly shared: boolean;
  readonly fillRow: number;
  readonly device: string;
  readonly ssid: number;
}

/** asid -> page -> entry. */
export type Iotlb = Map<number, Map<number, TlbEntry>>;

export interface SmmuInstance {
  readonly name: string;
  readonly asidBits: number;
  readonly btm: boolean;
  readonly rangeInvalidation: boolean;
  readonly ssidBits: number;
  /** The driver set ARM_SMMU_FEAT_BTM and cleared CR2.PTM (init part `arm_smmu_device_hw_probe`): it uses BTM. */
  featBtm: boolean;
  iotlb: Iotlb;
  entries: number;
  /** Address space -> ASIDs under which it has (or had) IOTLB entries here (pruned lazily). */
  tagsOf: Map<number, Set<number>>;
  /**
   * The command queue: commands issued and not yet consumed, as flat records (cmdq.ts,
   * `CMD_STRIDE` numbers each). Empty between events unless a part issued without a CMD_SYNC.
   */
  cmdq: number[];
}

/** Who holds an SMMU ASID: a DMA domain or an SVA context (by id). */
export interface AsidOwner {
  readonly kind: 'dma' | 'sva';
  readonly id: number;
}

/** An ASID allocator: the kernel's xarray (`arm_smmu_asid_xa`) or a per-SMMU `asid_map`. */
export interface AsidPool {
  /** Lowest ASID handed out: 1 for the xarray (v5.8 on), 0 for the per-SMMU bitmap before it. */
  readonly base: number;
  owners: Map<number, AsidOwner>;
  /** Every ASID below `hint` is in use (lowest-free search starts here). */
  hint: number;
  /** ASID -> trace row at which its last owner gave it up (the event that had to purge it). */
  releasedRow: Map<number, number>;
}

/** A context descriptor as the model needs it: the ASID, the address space behind TTB0, ASET. */
export interface Cd {
  readonly asid: number;
  readonly as: number;
  /** ASET=0: the ASID is shared with the CPU (BTM may snoop broadcast TLBIs into it). */
  readonly shared: boolean;
  /** The "quiet" CD of `arm_smmu_mm_release`: EPD0 set, walks fault, TLB hits still possible. */
  readonly quiet: boolean;
  /** Owning SVA context id, or -1 for a DMA domain's CD at SSID 0. */
  readonly sva: number;
}

/** A device (master) behind one SMMU: its StreamIDs' CD table (SSID -> CD) and, with ATS, its ATC. */
export interface Master {
  readonly name: string;
  readonly smmu: number;
  /** Its StreamIDs (a device declared without any has one the model chose: createSmmuModel). */
  readonly streamIds: readonly number[];
  /** min(SMMU SSIDSIZE, the device's PASID width): PASIDs 1 .. 2^ssidBits - 1 are usable. */
  readonly ssidBits: number;
  readonly ats: boolean;
  /** DMA domain attached at SSID 0 (the RID domain), or null. */
  rid: string | null;
  cds: Map<number, Cd>;
  /** ATC: SSID -> page -> entry (a flat `ssid * 2^36 + page` key would pass 2^53 from PASID 2^17 on). */
  atc: Map<number, Map<number, TlbEntry>>;
  /** SSID -> row of the unbind that freed it (the ATC had to be purged by then). */
  ssidReleasedRow: Map<number, number>;
}

/** A DMA (stage-1 paging) domain: io-pgtable, ASID, the masters attached at SSID 0. */
/**
 * A DMA domain's PTE of one 4 KiB page. An unmapped page keeps its PTE (prot 0: the row that unmapped
 * it names the invalidation a stale entry missed); `freed` marks one whose table an unmap of its
 * whole 2 MiB or 1 GiB entry freed (io-pgtable.ts: that entry maps nothing any more).
 */
export interface DomainPte extends Pte {
  readonly freed?: true;
}

export interface DmaDomain {
  readonly name: string;
  readonly id: number;
  /** SMMUs it is installed on (mainline: exactly one). */
  smmus: number[];
  asid: number;
  masters: string[];
  /** io-pgtable: page -> PTE; absent = not mapped. */
  ptes: Map<number, DomainPte>;
  epoch: number;
  /** Label of the driver operation moving its ASID, or null. */
  movingBy: string | null;
}

/**
 * An SVA context: the E1 shared CD of an mm (one per mm, all SMMUs) or an E2/E3 SVA domain (one per
 * (mm, SMMU)). `masters` lists the {device, ssid} CDs pointing at it.
 */
export interface SvaContext {
  readonly id: number;
  readonly mm: number;
  /** SMMU index for an SVA domain, -1 for the E1 shared CD. */
  readonly smmu: number;
  asid: number;
  /** The CD uses the CPU ASID (ASET=0). */
  shared: boolean;
  /** The notifier relies on BTM and sends no TLBI (E3 `btm_invalidation`). */
  btmInvalidation: boolean;
  /** Pins (`arm64_mm_context_get`) this context holds. */
  pins: number;
  /** rfc-btm-2023: the pin was refused but not checked; the free will put it anyway (unbalanced). */
  putWithoutPin: boolean;
  masters: { device: string; ssid: number }[];
  /** The mm-release path has run (quiet CDs written, flushed). */
  released: boolean;
  /** false until the bind installing it completes (during an ASID move). */
  installed: boolean;
}

/** An mm as the SVA side sees it (`mm->iommu_mm`): its PASID and bonds. */
export interface SvaMm {
  readonly key: number;
  readonly label: string;
  /** 0 = none. Freed at the last unbind (v5.11-v5.17) or at the final mmdrop (v5.18+). */
  pasid: number;
  /** device -> bind refcount. */
  bonds: Map<string, number>;
  /**
   * device -> binds that failed, so that the caller's matching `unbind` is recognised (it holds no
   * handle: nothing to undo). A failed bind holds no reference: this record keeps nothing alive.
   */
  failed: Map<string, number>;
  dead: boolean;
  deadRow: number;
  /** Label of a bind of this mm still in flight, or null. */
  busyWith: string | null;
}

/** One step of a driver operation (data, so a stepped operation survives cloning). */
export type OpStep =
  | { readonly kind: 'cd-write'; readonly domain: string; readonly device: string }
  | { readonly kind: 'tlbi-old'; readonly domain: string; readonly asid: number }
  | {
      readonly kind: 'install';
      readonly device: string;
      readonly mm: number;
      readonly ctx: number;
      readonly pasid: number;
      readonly domain: string;
      readonly asid: number;
    };

/** A driver operation started with an `op` label. */
export interface DriverOp {
  readonly label: string;
  readonly row: number;
  readonly what: string;
  steps: OpStep[];
  done: boolean;
}

export interface SmmuModelState {
  /** What the kernel version does where releases differ. */
  readonly features: KernelFeatures;
  readonly cpuAsidBits: number;
  smmus: SmmuInstance[];
  /** One global pool (`arm_smmu_asid_xa`) or one per SMMU (the bitmap before v5.8, the btm-2023 design): init part `arm_smmu_init_structures`. */
  pools: AsidPool[];
  /** How the ASID maps are laid out, for reports (set with `pools`). */
  asidPools: 'global' | 'per-smmu';
  masters: Map<string, Master>;
  domains: Map<string, DmaDomain>;
  /** Domain id -> name, for live domains. */
  domainIds: Map<number, string>;
  svaContexts: Map<number, SvaContext>;
  /** mm key * 1024 + (SMMU index + 1) -> SVA context id (SMMU index -1 for the E1 shared CD). */
  svaIndex: Map<number, number>;
  svaMms: Map<number, SvaMm>;
  /** Labels of every mm the SVA side has seen (findings name entries of mms long gone). */
  mmLabels: Map<number, string>;
  pasids: { used: Set<number>; cursor: number; cyclic: boolean };
  ops: Map<string, DriverOp>;
  nextId: number;
}

/** Address-space id of a DMA domain (see keys.ts). */
export const domainAsId = (d: DmaDomain): number => domainAs(d.id);

export { MAX_SMMUS } from './keys.js';

/** The init parts (port.ts `SmmuParts`): each called once with the state at boot. */
export interface SmmuInitParts {
  arm_smmu_device_hw_probe(st: SmmuModelState): void;
  arm_smmu_init_structures(st: SmmuModelState): void;
}

/**
 * The SMMU side at boot: the instances, masters and empty tables from `cfg`, then the init parts
 * `arm_smmu_device_hw_probe` (which SMMUs' BTM the driver uses) and `arm_smmu_init_structures` (the
 * ASID maps) of `parts`.
 */
export function createSmmuModel(cfg: SystemConfig, parts: SmmuInitParts): SmmuModelState {
  const smmus: SmmuInstance[] = cfg.smmus.map((m) => ({
    name: m.name,
    asidBits: m.asidBits,
    btm: m.btm,
    rangeInvalidation: m.rangeInvalidation,
    ssidBits: m.ssidBits,
    featBtm: false,
    iotlb: new Map(),
    entries: 0,
    tagsOf: new Map(),
    cmdq: [],
  }));
  const masters = new Map<string, Master>();
  // A device declared without StreamIDs gets one chosen by the model: the lowest no device of its
  // SMMU declares or was given (its per-SID commands need one, and the ATC_INV decode finds the
  // master by it).
  const taken = cfg.smmus.map((m) => new Set(cfg.devices.filter((d) => d.smmu === m.name).flatMap((d) => d.streamIds ?? [])));
  const chooseSid = (smmu: number): number => {
    let sid = 0;
    while (taken[smmu]!.has(sid)) sid++;
    taken[smmu]!.add(sid);
    return sid;
  };
  for (const d of cfg.devices) {
    const smmu = smmus.findIndex((m) => m.name === d.smmu);
    masters.set(d.name, {
      name: d.name,
      smmu,
      streamIds: d.streamIds?.length ? d.streamIds : [chooseSid(smmu)],
      ssidBits: Math.min(smmus[smmu]!.ssidBits, d.pasidBits),
      ats: d.ats,
      rid: null,
      cds: new Map(),
      atc: new Map(),
      ssidReleasedRow: new Map(),
    });
  }
  const st: SmmuModelState = {
    features: cfg.features,
    cpuAsidBits: cfg.asidBits,
    smmus,
    pools: [],
    asidPools: 'global',
    masters,
    domains: new Map(),
    domainIds: new Map(),
    svaContexts: new Map(),
    svaIndex: new Map(),
    svaMms: new Map(),
    mmLabels: new Map(),
    pasids: { used: new Set(), cursor: 1, cyclic: cfg.pasidAllocator === 'cyclic' },
    ops: new Map(),
    nextId: 0,
  };
  parts.arm_smmu_device_hw_probe(st);
  parts.arm_smmu_init_structures(st);
  return st;
}

/** Index of the ASID pool serving `smmu`. */
export const poolIndex = (st: SmmuModelState, smmu: number): number => (st.pools.length === 1 ? 0 : smmu);

const copyNested = <K, J, V>(m: Map<K, Map<J, V>>): Map<K, Map<J, V>> => {
  const out = new Map<K, Map<J, V>>();
  m.forEach((inner, k) => out.set(k, copyMap(inner)));
  return out;
};

/**
 * A copy of `s` that shares nothing mutable with it (for a search that branches). Objects whose
 * fields are all readonly (IOTLB/ATC entries, CDs, PTEs, ASID owners, operation steps) are shared;
 * every Map, Set, array and mutable record is copied. Several times faster than `structuredClone`.
 */
export function cloneSmmuModel(s: SmmuModelState): SmmuModelState {
  const masters = new Map<string, Master>();
  s.masters.forEach((m, k) =>
    masters.set(k, { ...m, cds: copyMap(m.cds), atc: copyNested(m.atc), ssidReleasedRow: copyMap(m.ssidReleasedRow) }),
  );
  const domains = new Map<string, DmaDomain>();
  s.domains.forEach((d, k) => domains.set(k, { ...d, smmus: d.smmus.slice(), masters: d.masters.slice(), ptes: copyMap(d.ptes) }));
  const svaContexts = new Map<number, SvaContext>();
  s.svaContexts.forEach((c, k) => svaContexts.set(k, { ...c, masters: c.masters.slice() }));
  const svaMms = new Map<number, SvaMm>();
  s.svaMms.forEach((x, k) => svaMms.set(k, { ...x, bonds: copyMap(x.bonds), failed: copyMap(x.failed) }));
  const ops = new Map<string, DriverOp>();
  s.ops.forEach((o, k) => ops.set(k, { ...o, steps: o.steps.slice() }));
  const tagsOf = (t: Map<number, Set<number>>) => {
    const out = new Map<number, Set<number>>();
    t.forEach((v, k) => out.set(k, new Set(v)));
    return out;
  };
  return {
    features: s.features,
    cpuAsidBits: s.cpuAsidBits,
    smmus: s.smmus.map((m) => ({ ...m, iotlb: copyNested(m.iotlb), tagsOf: tagsOf(m.tagsOf), cmdq: m.cmdq.slice() })),
    pools: s.pools.map((p) => ({ base: p.base, owners: copyMap(p.owners), hint: p.hint, releasedRow: copyMap(p.releasedRow) })),
    asidPools: s.asidPools,
    masters,
    domains,
    domainIds: copyMap(s.domainIds),
    svaContexts,
    svaIndex: copyMap(s.svaIndex),
    svaMms,
    mmLabels: copyMap(s.mmLabels),
    pasids: { used: new Set(s.pasids.used), cursor: s.pasids.cursor, cyclic: s.pasids.cyclic },
    ops,
    nextId: s.nextId,
  };
}
