/**
 * Device workloads for the SMMUv3/SVA model (issue: SVA binds on BTM and non-BTM SMMUs, DMA domains
 * whose ASIDs collide with CPU ASIDs, heterogeneous SMMUs). One generator, three system mixes.
 *
 * Every event is valid in the model whatever the driver design: PASIDs are chosen by the generator
 * (lowest free, freed when an unbound mm exits, as `mm_pasid_drop` does), a bind that the model
 * refuses is still matched by its unbind (the model counts those), bound processes exit first and
 * unbind after (the mm-release path, then the fd close), DMA domains are only mapped where unmapped.
 */
import type { SystemInput } from '../trace/system.js';
import type { GenEvent, GenOptions } from './types.js';
import { World } from './world.js';

export interface DeviceMix {
  system: Partial<SystemInput>;
  /** Devices that do SVA (bind) and devices that get a DMA domain. */
  svaDevices: string[];
  dmaDevices: string[];
}

const BASE = 0x400000;
const PAGES = 32;

export function* deviceWorkload(o: GenOptions, mix: DeviceMix): Generator<GenEvent> {
  const w = new World(o);
  const target = o.tasks ?? o.cpus * 4;
  /** mm -> its PASID, and the devices it is bound to. */
  const pasidOf = new Map<string, number>();
  const bonds = new Map<string, Set<string>>();
  const freePasids: number[] = [];
  let nextPasid = 1;
  /** device -> attached domain, domain -> mapped pages. */
  const domainOf = new Map<string, string>();
  const mapped = new Map<string, Set<number>>();
  let nextDomain = 1;
  const out: GenEvent[] = [];
  const t = () => w.tick();
  const attach = (device: string) => {
    const d = `D${nextDomain++}`;
    domainOf.set(device, d);
    mapped.set(d, new Set());
    out.push({ time: t(), kind: 'attach', device, domain: d });
  };
  // DMA domains come first: they take the low SMMU ASIDs that CPU ASIDs will collide with.
  for (const dev of mix.dmaDevices) attach(dev);
  let n = 0;
  while (n < o.events) {
    if (out.length === 0) {
      const r = w.rng.int(0, 99);
      const mms = [...bonds.keys()];
      if (w.live.length < 2 || (r < 6 && w.live.length < target)) {
        out.push(w.fork());
      } else if (r < 38) {
        out.push(w.randomSchedule());
      } else if (r < 46) {
        const mm = w.mmOf.get(w.rng.pick(w.live))!;
        const dev = w.rng.pick(mix.svaDevices);
        const set = bonds.get(mm) ?? new Set();
        if (!set.has(dev)) {
          let pasid = pasidOf.get(mm);
          if (pasid === undefined) {
            pasid = freePasids.length ? freePasids.shift()! : nextPasid++;
            pasidOf.set(mm, pasid);
          }
          set.add(dev);
          bonds.set(mm, set);
          out.push({ time: t(), kind: 'bind', device: dev, mm, pasid });
        }
      } else if (r < 50 && mms.length) {
        const mm = w.rng.pick(mms);
        const set = bonds.get(mm)!;
        const dev = [...set][0]!;
        set.delete(dev);
        if (set.size === 0) bonds.delete(mm);
        out.push({ time: t(), kind: 'unbind', device: dev, mm });
      } else if (r < 72 && mms.length) {
        const mm = w.rng.pick(mms);
        const dev = w.rng.pick([...bonds.get(mm)!]);
        out.push({
          time: t(),
          kind: 'dma',
          device: dev,
          pasid: pasidOf.get(mm),
          va: BASE + w.rng.int(0, PAGES - 1) * 4096,
          prot: w.rng.chance(0.3) ? 2 : 1,
        });
      } else if (r < 78 && mms.length) {
        const mm = w.rng.pick(mms);
        const va = BASE + w.rng.int(0, PAGES - 1) * 4096;
        const size = w.rng.chance(0.05) ? 600 * 4096 : 4096;
        // munmap and mmap again, or a write-protect cycle (mprotect PROT_READ, then PROT_READ|PROT_WRITE).
        if (w.rng.chance(0.8)) out.push({ time: t(), kind: 'unmap', mm, va, size }, { time: t(), kind: 'map', mm, va, size });
        else out.push({ time: t(), kind: 'mprotect', mm, va, size, prot: 1 }, { time: t(), kind: 'mprotect', mm, va, size, prot: 3 });
      } else if (r < 88 && mix.dmaDevices.length) {
        const dev = w.rng.pick(mix.dmaDevices);
        const d = domainOf.get(dev)!;
        const pg = w.rng.int(0, PAGES - 1);
        const pages = mapped.get(d)!;
        if (w.rng.chance(0.6)) out.push({ time: t(), kind: 'dma', device: dev, va: BASE + pg * 4096, prot: 1 });
        else if (pages.has(pg)) {
          pages.delete(pg);
          out.push({ time: t(), kind: 'unmap', domain: d, va: BASE + pg * 4096, size: 4096 });
        } else {
          pages.add(pg);
          out.push({ time: t(), kind: 'map', domain: d, va: BASE + pg * 4096, size: 4096 });
        }
      } else if (r < 90 && mix.dmaDevices.length) {
        // A new DMA domain replaces the old one (VFIO re-open): ASID churn on the SMMU.
        const dev = w.rng.pick(mix.dmaDevices);
        out.push({ time: t(), kind: 'detach', device: dev });
        attach(dev);
      } else if (r < 96 && w.live.length > 2) {
        const i = w.rng.int(0, w.live.length - 1);
        const mm = w.mmOf.get(w.live[i]!)!;
        const last = w.usersOf.get(mm) === 1;
        out.push(w.exit(i));
        if (last) {
          for (const dev of bonds.get(mm) ?? []) out.push({ time: t(), kind: 'unbind', device: dev, mm });
          bonds.delete(mm);
          const p = pasidOf.get(mm);
          if (p !== undefined) {
            pasidOf.delete(mm);
            freePasids.push(p);
            freePasids.sort((a, b) => a - b);
          }
        }
      } else {
        const cpu = w.rng.int(0, o.cpus - 1);
        if (w.running[cpu] !== 0) out.push({ time: t(), kind: 'access', cpu, va: BASE + w.rng.int(0, PAGES - 1) * 4096 });
      }
    }
    const e = out.shift();
    if (e) {
      yield e;
      n++;
    }
  }
}

const smmu = (name: string, asidBits: 8 | 16, btm = false) => ({ name, asidBits, btm, rangeInvalidation: false });

export const DEVICE_MIXES: Readonly<Record<string, { description: string; mix: DeviceMix }>> = {
  'sva-btm': {
    description: 'SVA binds on a BTM and a non-BTM SMMU (the 2023 BTM proposal) with DMA traffic, munmaps and exits',
    mix: {
      system: {
        kernel: 'rfc-btm-2023',
        smmus: [smmu('smmu-btm', 16, true), smmu('smmu-cmdq', 16)],
        devices: [
          { name: 'gpu', smmu: 'smmu-btm', ats: true },
          { name: 'accel', smmu: 'smmu-cmdq' },
        ],
      },
      svaDevices: ['gpu', 'accel'],
      dmaDevices: [],
    },
  },
  'dma-collide': {
    description: 'DMA domains hold the low SMMU ASIDs that the CPU allocator hands out too (v6.10, shared CPU ASIDs: S1 ASID moves)',
    mix: {
      system: {
        kernel: '6.10',
        smmus: [smmu('smmu0', 16)],
        devices: [
          { name: 'nic', smmu: 'smmu0' },
          { name: 'disk', smmu: 'smmu0' },
          { name: 'accel', smmu: 'smmu0' },
        ],
      },
      svaDevices: ['accel'],
      dmaDevices: ['nic', 'disk'],
    },
  },
  'hetero-smmu': {
    description: 'an 8-bit and a 16-bit SMMU sharing the global ASID pool (v6.11+ private SVA ASIDs): binds, domains, failures',
    mix: {
      system: {
        smmus: [smmu('smmu16', 16), smmu('smmu8', 8)],
        devices: [
          { name: 'gpu', smmu: 'smmu16' },
          { name: 'dsp', smmu: 'smmu8' },
          { name: 'cam', smmu: 'smmu8' },
        ],
      },
      svaDevices: ['gpu', 'dsp'],
      dmaDevices: ['cam'],
    },
  },
};
