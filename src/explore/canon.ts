/**
 * A compact canonical encoding of a model state for the search's visited set, and its 64-bit
 * fingerprint.
 *
 * The encoding keeps everything the model's behaviour depends on and drops what is only reported:
 * trace rows (fill rows, release rows), mm labels, task ids, counters. With symmetry reduction (as
 * TLC's symmetry sets) tasks, mms and CPUs are renamed canonically: CPUs in the order of what each
 * holds on its own, or, when two CPUs tie there, by trying every permutation (up to 4 CPUs) and
 * keeping the smallest encoding; mms by the order in which the
 * (permuted) CPUs reach them, then by a signature of their state; tasks by the CPUs they run on
 * (tasks that run nowhere are interchangeable: only their number per mm is kept). Generations are
 * only ever compared for equality (with the current one, or a CPU's reserved context with an mm's
 * context), so they are renamed too: the current one, the old ones a CPU still reserves, and one
 * name for every other old generation. This makes the state space finite for bounded live tasks
 * and mms, however many rollovers a path has, so a breadth-first search can exhaust it.
 *
 * Any renaming derived from the state itself is sound (two states with equal encodings are the
 * same state up to a renaming), even where it does not find the smallest one; a tie only costs
 * reduction, never a missed state. With SMMUs the SMMU side refers to mm keys, so the CPU side is
 * then encoded without renaming and the SMMU side is appended in a structural encoding (Maps in key order, rows dropped).
 */
import { ctxAsid, ctxGen } from '../model/cpu/allocator.js';
import type { MmState } from '../model/cpu/state.js';
import { forEachAsid, walkMm } from '../model/cpu/index.js';
import type { SystemModel } from '../model/system.js';
import { type FieldRenaming, pushStructure } from './structure.js';
import { domainAs } from '../model/smmu/keys.js';

const EMPTY = new Uint8Array(0);

/** Every permutation of 0..n-1 (n <= 4), the identity first. */
function permutations(n: number): number[][] {
  if (n <= 1) return [[0]];
  const out: number[][] = [];
  const rec = (prefix: number[], rest: number[]) => {
    if (rest.length === 0) out.push(prefix);
    rest.forEach((x, i) => rec([...prefix, x], [...rest.slice(0, i), ...rest.slice(i + 1)]));
  };
  rec(
    [],
    Array.from({ length: n }, (_, i) => i),
  );
  return out;
}

/**
 * Sort numbers ascending in place and return the array: what `a.sort((x, y) => x - y)` gives (the
 * order of equal numbers cannot be told apart). The lists sorted here are short (TLB entries, mms,
 * owners of one state), where an insertion sort is several times faster than `sort` calling a
 * comparator; longer ones go to `sort`.
 */
export function sortAsc(a: number[]): number[] {
  const n = a.length;
  if (n > 32) return a.sort((x, y) => x - y);
  for (let i = 1; i < n; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= 0 && a[j]! > v) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
  return a;
}

/**
 * Sort in place by `cmp` and return the array: what `a.sort(cmp)` gives (both are stable), by
 * insertion for the short lists of one state (CPUs, mms, TLB entries), where calling `sort` costs
 * more than the comparisons.
 */
export function sortWith<T>(a: T[], cmp: (x: T, y: T) => number): T[] {
  const n = a.length;
  if (n > 32) return a.sort(cmp);
  for (let i = 1; i < n; i++) {
    const v = a[i]!;
    let j = i - 1;
    while (j >= 0 && cmp(a[j]!, v) > 0) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = v;
  }
  return a;
}

/** Lexicographic comparison of two int sequences. */
function cmpSeq(a: ArrayLike<number>, an: number, b: ArrayLike<number>, bn: number): number {
  const n = Math.min(an, bn);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return an - bn;
}

/** SMMU-side fields every state of a search shares (the configuration): left out of the encoding. */
const SMMU_CONSTANTS: ReadonlySet<string> = new Set(['features', 'cpuAsidBits', 'asidPools']);

/** Options of a {@link Canonicalizer}. */
export interface CanonOptions {
  /** Rename tasks, mms and CPUs canonically (off with SMMUs: their state names mm keys). */
  symmetry: boolean;
  /** Pages whose PTE the search can change (their protection is part of the state). */
  pages: readonly number[];
  /** Keep the absolute generation (when a generation bound prunes on it). */
  absoluteGeneration: boolean;
  /**
   * Keep the CPU TLBs (default true). Nothing in the model reads a CPU TLB but the `tlb-alias` and
   * `stale-tlb` checks, so a search for other findings may leave them out: states that differ only
   * there behave alike.
   */
  tlb?: boolean;
  /** Keep the `duplicate-asid` check's record of each ASID's last owner (default true); only that check reads it. */
  owners?: boolean;
  /** Encode mapping epochs by rank (default true; off only to check the renaming). */
  epochRanks?: boolean;
}

/** Encodes states into a reusable buffer and fingerprints them. Not re-entrant. */
export class Canonicalizer {
  private bufs: Int32Array[];
  private lens: number[];
  private readonly perms: number[][];
  /** Length of the last encoding (ints). */
  length = 0;
  /** The last encoding (valid until the next call). */
  encoding: Int32Array = new Int32Array(0);

  constructor(
    cpus: number,
    private readonly o: CanonOptions,
  ) {
    this.perms = o.symmetry && cpus <= 4 ? permutations(cpus) : [Array.from({ length: cpus }, (_, i) => i)];
    this.bufs = this.perms.map(() => new Int32Array(1024));
    this.lens = this.perms.map(() => 0);
  }

  private cpuSig: number[][] = [];
  private sorted: number[] = [];

  /**
   * Order the CPUs by what each holds on its own (its active and reserved ASIDs, whether their
   * generation is current, pending flush, TTBR ASID, whether it runs a task, TLB size): data a CPU
   * renaming moves but does not change. When no two CPUs tie, that order is a canonical one and
   * one encoding is enough; on a tie every permutation is tried.
   */
  private cpuOrder(m: SystemModel): number[] | undefined {
    const a = m.cpu.alloc;
    const G = a.generation;
    const n = a.active.length;
    const sig = this.cpuSig;
    const ctxKey = (ctx: number) => (ctx === 0 ? -1 : (ctxGen(ctx) === G ? 0 : 0x10000) + ctxAsid(ctx));
    for (let c = 0; c < n; c++) {
      const x = (sig[c] ??= []);
      x.length = 0;
      x.push(
        ctxKey(a.active[c]!),
        ctxKey(a.reserved[c]!),
        a.flushPending[c]!,
        m.cpu.ttbrAsid[c]!,
        m.cpu.curTask[c] === 0 ? 0 : 1,
        (this.o.tlb ?? true) ? m.cpu.tlb.counts[c]! : 0,
      );
    }
    const order = this.sorted;
    order.length = 0;
    for (let c = 0; c < n; c++) order.push(c);
    sortWith(order, (x, y) => cmpSeq(sig[x]!, sig[x]!.length, sig[y]!, sig[y]!.length));
    for (let i = 1; i < n; i++) if (cmpSeq(sig[order[i - 1]!]!, 6, sig[order[i]!]!, 6) === 0) return undefined;
    return order;
  }

  /** Encode `m` (canonical over CPU renamings); sets {@link encoding}. */
  encode(m: SystemModel): Int32Array {
    const order = this.perms.length > 1 ? this.cpuOrder(m) : undefined;
    if (order) {
      this.length = this.encodeWith(m, order, 0);
      this.encoding = this.bufs[0]!.subarray(0, this.length);
      return this.encoding;
    }
    let best = 0;
    for (let i = 0; i < this.perms.length; i++) {
      this.lens[i] = this.encodeWith(m, this.perms[i]!, i);
      if (i > 0 && cmpSeq(this.bufs[i]!, this.lens[i]!, this.bufs[best]!, this.lens[best]!) < 0) best = i;
    }
    this.length = this.lens[best]!;
    this.encoding = this.bufs[best]!.subarray(0, this.length);
    return this.encoding;
  }

  /**
   * 64-bit fingerprint of `m`'s canonical state, as two 32-bit halves `[hi, lo]` (never both 0).
   * Collisions are possible in principle (as with TLC's fingerprints): 2^-64 per pair of states.
   */
  fingerprint(m: SystemModel, out: Uint32Array): void {
    const e = this.encode(m);
    let h1 = 0x9e3779b9 ^ e.length;
    let h2 = 0x85ebca6b ^ Math.imul(e.length, 0xc2b2ae35);
    for (let i = 0; i < e.length; i++) {
      let k = Math.imul(e[i]!, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, 0x1b873593);
      h1 ^= k;
      h1 = (h1 << 13) | (h1 >>> 19);
      h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
      h2 = Math.imul(h2 ^ e[i]!, 0x27d4eb2f);
      h2 ^= h2 >>> 15;
    }
    h1 ^= h1 >>> 16;
    h1 = Math.imul(h1, 0x85ebca6b);
    h1 ^= h1 >>> 13;
    h2 = Math.imul(h2 ^ (h2 >>> 16), 0x7feb352d);
    h2 ^= h2 >>> 15;
    out[0] = h1 >>> 0;
    out[1] = h2 >>> 0 || 1;
  }

  private scratch = new Int32Array(64);
  private owners: number[] = [];
  private tlbRaw: number[] = [];
  private packed: number[] = [];

  /**
   * Epochs, per address space (an mm's key, or a DMA domain's `as`), as the state holds them: the
   * mapping counter, the PTEs' epochs and those of IOTLB/ATC entries for it. The model only compares
   * epochs for equality and takes each new one above the counter, so an epoch is encoded as its
   * rank among these: states that differ by an order-preserving renaming of epochs encode alike,
   * and a search with map/unmap cycles on a bounded alphabet has finitely many states.
   */
  private epochs = new Map<number, number[]>();
  private collectEpochs(m: SystemModel): void {
    const ep = this.epochs;
    ep.clear();
    const add = (as: number, e: number) => {
      let l = ep.get(as);
      if (!l) ep.set(as, (l = []));
      if (!l.includes(e)) l.push(e);
    };
    m.cpu.mms.forEach((mm, k) => {
      add(k, mm.epoch);
      for (const pg of this.o.pages) add(k, walkMm(mm, pg).epoch);
    });
    m.smmu.domains.forEach((d) => {
      const as = domainAs(d.id);
      add(as, d.epoch);
      d.ptes.forEach((p) => add(as, p.epoch));
    });
    const entries = (t: Map<number, Map<number, { as: number; epoch: number }>>) =>
      t.forEach((pages) => pages.forEach((e) => add(e.as, e.epoch)));
    for (const sm of m.smmu.smmus) entries(sm.iotlb);
    m.smmu.masters.forEach((ms) => entries(ms.atc));
    ep.forEach((l) => sortAsc(l));
  }
  private epochRank(as: number, e: number): number {
    return (this.o.epochRanks ?? true) ? (this.epochs.get(as)?.indexOf(e) ?? -2) : e;
  }
  /** The SMMU side's `epoch` fields as ranks: an entry's scope is its `as`, a domain's its own. */
  private readonly epochRenaming: FieldRenaming = {
    scope: (o, inherited) =>
      typeof o.as === 'number' ? o.as : typeof o.id === 'number' && o.ptes instanceof Map ? domainAs(o.id) : inherited,
    rename: (k, v, scope) => (k === 'epoch' && !Number.isNaN(scope) ? this.epochRank(scope, v) : v),
  };

  private encodeWith(m: SystemModel, perm: number[], bi: number): number {
    if (m.smmu.smmus.length > 0 && (this.o.epochRanks ?? true)) this.collectEpochs(m);
    const s = m.cpu;
    const a = s.alloc;
    const G = a.generation;
    const sym = this.o.symmetry;
    const ncpu = perm.length;
    // Generations are only compared for equality (with the current one, or a CPU's reserved
    // context with an mm's): the current one is 0, the old ones a CPU still reserves are named by
    // first appearance, every other old generation is one "unmatched" name.
    const gens: number[] = [];
    for (let i = 0; i < ncpu; i++) {
      const r = a.reserved[perm[i]!]!;
      const g = ctxGen(r);
      if (r !== 0 && g !== G && !gens.includes(g)) gens.push(g);
    }
    const genName = (g: number) => (g === G ? 0 : this.o.absoluteGeneration ? G - g : gens.indexOf(g) + 1 || 0xfff);
    const enc = (ctx: number) => (ctx === 0 ? -1 : genName(ctxGen(ctx)) * 0x10000 + ctxAsid(ctx));
    let buf = this.bufs[bi]!;
    let n = 0;
    const push = (x: number) => {
      if (n === buf.length) {
        const b = new Int32Array(buf.length * 2);
        b.set(buf);
        this.bufs[bi] = buf = b;
      }
      buf[n++] = x;
    };
    if (this.scratch.length < s.nextKey + 1) this.scratch = new Int32Array(2 * (s.nextKey + 1));
    const id = this.scratch; // mm key -> canonical id + 1 (0 = none yet)
    // TLB entries, raw: per permuted CPU, [asid, mm key, page] triples.
    const raw = this.tlbRaw;
    raw.length = 0;
    const cpuEnd: number[] = [];
    const withTlb = this.o.tlb ?? true;
    for (let i = 0; i < ncpu; i++) {
      if (withTlb)
        forEachAsid(s.tlb, perm[i]!, (first, asid) => {
          for (let x: typeof first | null = first; x; x = x.next) {
            if (x.spec >= 0) raw.push(asid, x.mm, -1);
            if (x.pages) for (const pg of x.pages.keys()) raw.push(asid, x.mm, pg);
          }
        });
      cpuEnd.push(raw.length);
    }

    // Canonical mm ids: mms the CPUs reach first, then the others by a signature.
    const order: number[] = [];
    const add = (k: number) => {
      if (k >= 0 && id[k] === 0) {
        order.push(k);
        id[k] = order.length;
      }
    };
    if (sym) {
      for (let i = 0; i < ncpu; i++) {
        const c = perm[i]!;
        add(s.ttbrMm[c]!);
        const t = s.curTask[c]!;
        if (t !== 0) add(s.tasks.get(t) ?? -1);
      }
    }
    const fixed = order.length;
    const rest: number[] = [];
    const mark = (k: number) => {
      if (id[k] === 0) {
        id[k] = -1;
        rest.push(k);
      }
    };
    s.mms.forEach((_, k) => mark(k));
    for (let j = 1; j < raw.length; j += 3) mark(raw[j]!);
    if (!sym) for (const k of s.ttbrMm) if (k >= 0) mark(k);
    if (sym && rest.length > 1) {
      const sig = new Map<number, number[]>();
      for (const k of rest) sig.set(k, this.mmSignature(m, k, raw, cpuEnd, enc));
      sortWith(rest, (x, y) => cmpSeq(sig.get(x)!, sig.get(x)!.length, sig.get(y)!, sig.get(y)!.length) || x - y);
    } else sortAsc(rest);
    for (const k of rest) id[k] = 0;
    for (const k of rest) add(k);
    void fixed;
    const mmId = (k: number) => (k < 0 ? -1 : sym ? id[k]! - 1 : k);

    // Allocator.
    if (this.o.absoluteGeneration) push(G);
    push(a.curIdx);
    push(a.nrPinned);
    pushBits(a.asidMap, push);
    pushBits(a.pinnedMap ?? EMPTY, push);
    // CPUs and the tasks they run (sym: numbered by first appearance).
    let t1 = 0;
    let t2 = 0;
    for (let i = 0; i < ncpu; i++) {
      const c = perm[i]!;
      push(enc(a.active[c]!));
      push(enc(a.reserved[c]!));
      push(a.flushPending[c]!);
      push(mmId(s.ttbrMm[c]!));
      push(s.ttbrAsid[c]!);
      const t = s.curTask[c]!;
      if (t === 0 || !sym) push(t);
      else if (t === t1) push(1);
      else if (t === t2) push(2);
      else if (t1 === 0) {
        push(1);
        t1 = t;
      } else if (t2 === 0) {
        push(2);
        t2 = t;
      } else push(3 + i); // three or more CPUs: one id per CPU (a task on two CPUs keeps two ids: less reduction, still sound)
      push(t === 0 ? -1 : mmId(s.tasks.get(t) ?? -1));
    }
    if (!sym) {
      push(s.tasks.size);
      for (const t of sortAsc([...s.tasks.keys()])) {
        push(t);
        push(s.tasks.get(t)!);
      }
    }
    // duplicate-asid bookkeeping: the last owner of each index, when it still holds that ctx (the
    // duplicate check compares a new context, current generation, with the owner's). Only mms of
    // the current generation can be such owners: found through the mms, listed by index.
    if (this.o.owners ?? true) {
      const sh = m.params.idxShift;
      const owners = this.owners;
      owners.length = 0;
      if (s.ownersGen === G)
        s.mms.forEach((o, k) => {
          if (ctxGen(o.ctx) !== G) return;
          const idx = ctxAsid(o.ctx) >> sh;
          if (s.owners.get(idx) === k) owners.push(idx * 0x200000 + mmId(k) + 1);
        });
      sortAsc(owners);
      push(owners.length);
      for (const x of owners) {
        push(Math.floor(x / 0x200000));
        push(x % 0x200000);
      }
    }
    // mms in canonical order.
    push(order.length);
    for (const k of order) {
      if (!sym) push(k);
      this.pushMm(m, s.mms.get(k), enc, push);
    }
    // TLBs: per CPU, sorted (asid, mm id, page), packed in two ints.
    const packed = this.packed;
    let from = 0;
    for (let i = 0; i < ncpu; i++) {
      packed.length = 0;
      for (let j = from; j < cpuEnd[i]!; j += 3) packed.push((raw[j]! * 4096 + (mmId(raw[j + 1]!) + 1)) * 0x2000000 + (raw[j + 2]! + 1));
      from = cpuEnd[i]!;
      sortAsc(packed);
      push(packed.length);
      for (const x of packed) {
        push(Math.floor(x / 0x2000000));
        push(x % 0x2000000);
      }
    }
    for (const k of order) id[k] = 0;
    if (m.smmu.smmus.length > 0) {
      pushStructure(m.smmu, push, SMMU_CONSTANTS, this.epochRenaming);
    }
    return n;
  }

  private pushMm(m: SystemModel, mm: MmState | undefined, enc: (c: number) => number, push: (x: number) => void): void {
    if (!mm) {
      push(2); // ended: only TLB entries and TTBRs still name it
      return;
    }
    push(m.cpu.labels.get(mm.label) === mm.key ? 0 : 1);
    push(enc(mm.ctx));
    push(mm.pinned);
    push(mm.users);
    push(mm.pinnedAsid);
    push(mm.refusedPins);
    for (const pg of this.o.pages) push(walkMm(mm, pg).prot);
    if (m.smmu.smmus.length > 0) {
      push(this.epochRank(mm.key, mm.epoch));
      // The PTE's own epoch: a device entry is stale (S-UNMAP) when its epoch differs from the
      // PTE's, fresh when equal. The counter does not say which (a fault that raises rights keeps
      // the PTE's epoch and still advances the counter), so two states that differ only there
      // would otherwise encode alike and one of them, with its findings, be lost.
      for (const pg of this.o.pages) push(this.epochRank(mm.key, walkMm(mm, pg).epoch));
    }
  }

  /** The mm's own state, then its TLB entries per (permuted) CPU: what a renaming cannot change. */
  private mmSignature(m: SystemModel, k: number, raw: number[], cpuEnd: number[], enc: (c: number) => number): number[] {
    const sig: number[] = [];
    this.pushMm(m, m.cpu.mms.get(k), enc, (x) => sig.push(x));
    let from = 0;
    for (const end of cpuEnd) {
      const mine: number[] = [];
      for (let j = from; j < end; j += 3) if (raw[j + 1] === k) mine.push(raw[j]! * 0x2000000 + raw[j + 2]! + 1);
      from = end;
      sortAsc(mine);
      sig.push(mine.length, ...mine);
    }
    return sig;
  }
}

const SET: number[] = [];

function pushBits(map: Uint8Array, push: (x: number) => void): void {
  // Wide maps (16-bit ASIDs: 65536 indexes) as the list of their set indexes, small ones as words.
  if (map.length > 256) {
    // The maps hold 0 or 1 per index; indexOf is a native scan, far faster than a loop here.
    SET.length = 0;
    for (let i = map.indexOf(1); i >= 0; i = map.indexOf(1, i + 1)) SET.push(i);
    push(SET.length);
    for (const i of SET) push(i);
    return;
  }
  let w = 0;
  for (let i = 0; i < map.length; i++) {
    if (map[i]) w |= 1 << (i & 31);
    if ((i & 31) === 31) {
      push(w);
      w = 0;
    }
  }
  if (map.length & 31) push(w);
}
