/**
 * Per-CPU TLBs tagged by ASID, as the kernel-tla `asidalloc` model keeps them:
 * an entry is (cpu, asid, mm, page) and remembers the trace row that filled it.
 *
 * `page` is a 4 KiB virtual page number, or {@link SPECULATIVE} for the walk the CPU may perform as
 * soon as TTBR0 is written (`cpu_switch_mm`), the TLA model's one-page-per-task abstraction.
 * Maintenance mirrors arm64 `tlbflush.h`: `local_flush_tlb_all` (TLBI VMALLE1, this CPU only),
 * `flush_tlb_mm` (TLBI ASIDE1IS, every CPU) and `__flush_tlb_range` (TLBI VAE1IS per page, every CPU).
 *
 * Layout (why): almost every fill is the speculative entry of the one mm that owns an ASID on a
 * CPU, so a CPU's TLB maps asid -> {@link TlbSet} holding that row inline; a page Map exists
 * only once a real page is filled, and a second mm under the same ASID (the alias hazard the checks
 * look for) chains another set behind the first. A set with no entries is unlinked at once.
 *
 * A CPU's ASIDs are kept in two short arrays while there are at most {@link SMALL_TLB} of them, and
 * in a Map past that ({@link CpuTlb}): where every switch rolls over (every ASID but a few pinned),
 * a TLB holds one or two ASIDs, each flushed soon after it is filled, and a Map allocates a new
 * table every few deletions and insertions (such a replay ran about 10% faster on the arrays:
 * docs/performance.md).
 */

import { copyMap } from '../copy-map.js';

/** Page number of the speculative, not-page-specific entry filled at `cpu_switch_mm`. */
export const SPECULATIVE = -1;

/** The entries of one mm under one ASID on one CPU. */
export interface TlbSet {
  mm: number;
  /** Row that filled the speculative entry, or -1 when there is none. */
  spec: number;
  /** page -> row that filled it (null until the first real page). */
  pages: Map<number, number> | null;
  /** Another mm's entries under the same ASID (normally null). */
  next: TlbSet | null;
}

/**
 * One CPU's TLB: asid -> the first of the sets of entries under it, in the order the ASIDs were
 * first filled (a Map's order). Up to {@link SMALL_TLB} ASIDs: `asids[i]` -> `sets[i]` for
 * `i < n`, and `map` null; past that, `map` holds them and `n` is 0. The arrays are allocated once
 * (a flush writes nothing but `n` and the dropped slots, and allocates nothing). Read and written
 * through the functions below ({@link forEachAsid} for the others).
 */
export interface CpuTlb {
  n: number;
  /** {@link SMALL_TLB} ASIDs (those past `n` are stale): a plain array, which a search's state clone copies faster than a typed one. */
  asids: number[];
  /** {@link SMALL_TLB} slots (null past `n`, so that a dropped set can be collected). */
  sets: (TlbSet | null)[];
  map: Map<number, TlbSet> | null;
}

/** ASIDs a CPU's TLB keeps in its arrays before it moves them to a Map. */
export const SMALL_TLB = 8;

const newCpuTlb = (): CpuTlb => ({
  n: 0,
  // Stryker disable next-line ArrayDeclaration: equivalent, an empty array grows at the first write, and no slot at or past n is read
  asids: new Array<number>(SMALL_TLB).fill(0),
  // Stryker disable next-line ArrayDeclaration: equivalent, an empty array grows at the first write, and no slot at or past n is read
  sets: new Array<TlbSet | null>(SMALL_TLB).fill(null),
  map: null,
});

/** Index of `asid` among the first `tlb.n`, or -1. */
function slotOf(tlb: CpuTlb, asid: number): number {
  const a = tlb.asids;
  for (let i = 0; i < tlb.n; i++) if (a[i] === asid) return i;
  return -1;
}

/** The first set under `asid`, if any. */
function getAsid(tlb: CpuTlb, asid: number): TlbSet | undefined {
  if (tlb.map !== null) return tlb.map.get(asid);
  const i = slotOf(tlb, asid);
  // Stryker disable next-line ConditionalExpression: equivalent, -> false reads sets[-1], undefined too
  return i < 0 ? undefined : tlb.sets[i]!;
}

/** Make `first` the first set under `asid` (an ASID already there keeps its place, as in a Map). */
function setAsid(tlb: CpuTlb, asid: number, first: TlbSet): void {
  if (tlb.map !== null) {
    tlb.map.set(asid, first);
    return;
  }
  const i = slotOf(tlb, asid);
  if (i >= 0) {
    tlb.sets[i] = first;
    return;
  }
  // Stryker disable next-line EqualityOperator: equivalent, n <= SMALL_TLB keeps one ASID more in the (growing) arrays before the Map: the threshold only picks where they are kept
  if (tlb.n < SMALL_TLB) {
    tlb.asids[tlb.n] = asid;
    tlb.sets[tlb.n++] = first;
    return;
  }
  const map = new Map<number, TlbSet>();
  for (let i = 0; i < tlb.n; i++) map.set(tlb.asids[i]!, tlb.sets[i]!);
  map.set(asid, first);
  clearCpuTlb(tlb);
  tlb.map = map;
}

/** Remove `asid` and its sets (the others keep their order). */
function deleteAsid(tlb: CpuTlb, asid: number): void {
  if (tlb.map !== null) {
    tlb.map.delete(asid);
    return;
  }
  const i = slotOf(tlb, asid);
  if (i < 0) return;
  const a = tlb.asids;
  const sets = tlb.sets;
  // Stryker disable next-line EqualityOperator: equivalent, j <= n moves the stale slot past the end down, which the null below overwrites
  for (let j = i + 1; j < tlb.n; j++) {
    a[j - 1] = a[j]!;
    sets[j - 1] = sets[j]!;
  }
  sets[--tlb.n] = null;
}

/** Empty the TLB (back to the arrays). */
function clearCpuTlb(tlb: CpuTlb): void {
  tlb.map = null;
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, no slot at or past n is read (i <= n clears one more, null already): clearing them only lets the dropped sets be collected
  for (let i = 0; i < tlb.n; i++) tlb.sets[i] = null;
  tlb.n = 0;
}

/** `fn(first, asid)` for every ASID of `cpu`'s TLB, in the order the ASIDs were first filled. */
export function forEachAsid(t: TlbState, cpu: number, fn: (first: TlbSet, asid: number) => void): void {
  const tlb = t.cpus[cpu]!;
  if (tlb.map !== null) {
    tlb.map.forEach(fn);
    return;
  }
  for (let i = 0; i < tlb.n; i++) fn(tlb.sets[i]!, tlb.asids[i]!);
}

export interface TlbState {
  cpus: CpuTlb[];
  /** Entries per CPU (for the capacity bound). */
  counts: number[];
}

/** Capacity per CPU; when exceeded the CPU's TLB is emptied (a conservative eviction, as QEMU's IOTLB does). */
export const TLB_CAPACITY = 16384;

export function createTlb(cpus: number): TlbState {
  return { cpus: Array.from({ length: cpus }, newCpuTlb), counts: new Array(cpus).fill(0) };
}

function cloneSet(x: TlbSet | null): TlbSet | null {
  return x && { mm: x.mm, spec: x.spec, pages: x.pages && copyMap(x.pages), next: cloneSet(x.next) };
}

export function cloneTlb(t: TlbState): TlbState {
  const cpus: CpuTlb[] = [];
  for (const m of t.cpus) {
    if (m.map !== null) {
      const c = newCpuTlb();
      const map = new Map<number, TlbSet>();
      m.map.forEach((x, a) => map.set(a, cloneSet(x)!));
      c.map = map;
      cpus.push(c);
    } else {
      // every slot (a null past n clones into a null)
      cpus.push({ n: m.n, asids: m.asids.slice(), sets: m.sets.map(cloneSet), map: null });
    }
  }
  return { cpus, counts: t.counts.slice() };
}

/** Entries of a set, page -> row, speculative entry included (for digests and reports). */
function setEntries(x: TlbSet): [number, number][] {
  const out: [number, number][] = x.spec >= 0 ? [[SPECULATIVE, x.spec]] : [];
  if (x.pages) out.push(...[...x.pages].sort((a, b) => a[0] - b[0]));
  return out;
}

/**
 * A canonical form of one CPU's TLB (sorted by ASID, mm and page), independent of fill order:
 * `[asid, [[mm, [[page, row], ...]], ...]][]`.
 */
export function tlbCanonical(t: TlbState, cpu: number): unknown {
  const out: [number, [number, [number, number][]][]][] = [];
  forEachAsid(t, cpu, (first, asid) => {
    const sets: [number, [number, number][]][] = [];
    for (let x: TlbSet | null = first; x; x = x.next) sets.push([x.mm, setEntries(x)]);
    out.push([asid, sets.sort((a, b) => a[0] - b[0])]);
  });
  return out.sort((a, b) => a[0] - b[0]);
}

/**
 * Insert (asid, mm, page) into `cpu`'s TLB (an entry already there keeps its fill row).
 * @returns the key of another mm that already has entries under `asid` on this CPU (the TLA
 * `UniqueASIDPerCPU` hazard: the running mm can use them), or -1.
 */
export function tlbFill(t: TlbState, cpu: number, asid: number, mm: number, page: number, row: number): number {
  const tlb = t.cpus[cpu]!;
  const first = getAsid(tlb, asid);
  let mine: TlbSet | null = null;
  let other = -1;
  for (let x = first ?? null; x; x = x.next) {
    if (x.mm === mm) {
      mine = x;
      continue;
    }
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, its callers only ask whether another mm is there (>= 0); the check names the first one itself (tlbOtherMm)
    if (other < 0) other = x.mm;
  }
  const present = mine !== null && (page === SPECULATIVE ? mine.spec >= 0 : mine.pages !== null && mine.pages.has(page));
  if (present) return other;
  if (++t.counts[cpu]! > TLB_CAPACITY) {
    clearCpuTlb(tlb);
    t.counts[cpu] = 0;
    return tlbFill(t, cpu, asid, mm, page, row);
  }
  if (mine === null) {
    mine = { mm, spec: -1, pages: null, next: first ?? null };
    setAsid(tlb, asid, mine);
  }
  if (page === SPECULATIVE) mine.spec = row;
  else (mine.pages ??= new Map()).set(page, row);
  return other;
}

/**
 * The key of the first mm other than `mm` with entries under `asid` on `cpu` (in chain order, the
 * one {@link tlbFill} returns), or -1.
 */
export function tlbOtherMm(t: TlbState, cpu: number, asid: number, mm: number): number {
  for (let x = getAsid(t.cpus[cpu]!, asid) ?? null; x; x = x.next) if (x.mm !== mm) return x.mm;
  return -1;
}

/** The set of (asid, mm) on `cpu`, if it has entries. */
function findSet(t: TlbState, cpu: number, asid: number, mm: number): TlbSet | null {
  for (let x = getAsid(t.cpus[cpu]!, asid) ?? null; x; x = x.next) if (x.mm === mm) return x;
  return null;
}

/** Entries of (asid, mm) on `cpu` in pages [first, last] (never the speculative one): [page, fill row][]. */
export function tlbEntriesIn(t: TlbState, cpu: number, asid: number, mm: number, first: number, last: number): [number, number][] {
  const pages = findSet(t, cpu, asid, mm)?.pages;
  const out: [number, number][] = [];
  if (pages) for (const [pg, r] of pages) if (pg >= first && pg <= last) out.push([pg, r]);
  return out;
}

/** The row that filled one of (asid, mm)'s entries on `cpu` (the speculative one first), if any. */
export function tlbAnyFillRow(t: TlbState, cpu: number, asid: number, mm: number): number | undefined {
  const x = findSet(t, cpu, asid, mm);
  if (!x) return undefined;
  if (x.spec >= 0) return x.spec;
  // Stryker disable next-line OptionalChaining: equivalent, a set linked in a TLB always holds an entry, so one without a speculative entry has a page Map
  return x.pages?.values().next().value;
}

const size = (x: TlbSet) => (x.spec >= 0 ? 1 : 0) + (x.pages ? x.pages.size : 0);

/**
 * `local_flush_tlb_all()` in the slow path of `check_and_switch_context`: issued while TTBR0 still
 * holds the outgoing mm, so that mm's entries under its ASID may be re-fetched and are kept.
 */
export function localFlushTlbAll(t: TlbState, cpu: number, keepMm: number, keepAsid: number): void {
  const tlb = t.cpus[cpu]!;
  // Stryker disable next-line ConditionalExpression: equivalent, -> true looks for mm -1, which no set holds
  const kept = keepMm >= 0 ? findSet(t, cpu, keepAsid, keepMm) : null;
  clearCpuTlb(tlb);
  t.counts[cpu] = 0;
  if (kept) {
    kept.next = null;
    setAsid(tlb, keepAsid, kept);
    t.counts[cpu] = size(kept);
  }
}

/** `flush_tlb_mm()`: TLBI ASIDE1IS, broadcast to every CPU. */
export function tlbiAsidBroadcast(t: TlbState, asid: number): void {
  for (let c = 0; c < t.cpus.length; c++) {
    for (let x = getAsid(t.cpus[c]!, asid) ?? null; x; x = x.next) t.counts[c]! -= size(x);
    deleteAsid(t.cpus[c]!, asid);
  }
}

/** `__flush_tlb_range()` with per-page TLBI VAE1IS: pages [first, last] under `asid`, every CPU. */
export function tlbiVaRangeBroadcast(t: TlbState, asid: number, first: number, last: number): void {
  for (let c = 0; c < t.cpus.length; c++) {
    const head = getAsid(t.cpus[c]!, asid);
    // Stryker disable next-line ConditionalExpression: equivalent, -> false walks no set and deletes an ASID that is not there
    if (!head) continue;
    // Unlink the sets left empty, keeping the others in their order.
    let keep: TlbSet | null = null;
    let tail: TlbSet | null = null;
    for (let x: TlbSet | null = head; x;) {
      const next: TlbSet | null = x.next;
      const pages = x.pages;
      if (pages) {
        // Stryker disable next-line ConditionalExpression,EqualityOperator,ArithmeticOperator: equivalent, both loops delete exactly the set's pages in [first, last] and count each deletion; the test only picks the shorter loop
        if (last - first + 1 < pages.size) {
          for (let p = first; p <= last; p++) if (pages.delete(p)) t.counts[c]!--;
        } else {
          for (const p of pages.keys())
            if (p >= first && p <= last) {
              pages.delete(p);
              t.counts[c]!--;
            }
        }
        // Stryker disable next-line ConditionalExpression: equivalent, a set whose page Map is empty counts and reads as one without (size, tlbAnyFillRow after spec, tlbEntriesIn)
        if (pages.size === 0) x.pages = null;
      }
      x.next = null;
      if (size(x) > 0) {
        if (tail) tail.next = x;
        else keep = x;
        tail = x;
      }
      x = next;
    }
    if (keep) setAsid(t.cpus[c]!, asid, keep);
    else deleteAsid(t.cpus[c]!, asid);
  }
}
