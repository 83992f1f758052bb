/**
 * The `# system:` object decided without zod, for start-up: loading zod costs more than a short
 * replay itself. The zod schema in system.ts stays the definition: this function returns exactly
 * what `SystemSchema.parse` returns (values and key order) for the inputs it decides, and
 * `undefined` for every other input, which then goes to zod, whose message names the problem.
 * It declines anything unusual (an unknown key, an `undefined` value, a wrong type, any broken
 * rule); test/system-fast.test.ts proves the equality against zod on random objects.
 */
import { ALLOCATOR_VARIANTS, type AllocatorVariant } from '../model/cpu/variants.js';
import { FAULTS, type Fault, PASID_ALLOCATORS, type PasidAllocator } from '../model/config.js';
import { DEFAULT_KERNEL, DRIVER_DESIGNS, type DriverDesign, resolveKernel } from '../model/kernel/eras.js';

/**
 * What `SystemSchema.parse` returns (system.ts `ParsedSystem`; a compile-time check there keeps the
 * two types equal): the object with every default filled in.
 */
export interface ParsedSystemFields {
  cpus: number;
  asidBits: number;
  kernel: string;
  kpti: boolean;
  unmapKernelAtEl0: boolean;
  allocator?: AllocatorVariant;
  driver?: DriverDesign;
  smmus: { name: string; asidBits: 8 | 16; vmidBits: 8 | 16; btm: boolean; ssidBits: number; rangeInvalidation: boolean }[];
  devices: { name: string; smmu: string; pasidBits: number; streamIds?: number[]; ats: boolean }[];
  whatIf: boolean;
  maxPinnedAsids?: number;
  pasidAllocator: PasidAllocator;
  multiSmmuDomains: boolean;
  faults: Fault[];
}

const NAME = /^[A-Za-z0-9_.:\-/]+$/;
const SYSTEM_KEYS = new Set([
  'cpus',
  'asidBits',
  'kernel',
  'kpti',
  'unmapKernelAtEl0',
  'allocator',
  'driver',
  'smmus',
  'devices',
  'whatIf',
  'maxPinnedAsids',
  'pasidAllocator',
  'multiSmmuDomains',
  'faults',
]);
const SMMU_KEYS = new Set(['name', 'asidBits', 'vmidBits', 'btm', 'ssidBits', 'rangeInvalidation']);
const DEVICE_KEYS = new Set(['name', 'smmu', 'pasidBits', 'streamIds', 'ats']);

/** Thrown inside to decline; never leaves this module. */
const DECLINE = Symbol('decline');
function no(): never {
  throw DECLINE;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

/** Only known keys, none of them `undefined` (zod's handling of an explicit undefined is left to zod). */
function plain(o: unknown, keys: ReadonlySet<string>): Obj {
  if (!isObj(o)) no();
  for (const k of Object.keys(o)) if (!keys.has(k) || o[k] === undefined) no();
  return o;
}
function int(v: unknown, min: number, max: number, dflt?: number): number {
  if (v === undefined && dflt !== undefined) return dflt;
  return Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : no();
}
function bool(v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  return typeof v === 'boolean' ? v : no();
}
function oneOf<T extends string>(v: unknown, choices: readonly T[]): T {
  return typeof v === 'string' && (choices as readonly string[]).includes(v) ? (v as T) : no();
}
const name = (v: unknown): string => (typeof v === 'string' && NAME.test(v) ? v : no());
const width = (v: unknown): 8 | 16 => (v === undefined ? 16 : v === 8 || v === 16 ? v : no());

/**
 * `SystemSchema.parse(input)` (system.ts) when `input` is a plain, valid system object, else undefined.
 * @param input the merged preamble and command-line overrides
 */
export function parseSystemFast(input: unknown): ParsedSystemFields | undefined {
  try {
    return decide(input);
  } catch (e) {
    if (e === DECLINE) return undefined;
    throw e;
  }
}

function decide(input: unknown): ParsedSystemFields {
  const o = plain(input, SYSTEM_KEYS);
  const asidBits = int(o.asidBits, 2, 16, 16);
  const kpti = bool(o.kpti, false);
  const unmapKernelAtEl0 = bool(o.unmapKernelAtEl0, true);
  const whatIf = bool(o.whatIf, false);
  // The schema's superRefine rules: an answer only when none is broken.
  if ((asidBits !== 8 && asidBits !== 16 && !whatIf) || (kpti && asidBits < 3) || (kpti && !unmapKernelAtEl0)) no();
  const kernel = o.kernel === undefined ? DEFAULT_KERNEL : typeof o.kernel === 'string' ? o.kernel : no();
  try {
    resolveKernel(kernel);
  } catch {
    no();
  }
  const smmus = (o.smmus === undefined ? [] : Array.isArray(o.smmus) ? o.smmus : no()).map((x: unknown) => {
    const m = plain(x, SMMU_KEYS);
    return {
      name: name(m.name),
      asidBits: width(m.asidBits),
      vmidBits: width(m.vmidBits),
      btm: bool(m.btm, false),
      ssidBits: int(m.ssidBits, 0, 20, 20),
      rangeInvalidation: bool(m.rangeInvalidation, false),
    };
  });
  const smmuNames = new Set(smmus.map((m) => m.name));
  if (smmuNames.size !== smmus.length) no();
  const sids = new Set<string>();
  const devNames = new Set<string>();
  const devices = (o.devices === undefined ? [] : Array.isArray(o.devices) ? o.devices : no()).map((x: unknown) => {
    const d = plain(x, DEVICE_KEYS);
    const dev = {
      name: name(d.name),
      smmu: name(d.smmu),
      pasidBits: int(d.pasidBits, 0, 20, 20),
      ...(d.streamIds === undefined
        ? {}
        : { streamIds: (Array.isArray(d.streamIds) ? d.streamIds : no()).map((s: unknown) => int(s, 0, Number.MAX_SAFE_INTEGER)) }),
      ats: bool(d.ats, false),
    };
    if (!smmuNames.has(dev.smmu) || devNames.has(dev.name)) no();
    devNames.add(dev.name);
    for (const sid of dev.streamIds ?? []) {
      const k = `${dev.smmu}/${sid}`;
      if (sids.has(k)) no();
      sids.add(k);
    }
    return dev;
  });
  const faults = o.faults === undefined ? [] : Array.isArray(o.faults) ? o.faults.map((f: unknown) => oneOf(f, FAULTS)) : no();
  return {
    cpus: int(o.cpus, 1, 4096, 4),
    asidBits,
    kernel,
    kpti,
    unmapKernelAtEl0,
    ...(o.allocator === undefined ? {} : { allocator: oneOf(o.allocator, ALLOCATOR_VARIANTS) }),
    ...(o.driver === undefined ? {} : { driver: oneOf(o.driver, DRIVER_DESIGNS) }),
    smmus,
    devices,
    whatIf,
    ...(o.maxPinnedAsids === undefined ? {} : { maxPinnedAsids: int(o.maxPinnedAsids, 0, Number.MAX_SAFE_INTEGER) }),
    pasidAllocator: o.pasidAllocator === undefined ? 'lowest' : oneOf(o.pasidAllocator, PASID_ALLOCATORS),
    multiSmmuDomains: bool(o.multiSmmuDomains, false),
    faults,
  };
}
